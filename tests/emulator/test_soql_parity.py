"""The emulator answers SOQL as real orgs do: aggregates (COUNT, COUNT_DISTINCT, SUM, AVG, MIN,
MAX) with GROUP BY, HAVING, aliases and ``exprN`` names; parent-to-child subqueries with their
own totalSize/done/records; FIELDS(); WITH SECURITY_ENFORCED; and Salesforce's error for what
it does not serve. simple-salesforce's query_all reads the same rows as ours."""

from __future__ import annotations

from typing import Any

import pytest

from forcelink import InvalidFieldError, InvalidTypeError, MalformedQueryError, Salesforce, SalesforceError
from forcelink.testing import Emulator

from ..conftest import simple_salesforce_peer


def seed(sf: Salesforce) -> dict[str, str]:
    acme = sf.sobjects.create("Account", {"Name": "Acme"}).id
    globex = sf.sobjects.create("Account", {"Name": "Globex"}).id
    sf.sobjects.create("Account", {"Name": "Initech"})
    for last, account in (("Lee", acme), ("Adams", acme), ("Kim", globex)):
        sf.sobjects.create("Contact", {"LastName": last, "AccountId": account})
    deals = [
        ("D1", acme, "Prospecting", 100.0, "2026-01-15"),
        ("D2", acme, "Prospecting", 200.0, "2026-02-15"),
        ("D3", globex, "Closed Won", 300.0, "2026-03-15"),
        ("D4", None, "Closed Won", None, "2026-04-15"),
    ]
    for name, account, stage, amount, close in deals:
        record: dict[str, Any] = {"Name": name, "StageName": stage, "CloseDate": close, "Amount": amount}
        if account:
            record["AccountId"] = account
        sf.sobjects.create("Opportunity", record)
    return {"Acme": acme, "Globex": globex}


def plain(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without their attributes (nested ones too), for comparing values."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "attributes"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(r) for r in records]


def test_aggregates_without_group_by_make_one_row(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    page = sf.query.query_all(
        "SELECT COUNT(Id), COUNT(Amount), SUM(Amount), AVG(Amount), MIN(CloseDate), MAX(Amount) top, "
        "COUNT_DISTINCT(StageName) FROM Opportunity"
    )
    assert page.total_size == 1
    assert page.records == [
        {
            "attributes": {"type": "AggregateResult"},
            "expr0": 4,
            "expr1": 3,
            "expr2": 600.0,
            "expr3": 200.0,
            "expr4": "2026-01-15",
            "top": 300.0,
            "expr5": 2,
        }
    ]
    empty = sf.query.query_all("SELECT COUNT(Id), SUM(Amount) FROM Opportunity WHERE Name = 'none'")
    assert plain(empty.records) == [{"expr0": 0, "expr1": None}]


def test_group_by_having_and_order_by_an_aggregate(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    grouped = sf.query.query_all(
        "SELECT StageName, COUNT(Id) n, SUM(Amount) FROM Opportunity GROUP BY StageName ORDER BY StageName"
    )
    assert plain(grouped.records) == [
        {"StageName": "Closed Won", "n": 2, "expr0": 300.0},
        {"StageName": "Prospecting", "n": 2, "expr0": 300.0},
    ]
    having = sf.query.query_all(
        "SELECT Account.Name, SUM(Amount) total FROM Opportunity GROUP BY Account.Name "
        "HAVING SUM(Amount) > 250 OR Account.Name = null ORDER BY SUM(Amount) DESC NULLS LAST, Account.Name"
    )
    assert plain(having.records) == [
        {"Name": "Acme", "total": 300.0},
        {"Name": "Globex", "total": 300.0},
        {"Name": None, "total": None},
    ]
    counted = sf.query.query_all(
        "SELECT AccountId, COUNT(Id) FROM Contact GROUP BY AccountId HAVING COUNT(Id) > 1"
    )
    assert len(counted.records) == 1 and counted.records[0]["expr0"] == 2


@pytest.mark.parametrize(
    ("soql", "error"),
    [
        ("SELECT Name, COUNT(Id) FROM Opportunity", MalformedQueryError),
        ("SELECT StageName, Name, COUNT(Id) FROM Opportunity GROUP BY StageName", MalformedQueryError),
        ("SELECT SUM(Name) FROM Opportunity", InvalidFieldError),
        ("SELECT Name FROM Opportunity WHERE COUNT(Id) > 1", MalformedQueryError),
        ("SELECT Name FROM Opportunity HAVING Name = 'x'", MalformedQueryError),
        ("SELECT Name, (SELECT LastName FROM Nope) FROM Account", InvalidTypeError),
        ("SELECT Name, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account", MalformedQueryError),
        ("SELECT FIELDS(ALL) FROM Account", MalformedQueryError),
        ("SELECT FIELDS(EVERYTHING) FROM Account LIMIT 1", MalformedQueryError),
        ("SELECT Id FROM Account WITH USER_MODE", MalformedQueryError),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event", MalformedQueryError),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", MalformedQueryError),
        (
            "SELECT CALENDAR_YEAR(CloseDate), COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
            MalformedQueryError,
        ),
        ("SELECT Name FROM Account GROUP BY ROLLUP(Name)", MalformedQueryError),
        ("SELECT Name FROM Account FOR UPDATE", MalformedQueryError),
    ],
)
def test_what_is_not_served_answers_salesforces_error(
    sf_emulator: Emulator, soql: str, error: type[SalesforceError]
) -> None:
    sf = sf_emulator.client()
    with pytest.raises(error):
        sf.query.query(soql)


def test_subqueries_nest_each_parents_children(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    ids = seed(sf)
    page = sf.query.query_all(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name"
    )
    acme, globex, initech = page.records
    assert acme["Contacts"]["totalSize"] == 2 and acme["Contacts"]["done"] is True
    assert [c["LastName"] for c in acme["Contacts"]["records"]] == ["Adams", "Lee"]
    assert acme["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
    assert [c["LastName"] for c in globex["Contacts"]["records"]] == ["Kim"]
    assert initech["Contacts"] is None
    filtered = sf.query.query_all(
        "SELECT Id, (SELECT Name, Amount FROM Opportunities WHERE Amount > 150 LIMIT 1) FROM Account "
        f"WHERE Id = '{ids['Acme']}'"
    )
    assert plain(filtered.records) == [
        {
            "Id": ids["Acme"],
            "Opportunities": {"totalSize": 1, "done": True, "records": [{"Name": "D2", "Amount": 200.0}]},
        }
    ]
    with pytest.raises(SalesforceError):
        list(sf.bulk.query("SELECT Name, (SELECT LastName FROM Contacts) FROM Account", poll_interval=0.02))


def test_fields_and_security_enforced(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    seed(sf)
    (record,) = sf.query.query("SELECT FIELDS(STANDARD) FROM Account WHERE Name = 'Acme'").records
    assert {"Id", "Name", "Industry", "BillingCity", "CreatedDate"} <= set(record)
    limited = sf.query.query("SELECT FIELDS(ALL) FROM Account ORDER BY Name LIMIT 2").records
    assert [r["Name"] for r in limited] == ["Acme", "Globex"]
    secured = sf.query.query("SELECT Name FROM Account WITH SECURITY_ENFORCED ORDER BY Name")
    assert [r["Name"] for r in secured.records] == ["Acme", "Globex", "Initech"]


def test_simple_salesforce_reads_the_same_subquery_and_aggregate_rows(tls_emulator: Emulator) -> None:
    sf = tls_emulator.client()
    seed(sf)
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token, tls_emulator.ca_cert_path
    )
    for soql in (
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name",
        "SELECT StageName, COUNT(Id), SUM(Amount) total FROM Opportunity GROUP BY StageName ORDER BY StageName",
    ):
        theirs = peer.query_all(soql)
        ours = sf.query.query_all(soql)
        assert theirs["totalSize"] == ours.total_size
        assert plain(theirs["records"]) == plain(ours.records)


def test_users_own_and_create_records(sf_emulator: Emulator) -> None:
    sf = sf_emulator.client()
    (admin,) = sf.query.query_all("SELECT Id, Username, Name, IsActive FROM User").records
    assert (admin["Id"], admin["Username"], admin["IsActive"]) == (
        sf_emulator.user_id,
        sf_emulator.username,
        True,
    )
    assert admin["Name"] == sf_emulator.username.split("@")[0]
    other = sf_emulator.create_user("ops@example.com")
    sf.sobjects.create("Account", {"Name": "Mine"})
    sf.sobjects.create("Account", {"Name": "Theirs", "OwnerId": other})
    rows = sf.query.query_all(
        "SELECT Name, Owner.Username, CreatedBy.Name, LastModifiedBy.Id FROM Account ORDER BY Name"
    ).records
    assert [(r["Name"], r["Owner"]["Username"]) for r in rows] == [
        ("Mine", sf_emulator.username),
        ("Theirs", "ops@example.com"),
    ]
    assert {r["CreatedBy"]["Name"] for r in rows} == {admin["Name"]}
    assert {r["LastModifiedBy"]["Id"] for r in rows} == {sf_emulator.user_id}
    by_owner = sf.query.query_all(
        "SELECT Owner.Username, COUNT(Id) FROM Account GROUP BY Owner.Username ORDER BY Owner.Username"
    )
    assert plain(by_owner.records) == [
        {"Username": sf_emulator.username, "expr0": 1},
        {"Username": "ops@example.com", "expr0": 1},
    ]
    owner = sf.sobjects.describe("Account").field("OwnerId")
    assert owner is not None and (owner.reference_to, owner.relationship_name) == (["User"], "Owner")
