"""Change Data Capture and platform events into Spark Structured Streaming, against the
emulator's Pub/Sub API: every change exactly once across a killed driver and a failed task,
foreachBatch retried with the same rows, data loss both ways, typed columns."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from forcelink.testing import Emulator

from .conftest import source_options

JOB = Path(__file__).with_name("cdc_stream_job.py")


def stream(spark: Any, org: Emulator, topic: str = "/data/AccountChangeEvent", **options: str) -> Any:
    return (
        spark.readStream.format("forcelink-cdc")
        .options(**source_options(org))
        .option("topic", topic)
        .options(**options)
        .load()
    )


def wait_for(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.25)


def committed_rows(out: Path) -> list[dict[str, Any]]:
    """The rows of the files the sink committed (its _spark_metadata log), as a reader of the
    table sees them: files of a batch that never committed are not part of it."""
    log = out / "_spark_metadata"
    if not log.exists():
        return []
    names: set[str] = set()
    for entry in sorted(log.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name.endswith(".tmp"):
            continue
        for line in entry.read_text().splitlines()[1:]:
            if line.strip():
                names.add(Path(json.loads(line)["path"]).name)
    rows: list[dict[str, Any]] = []
    for name in names:
        rows.extend(pq.read_table(out / name).to_pylist())
    return rows


def test_change_events_arrive_with_typed_columns(spark: Any, tmp_path: Path) -> None:
    with Emulator() as org:
        sf = org.client()
        acme = sf.sobjects.create("Account", {"Name": "Acme", "NumberOfEmployees": 5, "Phone": "555"}).id
        sf.sobjects.update("Account", acme, {"NumberOfEmployees": 6, "Phone": None})
        df = stream(spark, org, startingReplay="earliest")
        types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
        assert types["replay_id"] == "binary"
        assert types["record_ids"] == "array<string>"
        assert types["commit_timestamp"] == "timestamp"
        assert types["payload"].startswith("struct<")
        assert "NumberOfEmployees:int" in types["payload"]
        query = df.writeStream.format("memory").queryName("cdc_typed").trigger(availableNow=True).start()
        query.awaitTermination(60)
        rows = sorted(spark.sql("SELECT * FROM cdc_typed").collect(), key=lambda r: r.replay_id)
        assert [r.change_type for r in rows] == ["CREATE", "UPDATE"]
        assert rows[0].record_ids == [acme]
        assert rows[0].payload.Name == "Acme"
        assert rows[1].changed_fields == ["NumberOfEmployees", "LastModifiedDate"] or "NumberOfEmployees" in (
            rows[1].changed_fields
        )
        assert "Phone" in rows[1].nulled_fields
        assert rows[1].payload.NumberOfEmployees == 6
        assert rows[1].entity_name == "Account"
        assert rows[0].decode_error is None


def test_platform_events_as_json_and_a_bounded_trigger(spark: Any) -> None:
    with Emulator() as org:
        org.define_event("Order__e", {"Order_Number__c": "text", "Amount__c": "number"})
        sf = org.client()
        sf.events.publish_batch(
            "Order__e", [{"Order_Number__c": f"O-{i}", "Amount__c": i} for i in range(250)]
        )
        df = stream(
            spark,
            org,
            topic="/event/Order__e",
            startingReplay="earliest",
            payload="json",
            maxEventsPerTrigger="100",
        )
        assert "change_type" not in df.columns
        batches: list[int] = []

        def record(batch: Any, batch_id: int) -> None:
            batches.append(batch.count())

        query = df.writeStream.foreachBatch(record).trigger(availableNow=True).start()
        query.awaitTermination(60)
        assert [b for b in batches if b] == [100, 100, 50]
        out = spark.sql("SELECT 1")  # the session still works
        assert out.count() == 1


def test_a_stream_survives_a_killed_driver_with_every_change_once(tmp_path: Path) -> None:
    changes = 20_000
    with Emulator() as org:
        sf = org.client()
        settings = {
            "options": source_options(org),
            "out": str(tmp_path / "out"),
            "checkpoint": str(tmp_path / "checkpoint"),
            "stop": str(tmp_path / "stop"),
            "max_events": 1500,
        }
        env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}

        def start_job() -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, str(JOB), json.dumps(settings)],
                env=env,
                text=True,
                stdout=subprocess.DEVNULL,
            )

        def writer() -> None:
            # 10,000 Accounts created, then each updated once, in loads spread over time.
            for start in range(0, changes // 2, 1_000):
                sf.bulk.insert("Account", [{"Name": f"K{i}"} for i in range(start, start + 1_000)])
                time.sleep(0.2)
            ids = [r["Id"] for r in sf.bulk.query("SELECT Id FROM Account")]
            for start in range(0, len(ids), 2_500):
                sf.bulk.update(
                    "Account", [{"Id": i, "Description": "changed"} for i in ids[start : start + 2_500]]
                )
                time.sleep(0.2)

        writing = threading.Thread(target=writer)
        job = start_job()
        writing.start()
        out = Path(settings["out"])
        try:
            wait_for(lambda: len(committed_rows(out)) >= 3_000, 180, "the first job wrote nothing")
            job.send_signal(signal.SIGKILL)
            job.wait(timeout=30)
            seen_before = len(committed_rows(out))
            assert seen_before < changes, "the kill came too late to test anything"
            job = start_job()
            writing.join(timeout=300)
            wait_for(lambda: len(committed_rows(out)) >= changes, 300, "the restarted job did not catch up")
            time.sleep(2)  # a batch more, to see that nothing more arrives
        finally:
            Path(settings["stop"]).touch()
            try:
                job.wait(timeout=60)
            except subprocess.TimeoutExpired:
                job.kill()
        rows = committed_rows(out)
        replay_ids = [r["replay_id"] for r in rows]
        assert len(rows) == changes
        assert len(set(replay_ids)) == changes
        by_record: dict[str, list[tuple[bytes, str]]] = {}
        for r in rows:
            by_record.setdefault(r["record_ids"][0], []).append((r["replay_id"], r["change_type"]))
        assert len(by_record) == changes // 2
        assert all([t for _, t in sorted(seq)] == ["CREATE", "UPDATE"] for seq in by_record.values())


def test_a_task_that_fails_once_leaves_no_gap_and_no_duplicate(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql.functions import udf

    marker = tmp_path / "failed-once"

    @udf(returnType="string", useArrow=False)
    def fail_once(name: Any) -> Any:
        if name == "F-777" and not marker.exists():
            marker.touch()
            raise RuntimeError("a task fails once")
        return name

    with Emulator() as org:
        org.client().bulk.insert("Account", [{"Name": f"F-{i}"} for i in range(2_000)])
        df = stream(spark, org, startingReplay="earliest", maxEventsPerTrigger="600")
        df = df.select("replay_id", fail_once(df.payload.Name).alias("name"))
        out = tmp_path / "out"
        query = (
            df.writeStream.format("parquet")
            .option("path", str(out))
            .option("checkpointLocation", str(tmp_path / "checkpoint"))
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination(120)
        assert query.exception() is None
        assert marker.exists(), "the task did fail once"
        rows = committed_rows(out)
        assert len(rows) == 2_000
        assert len({r["replay_id"] for r in rows}) == 2_000
        assert sorted(r["name"] for r in rows) == sorted(f"F-{i}" for i in range(2_000))


def test_foreach_batch_sees_a_retried_batch_with_the_same_rows(spark: Any, tmp_path: Path) -> None:
    seen = tmp_path / "seen.jsonl"
    failed = tmp_path / "failed"

    def record(batch: Any, batch_id: int) -> None:
        ids = sorted(r.replay_id.hex() for r in batch.select("replay_id").collect())
        with seen.open("a") as out:
            out.write(json.dumps({"batch": batch_id, "ids": ids}) + "\n")
        if batch_id == 1 and not failed.exists():
            failed.touch()
            raise RuntimeError("the batch's sink failed")

    with Emulator() as org:
        org.client().bulk.insert("Account", [{"Name": f"B-{i}"} for i in range(900)])

        def run() -> Any:
            df = stream(spark, org, startingReplay="earliest", maxEventsPerTrigger="300")
            query = (
                df.writeStream.foreachBatch(record)
                .option("checkpointLocation", str(tmp_path / "checkpoint"))
                .trigger(availableNow=True)
                .start()
            )
            if failed.exists():
                query.awaitTermination(120)
            else:
                with pytest.raises(Exception, match="the batch's sink failed"):
                    query.awaitTermination(120)
            return query

        run()  # fails in batch 1
        run()  # restarts from the checkpoint: batch 1 again
        entries = [json.loads(line) for line in seen.read_text().splitlines()]
        by_batch: dict[int, list[list[str]]] = {}
        for e in entries:
            by_batch.setdefault(e["batch"], []).append(e["ids"])
        assert len(by_batch[1]) == 2, "batch 1 ran twice: once failing, once again"
        assert by_batch[1][0] == by_batch[1][1], "with the same rows"
        assert all(len(v) == 1 for k, v in by_batch.items() if k != 1)
        every = [i for k in sorted(by_batch) for i in by_batch[k][-1]]
        assert len(every) == len(set(every)) == 900


def test_data_loss_fails_the_query_or_goes_on_from_the_earliest_event(spark: Any, tmp_path: Path) -> None:
    with Emulator() as org:
        sf = org.client()
        sf.bulk.insert("Account", [{"Name": f"Old {i}"} for i in range(10)])
        gone = org.latest_replay_id
        org.set_event_retention(1.0)
        time.sleep(1.5)
        sf.bulk.insert("Account", [{"Name": f"New {i}"} for i in range(5)])  # the old ones expire
        org.set_event_retention(None)  # the new ones stay for the rest of the test
        start = (gone - 5).to_bytes(8, "big").hex()
        df = stream(spark, org, startingReplay=start)
        query = df.writeStream.format("memory").queryName("lost_strict").trigger(availableNow=True).start()
        with pytest.raises(Exception, match="retention"):
            query.awaitTermination(60)
        lenient = stream(spark, org, startingReplay=start, failOnDataLoss="false")
        query = (
            lenient.writeStream.format("memory").queryName("lost_lenient").trigger(availableNow=True).start()
        )
        query.awaitTermination(60)
        assert query.exception() is None
        names = sorted(r.Name for r in spark.sql("SELECT payload.Name AS Name FROM lost_lenient").collect())
        assert names == sorted(f"New {i}" for i in range(5))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"topic": "Account"}, "topic must be a channel"),
        ({"topic": "/data/AccountChangeEvent", "startingReplay": "foo"}, "startingReplay must be"),
        ({"topic": "/data/AccountChangeEvent", "payload": "xml"}, "payload must be struct or json"),
        ({"topic": "/event/Nope__e"}, "no topic /event/Nope__e"),
    ],
)
def test_bad_stream_options_fail_clearly(spark: Any, options: dict[str, str], message: str) -> None:
    import re

    with Emulator() as org:
        reader = spark.readStream.format("forcelink-cdc").options(**source_options(org)).options(**options)
        with pytest.raises(Exception, match=re.escape(message)):
            reader.load().writeStream.format("memory").queryName("bad").start().awaitTermination(30)
