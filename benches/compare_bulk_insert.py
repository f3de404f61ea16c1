"""Bulk API 2.0 insert of N Accounts from a CSV file into the emulator: ours against
simple-salesforce's bulk2, each in its own process (so peak RSS is the client's alone), with the
emulator in a third; wall time, peak RSS and ratios printed. Also a bulk query of N records to a
file, to show its peak memory stays flat, and (with --big) a 250 MB file at Salesforce's real
upload limit, checked for no lost or duplicated record.

Run: python benches/compare_bulk_insert.py [--sizes 100000 1000000] [--rounds 3] [--big]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from compare_query_stream import org_in_subprocess


def write_csv(path: Path, rows: int) -> int:
    """About 100 bytes per row, 8 columns."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "Name",
                "AccountNumber",
                "Type",
                "Industry",
                "NumberOfEmployees",
                "Phone",
                "BillingCity",
                "Description",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"Account {i}",
                    f"AN-{i:08}",
                    "Customer",
                    "Energy",
                    i % 5000,
                    "+1 415 555 0100",
                    "Paris",
                    "bulk",
                ]
            )
    return path.stat().st_size


def child(args: argparse.Namespace) -> None:
    """One measured run; prints a JSON line with wall time, peak RSS and counts."""
    started = time.perf_counter()
    if args.child == "simple-salesforce":
        import requests
        from simple_salesforce import Salesforce as SimpleSalesforce

        session = requests.Session()
        session.trust_env = False
        session.verify = args.ca
        peer = SimpleSalesforce(instance_url=args.url, session_id=args.token, session=session, version="62.0")
        results = peer.bulk2.Account.insert(args.file)
        processed = sum(int(r["numberRecordsProcessed"]) for r in results)
        failed = sum(int(r["numberRecordsFailed"]) for r in results)
        jobs = len(results)
        job_ids = [str(r["job_id"]) for r in results]
    else:
        from forcelink import Salesforce

        sf = (
            Salesforce.builder().instance_url(args.url).access_token(args.token).ca_cert_file(args.ca).build()
        )
        if args.child == "ours-query":
            out = Path(args.file)
            processed = sf.bulk.query_to_file(
                f"SELECT Id, Name, AccountNumber FROM Account LIMIT {args.rows}", out
            )
            failed, jobs = 0, 1
        else:
            result = sf.bulk.insert("Account", args.file)
            processed, failed, jobs = result.records_processed, result.records_failed, len(result.job_ids)
            job_ids = result.job_ids
            if args.check:
                ids = sorted(r["sf__Id"] for r in result.successful_records())
                if len(set(ids)) != args.rows or processed != args.rows:
                    raise SystemExit(f"lost or duplicated records: {len(set(ids))} ids for {args.rows} rows")
                print(
                    f"# checksum of ids: {hashlib.sha256(''.join(ids).encode()).hexdigest()[:16]}",
                    file=sys.stderr,
                )
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The org's own time on the jobs, read after the clock stopped: what is left of the wall
    # time is the client's (reading, uploading, polling and noticing the end late).
    org_ms = 0
    if args.child != "ours-query":
        from forcelink import Salesforce as Reader

        reader = (
            Reader.builder().instance_url(args.url).access_token(args.token).ca_cert_file(args.ca).build()
        )
        org_ms = sum(int(reader.bulk.job_info(job)["totalProcessingTime"]) for job in job_ids)
    print(
        json.dumps(
            {
                "wall": wall,
                "peak_mb": peak_mb,
                "processed": processed,
                "failed": failed,
                "jobs": jobs,
                "org_s": org_ms / 1000,
            }
        )
    )


def measure(
    kind: str, org: tuple[str, str, str], file: Path, rows: int, check: bool = False
) -> dict[str, float]:
    url, token, ca = org
    command = [sys.executable, __file__, "--child", kind, "--url", url, "--token", token, "--ca", ca]
    command += ["--file", str(file), "--rows", str(rows)]
    if check:
        command.append("--check")
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=Path(__file__).parent)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if kind != "ours-query" and (result["processed"] != rows or result["failed"]):
        raise SystemExit(f"{kind}: processed {result['processed']} of {rows}, failed {result['failed']}")
    if kind == "ours-query" and result["processed"] != rows:
        raise SystemExit(f"query wrote {result['processed']} of {rows}")
    beyond = f"  org processing {result['org_s']:6.2f} s" if result["org_s"] else ""
    print(
        f"  {kind:<18} {rows:>9} rows  {result['wall']:7.2f} s  {rows / result['wall']:9.0f} rows/s  "
        f"peak RSS {result['peak_mb']:7.1f} MB  jobs {int(result['jobs'])}{beyond}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--big", action="store_true", help="also load a 250 MB file (3.3M rows)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each client per size, alternating")
    parser.add_argument("--child")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("--ca")
    parser.add_argument("--file")
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    # Every measured run gets a fresh emulator process, so neither client loads into a store the
    # other has already filled.
    with tempfile.TemporaryDirectory() as tmp:
        ours: dict[int, dict[str, float]] = {}
        for rows in args.sizes:
            path = Path(tmp) / f"accounts-{rows}.csv"
            size = write_csv(path, rows)
            print(
                f"insert {rows} rows ({size / 1e6:.1f} MB of CSV), each client into an empty org, "
                f"{args.rounds} rounds:",
                flush=True,
            )
            runs: list[tuple[dict[str, float], dict[str, float]]] = []
            for round_ in range(args.rounds):
                with org_in_subprocess(0) as org:
                    mine = measure("ours", org, path, rows)
                    if round_ == 0:
                        print(f"  (bulk query of those {rows} records to a file:)", flush=True)
                        measure("ours-query", org, Path(tmp) / f"query-{rows}.csv", rows)
                with org_in_subprocess(0) as org:
                    runs.append((mine, measure("simple-salesforce", org, path, rows)))
            mine, peer = sorted(runs, key=lambda pair: pair[1]["wall"] / pair[0]["wall"])[len(runs) // 2]
            ours[rows] = max((m for m, _ in runs), key=lambda m: m["peak_mb"])
            print(
                f"  -> median round: ours is {peer['wall'] / mine['wall']:.2f}x faster end to end "
                f"({mine['wall']:.2f} s vs {peer['wall']:.2f} s), "
                f"peak RSS {ours[rows]['peak_mb']:.0f} MB vs {peer['peak_mb']:.0f} MB",
                flush=True,
            )
            # Both clients wait for the same org; the time each spends beyond the org's
            # processing is what the client itself costs. simple-salesforce sleeps 5 s before its
            # first status poll and about 5 s between polls, so it ends at the first multiple of
            # ~5 s after the org is done: the end-to-end ratio moves with the org's speed.
            ours_beyond = mine["wall"] - mine["org_s"]
            peer_beyond = peer["wall"] - peer["org_s"]
            print(
                f"  -> time beyond the org's processing: ours {ours_beyond:.2f} s, "
                f"simple-salesforce {peer_beyond:.2f} s ({peer_beyond / ours_beyond:.2f}x)",
                flush=True,
            )
        if len(args.sizes) > 1:
            low, high = min(args.sizes), max(args.sizes)
            growth = ours[high]["peak_mb"] - ours[low]["peak_mb"]
            print(f"ours: peak RSS grows {growth:.1f} MB from {low} to {high} rows (target < 20 MB)")
        if args.big:
            path = Path(tmp) / "big.csv"
            rows = 3_300_000  # about 76 bytes a row: 250 MB, over the 150 MB base64 limit per job
            size = write_csv(path, rows)
            print(f"250 MB load at the real upload limit: {rows} rows, {size / 1e6:.1f} MB:", flush=True)
            with org_in_subprocess(0) as org:
                measure("ours", org, path, rows, check=True)


if __name__ == "__main__":
    main()
