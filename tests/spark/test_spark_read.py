"""Batch reads through the forcelink data source in a real local Spark session, against the
emulator: typed schemas, parallel result pages, retried tasks, pushed filters, bad input."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from forcelink.errors import InvalidArgumentError
from forcelink.testing import Emulator

from .conftest import source_options

ROWS = 100_000
INDUSTRIES = ["Banking", "Energy", "Retail", "Technology"]
FIELDS = "Id, Name, NumberOfEmployees, AnnualRevenue, Industry, CreatedDate, Parent.Name"


@pytest.fixture(scope="module")
def org(spark_org: Emulator) -> Emulator:
    parent = spark_org.seed_records("Account", [{"Name": "Parent Co"}])[0]
    spark_org.seed_records(
        "Account",
        (
            {
                "Name": f"Account {i}",
                "NumberOfEmployees": i if i % 10 else None,
                "AnnualRevenue": i * 1.5,
                "Industry": INDUSTRIES[i % 4],
                "ParentId": parent if i % 3 == 0 else None,
            }
            for i in range(ROWS - 1)
        ),
    )
    spark_org.define_object("Visit__c", {"When__c": "date", "Score__c": "double", "Done__c": "boolean"})
    spark_org.seed_records(
        "Visit__c",
        [
            {"Name": f"V{i}", "When__c": f"2026-01-{i + 1:02d}", "Score__c": i / 4, "Done__c": i % 2 == 0}
            for i in range(20)
        ],
    )
    return spark_org


def reader(spark: Any, org: Emulator) -> Any:
    return spark.read.format("forcelink").options(**source_options(org))


def test_a_parallel_read_equals_the_bulk_query_row_for_row(spark: Any, org: Emulator) -> None:
    soql = f"SELECT {FIELDS} FROM Account"
    df = reader(spark, org).option("soql", soql).option("numPartitions", "8").load()
    assert df.rdd.getNumPartitions() >= 8
    assert [(f.name, f.dataType.simpleString()) for f in df.schema.fields] == [
        ("Id", "string"),
        ("Name", "string"),
        ("NumberOfEmployees", "bigint"),
        ("AnnualRevenue", "double"),
        ("Industry", "string"),
        ("CreatedDate", "timestamp"),
        ("Parent.Name", "string"),
    ]
    ours = df.toArrow().sort_by("Id")
    expected = org.client().bulk.query(soql).to_arrow().sort_by("Id")
    assert ours.num_rows == expected.num_rows == ROWS
    for name in expected.column_names:
        theirs = expected.column(name)
        mine = ours.column(name)
        if pa.types.is_timestamp(theirs.type):
            theirs = theirs.cast(pa.timestamp("us", tz="UTC"))
            mine = mine.cast(pa.timestamp("us", tz="UTC"))
        else:
            mine = mine.cast(theirs.type)
        assert mine.equals(theirs), name
    nulls = df.filter("NumberOfEmployees IS NULL").count()
    assert nulls == 1 + len([i for i in range(ROWS - 1) if i % 10 == 0]), "the parent has none too"


def test_a_task_that_fails_once_is_retried_and_no_row_is_lost_or_repeated(spark: Any, org: Emulator) -> None:
    df = (
        reader(spark, org)
        .option("object", "Account")
        .option("fields", "Id, Name")
        .option("maxRecords", "10000")
        .load()
    )
    # The next page read is refused once (an error the client does not retry): the task
    # reading it fails, and Spark runs it again.
    org.inject_fault("/results", status=400, error_code="INVALIDLOCATOR", message="injected", times=1)
    rows = df.select("Id").collect()
    ids = [r.Id for r in rows]
    assert len(ids) == ROWS
    assert len(set(ids)) == ROWS
    assert org.stats()["requests"]["GET jobs/query/{id}/results"] >= 11


def test_dates_booleans_and_a_user_schema_are_honoured(spark: Any, org: Emulator) -> None:
    df = (
        reader(spark, org)
        .option("object", "Visit__c")
        .option("fields", "Name, When__c, Score__c, Done__c")
        .load()
    )
    assert [f.dataType.simpleString() for f in df.schema.fields] == ["string", "date", "double", "boolean"]
    rows = {r.Name: r for r in df.collect()}
    assert rows["V4"].When__c == datetime.date(2026, 1, 5)
    assert rows["V4"].Score__c == 1.0
    assert rows["V4"].Done__c is True
    typed = (
        reader(spark, org)
        .schema("Name string, When__c string, Score__c double")
        .option("object", "Visit__c")
        .load()
    )
    assert typed.filter("Name = 'V9'").first().When__c == "2026-01-10"


def test_pushed_filters_reach_the_soql_and_the_others_do_not(spark: Any, org: Emulator) -> None:
    df = (
        reader(spark, org)
        .option("object", "Account")
        .option("fields", "Id, Name, NumberOfEmployees, Industry")
        .load()
    )
    picked = df.filter(
        "NumberOfEmployees >= 500 AND NumberOfEmployees < 600 AND Industry IN ('Energy', 'Retail') "
        "AND Name LIKE 'Account%' AND Name NOT LIKE '%7'"
    )
    names = sorted(r.Name for r in picked.collect())
    expected = sorted(
        f"Account {i}"
        for i in range(500, 600)
        if i % 10 and INDUSTRIES[i % 4] in ("Energy", "Retail") and not str(i).endswith("7")
    )
    assert names == expected
    soql = org.stats()["queries"][-1]
    assert "NumberOfEmployees >= 500" in soql
    assert "NumberOfEmployees < 600" in soql
    assert "Industry IN ('Energy', 'Retail')" in soql
    assert "Name LIKE 'Account%'" in soql
    # An ends-with and a negation have no exact SOQL twin: Spark applies them.
    assert "7" not in soql.replace("NumberOfEmployees", "")
    assert "NOT" not in soql.upper().replace("NOT LIKE", "")
    text_case = df.filter("Name = 'account 5'").count()
    assert text_case == 0, "SOQL's = ignores case, Spark's does not: Spark has the last word"


def test_predicates_split_a_read_into_one_job_each(spark: Any, org: Emulator) -> None:
    before = org.stats()["requests"].get("POST jobs/query", 0)
    df = (
        reader(spark, org)
        .option("object", "Account")
        .option("fields", "Id, Industry")
        .option("where", "Industry != 'Banking'")
        .option("predicates", json.dumps(["Industry = 'Energy'", "Industry = 'Retail'"]))
        .load()
    )
    counts = {r.Industry: r["count"] for r in df.groupBy("Industry").count().collect()}
    assert counts == {"Energy": ROWS // 4, "Retail": ROWS // 4}
    assert org.stats()["requests"]["POST jobs/query"] - before >= 2


def test_include_deleted_reads_the_recycle_bin(spark: Any, org: Emulator) -> None:
    sf = org.client()
    gone = sf.sobjects.create("Visit__c", {"Name": "Gone"}).id
    sf.sobjects.delete("Visit__c", gone)
    live = reader(spark, org).option("object", "Visit__c").option("fields", "Id, IsDeleted").load()
    assert gone not in {r.Id for r in live.collect()}
    every = (
        reader(spark, org)
        .option("object", "Visit__c")
        .option("fields", "Id, IsDeleted")
        .option("includeDeleted", "true")
        .load()
    )
    assert {r.Id: r.IsDeleted for r in every.collect()}[gone] is True


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "either the option soql or the option object"),
        (
            {"soql": "SELECT Id FROM Account", "object": "Account"},
            "either the option soql or the option object",
        ),
        ({"object": "Acount"}, "Acount"),
        ({"object": "Account", "fields": "Id, Nmae"}, "Nmae"),
        ({"object": "Account", "predicates": "Industry = 'x'"}, "JSON list"),
        ({"object": "Account", "numPartitions": "0"}, "positive"),
        ({"soql": "SELECT FIELDS(ALL) FROM Account LIMIT 10"}, "name each field"),
    ],
)
def test_bad_options_fail_on_the_driver_before_any_job(
    spark: Any, org: Emulator, options: dict[str, str], message: str
) -> None:
    jobs = org.stats()["requests"].get("POST jobs/query", 0)
    # Spark carries the data source's error across from its Python planning worker.
    with pytest.raises(Exception, match=re.escape(message)):
        reader(spark, org).options(**options).load().collect()
    assert org.stats()["requests"].get("POST jobs/query", 0) == jobs


def test_the_reader_errors_are_typed_in_python() -> None:
    from forcelink.spark.reading import ReadPlan

    with pytest.raises(InvalidArgumentError) as raised:
        ReadPlan.of({"soql": "SELECT Id FROM Account", "fields": "Id"})
    assert raised.value.argument == "soql"


def test_no_secret_reaches_the_plan(spark: Any, org: Emulator) -> None:
    token = org.access_token
    df = (
        reader(spark, org)
        .option("privateKey", "KEY-PEM-TEXT")
        .option("object", "Visit__c")
        .option("fields", "Id")
        .load()
    )
    plans = df._jdf.queryExecution().toString()
    for secret in (token, "KEY-PEM-TEXT"):
        assert secret not in plans
        assert secret not in repr(df)
    assert "privatekey" in spark.conf.get("spark.sql.redaction.options.regex")
    spark.sql(
        "CREATE TEMPORARY VIEW secretive USING forcelink OPTIONS "
        f"(instanceUrl '{org.instance_url}', accessToken '{token}', privateKey 'KEY-PEM-TEXT', "
        "object 'Visit__c', fields 'Id')"
    )
    shown = spark.sql("SELECT * FROM secretive")._jdf.queryExecution().toString()
    shown += "\n".join(str(r) for r in spark.sql("DESCRIBE TABLE EXTENDED secretive").collect())
    assert "Visit__c" in shown or "forcelink" in shown
    for secret in (token, "KEY-PEM-TEXT"):
        assert secret not in shown


def test_num_partitions_groups_the_pages_salesforce_lists() -> None:
    from forcelink.spark.reading import group_pages

    urls = [f"/services/data/v62.0/jobs/query/750x/results?locator={i}" for i in range(10)]
    groups = group_pages("750x", urls, 4)
    assert [len(g.result_urls) for g in groups] == [3, 3, 2, 2]
    assert [u for g in groups for u in g.result_urls] == urls, "every page once, in order"
    assert len(group_pages("750x", urls, None)) == 10
    assert len(group_pages("750x", urls, 20)) == 10


def test_a_partition_of_several_pages_reads_them_all(spark: Any, org: Emulator) -> None:
    df = (
        reader(spark, org)
        .option("object", "Account")
        .option("fields", "Id")
        .option("maxRecords", "7000")
        .option("numPartitions", "3")
        .load()
    )
    assert df.rdd.getNumPartitions() == 3
    ids = [r.Id for r in df.collect()]
    assert len(ids) == len(set(ids)) == ROWS


def test_jwt_credentials_from_options_are_renewed_when_the_token_expires_mid_read(
    spark: Any, tmp_path: Path
) -> None:
    from ..auth_keys import app_key

    key_file = tmp_path / "server.key"
    key_file.write_text(app_key().private_pkcs8)
    with Emulator() as org:
        org.create_user("spark@acme.example.com")
        org.create_connected_app("spark-app", certificate_pem=app_key().certificate)
        org.issue_refresh_token("spark-app", "spark@acme.example.com")
        org.seed_records("Account", [{"Name": f"J{i}"} for i in range(3_000)])
        org.set_token_lifetime(1.0)
        # Each page takes a while, so tokens issued at the start expire during the read.
        org.inject_fault("/results", status=200, delay=0.4, times=100, method="GET")
        options = {
            "loginUrl": org.login_url,
            "clientId": "spark-app",
            "username": "spark@acme.example.com",
            "privateKeyFile": str(key_file),
        }
        df = (
            spark.read.format("forcelink")
            .options(**options)
            .option("object", "Account")
            .option("fields", "Id, Name")
            .option("maxRecords", "300")
            .option("numPartitions", "4")
            .load()
        )
        ids = [r.Id for r in df.collect()]
        assert len(ids) == len(set(ids)) == 3_000
        assert org.stats()["token_grants"]["jwt_bearer"] >= 2
