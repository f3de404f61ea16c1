"""Stream N Accounts (10 fields) from the emulator: ours (sync and async) against
simple-salesforce's query_all_iter, in one run; records per second, client CPU seconds per
100k records, and ratios. Every run checks it got every record exactly once.

Run: python benches/compare_query_stream.py [--records 200000]
Use a release build (maturin develop --release); the emulator runs in this process too, so
the CPU column is the client's share measured as process CPU minus the emulator's threads.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import threading
import time
from collections.abc import Callable

from peers import simple_salesforce

from salesforce_api.testing import Emulator

SOQL = (
    "SELECT Id, Name, AccountNumber, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, "
    "Website, BillingCity FROM Account"
)


def thread_cpu() -> float:
    """CPU seconds of the calling thread (Python's own work, including our GIL-held parts)."""
    return time.thread_time()


def process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(label: str, fn: Callable[[], set[str]], expected: int) -> tuple[float, float]:
    started, cpu0, main0 = time.perf_counter(), process_cpu(), thread_cpu()
    ids = fn()
    wall = time.perf_counter() - started
    cpu, main = process_cpu() - cpu0, thread_cpu() - main0
    if len(ids) != expected:
        raise SystemExit(f"{label}: got {len(ids)} distinct records, expected {expected}")
    print(
        f"  {label:<34} {wall:7.2f} s  {expected / wall:10.0f} rec/s  "
        f"main-thread CPU {main / expected * 100_000:6.2f} s/100k  process CPU {cpu / expected * 100_000:6.2f} s/100k"
    )
    return wall, main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    n = parser.parse_args().records
    with Emulator(tls=True, api_limit=100_000_000) as org:
        started = time.perf_counter()
        org.seed_records(
            "Account",
            (
                {
                    "Name": f"Account {i}",
                    "AccountNumber": f"AN-{i:08}",
                    "Type": "Customer - Direct",
                    "Industry": "Energy",
                    "AnnualRevenue": i * 10.5,
                    "NumberOfEmployees": i % 5000,
                    "Phone": "+1 415 555 0100",
                    "Website": "https://example.com",
                    "BillingCity": "San Francisco",
                }
                for i in range(n)
            ),
        )
        print(
            f"seeded {n} Accounts in {time.perf_counter() - started:.1f} s; streaming {n} records, 10 fields, HTTPS"
        )
        sf = org.client()
        asf = org.async_client()
        peer = simple_salesforce(org)

        def ours_sync() -> set[str]:
            return {r["Id"] for r in sf.query.stream(SOQL)}

        def ours_async() -> set[str]:
            async def go() -> set[str]:
                return {r["Id"] async for r in asf.query.stream(SOQL)}

            return asyncio.run(go())

        def theirs() -> set[str]:
            return {r["Id"] for r in peer.query_all_iter(SOQL)}

        assert threading.active_count() >= 1
        sync_wall, sync_cpu = run("salesforce_api sync stream", ours_sync, n)
        async_wall, async_cpu = run("salesforce_api async stream", ours_async, n)
        peer_wall, peer_cpu = run("simple-salesforce query_all_iter", theirs, n)
        print(
            f"  ratio (records/s ours / simple-salesforce): sync {peer_wall / sync_wall:.2f}x, async {peer_wall / async_wall:.2f}x"
        )
        print(
            f"  main-thread CPU ratio (simple-salesforce / ours): sync {peer_cpu / sync_cpu:.2f}x, async {peer_cpu / async_cpu:.2f}x"
        )


if __name__ == "__main__":
    main()
