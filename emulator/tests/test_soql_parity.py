"""The emulator answers SOQL as real orgs do, read here by simple-salesforce: aggregates (COUNT,
COUNT_DISTINCT, SUM, AVG, MIN, MAX) with GROUP BY, HAVING, aliases and ``exprN`` names;
parent-to-child subqueries with their own totalSize/done/records; FIELDS(); WITH
SECURITY_ENFORCED; the User who owns and creates records; and Salesforce's error code for what it
does not serve."""

from __future__ import annotations

import json
from typing import Any

import pytest
from forcelink_emulator import Emulator
from simple_salesforce import Salesforce as SimpleSalesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from .conftest import simple_salesforce_peer


@pytest.fixture
def peer(tls_org: Emulator) -> SimpleSalesforce:
    return simple_salesforce_peer(tls_org.instance_url, tls_org.access_token, tls_org.ca_cert_path)


def seed(peer: SimpleSalesforce) -> dict[str, str]:
    def create(sobject: str, record: dict[str, Any]) -> str:
        record_id: str = getattr(peer, sobject).create(record)["id"]
        return record_id

    acme = create("Account", {"Name": "Acme"})
    globex = create("Account", {"Name": "Globex"})
    create("Account", {"Name": "Initech"})
    for last, account in (("Lee", acme), ("Adams", acme), ("Kim", globex)):
        create("Contact", {"LastName": last, "AccountId": account})
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
        create("Opportunity", record)
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


def test_aggregates_without_group_by_make_one_row(peer: SimpleSalesforce) -> None:
    seed(peer)
    page = peer.query_all(
        "SELECT COUNT(Id), COUNT(Amount), SUM(Amount), AVG(Amount), MIN(CloseDate), MAX(Amount) top, "
        "COUNT_DISTINCT(StageName) FROM Opportunity"
    )
    assert page["totalSize"] == 1
    assert page["records"] == [
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
    empty = peer.query_all("SELECT COUNT(Id), SUM(Amount) FROM Opportunity WHERE Name = 'none'")
    assert plain(empty["records"]) == [{"expr0": 0, "expr1": None}]


def test_group_by_having_and_order_by_an_aggregate(peer: SimpleSalesforce) -> None:
    seed(peer)
    grouped = peer.query_all(
        "SELECT StageName, COUNT(Id) n, SUM(Amount) FROM Opportunity GROUP BY StageName ORDER BY StageName"
    )
    assert plain(grouped["records"]) == [
        {"StageName": "Closed Won", "n": 2, "expr0": 300.0},
        {"StageName": "Prospecting", "n": 2, "expr0": 300.0},
    ]
    having = peer.query_all(
        "SELECT Account.Name, SUM(Amount) total FROM Opportunity GROUP BY Account.Name "
        "HAVING SUM(Amount) > 250 OR Account.Name = null ORDER BY SUM(Amount) DESC NULLS LAST, Account.Name"
    )
    assert plain(having["records"]) == [
        {"Name": "Acme", "total": 300.0},
        {"Name": "Globex", "total": 300.0},
        {"Name": None, "total": None},
    ]
    counted = peer.query_all(
        "SELECT AccountId, COUNT(Id) FROM Contact GROUP BY AccountId HAVING COUNT(Id) > 1"
    )
    assert len(counted["records"]) == 1 and counted["records"][0]["expr0"] == 2


@pytest.mark.parametrize(
    ("soql", "error_code"),
    [
        ("SELECT Name, COUNT(Id) FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT StageName, Name, COUNT(Id) FROM Opportunity GROUP BY StageName", "MALFORMED_QUERY"),
        ("SELECT SUM(Name) FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Name FROM Opportunity WHERE COUNT(Id) > 1", "MALFORMED_QUERY"),
        ("SELECT Name FROM Opportunity HAVING Name = 'x'", "MALFORMED_QUERY"),
        ("SELECT Name, (SELECT LastName FROM Nope) FROM Account", "INVALID_TYPE"),
        ("SELECT Name, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account", "MALFORMED_QUERY"),
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY"),
        ("SELECT FIELDS(EVERYTHING) FROM Account LIMIT 1", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WITH USER_MODE", "MALFORMED_QUERY"),
        ("SELECT TYPEOF What WHEN Account THEN Name END FROM Event", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY"),
        (
            "SELECT CALENDAR_YEAR(CloseDate), COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
            "MALFORMED_QUERY",
        ),
        ("SELECT Name FROM Account GROUP BY ROLLUP(Name)", "MALFORMED_QUERY"),
        ("SELECT Name FROM Account FOR UPDATE", "MALFORMED_QUERY"),
    ],
)
def test_what_is_not_served_answers_salesforces_error(
    peer: SimpleSalesforce, soql: str, error_code: str
) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        peer.query(soql)
    assert refused.value.status == 400
    assert [e["errorCode"] for e in refused.value.content] == [error_code]


def test_subqueries_nest_each_parents_children(peer: SimpleSalesforce) -> None:
    ids = seed(peer)
    acme, globex, initech = peer.query_all(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name"
    )["records"]
    assert acme["Contacts"]["totalSize"] == 2 and acme["Contacts"]["done"] is True
    assert [c["LastName"] for c in acme["Contacts"]["records"]] == ["Adams", "Lee"]
    assert acme["Contacts"]["records"][0]["attributes"]["type"] == "Contact"
    assert [c["LastName"] for c in globex["Contacts"]["records"]] == ["Kim"]
    assert initech["Contacts"] is None
    filtered = peer.query_all(
        "SELECT Id, (SELECT Name, Amount FROM Opportunities WHERE Amount > 150 LIMIT 1) FROM Account "
        f"WHERE Id = '{ids['Acme']}'"
    )
    assert plain(filtered["records"]) == [
        {
            "Id": ids["Acme"],
            "Opportunities": {"totalSize": 1, "done": True, "records": [{"Name": "D2", "Amount": 200.0}]},
        }
    ]
    nested = {"operation": "query", "query": "SELECT Name, (SELECT LastName FROM Contacts) FROM Account"}
    with pytest.raises(SalesforceMalformedRequest) as refused:
        peer.restful("jobs/query", method="POST", data=json.dumps(nested))
    assert "not supported by Bulk API 2.0" in refused.value.content[0]["message"]


def test_fields_and_security_enforced(peer: SimpleSalesforce) -> None:
    seed(peer)
    (record,) = peer.query("SELECT FIELDS(STANDARD) FROM Account WHERE Name = 'Acme'")["records"]
    assert {"Id", "Name", "Industry", "BillingCity", "CreatedDate"} <= set(record)
    limited = peer.query("SELECT FIELDS(ALL) FROM Account ORDER BY Name LIMIT 2")["records"]
    assert [r["Name"] for r in limited] == ["Acme", "Globex"]
    secured = peer.query("SELECT Name FROM Account WITH SECURITY_ENFORCED ORDER BY Name")
    assert [r["Name"] for r in secured["records"]] == ["Acme", "Globex", "Initech"]


def test_users_own_and_create_records(tls_org: Emulator, peer: SimpleSalesforce) -> None:
    (admin,) = peer.query_all("SELECT Id, Username, Name, IsActive FROM User")["records"]
    assert (admin["Id"], admin["Username"], admin["IsActive"]) == (tls_org.user_id, tls_org.username, True)
    assert admin["Name"] == tls_org.username.split("@")[0]
    other = tls_org.create_user("ops@example.com")
    peer.Account.create({"Name": "Mine"})
    peer.Account.create({"Name": "Theirs", "OwnerId": other})
    rows = peer.query_all(
        "SELECT Name, Owner.Username, CreatedBy.Name, LastModifiedBy.Id FROM Account ORDER BY Name"
    )["records"]
    assert [(r["Name"], r["Owner"]["Username"]) for r in rows] == [
        ("Mine", tls_org.username),
        ("Theirs", "ops@example.com"),
    ]
    assert {r["CreatedBy"]["Name"] for r in rows} == {admin["Name"]}
    assert {r["LastModifiedBy"]["Id"] for r in rows} == {tls_org.user_id}
    by_owner = peer.query_all(
        "SELECT Owner.Username, COUNT(Id) FROM Account GROUP BY Owner.Username ORDER BY Owner.Username"
    )
    assert plain(by_owner["records"]) == [
        {"Username": tls_org.username, "expr0": 1},
        {"Username": "ops@example.com", "expr0": 1},
    ]
    owner = {f["name"]: f for f in peer.Account.describe()["fields"]}["OwnerId"]
    assert (owner["referenceTo"], owner["relationshipName"]) == (["User"], "Owner")
