"""Per-call cost of sObject round trips, ours (sync and async) against simple-salesforce, in one run.

Run: python -m pytest benches/bench_crud.py --benchmark-group-by=group
Each benchmark checks the answer it got, so a fast wrong answer cannot win.
"""

from __future__ import annotations

import asyncio

import pytest
from peers import simple_salesforce
from simple_salesforce import Salesforce as SimpleSalesforce

from forcelink.testing import Emulator

CALLS = 200


@pytest.fixture(scope="module")
def record_id(bench_org: Emulator) -> str:
    return bench_org.client().sobjects.create("Account", {"Name": "Bench", "Industry": "Energy"}).id


@pytest.fixture(scope="module")
def peer(bench_org: Emulator) -> SimpleSalesforce:
    return simple_salesforce(bench_org)


@pytest.mark.benchmark(group="get x200")
def test_ours_sync_get(benchmark, bench_org: Emulator, record_id: str) -> None:  # type: ignore[no-untyped-def]
    sf = bench_org.client()

    def run() -> list[str]:
        return [sf.sobjects.get("Account", record_id)["Name"] for _ in range(CALLS)]

    assert benchmark(run) == ["Bench"] * CALLS


@pytest.mark.benchmark(group="get x200")
def test_ours_async_get_concurrent(benchmark, bench_org: Emulator, record_id: str) -> None:  # type: ignore[no-untyped-def]
    sf = bench_org.async_client()

    async def many() -> list[str]:
        records = await asyncio.gather(*(sf.sobjects.get("Account", record_id) for _ in range(CALLS)))
        return [r["Name"] for r in records]

    assert benchmark(lambda: asyncio.run(many())) == ["Bench"] * CALLS


@pytest.mark.benchmark(group="get x200")
def test_simple_salesforce_get(benchmark, peer: SimpleSalesforce, record_id: str) -> None:  # type: ignore[no-untyped-def]
    def run() -> list[str]:
        return [peer.Account.get(record_id)["Name"] for _ in range(CALLS)]

    assert benchmark(run) == ["Bench"] * CALLS


@pytest.mark.benchmark(group="create x200")
def test_ours_sync_create(benchmark, bench_org: Emulator) -> None:  # type: ignore[no-untyped-def]
    sf = bench_org.client()

    def run() -> int:
        return sum(sf.sobjects.create("Contact", {"LastName": f"L{i}"}).success for i in range(CALLS))

    assert benchmark(run) == CALLS


@pytest.mark.benchmark(group="create x200")
def test_simple_salesforce_create(benchmark, peer: SimpleSalesforce) -> None:  # type: ignore[no-untyped-def]
    def run() -> int:
        return sum(peer.Contact.create({"LastName": f"L{i}"})["success"] for i in range(CALLS))

    assert benchmark(run) == CALLS
