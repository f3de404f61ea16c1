"""Consuming 20,000 change events from the emulator's Pub/Sub API: ours (sync) against a
grpcio + fastavro subscriber (the official sample's pattern with a faster decoder), in one run.

Run: python -m pytest benches/bench_events.py --benchmark-group-by=group
Each benchmark checks the events it got, so a fast wrong answer cannot win. The side-by-side
run with the official avro pattern, 200,000 events and latency is compare_events.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from forcelink_emulator.records import sample_account

from forcelink.testing import Emulator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pubsub_peer import GrpcioSubscriber, load_stubs

EVENTS = 20_000
TOPIC = "/data/AccountChangeEvent"


@pytest.fixture(scope="module")
def cdc_org(bench_org: Emulator) -> Emulator:
    bench_org.seed_records("Account", (sample_account(i) for i in range(EVENTS)))
    return bench_org


@pytest.mark.benchmark(group="consume 20k change events")
def test_ours_sync_subscribe(benchmark, cdc_org: Emulator) -> None:  # type: ignore[no-untyped-def]
    sf = cdc_org.client()

    def run() -> int:
        names = 0
        with sf.events.subscribe(TOPIC, replay="earliest") as sub:
            for n, event in enumerate(sub, 1):
                names += event.payload["Name"] is not None
                if n == EVENTS:
                    break
        return names

    assert benchmark(run) == EVENTS


@pytest.mark.benchmark(group="consume 20k change events")
def test_grpcio_fastavro_subscribe(benchmark, cdc_org: Emulator, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pb2, pb2_grpc = load_stubs(tmp_path)
    peer = GrpcioSubscriber.for_emulator(pb2, pb2_grpc, cdc_org)

    def run() -> int:
        return sum(payload["Name"] is not None for _, payload in peer.subscribe(TOPIC, EVENTS))

    try:
        assert benchmark(run) == EVENTS
    finally:
        peer.close()
