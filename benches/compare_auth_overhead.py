"""Per-request overhead of the token manager: a client whose token comes from an OAuth flow (cached
after the first call) against a static-token client, same emulator, same calls, ratio printed.

Run: python benches/compare_auth_overhead.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time

from forcelink import Salesforce
from forcelink.testing import Emulator


def per_call_us(sf: Salesforce, record_id: str, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        if sf.sobjects.get("Account", record_id)["Name"] != "Bench":
            raise SystemExit("wrong answer")
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with Emulator(api_limit=100_000_000) as org:
        org.create_connected_app("bench-app", client_secret="bench-secret")
        static = org.client()
        managed = (
            Salesforce.builder()
            .instance_url(org.instance_url)
            .client_credentials("bench-app", "bench-secret")
            .build()
        )
        record_id = static.sobjects.create("Account", {"Name": "Bench"}).id
        per_call_us(managed, record_id, 10)  # obtain and cache the token
        static_runs, managed_runs = [], []
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            static_runs.append(per_call_us(static, record_id, args.calls))
            managed_runs.append(per_call_us(managed, record_id, args.calls))
        s, m = statistics.median(static_runs), statistics.median(managed_runs)
        print(f"GET x{args.calls} x{args.rounds} rounds, median per call")
        print(f"  static token           {s:8.1f} us")
        print(f"  token manager (cached) {m:8.1f} us")
        print(f"  ratio managed/static   {m / s:8.3f}  (overhead {m - s:+.1f} us per call)")
        print(f"  token grants: {org.stats()['token_grants']}")


if __name__ == "__main__":
    main()
