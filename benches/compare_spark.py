"""Salesforce into and out of Spark: the forcelink data source against the usual driver-side
pattern, with the emulator in its own process adding a delay to every page of results (a stand-in
for the network between a cluster and Salesforce).

Reads of N Accounts (9 columns):
- forcelink, 8 partitions: one Bulk query job, its result pages read by the executors at once;
- forcelink, 1 partition: the same pages read one after another by one task;
- driver-side: simple-salesforce ``query_all`` on the driver, then ``createDataFrame``.
Writes of N Accounts:
- forcelink: each task stages its rows in a Bulk job, the driver's commit closes them all;
- driver-side: ``collect()`` to the driver, CSV, simple-salesforce ``bulk2`` insert.

Each run is a process of its own (its Spark session started before the clock starts), so CPU
and peak RSS are its own; CPU counts the driver's process tree (the JVM and Python workers).
Every run checks its answer (rows, distinct ids), so a fast wrong answer never wins.

Run: python benches/compare_spark.py [--records 1000000] [--page-delay 0.1] [--page 5000]
     [--master local[8]]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import spark_runs

FIELDS = "Id, Name, AccountNumber, Type, Industry, AnnualRevenue, NumberOfEmployees, Phone, BillingCity"
INDUSTRIES = ["Banking", "Energy", "Retail", "Technology"]


def serve(args: argparse.Namespace) -> None:
    """The org's process: seeds N Accounts, delays every page of query results, prints its
    settings as one JSON line and serves until its standard input closes."""
    from forcelink.testing import Emulator

    with Emulator(tls=True, api_limit=1_000_000_000) as org:
        org.seed_records(
            "Account",
            (
                {
                    "Name": f"Account {i}",
                    "AccountNumber": f"A-{i:07d}",
                    "Type": "Prospect",
                    "Industry": INDUSTRIES[i % 4],
                    "AnnualRevenue": i * 10.5,
                    "NumberOfEmployees": i % 5000,
                    "Phone": "555-0100",
                    "BillingCity": "Springfield",
                }
                for i in range(args.records)
            ),
        )
        forever = 1_000_000_000
        # Bulk result pages, and REST query pages (the peer's), each wait the same.
        org.inject_fault("/results", status=200, delay=args.page_delay, times=forever, method="GET")
        org.inject_fault("/v62.0/query", status=200, delay=args.page_delay, times=forever, method="GET")
        settings = {"url": org.instance_url, "token": org.access_token, "ca": org.ca_cert_path}
        print(json.dumps(settings), flush=True)
        sys.stdin.read()


def org_process(args: argparse.Namespace) -> contextlib.AbstractContextManager[dict[str, str]]:
    command = [sys.executable, __file__, "--serve", "--records", str(args.records)]
    return spark_runs.org_process([*command, "--page-delay", str(args.page_delay)])


def session(master: str) -> Any:
    return spark_runs.spark_session(master, **{"spark.driver.memory": "6g"})


def child(args: argparse.Namespace) -> None:
    """One measured run; prints a JSON line."""
    settings = json.loads(args.settings)
    os.environ.update(
        SF_INSTANCE_URL=settings["url"], SF_ACCESS_TOKEN=settings["token"], SF_CA_CERT_FILE=settings["ca"]
    )
    spark = session(args.master)
    # Python workers started (forcelink imported, its client built) before the clock, as on a
    # cluster that has run a job before: their start-up is not a read's cost.
    warm = spark.read.format("forcelink").option("soql", "SELECT Id FROM Account LIMIT 8")
    warm.option("maxRecords", "1").load().count()
    spark.range(8, numPartitions=8).rdd.map(lambda x: x).count()
    cpu0, started = spark_runs.tree_cpu(), time.perf_counter()
    kind = args.child
    checked: Any = None
    if kind.startswith("read-forcelink"):
        partitions = "8" if kind.endswith("8") else "1"
        df = (
            spark.read.format("forcelink")
            .option("soql", f"SELECT {FIELDS} FROM Account")
            .option("maxRecords", str(args.page))
            .option("numPartitions", partitions)
            .load()
        )
        # Every row of every column read, and dropped: the read's own cost (Spark's way to
        # time a source). The answer is checked after the clock stops.
        df.write.format("noop").mode("overwrite").save()
        checked = df
    elif kind == "read-driver":
        from simple_salesforce import Salesforce as SimpleSalesforce

        peer = peer_client(settings, SimpleSalesforce)
        records = peer.query_all(f"SELECT {FIELDS} FROM Account")["records"]
        for r in records:
            r.pop("attributes", None)
        df = spark.createDataFrame(records)
        df.write.format("noop").mode("overwrite").save()
        checked = df
    elif kind == "write-forcelink":
        data = accounts_to_write(spark, args.records)
        data.write.format("forcelink").option("object", "Account").mode("append").save()
        rows = distinct = args.records
    else:  # write-driver
        import csv

        from simple_salesforce import Salesforce as SimpleSalesforce

        peer = peer_client(settings, SimpleSalesforce)
        collected = accounts_to_write(spark, args.records).collect()
        with tempfile.TemporaryDirectory() as where:
            path = Path(where) / "accounts.csv"
            with path.open("w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["Name", "NumberOfEmployees"])
                writer.writerows((r.Name, r.NumberOfEmployees) for r in collected)
            results = peer.bulk2.Account.insert(str(path), wait=0.1)
        rows = distinct = sum(int(r["numberRecordsProcessed"]) for r in results)
    wall, cpu = time.perf_counter() - started, spark_runs.tree_cpu() - cpu0
    rss = spark_runs.tree_rss_mb()
    if checked is not None:
        row = checked.selectExpr("count(*) AS n", "count(DISTINCT Id) AS d").first()
        rows, distinct = row.n, row.d
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": rss, "rows": rows, "distinct": distinct}))
    spark.stop()


def peer_client(settings: dict[str, str], cls: Any) -> Any:
    import requests

    http = requests.Session()
    http.verify = settings["ca"]
    http.trust_env = False
    return cls(instance_url=settings["url"], session_id=settings["token"], session=http, version="62.0")


def accounts_to_write(spark: Any, n: int) -> Any:
    return spark.range(n, numPartitions=8).selectExpr(
        "concat('Written ', id) AS Name", "CAST(id % 5000 AS INT) AS NumberOfEmployees"
    )


def measure(kind: str, settings: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--settings", json.dumps(settings)]
    command += ["--records", str(args.records), "--page", str(args.page), "--master", args.master]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--page-delay", type=float, default=0.1, help="seconds the org adds to each page")
    parser.add_argument("--page", type=int, default=5_000, help="rows per Bulk result page")
    parser.add_argument("--master", default="local[8]", help="Spark master of the measured runs")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    if args.child:
        child(args)
        return
    started = time.perf_counter()
    with org_process(args) as settings:
        print(
            f"{args.records} Accounts ready in {time.perf_counter() - started:.0f} s; HTTPS; "
            f"{args.page_delay * 1000:.0f} ms added to each page; Bulk pages of {args.page} rows; "
            f"Spark {args.master}"
        )
        reads = {
            k: measure(k, settings, args) for k in ("read-forcelink-8", "read-forcelink-1", "read-driver")
        }
        for name, r in reads.items():
            ok = r["rows"] == r["distinct"] == args.records
            print(
                f"  {name:18} wall {r['wall']:7.2f} s  CPU {r['cpu']:7.2f} s "
                f"({r['cpu'] / args.records * 1e6:.2f} us/record)  RSS {r['rss_mb']:6.0f} MB  "
                f"rows {r['rows']} {'ok' if ok else 'WRONG'}"
            )
        ours = reads["read-forcelink-8"]
        print(
            f"  read, wall: 8 partitions {reads['read-forcelink-1']['wall'] / ours['wall']:.1f}x faster than 1, "
            f"{reads['read-driver']['wall'] / ours['wall']:.1f}x faster than query_all + createDataFrame; "
            f"CPU: {reads['read-driver']['cpu'] / ours['cpu']:.1f}x less than the driver-side read"
        )
        writes = {k: measure(k, settings, args) for k in ("write-forcelink", "write-driver")}
        for name, r in writes.items():
            print(
                f"  {name:18} wall {r['wall']:7.2f} s  CPU {r['cpu']:7.2f} s "
                f"({r['cpu'] / args.records * 1e6:.2f} us/record)  RSS {r['rss_mb']:6.0f} MB  rows {r['rows']}"
            )
        print(
            f"  write, wall: {writes['write-driver']['wall'] / writes['write-forcelink']['wall']:.1f}x faster "
            f"than collect + bulk2 insert; CPU {writes['write-driver']['cpu'] / writes['write-forcelink']['cpu']:.1f}x less"
        )


if __name__ == "__main__":
    main()
