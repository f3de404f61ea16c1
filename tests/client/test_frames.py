"""Data frames: REST and Bulk query results as pyarrow Tables and pandas DataFrames, built in
Rust with column types from describe, nulls kept as nulls."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import pytest

from forcelink import AsyncSalesforce, InvalidFieldError, Salesforce
from forcelink.testing import Emulator

SOQL = (
    "SELECT Name, Account.Name, Account.NumberOfEmployees, CloseDate, Amount, Probability, IsWon, "
    "CreatedDate FROM Opportunity ORDER BY Name"
)
SCHEMA = pa.schema(
    [
        ("Name", pa.large_string()),
        ("Account.Name", pa.large_string()),
        ("Account.NumberOfEmployees", pa.int64()),
        ("CloseDate", pa.date32()),
        ("Amount", pa.float64()),
        ("Probability", pa.float64()),
        ("IsWon", pa.bool_()),
        ("CreatedDate", pa.timestamp("ms", tz="UTC")),
    ]
)


def seed(sf: Salesforce) -> None:
    acme = sf.sobjects.create("Account", {"Name": "Acme", "NumberOfEmployees": 50}).id
    sf.sobjects.create(
        "Opportunity",
        {
            "Name": "A big deal",
            "AccountId": acme,
            "StageName": "Closed Won",
            "CloseDate": "2026-03-31",
            "Amount": 125000.5,
            "Probability": 100,
            "IsWon": True,
        },
    )
    sf.sobjects.create(
        "Opportunity",
        {"Name": "B orphan", "StageName": "Prospecting", "CloseDate": "2026-12-01", "IsWon": False},
    )


def check_table(table: pa.Table) -> None:
    assert table.schema == SCHEMA
    rows = table.to_pylist()
    assert [r["Name"] for r in rows] == ["A big deal", "B orphan"]
    first, orphan = rows
    assert (first["Account.Name"], first["Account.NumberOfEmployees"]) == ("Acme", 50)
    assert (first["CloseDate"], first["Amount"], first["Probability"], first["IsWon"]) == (
        dt.date(2026, 3, 31),
        125000.5,
        100.0,
        True,
    )
    created = first["CreatedDate"]
    assert created.tzinfo is not None and abs(created - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(
        minutes=5
    )
    assert (orphan["Account.Name"], orphan["Account.NumberOfEmployees"], orphan["Amount"]) == (
        None,
        None,
        None,
    )
    assert orphan["IsWon"] is False


def check_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == SCHEMA.names
    assert str(frame["Account.NumberOfEmployees"].dtype) == "Int64"
    assert str(frame["IsWon"].dtype) == "boolean"
    assert str(frame["Amount"].dtype) == "float64"
    assert str(frame["CreatedDate"].dtype) == "datetime64[ms, UTC]"
    assert str(frame["CloseDate"].dtype) == "datetime64[ms]"
    assert frame["Account.NumberOfEmployees"].tolist()[0] == 50
    assert frame["Account.NumberOfEmployees"].isna().tolist() == [False, True]
    assert frame["Amount"].isna().tolist() == [False, True]
    assert frame["Account.Name"].isna().tolist() == [False, True]
    assert frame["CloseDate"].tolist()[1] == pd.Timestamp("2026-12-01")


def test_a_rest_query_as_a_typed_arrow_table_and_pandas_frame(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    check_table(sf.query.to_arrow(SOQL))
    check_frame(sf.query.to_pandas(SOQL))


def test_a_bulk_query_as_a_typed_arrow_table_and_pandas_frame(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    check_table(sf.bulk.query(SOQL, poll_interval=0.02).to_arrow())
    check_frame(sf.bulk.query(SOQL, poll_interval=0.02).to_pandas())


def test_every_page_is_read_into_the_table(sf_emulator: Emulator) -> None:
    sf_emulator.seed_records("Account", ({"Name": f"A{i:05}", "NumberOfEmployees": i} for i in range(5005)))
    sf = sf_emulator.client()
    table = sf.query.to_arrow("SELECT Name, NumberOfEmployees FROM Account ORDER BY Name")
    assert table.num_rows == 5005
    assert table.column("NumberOfEmployees").to_pylist() == list(range(5005))
    bulk = sf.bulk.query("SELECT Id, NumberOfEmployees FROM Account", max_records=1000, poll_interval=0.02)
    frame = bulk.to_pandas()
    assert len(frame) == 5005 and frame["Id"].is_unique
    assert sorted(frame["NumberOfEmployees"].tolist()) == list(range(5005))


def test_deleted_records_come_with_include_deleted(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    kept = sf.sobjects.create("Account", {"Name": "Kept"}).id
    gone = sf.sobjects.create("Account", {"Name": "Gone"}).id
    sf.sobjects.delete("Account", gone)
    soql = "SELECT Id, Name FROM Account"
    assert sf.query.to_arrow(soql).column("Id").to_pylist() == [kept]
    assert sorted(sf.query.to_arrow(soql, include_deleted=True).column("Id").to_pylist()) == sorted(
        [kept, gone]
    )


def test_an_empty_result_keeps_its_columns_and_types(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    table = sf.query.to_arrow("SELECT Name, NumberOfEmployees FROM Account")
    assert table.num_rows == 0
    assert table.schema == pa.schema([("Name", pa.large_string()), ("NumberOfEmployees", pa.int64())])


def test_aggregate_and_subquery_results_as_tables(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    grouped = sf.query.to_arrow(
        "SELECT Account.Name, COUNT(Id) n, SUM(Amount), MAX(CloseDate) FROM Opportunity "
        "GROUP BY Account.Name ORDER BY Account.Name NULLS LAST"
    )
    assert grouped.schema == pa.schema(
        [("Name", pa.large_string()), ("n", pa.int64()), ("expr0", pa.float64()), ("expr1", pa.date32())]
    )
    assert grouped.to_pylist() == [
        {"Name": "Acme", "n": 1, "expr0": 125000.5, "expr1": dt.date(2026, 3, 31)},
        {"Name": None, "n": 1, "expr0": None, "expr1": dt.date(2026, 12, 1)},
    ]
    nested = sf.query.to_arrow("SELECT Name, (SELECT Name FROM Opportunities) FROM Account")
    assert nested.column_names == ["Name", "Opportunities"]
    (row,) = nested.to_pylist()
    children = json.loads(row["Opportunities"])
    assert row["Name"] == "Acme" and children["totalSize"] == 1
    assert children["records"][0]["Name"] == "A big deal"


def test_errors_are_typed_and_a_bulk_query_is_read_once(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    sf.sobjects.create("Account", {"Name": "One"})
    with pytest.raises(InvalidFieldError):
        sf.query.to_arrow("SELECT Nope__c FROM Account")
    query = sf.bulk.query("SELECT Name FROM Account", poll_interval=0.02)
    assert [r["Name"] for r in query] == ["One"]
    with pytest.raises(RuntimeError, match="read already"):
        query.to_arrow()


async def test_the_async_twins(sf_emulator: Emulator) -> None:
    seed(sf_emulator.client())
    sf: AsyncSalesforce = sf_emulator.async_client()
    check_table(await sf.query.to_arrow(SOQL))
    check_frame(await sf.query.to_pandas(SOQL))
    check_table(await sf.bulk.query(SOQL, poll_interval=0.02).to_arrow())
    rows = [row async for row in sf.bulk.query(SOQL, poll_interval=0.02)]
    assert [r["Name"] for r in rows] == ["A big deal", "B orphan"]
