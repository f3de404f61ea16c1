"""Where the time of one bulk insert goes: our client's progress events on a timeline (split,
job created, uploaded, each status poll), then the org's own processing time from the job and
the client's peak RSS. The emulator runs in its own process, over TLS.

Run: python benches/bulk_insert_phases.py [--rows 1000000]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from compare_bulk_insert import write_csv
from compare_query_stream import org_in_subprocess

from forcelink import BulkEvent, Salesforce


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        size = write_csv(path, args.rows)
        print(f"insert {args.rows} rows ({size / 1e6:.1f} MB of CSV)")
        with org_in_subprocess(0) as (url, token, ca):
            sf = Salesforce.builder().instance_url(url).access_token(token).ca_cert_file(ca).build()
            started = time.perf_counter()
            timeline: list[tuple[float, str]] = []

            def record(event: BulkEvent) -> None:
                state = f" {event.state}, {event.processed} processed" if event.state else ""
                timeline.append((time.perf_counter() - started, f"{event.kind}{state}"))

            result = sf.bulk.insert("Account", path, progress=record)
            wall = time.perf_counter() - started
            for at, what in timeline:
                print(f"  {at:7.3f} s  {what}")
            org_ms = sum(int(sf.bulk.job_info(job_id)["totalProcessingTime"]) for job_id in result.job_ids)
            print(
                f"done in {wall:.2f} s: {result.records_processed} rows, org processing {org_ms / 1000:.2f} s, "
                f"client peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
            )


if __name__ == "__main__":
    main()
