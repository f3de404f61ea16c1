"""Change events into parquet: the forcelink-cdc Spark source (local[2], a parquet sink with a
checkpoint) beside a plain ``sf.events.subscribe`` loop writing the same parquet files with
pyarrow, the emulator in its own process.

1. Throughput: N change events waiting on /data/AccountChangeEvent (N Accounts created), read
   to the end (Trigger.AvailableNow) into parquet: events per second, client CPU (the process
   tree: JVM and Python workers).
2. Latency: platform events published at a fixed rate, each carrying its send time; the sink
   notes when each batch of rows is written: p50 and p99 from publish to the sink.

Run: python benches/compare_spark_streaming.py [--events 200000] [--rate 1000] [--seconds 20]
Use a release build (maturin develop --release).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import spark_runs

TOPIC = "/data/AccountChangeEvent"


def serve(args: argparse.Namespace) -> None:
    from forcelink.testing import Emulator

    with Emulator(api_limit=1_000_000_000) as org:
        org.define_event("Tick__e", {"Sent__c": "number", "Seq__c": "number"})
        chunk = 50_000
        for start in range(0, args.events, chunk):
            org.seed_records(
                "Account", ({"Name": f"S{i}"} for i in range(start, min(start + chunk, args.events)))
            )
        settings = {
            "instanceUrl": org.instance_url,
            "accessToken": org.access_token,
            "pubsubEndpoint": org.pubsub_url,
        }
        print(json.dumps(settings), flush=True)
        sys.stdin.read()


def org_process(args: argparse.Namespace) -> contextlib.AbstractContextManager[dict[str, str]]:
    return spark_runs.org_process([sys.executable, __file__, "--serve", "--events", str(args.events)])


def spark_session() -> Any:
    return spark_runs.spark_session("local[2]", **{"spark.sql.shuffle.partitions": "2"})


def throughput_spark(settings: dict[str, str], events: int, where: Path) -> dict[str, float]:
    spark = spark_session()
    spark.range(4, numPartitions=2).rdd.map(lambda x: x).count()
    cpu0, started = spark_runs.tree_cpu(), time.perf_counter()
    df = (
        spark.readStream.format("forcelink-cdc")
        .options(**settings)
        .option("topic", TOPIC)
        .option("startingReplay", "earliest")
        .option("maxEventsPerTrigger", "50000")
        .option("payload", "json")
        .load()
        # The same columns as the plain loop writes.
        .select("replay_id", "change_type", "record_ids", "changed_fields", "payload")
    )
    query = (
        df.writeStream.format("parquet")
        .option("path", str(where / "out"))
        .option("checkpointLocation", str(where / "checkpoint"))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    wall, cpu = time.perf_counter() - started, spark_runs.tree_cpu() - cpu0
    rows = spark.read.parquet(str(where / "out")).count()
    # Sustained: the micro-batches after the first, whose time includes the Python workers'
    # start (imports, the client's first connection).
    later = [p for p in query.recentProgress if p["batchId"] > 0 and p["numInputRows"]]
    sustained_rows = sum(p["numInputRows"] for p in later)
    sustained_s = sum(p["durationMs"]["triggerExecution"] for p in later) / 1000
    spark.stop()
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": rows,
        "sustained": sustained_rows / sustained_s if sustained_s else float("nan"),
    }


def throughput_loop(settings: dict[str, str], events: int, where: Path) -> dict[str, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from forcelink import Salesforce

    sf = Salesforce.from_env(
        instance_url=settings["instanceUrl"],
        access_token=settings["accessToken"],
        pubsub_endpoint=settings["pubsubEndpoint"],
    )
    cpu0, started = spark_runs.tree_cpu(), time.perf_counter()
    rows: list[dict[str, Any]] = []
    written, files = 0, 0
    out = where / "loop"
    out.mkdir()
    with sf.events.subscribe(TOPIC, replay="earliest") as sub:
        for event in sub:
            header = event.header
            rows.append(
                {
                    "replay_id": event.replay_id,
                    "change_type": header.change_type,
                    "record_ids": header.record_ids,
                    "changed_fields": event.changed_fields,
                    "payload": json.dumps(event.payload, default=str),
                }
            )
            if len(rows) == 50_000 or written + len(rows) == events:
                pq.write_table(pa.Table.from_pylist(rows), out / f"part-{files}.parquet")
                written += len(rows)
                files += 1
                rows.clear()
                if written == events:
                    break
    return {"wall": time.perf_counter() - started, "cpu": spark_runs.tree_cpu() - cpu0, "rows": written}


def latency(settings: dict[str, str], kind: str, rate: int, seconds: float, where: Path) -> list[float]:
    """Publishes Tick__e at `rate` a second for `seconds` from a thread; returns each event's
    milliseconds from publish to the sink."""
    from forcelink import Salesforce

    publisher = Salesforce.from_env(
        instance_url=settings["instanceUrl"],
        access_token=settings["accessToken"],
        pubsub_endpoint=settings["pubsubEndpoint"],
    )
    total = int(rate * seconds)
    latencies: list[float] = []

    def publish() -> None:
        per_call = max(1, rate // 20)
        started = time.time()
        sent = 0
        while sent < total:
            now = time.time() * 1000
            batch = [{"Sent__c": now, "Seq__c": sent + i} for i in range(min(per_call, total - sent))]
            publisher.events.publish_batch("Tick__e", batch)
            sent += len(batch)
            ahead = started + sent / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)

    if kind == "spark":
        spark = spark_session()
        spark.range(4, numPartitions=2).rdd.map(lambda x: x).count()
        out = str(where / "ticks")

        def sink(batch: Any, batch_id: int) -> None:
            batch.persist()  # read once: written, then its send times taken
            batch.write.mode("append").parquet(out)
            now = time.time() * 1000
            latencies.extend(now - r.Sent for r in batch.selectExpr("payload.Sent__c AS Sent").collect())
            batch.unpersist()

        df = (
            spark.readStream.format("forcelink-cdc")
            .options(**settings)
            .option("topic", "/event/Tick__e")
            .option("startingReplay", "latest")
            .load()
        )
        query = df.writeStream.foreachBatch(sink).option("checkpointLocation", str(where / "tick-cp")).start()
        time.sleep(3)  # the query's first (empty) batch planned
        # A few events first, so that the workers have started before the clock.
        publisher.events.publish_batch("Tick__e", [{"Sent__c": time.time() * 1000, "Seq__c": -1}] * 10)
        deadline = time.time() + 60
        while len(latencies) < 10 and time.time() < deadline:
            time.sleep(0.1)
        latencies.clear()
        thread = threading.Thread(target=publish)
        thread.start()
        thread.join()
        deadline = time.time() + 30
        while len(latencies) < total and time.time() < deadline:
            time.sleep(0.2)
        query.stop()
        spark.stop()
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sf = Salesforce.from_env(
            instance_url=settings["instanceUrl"],
            access_token=settings["accessToken"],
            pubsub_endpoint=settings["pubsubEndpoint"],
        )
        out = where / "loop-ticks"
        out.mkdir()
        thread = threading.Thread(target=publish)
        with sf.events.subscribe("/event/Tick__e", replay="latest") as sub:
            time.sleep(1)
            thread.start()
            rows: list[dict[str, Any]] = []
            files = 0
            for event in sub:
                rows.append({"replay_id": event.replay_id, "payload": json.dumps(event.payload)})
                # Written every 100 events, or as soon as no more are waiting.
                if len(rows) >= 100 or len(latencies) + len(rows) >= total:
                    pq.write_table(pa.Table.from_pylist(rows), out / f"part-{files}.parquet")
                    files += 1
                    now = time.time() * 1000
                    latencies.extend(now - json.loads(r["payload"])["Sent__c"] for r in rows)
                    rows.clear()
                if len(latencies) >= total:
                    break
        thread.join()
    return latencies


def child(args: argparse.Namespace) -> None:
    settings = json.loads(args.settings)
    with tempfile.TemporaryDirectory() as where:
        if args.child.startswith("throughput"):
            run = throughput_spark if args.child.endswith("spark") else throughput_loop
            print(json.dumps(run(settings, args.events, Path(where))))
        else:
            kind = "spark" if args.child.endswith("spark") else "loop"
            found = latency(settings, kind, args.rate, args.seconds, Path(where))
            print(json.dumps({"latencies": found}))


def measure(kind: str, settings: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--settings", json.dumps(settings)]
    command += ["--events", str(args.events), "--rate", str(args.rate), "--seconds", str(args.seconds)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=1_000, help="platform events a second, for the latency")
    parser.add_argument("--seconds", type=float, default=20.0)
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
    with org_process(args) as settings:
        print(f"{args.events} change events waiting on {TOPIC}; emulator in its own process")
        for kind in ("throughput-spark", "throughput-loop"):
            r = measure(kind, settings, args)
            ok = "ok" if r["rows"] == args.events else "WRONG"
            sustained = (
                f"  sustained {r['sustained']:.0f} events/s after the first batch" if "sustained" in r else ""
            )
            print(
                f"  {kind:17} {r['rows'] / r['wall']:9.0f} events/s  wall {r['wall']:6.2f} s  "
                f"CPU {r['cpu']:6.2f} s ({r['cpu'] / args.events * 1e6:.1f} us/event)  rows {r['rows']} {ok}{sustained}"
            )
        print(f"  latency at {args.rate} events/s for {args.seconds:.0f} s, publish to sink:")
        for kind in ("latency-spark", "latency-loop"):
            found = measure(kind, settings, args)["latencies"]
            print(
                f"  {kind:17} p50 {quantile(found, 0.5):7.0f} ms  p99 {quantile(found, 0.99):7.0f} ms  "
                f"events {len(found)}  mean {statistics.fmean(found) if found else float('nan'):.0f} ms"
            )


if __name__ == "__main__":
    main()
