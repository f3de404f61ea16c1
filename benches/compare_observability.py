"""What logs and metrics cost the client: stream N Accounts from an emulator in its own process,
alternating three set-ups in one run, and report client CPU per record of each.

- quiet: metrics off, the forcelink loggers at WARNING (nothing recorded, nothing logged);
- default: metrics on, loggers at WARNING (what a service runs with);
- debug: metrics on, forcelink.http at DEBUG into a NullHandler (every request logged).

Run: python benches/compare_observability.py [--records 200000] [--rounds 5]
Use a release build. Client CPU is this process's (every thread); the emulator's is not in it.
The figure that counts is default against quiet: the aim is under 3%.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

from compare_query_stream import SOQL, org_in_subprocess, process_cpu

from forcelink import Salesforce
from forcelink.metrics import set_enabled


def stream(sf: Salesforce, expected: int) -> float:
    cpu0 = process_cpu()
    n = sum(1 for _ in sf.query.stream(SOQL))
    cpu = process_cpu() - cpu0
    if n != expected:
        raise SystemExit(f"got {n} records, expected {expected}")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logger = logging.getLogger("forcelink")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    http = logging.getLogger("forcelink.http")
    setups = {
        "quiet": (False, logging.WARNING),
        "default": (True, logging.WARNING),
        "debug": (True, logging.DEBUG),
    }
    cpu: dict[str, list[float]] = {name: [] for name in setups}
    with org_in_subprocess(args.records) as (url, token, ca):
        for _ in range(args.rounds):
            for name, (metrics_on, level) in setups.items():
                set_enabled(metrics_on)
                logger.setLevel(logging.WARNING)
                http.setLevel(level)
                # Levels are read when a client is built.
                sf = Salesforce.builder().instance_url(url).access_token(token).ca_cert_file(ca).build()
                cpu[name].append(stream(sf, args.records))
                sf.close()
                time.sleep(0.2)
    set_enabled(True)
    per = {name: statistics.median(v) / args.records * 1e6 for name, v in cpu.items()}
    print(f"{args.records} records x {args.rounds} rounds, median client CPU per record:")
    for name, us in per.items():
        print(f"  {name:<8} {us:6.3f} µs/record  (rounds: {', '.join(f'{c:.2f}' for c in cpu[name])} s)")
    print(f"  default vs quiet: {100 * (per['default'] / per['quiet'] - 1):+.2f}% (aim: under 3%)")
    print(f"  debug vs quiet:   {100 * (per['debug'] / per['quiet'] - 1):+.2f}%")


if __name__ == "__main__":
    main()
