"""N records of a bulk query into a pandas DataFrame: ours (``sf.bulk.query(soql).to_pandas()``,
CSV pages read into typed Arrow columns in Rust) against simple-salesforce's bulk2 query
followed by ``pandas.read_csv`` of each page and a concat, each client in its own process (so
CPU and peak RSS are the client's alone), the emulator in a third. Prints wall time, client
CPU, peak RSS and the ratios, per round and for the median round, and checks both frames hold
every record once.

Run: python benches/compare_dataframes.py [--records 1000000] [--rounds 3]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from compare_query_stream import org_in_subprocess

SOQL = "SELECT Id, Name, AccountNumber, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, BillingCity FROM Account"
PAGE = 250_000


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(args: argparse.Namespace) -> None:
    """One measured run: prints a JSON line with wall, CPU, peak RSS, rows and distinct ids."""
    import pandas as pd
    import pyarrow  # noqa: F401  (both clients' imports count in the baseline)

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu0 = time.perf_counter(), cpu_seconds()
    if args.child == "simple-salesforce":
        import io

        import requests
        from simple_salesforce import Salesforce as SimpleSalesforce

        session = requests.Session()
        session.trust_env = False
        session.verify = args.ca
        peer = SimpleSalesforce(instance_url=args.url, session_id=args.token, session=session, version="62.0")
        pages = peer.bulk2.Account.query(SOQL, max_records=PAGE, wait=0.1)
        frame = pd.concat([pd.read_csv(io.StringIO(page)) for page in pages], ignore_index=True)
    else:
        from forcelink import Salesforce

        sf = (
            Salesforce.builder().instance_url(args.url).access_token(args.token).ca_cert_file(args.ca).build()
        )
        frame = sf.bulk.query(SOQL, max_records=PAGE, poll_interval=0.1).to_pandas()
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    dtypes = {name: str(dtype) for name, dtype in frame.dtypes.items()}
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_mb": peak_mb,
                "growth_mb": peak_mb - baseline_mb,
                "rows": len(frame),
                "distinct": int(frame["Id"].nunique()),
                "dtypes": dtypes,
            }
        )
    )


def measure(kind: str, org: tuple[str, str, str], n: int) -> dict[str, object]:
    url, token, ca = org
    command = [sys.executable, __file__, "--child", kind, "--url", url, "--token", token, "--ca", ca]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parent)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rows"] != n or result["distinct"] != n:
        raise SystemExit(f"{kind}: {result['rows']} rows, {result['distinct']} distinct ids, expected {n}")
    print(
        f"  {kind:<18} {result['wall']:7.2f} s wall  client CPU {result['cpu']:6.2f} s "
        f"({float(result['cpu']) / n * 1e6:5.2f} us/record)  peak RSS {result['peak_mb']:7.1f} MB "  # type: ignore[arg-type]
        f"(+{result['growth_mb']:.1f} MB over the imports)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--ca")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    n = args.records
    started = time.perf_counter()
    with org_in_subprocess(n) as org:
        print(
            f"{n} Accounts ready in {time.perf_counter() - started:.1f} s; 9 columns, HTTPS, pages of {PAGE}"
        )
        runs: list[tuple[dict[str, object], dict[str, object]]] = []
        for round_ in range(1, args.rounds + 1):
            print(f" round {round_}", flush=True)
            runs.append((measure("forcelink", org, n), measure("simple-salesforce", org, n)))
        ours, peer = sorted(runs, key=lambda p: float(p[1]["cpu"]) / float(p[0]["cpu"]))[len(runs) // 2]  # type: ignore[arg-type]
        print(" median round (by CPU ratio):")
        for key, label in (
            ("wall", "wall"),
            ("cpu", "client CPU"),
            ("peak_mb", "peak RSS"),
            ("growth_mb", "RSS growth"),
        ):
            print(f"  {label:<11} simple-salesforce / forcelink: {float(peer[key]) / float(ours[key]):.2f}x")  # type: ignore[arg-type]
        print(f"  dtypes, forcelink:         {ours['dtypes']}")
        print(f"  dtypes, simple-salesforce: {peer['dtypes']}")


if __name__ == "__main__":
    main()
