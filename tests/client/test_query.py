"""SOQL through both clients against the emulator's engine; format_soql keeps input literal."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

import forcelink
from forcelink import (
    AsyncSalesforce,
    InvalidArgumentError,
    InvalidFieldError,
    InvalidQueryLocatorError,
    InvalidTypeError,
    MalformedQueryError,
    QueryPage,
    format_soql,
)
from forcelink.testing import Emulator

from ..conftest import simple_salesforce_peer

N = 10_005


@pytest.fixture
def many(org: Emulator) -> list[str]:
    return org.seed_records("Account", ({"Name": f"A{i:05}", "NumberOfEmployees": i} for i in range(N)))


def test_10005_records_come_back_each_once_and_in_order(org: Emulator, many: list[str]) -> None:
    sf = org.client()
    soql = "SELECT Id, Name FROM Account ORDER BY NumberOfEmployees"
    streamed = [r["Id"] for r in sf.query.stream(soql)]
    assert streamed == many
    small_pages = [r["Id"] for r in sf.query.stream(soql, batch_size=500)]
    assert small_pages == many
    # 6 pages of 2000, plus the first request: every page requested exactly once.
    assert org.stats()["requests"]["GET query/{locator}"] == 5 + 20
    assert org.stats()["requests"]["GET query"] == 2


async def test_async_stream_and_resume(org: Emulator, many: list[str], async_sf: AsyncSalesforce) -> None:
    soql = "SELECT Id FROM Account ORDER BY NumberOfEmployees"
    streamed = [r["Id"] async for r in async_sf.query.stream(soql, batch_size=2000)]
    assert streamed == many
    first = await async_sf.query.query(soql, batch_size=1000)
    assert isinstance(first, QueryPage)
    assert (len(first), first.total_size, first.done) == (1000, N, False)
    assert first.next_records_url is not None
    resumed = await async_sf.query.query_more(first.next_records_url)
    assert [r["Id"] for r in resumed.records] == many[1000:2000]


def test_values_needing_escapes_come_back_intact(org: Emulator) -> None:
    sf = org.client()
    name = 'Quote " back \\ slash\nnew line\ttab \u00fcn\u00efcode \U0001f600 </script>'
    created = sf.sobjects.create("Account", {"Name": name, "NumberOfEmployees": 7, "AnnualRevenue": 1.5}).id
    sf.sobjects.create("Account", {"Name": "plain"})
    rows = list(
        sf.query.stream("SELECT Id, Name, NumberOfEmployees, AnnualRevenue, Phone FROM Account ORDER BY Name")
    )
    assert [r["Name"] for r in rows] == ["plain", name]  # Salesforce orders text case-insensitively
    first = rows[1]
    assert (first["Id"], first["NumberOfEmployees"], first["AnnualRevenue"], first["Phone"]) == (
        created,
        7,
        1.5,
        None,
    )
    assert first["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{created}",
    }


@pytest.mark.parametrize("collector_on", [True, False])
def test_flat_records_stay_out_of_the_cyclic_collector(org: Emulator, collector_on: bool) -> None:
    """Flat records cannot form cycles, so the collector is spared them; anything that could
    (a record holding a record) stays tracked, and the collector's own state is left as found."""
    sf = org.client()
    acme = sf.sobjects.create("Account", {"Name": "Acme"}).id
    sf.sobjects.create("Contact", {"LastName": "Smith", "AccountId": acme})
    was_enabled = gc.isenabled()
    (gc.enable if collector_on else gc.disable)()
    try:
        flat = list(sf.query.stream("SELECT Id, Name FROM Account"))
        nested = list(sf.query.stream("SELECT Id, Account.Name FROM Contact"))
        assert gc.isenabled() is collector_on
    finally:
        (gc.enable if was_enabled else gc.disable)()
    assert flat[0]["Name"] == "Acme"
    assert flat[0]["attributes"]["type"] == "Account"
    assert not gc.is_tracked(flat[0])
    assert nested[0]["Account"]["Name"] == "Acme"
    assert gc.is_tracked(nested[0])
    # A container put into a flat record makes CPython track it again: cycles stay collectable.
    flat[0]["self"] = [flat[0]]
    assert gc.is_tracked(flat[0])


def test_records_with_every_scalar_leave_the_collector_and_subqueries_stay(org: Emulator) -> None:
    """Numbers, booleans and nulls are scalars as strings are; a child subquery's answer (a dict
    holding a list of records) could reach back, so its parent record stays tracked."""
    sf = org.client()
    acme = sf.sobjects.create(
        "Account", {"Name": "Acme", "NumberOfEmployees": 12, "AnnualRevenue": 2.5, "Phone": None}
    ).id
    sf.sobjects.create("Contact", {"LastName": "Smith", "AccountId": acme})
    (scalars,) = list(
        sf.query.stream("SELECT Id, Name, NumberOfEmployees, AnnualRevenue, Phone, IsDeleted FROM Account")
    )
    assert (scalars["NumberOfEmployees"], scalars["AnnualRevenue"], scalars["Phone"]) == (12, 2.5, None)
    assert scalars["IsDeleted"] is False
    assert not gc.is_tracked(scalars)
    (parent,) = list(sf.query.stream("SELECT Id, (SELECT LastName FROM Contacts) FROM Account"))
    assert [c["LastName"] for c in parent["Contacts"]["records"]] == ["Smith"]
    assert gc.is_tracked(parent)


def test_query_all_sees_deleted_rows(org: Emulator) -> None:
    sf = org.client()
    keep = sf.sobjects.create("Account", {"Name": "keep"}).id
    gone = sf.sobjects.create("Account", {"Name": "gone"}).id
    sf.sobjects.delete("Account", gone)
    live = sf.query.query("SELECT Id FROM Account")
    assert [r["Id"] for r in live.records] == [keep]
    everything = sf.query.query_all("SELECT Id, IsDeleted FROM Account ORDER BY Name", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in everything.records] == [(gone, True), (keep, False)]
    assert [r["Id"] for r in sf.query.query_all("SELECT Id FROM Account")] == [keep]


def test_query_all_returns_every_record_of_every_page(org: Emulator) -> None:
    """simple-salesforce's query_all returns every record; a first page only would lose data."""
    ids = org.seed_records("Account", ({"Name": f"A{i:05d}"} for i in range(5_005)))
    sf = org.client()
    sf.sobjects.delete("Account", ids[0])
    sf.sobjects.delete("Account", ids[1])
    every = sf.query.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert len(every) == len(every.records) == every.total_size == 5_003
    assert every.done is True and every.next_records_url is None
    assert [r["Name"] for r in every] == [f"A{i:05d}" for i in range(2, 5_005)]
    with_deleted = sf.query.query_all("SELECT Id FROM Account", include_deleted=True, batch_size=500)
    assert len(with_deleted) == 5_005 and {r["Id"] for r in with_deleted} == set(ids)
    assert sum(1 for _ in sf.query.stream("SELECT Id FROM Account", include_deleted=True)) == 5_005
    first = sf.query.query("SELECT Id FROM Account")
    assert len(first) == 2_000 and not first.done


async def test_async_query_all_returns_every_record(org: Emulator) -> None:
    org.seed_records("Account", ({"Name": f"B{i}"} for i in range(2_500)))
    every = await org.async_client().query.query_all("SELECT Id FROM Account")
    assert len(every) == 2_500 and every.done


def test_relationship_fields_and_filters(org: Emulator) -> None:
    sf = org.client()
    acme = sf.sobjects.create("Account", {"Name": "Acme", "Industry": "Energy"}).id
    other = sf.sobjects.create("Account", {"Name": "Other", "Industry": "Retail"}).id
    rows = [
        {"LastName": "Smith", "AccountId": acme, "Email": "s@acme.com", "Birthdate": "1990-05-01"},
        {"LastName": "Jones", "AccountId": other, "Title": "CTO"},
        {"LastName": "Brown", "Birthdate": str(dt.date.today())},
        {"LastName": "Black", "AccountId": acme, "Title": "CEO"},
    ]
    for row in rows:
        sf.sobjects.create("Contact", row)

    def names(soql: str) -> list[str]:
        return [r["LastName"] for r in sf.query.query(soql).records]

    got = sf.query.query(
        "SELECT LastName, Account.Name, Account.Industry FROM Contact WHERE Account.Name = 'acme'"
    )
    assert [(r["LastName"], r["Account"]["Name"], r["Account"]["Industry"]) for r in got.records] == [
        ("Smith", "Acme", "Energy"),
        ("Black", "Acme", "Energy"),
    ]
    assert got.records[0]["Account"]["attributes"]["type"] == "Account"
    assert names("SELECT LastName FROM Contact WHERE LastName LIKE 'B%' ORDER BY LastName") == [
        "Black",
        "Brown",
    ]
    assert names("SELECT LastName FROM Contact WHERE Title IN ('CEO', 'CTO') ORDER BY LastName") == [
        "Black",
        "Jones",
    ]
    assert names("SELECT LastName FROM Contact WHERE Title NOT IN ('CEO') AND Title != null") == ["Jones"]
    assert names("SELECT LastName FROM Contact WHERE AccountId = null") == ["Brown"]
    assert names(
        "SELECT LastName FROM Contact WHERE NOT (LastName = 'Smith' OR LastName = 'Jones') ORDER BY LastName"
    ) == [
        "Black",
        "Brown",
    ]
    assert names("SELECT LastName FROM Contact WHERE Birthdate = TODAY") == ["Brown"]
    assert names("SELECT LastName FROM Contact WHERE Birthdate < 2000-01-01") == ["Smith"]
    assert names(
        "SELECT LastName FROM Contact WHERE CreatedDate = LAST_N_DAYS:1 ORDER BY LastName DESC LIMIT 2"
    ) == [
        "Smith",
        "Jones",
    ]
    assert names("SELECT LastName FROM Contact ORDER BY Title NULLS FIRST, LastName") == [
        "Brown",
        "Smith",
        "Black",
        "Jones",
    ]
    assert names("SELECT LastName FROM Contact ORDER BY LastName LIMIT 2 OFFSET 1") == ["Brown", "Jones"]
    assert sf.query.query("SELECT COUNT() FROM Contact WHERE Account.Industry = 'Energy'").total_size == 2
    counted = sf.query.query("SELECT COUNT(Title) total FROM Contact").records
    assert counted[0]["total"] == 2


@pytest.mark.parametrize(
    ("soql", "error", "code", "fragment"),
    [
        ("SELECT Id FRM Account", MalformedQueryError, "MALFORMED_QUERY", "unexpected token: 'FRM'"),
        (
            "SELECT Id FROM Account WHERE Name = 'open",
            MalformedQueryError,
            "MALFORMED_QUERY",
            "ERROR at Row:1",
        ),
        ("SELECT Nope__c FROM Account", InvalidFieldError, "INVALID_FIELD", "No such column 'Nope__c'"),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = '5'",
            InvalidFieldError,
            "INVALID_FIELD",
            "enclosed in quotes",
        ),
        (
            "SELECT Id FROM Widget__c",
            InvalidTypeError,
            "INVALID_TYPE",
            "sObject type 'Widget__c' is not supported",
        ),
    ],
)
def test_soql_errors(org: Emulator, soql: str, error: type[Exception], code: str, fragment: str) -> None:
    with pytest.raises(error) as caught:
        org.client().query.query(soql)
    assert caught.value.error_code == code  # type: ignore[attr-defined]
    assert caught.value.status == 400  # type: ignore[attr-defined]
    assert fragment in caught.value.message  # type: ignore[attr-defined]


def test_bad_locators_and_batch_sizes(org: Emulator) -> None:
    sf = org.client()
    with pytest.raises(InvalidQueryLocatorError):
        sf.query.query_more("/services/data/v62.0/query/01g5e0000000999-2000")
    with pytest.raises(InvalidArgumentError):
        sf.query.query_more("https://attacker.example.com/services/data/v62.0/query/x-1")
    with pytest.raises(InvalidArgumentError):
        sf.query.query("SELECT Id FROM Account", batch_size=10)
    with pytest.raises(InvalidArgumentError):
        sf.query.query("   ")


def test_explain(org: Emulator) -> None:
    sf = org.client()
    saved = sf.sobjects.create("Account", {"Name": "A"})
    plans = sf.query.explain(format_soql("SELECT Id FROM Account WHERE Id = {}", saved.id))["plans"]
    assert plans[0]["leadingOperationType"] == "Index"
    assert plans[0]["fields"] == ["Id"]
    plans = sf.query.explain("SELECT Id FROM Account WHERE Name LIKE 'A%'")["plans"]
    assert [p["leadingOperationType"] for p in plans] == ["TableScan"]


def test_injection_through_format_soql_stays_a_literal(org: Emulator) -> None:
    sf = org.client()
    sf.sobjects.create("Account", {"Name": "Secret Corp"})
    sf.sobjects.create("Account", {"Name": "x' OR Name != 'y"})
    hostile = "x' OR Name != 'y"
    soql = format_soql("SELECT Name FROM Account WHERE Name = {}", hostile)
    assert [r["Name"] for r in sf.query.query(soql).records] == [hostile]
    soql = format_soql("SELECT Name FROM Account WHERE Name IN {names}", names=["Secret Corp", "a\\'b"])
    assert [r["Name"] for r in sf.query.query(soql).records] == ["Secret Corp"]


def test_format_soql_values() -> None:
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert (
        format_soql("{} {} {} {} {} {}", None, True, 3, 2.5, dt.date(2026, 1, 2), when)
        == "null true 3 2.5 2026-01-02 2026-01-02T01:04:05Z"
    )
    assert format_soql("{{literal}} {0} {0}", "a\nb") == "{literal} 'a\\nb' 'a\\nb'"
    with pytest.raises(TypeError):
        format_soql("{}", object())
    with pytest.raises(InvalidArgumentError):
        format_soql("{} {}", 1)
    with pytest.raises(InvalidArgumentError):
        format_soql("{}", [])


def test_simple_salesforce_query_all_matches_ours(tls_emulator: Emulator) -> None:
    tls_emulator.seed_records("Account", ({"Name": f"P{i:04}"} for i in range(4_500)))
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token, tls_emulator.ca_cert_path
    )
    theirs = peer.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    ours = list(tls_emulator.client().query.stream("SELECT Id, Name FROM Account ORDER BY Name"))
    assert theirs["totalSize"] == 4_500
    assert [(r["Id"], r["Name"]) for r in theirs["records"]] == [(r["Id"], r["Name"]) for r in ours]


def test_datetime_literals_with_z_and_offsets_filter(org: Emulator) -> None:
    """format_soql writes datetimes as 2020-01-01T00:00:00Z; the emulator read the time's colons
    as a date-literal parameter (LAST_N_DAYS:7) and refused the filter."""
    sf = org.client()
    made = sf.sobjects.create("Account", {"Name": "Dated"}).id
    past = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    soql = format_soql("SELECT Id FROM Account WHERE LastModifiedDate > {}", past)
    assert soql.endswith("> 2020-01-01T00:00:00Z")
    assert [r["Id"] for r in sf.query.stream(soql)] == [made]
    later = "SELECT Id FROM Account WHERE CreatedDate > 2999-01-01T00:00:00+02:00"
    assert sf.query.query(later).total_size == 0
    earlier = "SELECT Id FROM Account WHERE CreatedDate >= 2020-06-30T23:59:59.000-07:00 AND CreatedDate = LAST_N_DAYS:2"
    assert sf.query.query(earlier).total_size == 1


def test_contact_and_lead_have_a_compound_name(org: Emulator) -> None:
    """The README's own example queries Contact.Name, a compound of Salutation, FirstName and
    LastName that Salesforce keeps; the emulator had no such field."""
    sf = org.client()
    acme = sf.sobjects.create("Account", {"Name": "Acme"}).id
    ada = sf.sobjects.create("Contact", {"FirstName": "Ada", "LastName": "Lovelace", "AccountId": acme}).id
    rows = sf.query.query("SELECT Id, Name, Account.Name FROM Contact").records
    assert [(r["Name"], r["Account"]["Name"]) for r in rows] == [("Ada Lovelace", "Acme")]
    sf.sobjects.update("Contact", ada, {"Salutation": "Countess", "FirstName": "Augusta Ada"})
    assert sf.sobjects.get("Contact", ada, fields=["Name"])["Name"] == "Countess Augusta Ada Lovelace"
    sf.sobjects.create("Lead", {"LastName": "Hopper", "Company": "Navy"})
    assert sf.query.query("SELECT Name FROM Lead WHERE Name = 'Hopper'").records[0]["Name"] == "Hopper"
    with pytest.raises(forcelink.SalesforceError) as raised:
        sf.sobjects.update("Contact", ada, {"Name": "Someone Else"})
    assert raised.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_subquery_and_aggregate_rows_read_as_simple_salesforce_reads_them(tls_emulator: Emulator) -> None:
    """Child pages nested in parent rows and aggregate rows come out of our pages as the org sent
    them (the emulator's answers themselves are checked in the emulator's own suite)."""
    sf = tls_emulator.client()
    acme = sf.sobjects.create("Account", {"Name": "Acme"}).id
    sf.sobjects.create("Account", {"Name": "Initech"})
    for last in ("Lee", "Adams"):
        sf.sobjects.create("Contact", {"LastName": last, "AccountId": acme})
    for name, stage, amount in (
        ("D1", "Prospecting", 100.0),
        ("D2", "Closed Won", None),
        ("D3", "Closed Won", 300.0),
    ):
        deal = {"Name": name, "StageName": stage, "CloseDate": "2026-01-15", "Amount": amount}
        sf.sobjects.create("Opportunity", deal)
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token, tls_emulator.ca_cert_path
    )
    nested = "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name"
    grouped = "SELECT StageName, COUNT(Id), SUM(Amount) total FROM Opportunity GROUP BY StageName ORDER BY StageName"
    for soql in (nested, grouped):
        theirs = peer.query_all(soql)
        ours = sf.query.query_all(soql)
        assert (theirs["totalSize"], theirs["records"]) == (ours.total_size, ours.records)
    acme_row, initech_row = sf.query.query_all(nested).records
    assert [c["LastName"] for c in acme_row["Contacts"]["records"]] == ["Adams", "Lee"]
    assert initech_row["Contacts"] is None
    won, prospecting = sf.query.query_all(grouped).records
    assert (won["expr0"], won["total"], prospecting["expr0"], prospecting["total"]) == (2, 300.0, 1, 100.0)
