"""Consuming Change Data Capture events from the emulator's Pub/Sub API: ours (sync and async)
against the official Python sample's pattern (grpcio + the pure-Python avro package, schema
parsed per event) and grpcio + fastavro, each in its own process with the emulator in another;
events per second and ratios printed in one run. Then publish-to-receive latency (p50, p99) of
ours on loopback.

Every consumer reads the same N change events (CREATEs of N seeded Accounts, ~40 fields each,
TLS) from EARLIEST, decodes every payload, and reports a checksum of replay ids so the runs can
be compared. The official pattern is slow enough that it reads a tenth as many events (its rate
is per event, so the ratio holds).

Each consumer also reports its client CPU: the CPU time of its own process (every thread: for
ours the Python thread and the runtime's workers) while it consumed, per event. That figure,
unlike the wall rate, does not move with how busy the host is. ``--busy`` runs a CPU-bound
process beside the consumers for the whole run, to see the wall rates on a busy host.

Run: python benches/compare_events.py [--events 200000] [--busy]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from compare_query_stream import org_settings_in_subprocess

ROOT = Path(__file__).resolve().parent.parent
TOPIC = "/data/AccountChangeEvent"


def ours_sync(n: int, settings: dict[str, str]) -> dict[str, Any]:
    from forcelink import Salesforce

    sf = Salesforce.builder(from_env=True).build()
    seen = checksum = fields = 0
    started = time.perf_counter()
    with sf.events.subscribe(TOPIC, replay="earliest", batch_size=100) as sub:
        for event in sub:
            fields += len(event.payload)
            checksum += event.replay_id_int
            seen += 1
            if seen == n:
                break
    return {"seconds": time.perf_counter() - started, "events": seen, "checksum": checksum, "fields": fields}


def ours_async(n: int, settings: dict[str, str]) -> dict[str, Any]:
    from forcelink import AsyncSalesforce

    async def run() -> dict[str, Any]:
        sf = AsyncSalesforce.builder(from_env=True).build()
        seen = checksum = fields = 0
        started = time.perf_counter()
        async with sf.events.subscribe(TOPIC, replay="earliest", batch_size=100) as sub:
            async for event in sub:
                fields += len(event.payload)
                checksum += event.replay_id_int
                seen += 1
                if seen == n:
                    break
        return {
            "seconds": time.perf_counter() - started,
            "events": seen,
            "checksum": checksum,
            "fields": fields,
        }

    return asyncio.run(run())


def grpcio(n: int, settings: dict[str, str], decoder: str) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.pubsub_peer import GrpcioSubscriber, load_stubs

    # A session id starts with the org id, the tenant id Pub/Sub wants.
    org_id = settings["SF_ACCESS_TOKEN"].split("!", 1)[0]
    with tempfile.TemporaryDirectory() as stubs:
        pb2, pb2_grpc = load_stubs(Path(stubs))
        endpoint = settings["SF_PUBSUB_ENDPOINT"].split("://", 1)[1]
        peer = GrpcioSubscriber(
            pb2,
            pb2_grpc,
            endpoint,
            token=settings["SF_ACCESS_TOKEN"],
            instance_url=settings["SF_INSTANCE_URL"],
            tenant_id=org_id,
            ca_pem=Path(settings["SF_CA_CERT_FILE"]).read_bytes(),
            decoder=decoder,
        )
        seen = checksum = fields = 0
        started = time.perf_counter()
        for replay_id, payload in peer.subscribe(TOPIC, n, batch=100):
            fields += len(payload)
            checksum += int.from_bytes(replay_id, "big")
            seen += 1
        elapsed = time.perf_counter() - started
        peer.close()
    return {"seconds": elapsed, "events": seen, "checksum": checksum, "fields": fields}


def child(kind: str, n: int) -> None:
    settings = {k: v for k, v in os.environ.items() if k.startswith("SF_")}
    cpu_before = time.process_time()
    if kind == "ours-sync":
        result = ours_sync(n, settings)
    elif kind == "ours-async":
        result = ours_async(n, settings)
    elif kind == "grpcio-fastavro":
        result = grpcio(n, settings, "fastavro")
    else:
        result = grpcio(n, settings, "avro")
    # Process CPU of the whole consumer, every thread, connection set-up included.
    result["cpu"] = time.process_time() - cpu_before
    print(json.dumps(result))


def burn(stop: Any) -> None:
    """A CPU-bound neighbour: the busy host of a shared machine."""
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x ^= i


def run_child(kind: str, n: int, settings: dict[str, str]) -> dict[str, Any]:
    env = {**os.environ, **settings}
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--events", str(n)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def latency(samples: int) -> tuple[float, float]:
    """Publish one event at a time over gRPC and time until our subscriber has it."""
    from forcelink.testing import Emulator

    with Emulator(tls=True) as org:
        org.define_event("Ping__e", {"Seq__c": "int"})
        sf = org.client()
        received: dict[int, float] = {}
        ready = threading.Event()

        def consume() -> None:
            with sf.events.subscribe("/event/Ping__e", replay="earliest", batch_size=100) as sub:
                ready.set()
                for event in sub:
                    received[event.payload["Seq__c"]] = time.perf_counter()
                    if len(received) == samples:
                        return

        thread = threading.Thread(target=consume)
        thread.start()
        ready.wait()
        sf.events.publish_batch("Ping__e", [{"Seq__c": -1}])  # warm the channel and schema cache
        sent: dict[int, float] = {}
        for i in range(samples - 1):
            sent[i] = time.perf_counter()
            sf.events.publish_batch("Ping__e", [{"Seq__c": i}])
            time.sleep(0.002)
        thread.join(timeout=60)
        gaps = sorted((received[i] - sent[i]) * 1000 for i in sent if i in received)
    p50 = statistics.median(gaps)
    p99 = gaps[int(len(gaps) * 0.99) - 1]
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--child", default=None)
    parser.add_argument("--latency-samples", type=int, default=2_000)
    parser.add_argument("--busy", action="store_true", help="run a CPU-bound process beside the consumers")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.events)
        return
    n = args.events
    started = time.perf_counter()
    with org_settings_in_subprocess(n) as settings:
        print(
            f"{n} Account change events ready in {time.perf_counter() - started:.1f} s (emulator in its own process, TLS)"
        )
        stop = multiprocessing.Event()
        neighbour = multiprocessing.Process(target=burn, args=(stop,), daemon=True)
        if args.busy:
            neighbour.start()
            print("a CPU-bound process runs beside the consumers (--busy)")
        try:
            runs = {
                "ours (sync)": run_child("ours-sync", n, settings),
                "ours (async)": run_child("ours-async", n, settings),
                "grpcio + fastavro": run_child("grpcio-fastavro", n, settings),
                "official pattern (grpcio + avro)": run_child("grpcio-avro", max(1_000, n // 10), settings),
            }
        finally:
            stop.set()
            if args.busy:
                neighbour.join()
    rates = {name: r["events"] / r["seconds"] for name, r in runs.items()}
    cpu = {name: r["cpu"] / r["events"] * 1e6 for name, r in runs.items()}
    for name, r in runs.items():
        print(
            f"{name:34s} {r['events']:>8} events in {r['seconds']:7.2f} s = {rates[name]:>9,.0f} events/s,"
            f" client CPU {r['cpu']:6.2f} s = {cpu[name]:6.1f} us/event"
        )
    assert runs["ours (sync)"]["checksum"] == runs["grpcio + fastavro"]["checksum"], "different events"
    assert runs["ours (sync)"]["fields"] == runs["grpcio + fastavro"]["fields"], "different payloads"
    ours = rates["ours (sync)"]
    print(f"ours (sync) vs official pattern: {ours / rates['official pattern (grpcio + avro)']:.1f}x")
    print(f"ours (sync) vs grpcio + fastavro: {ours / rates['grpcio + fastavro']:.2f}x")
    print(f"ours (async) vs grpcio + fastavro: {rates['ours (async)'] / rates['grpcio + fastavro']:.2f}x")
    for ours_name in ("ours (sync)", "ours (async)"):
        print(
            f"client CPU per event, grpcio + fastavro / {ours_name}: "
            f"{cpu['grpcio + fastavro'] / cpu[ours_name]:.2f}x less CPU"
        )
    p50, p99 = latency(args.latency_samples)
    print(f"publish-to-receive latency over gRPC on loopback (TLS): p50 {p50:.2f} ms, p99 {p99:.2f} ms")


if __name__ == "__main__":
    main()
