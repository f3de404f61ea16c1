"""Streaming a query, ours (sync and async) against simple-salesforce's query_all_iter, in one run.

Run: python -m pytest benches/bench_query_stream.py --benchmark-group-by=group
The emulator runs in this process here (its threads share the machine with the client); the
side-by-side script benches/compare_query_stream.py runs it in its own process.
Each benchmark checks it got every record exactly once.
"""

from __future__ import annotations

import asyncio

import pytest
from forcelink_emulator.records import sample_account
from peers import simple_salesforce

from forcelink.testing import Emulator

RECORDS = 20_000
SOQL = (
    "SELECT Id, Name, AccountNumber, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, "
    "Website, BillingCity FROM Account"
)


@pytest.fixture(scope="module")
def seeded(bench_org: Emulator) -> Emulator:
    bench_org.seed_records("Account", (sample_account(i) for i in range(RECORDS)))
    return bench_org


@pytest.mark.benchmark(group=f"stream {RECORDS} Accounts")
def test_ours_sync_stream(benchmark, seeded: Emulator) -> None:  # type: ignore[no-untyped-def]
    sf = seeded.client()
    ids = benchmark(lambda: {r["Id"] for r in sf.query.stream(SOQL)})
    assert len(ids) == RECORDS


@pytest.mark.benchmark(group=f"stream {RECORDS} Accounts")
def test_ours_async_stream(benchmark, seeded: Emulator) -> None:  # type: ignore[no-untyped-def]
    sf = seeded.async_client()
    found: list[set[str]] = []

    async def stream() -> None:
        found.append({r["Id"] async for r in sf.query.stream(SOQL)})

    benchmark(lambda: asyncio.run(stream()))
    assert all(len(ids) == RECORDS for ids in found)


@pytest.mark.benchmark(group=f"stream {RECORDS} Accounts")
def test_simple_salesforce_query_all_iter(benchmark, seeded: Emulator) -> None:  # type: ignore[no-untyped-def]
    peer = simple_salesforce(seeded)
    ids = benchmark(lambda: {r["Id"] for r in peer.query_all_iter(SOQL)})
    assert len(ids) == RECORDS
