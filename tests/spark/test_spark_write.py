"""Batch writes through the forcelink data source in a real local Spark session: staged jobs
that land only when the whole write commits, upserts that can be rerun, failed rows kept."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from forcelink.testing import Emulator

from .conftest import source_options

INVOICE_FIELDS = {
    "Invoice_Number__c": {"type": "string", "external_id": True, "unique": True},
    "Amount__c": "currency",
    "Due__c": "date",
    "Paid__c": "boolean",
}


@pytest.fixture
def org() -> Any:
    with Emulator() as emulator:
        emulator.define_object("Invoice__c", INVOICE_FIELDS)
        yield emulator


def writer(df: Any, org: Emulator, **options: str) -> Any:
    return df.write.format("forcelink").options(**source_options(org)).options(**options).mode("append")


def count(org: Emulator, soql: str) -> int:
    return org.client().query.query(soql).total_size


def open_jobs(org: Emulator) -> int:
    jobs = org.client().request("GET", "jobs/ingest").json()["records"]
    return sum(1 for job in jobs if job["state"] in ("Open", "UploadComplete", "InProgress"))


def invoices(spark: Any, rows: int, partitions: int, amount: float = 1.0) -> Any:
    return spark.range(rows, numPartitions=partitions).selectExpr(
        "concat('INV-', id) AS Name",
        "concat('N-', id) AS Invoice_Number__c",
        f"CAST(id * {amount} AS DOUBLE) AS Amount__c",
        "date_add(DATE'2026-01-01', CAST(id % 28 AS INT)) AS Due__c",
        "id % 2 = 0 AS Paid__c",
    )


def test_fifty_thousand_rows_from_four_partitions_insert_exactly_once(spark: Any, org: Emulator) -> None:
    writer(invoices(spark, 50_000, 4), org, object="Invoice__c").save()
    assert count(org, "SELECT COUNT() FROM Invoice__c") == 50_000
    assert count(org, "SELECT COUNT() FROM Invoice__c WHERE Paid__c = true") == 25_000
    one = org.client().query.query(
        "SELECT Amount__c, Due__c, Paid__c FROM Invoice__c WHERE Invoice_Number__c = 'N-31'"
    )
    assert one.records[0]["Amount__c"] == 31.0
    assert one.records[0]["Due__c"] == "2026-01-04"
    assert one.records[0]["Paid__c"] is False
    assert open_jobs(org) == 0
    assert org.stats()["requests"]["PUT jobs/ingest/{id}/batches"] >= 4


def test_a_write_whose_task_fails_for_good_leaves_no_row_and_no_open_job(spark: Any, org: Emulator) -> None:
    from pyspark.sql.functions import udf

    @udf(returnType="string", useArrow=False)
    def name_or_fail(n: int) -> str:
        if n == 19_999:
            raise RuntimeError("this row cannot be made")
        return f"INV-{n}"

    # Two partitions: a big one whose last row fails (each time it is tried), and a small one
    # that has usually staged its job and ended by then. A task whose input breaks off may
    # have staged what it read; the driver's abort finds every open job of the write.
    big = spark.range(0, 20_000, numPartitions=1)
    small = spark.range(20_000, 20_010, numPartitions=1)
    df = big.union(small).selectExpr("id", "concat('N-', id) AS Invoice_Number__c")
    df = df.withColumn("Name", name_or_fail(df.id.cast("int"))).drop("id")
    assert df.rdd.getNumPartitions() == 2
    with pytest.raises(Exception, match="this row cannot be made"):
        writer(df, org, object="Invoice__c", maxUploadBytes="100000").save()
    assert count(org, "SELECT COUNT() FROM Invoice__c") == 0
    assert open_jobs(org) == 0
    states = org.stats()["bulk_jobs"]
    assert set(states) <= {"Aborted"}, states


def test_a_rerun_upsert_changes_values_and_adds_no_row(spark: Any, org: Emulator) -> None:
    options = {"object": "Invoice__c", "operation": "upsert", "externalIdField": "Invoice_Number__c"}
    writer(invoices(spark, 5_000, 2), org, **options).save()
    writer(invoices(spark, 5_000, 3, amount=2.0), org, **options).save()
    assert count(org, "SELECT COUNT() FROM Invoice__c") == 5_000
    page = org.client().query.query("SELECT Amount__c FROM Invoice__c WHERE Invoice_Number__c = 'N-40'")
    assert page.records[0]["Amount__c"] == 80.0


def test_failed_rows_land_in_errors_path_and_the_counts_add_up(
    spark: Any, org: Emulator, tmp_path: Path
) -> None:
    def some_without_name(start: int) -> Any:
        # Every tenth row has no Name, which the object requires.
        return spark.range(start, start + 1_000, numPartitions=2).selectExpr(
            "CASE WHEN id % 10 = 0 THEN NULL ELSE concat('INV-', id) END AS Name",
            "concat('N-', id) AS Invoice_Number__c",
        )

    df = some_without_name(0)
    errors = tmp_path / "errors"
    with pytest.raises(Exception, match=re.escape("100 rows failed")):
        writer(df, org, object="Invoice__c", errorsPath=str(errors)).save()
    assert count(org, "SELECT COUNT() FROM Invoice__c") == 900
    failed = pq.read_table(errors / "failed.parquet").to_pylist()
    assert len(failed) == 100
    assert all(row["sf__Error"].startswith("REQUIRED_FIELD_MISSING") for row in failed)
    assert sorted(row["Invoice_Number__c"] for row in failed) == sorted(f"N-{i}" for i in range(0, 1_000, 10))
    summary = json.loads((errors / "summary.json").read_text())
    assert summary["records_sent"] == 1_000
    assert summary["records_successful"] + summary["records_failed"] + summary["records_unprocessed"] == 1_000
    assert summary["records_failed"] == 100
    # With maxErrors the same failures do not fail the write.
    writer(some_without_name(1_000), org, object="Invoice__c", maxErrors="100").save()
    assert count(org, "SELECT COUNT() FROM Invoice__c") == 1_800


@pytest.mark.parametrize(
    ("options", "columns", "message"),
    [
        ({"object": "Invoice__c", "operation": "merge"}, "Name string", "operation must be one of"),
        ({"object": "Invoice__c", "operation": "upsert"}, "Name string", "needs the option externalIdField"),
        (
            {"object": "Invoice__c", "operation": "upsert", "externalIdField": "Name"},
            "Name string",
            "not an external id field",
        ),
        ({"object": "Invoice__c"}, "Name string, Nmae string", "has no field Nmae"),
        ({"object": "Invoice__c"}, "Name string, Tags array<string>", "no Bulk CSV form"),
        ({"object": "Invoice__c", "operation": "update"}, "Name string", "needs an Id column"),
        ({"object": "Invoce__c"}, "Name string", "Invoce__c"),
        ({}, "Name string", "needs the option object"),
    ],
)
def test_bad_writes_fail_on_the_driver_before_any_job(
    spark: Any, org: Emulator, options: dict[str, str], columns: str, message: str
) -> None:
    df = spark.createDataFrame([], columns)
    with pytest.raises(Exception, match=re.escape(message)):
        writer(df, org, **options).save()
    assert org.stats()["requests"].get("POST jobs/ingest", 0) == 0


def test_overwrite_is_refused(spark: Any, org: Emulator) -> None:
    df = spark.createDataFrame([("A",)], "Name string")
    with pytest.raises(Exception, match="append"):
        df.write.format("forcelink").options(**source_options(org)).option("object", "Invoice__c").mode(
            "overwrite"
        ).save()
