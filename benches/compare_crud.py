"""Side-by-side: sObject get and create round trips, ours against simple-salesforce, ratios printed.

Run: python benches/compare_crud.py [--calls N]
Both clients talk HTTPS to the same embedded emulator in one process run; every answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable

from peers import simple_salesforce

from forcelink.testing import Emulator


def timed(label: str, fn: Callable[[], int], expected: int) -> float:
    started = time.perf_counter()
    got = fn()
    elapsed = time.perf_counter() - started
    if got != expected:
        raise SystemExit(f"{label}: wrong answer {got} != {expected}")
    print(f"  {label:<40} {elapsed * 1000:9.1f} ms  ({expected / elapsed:9.0f} calls/s)")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    with Emulator(tls=True, api_limit=100_000_000) as org:
        sf = org.client()
        asf = org.async_client()
        peer = simple_salesforce(org)
        rid = sf.sobjects.create("Account", {"Name": "Bench"}).id

        async def async_gets() -> int:
            got = await asyncio.gather(*(asf.sobjects.get("Account", rid) for _ in range(calls)))
            return sum(r["Name"] == "Bench" for r in got)

        print(f"get x{calls} over HTTPS")
        ours = timed(
            "forcelink sync",
            lambda: sum(sf.sobjects.get("Account", rid)["Name"] == "Bench" for _ in range(calls)),
            calls,
        )
        ours_async = timed("forcelink async (gather)", lambda: asyncio.run(async_gets()), calls)
        theirs = timed(
            "simple-salesforce",
            lambda: sum(peer.Account.get(rid)["Name"] == "Bench" for _ in range(calls)),
            calls,
        )
        print(f"  ratio sync: {theirs / ours:.2f}x   async: {theirs / ours_async:.2f}x")

        print(f"create x{calls} over HTTPS")
        ours = timed(
            "forcelink sync",
            lambda: sum(sf.sobjects.create("Contact", {"LastName": "x"}).success for _ in range(calls)),
            calls,
        )
        theirs = timed(
            "simple-salesforce",
            lambda: sum(peer.Contact.create({"LastName": "x"})["success"] for _ in range(calls)),
            calls,
        )
        print(f"  ratio sync: {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
