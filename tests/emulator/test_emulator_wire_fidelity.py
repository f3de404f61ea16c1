"""The emulator answers as Salesforce does where clients we did not write depend on it: header
names spelled as Salesforce spells them on HTTP/1.1, compound and file fields, Bulk's datetime
form, gzip when asked, and upserts keyed by the record id."""

from __future__ import annotations

import gzip
import json
import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from forcelink import Salesforce
from forcelink.errors import ConfigError, InvalidFieldError, NotFoundError, SalesforceError
from forcelink.testing import Emulator

API = "/services/data/v62.0"
FAST = {"poll_interval": 0.02, "max_poll_interval": 0.2}
REST_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
BULK_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def call(
    org: Emulator, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with the standard library: status, headers, raw (undecoded) body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        org.instance_url + path,
        method=method,
        data=data,
        headers={
            "Authorization": f"Bearer {org.access_token}",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def raw_head(org: Emulator, path: str) -> bytes:
    """The response head of a GET over a plain HTTP/1.1 socket, byte for byte."""
    url = urlsplit(org.instance_url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {org.access_token}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def completed_query_job(org: Emulator, soql: str) -> str:
    status, _, body = call(org, "POST", f"{API}/jobs/query", {"operation": "query", "query": soql})
    assert status == 200, body
    job_id: str = json.loads(body)["id"]
    for _ in range(500):
        if json.loads(call(org, "GET", f"{API}/jobs/query/{job_id}")[2])["state"] == "JobComplete":
            return job_id
        time.sleep(0.01)
    raise AssertionError("the query job did not complete")


def test_http1_header_names_are_spelled_as_salesforce_spells_them(org: Emulator) -> None:
    org.seed_records("Account", [{"Name": "A"}, {"Name": "B"}])
    job_id = completed_query_job(org, "SELECT Id, Name FROM Account")
    head = raw_head(org, f"{API}/jobs/query/{job_id}/results?maxRecords=1")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    names = [line.split(b":", 1)[0] for line in head.split(b"\r\n")[1:] if line]
    for name in (b"Content-Type", b"Sforce-NumberOfRecords", b"Sforce-Locator", b"Sforce-Limit-Info"):
        assert name in names, (name, names)
    assert b"\r\nSforce-NumberOfRecords: 1\r\n" in head
    assert b"\r\nContent-Type: text/csv\r\n" in head
    assert all(n[:1].isupper() for n in names), names

    rest = raw_head(org, f"{API}/limits")
    assert b"\r\nContent-Type: application/json" in rest
    assert b"\r\nSforce-Limit-Info: api-usage=" in rest


def by_name(fields: list[Any]) -> dict[str, Any]:
    return {f.name: f for f in fields}


def test_describe_has_compound_address_and_location_fields_and_base64_file_fields(org: Emulator) -> None:
    org.define_object("Site__c", {"Spot__c": "location"})
    sf = org.client()
    account = by_name(sf.sobjects.describe("Account").fields)
    for prefix in ("Billing", "Shipping"):
        compound = account[f"{prefix}Address"]
        assert (compound.type, compound.createable, compound.updateable) == ("address", False, False)
        for part in (
            "Street",
            "City",
            "State",
            "PostalCode",
            "Country",
            "Latitude",
            "Longitude",
            "GeocodeAccuracy",
        ):
            assert account[f"{prefix}{part}"].compound_field_name == f"{prefix}Address"
    assert account["BillingLatitude"].type == "double"
    assert account["Name"].compound_field_name is None

    contact = by_name(sf.sobjects.describe("Contact").fields)
    assert contact["MailingAddress"].type == "address" and contact["OtherAddress"].type == "address"
    assert contact["OtherCity"].compound_field_name == "OtherAddress"
    lead = by_name(sf.sobjects.describe("Lead").fields)
    assert lead["Address"].type == "address" and lead["City"].compound_field_name == "Address"

    version = by_name(sf.sobjects.describe("ContentVersion").fields)["VersionData"]
    assert version.type == "base64"

    site = sf.sobjects.describe("Site__c").raw["fields"]
    spot = next(f for f in site if f["name"] == "Spot__c")
    assert (spot["type"], spot["filterable"], spot["sortable"]) == ("location", False, False)
    parts = {f["name"]: f for f in site if f.get("compoundFieldName") == "Spot__c"}
    assert set(parts) == {"Spot__Latitude__s", "Spot__Longitude__s"}
    assert {p["type"] for p in parts.values()} == {"double"}


def test_rest_reads_give_compound_fields_made_from_their_parts(org: Emulator, tmp_path: Path) -> None:
    org.define_object("Site__c", {"Spot__c": "location"})
    sf = org.client()
    account_id = sf.sobjects.create(
        "Account",
        {
            "Name": "Compound Co",
            "BillingStreet": "1 Main St",
            "BillingCity": "Paris",
            "BillingPostalCode": "75001",
            "BillingCountry": "France",
            "BillingLatitude": 48.86,
            "BillingLongitude": 2.35,
            "BillingGeocodeAccuracy": "Address",
        },
    ).id
    record = sf.sobjects.get("Account", account_id)
    assert record["BillingAddress"] == {
        "city": "Paris",
        "country": "France",
        "geocodeAccuracy": "Address",
        "latitude": 48.86,
        "longitude": 2.35,
        "postalCode": "75001",
        "state": None,
        "street": "1 Main St",
    }
    assert list(record["BillingAddress"]) == sorted(record["BillingAddress"]), "keys in Salesforce's order"
    assert record["ShippingAddress"] is None, "no part set: the compound is null"

    rows = sf.query.query_all("SELECT Id, BillingAddress, ShippingAddress FROM Account").records
    assert rows[0]["BillingAddress"]["city"] == "Paris" and rows[0]["ShippingAddress"] is None

    sf.sobjects.update("Account", account_id, {"BillingCity": "Lyon"})
    assert (
        sf.sobjects.get("Account", account_id, fields=["BillingAddress"])["BillingAddress"]["city"] == "Lyon"
    )

    with pytest.raises(SalesforceError) as refused:
        sf.sobjects.update("Account", account_id, {"BillingAddress": {"city": "Nice"}})
    assert refused.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"

    site_id = sf.sobjects.create(
        "Site__c", {"Name": "HQ", "Spot__Latitude__s": 1.5, "Spot__Longitude__s": -2.25}
    ).id
    assert sf.sobjects.get("Site__c", site_id)["Spot__c"] == {"latitude": 1.5, "longitude": -2.25}

    greeting = tmp_path / "greeting.txt"
    greeting.write_bytes(b"hello")
    file_id = sf.files.upload(greeting, Title="greeting").id
    version = sf.sobjects.get("ContentVersion", file_id)
    assert version["VersionData"] == f"{API}/sobjects/ContentVersion/{file_id}/VersionData"


def test_compound_fields_cannot_be_filtered_sorted_or_read_by_bulk(org: Emulator) -> None:
    sf = org.client()
    sf.sobjects.create("Account", {"Name": "A", "BillingCity": "Paris"})
    with pytest.raises(InvalidFieldError, match="can not be filtered"):
        sf.query.query_all("SELECT Id FROM Account WHERE BillingAddress != null")
    with pytest.raises(InvalidFieldError, match="can not be sorted"):
        sf.query.query_all("SELECT Id FROM Account ORDER BY BillingAddress")
    # The parts can.
    assert len(sf.query.query_all("SELECT Id FROM Account WHERE BillingCity = 'Paris'").records) == 1

    with pytest.raises(SalesforceError) as compound:
        list(sf.bulk.query("SELECT Id, BillingAddress FROM Account", poll_interval=0.02))
    assert compound.value.error_code == "FUNCTIONALITY_NOT_ENABLED"
    assert "compound data not supported in Bulk Query" in str(compound.value)
    with pytest.raises(SalesforceError) as base64:
        list(sf.bulk.query("SELECT Id, VersionData FROM ContentVersion", poll_interval=0.02))
    assert base64.value.error_code == "FUNCTIONALITY_NOT_ENABLED"
    rows = list(sf.bulk.query("SELECT Id, BillingCity FROM Account", poll_interval=0.02))
    assert [r["BillingCity"] for r in rows] == ["Paris"]


def test_bulk_results_write_datetimes_in_bulks_form_and_rest_in_rests(org: Emulator) -> None:
    sf = org.client()
    account_id = sf.sobjects.create("Account", {"Name": "Dated"}).id
    rest = sf.sobjects.get("Account", account_id)
    assert REST_DATETIME.match(rest["CreatedDate"]), rest["CreatedDate"]
    assert REST_DATETIME.match(
        sf.query.query_all("SELECT CreatedDate FROM Account").records[0]["CreatedDate"]
    )

    rows = list(sf.bulk.query("SELECT Id, CreatedDate, Name FROM Account", poll_interval=0.02))
    assert BULK_DATETIME.match(rows[0]["CreatedDate"]), rows[0]["CreatedDate"]
    assert rows[0]["CreatedDate"] == rest["CreatedDate"].replace("+0000", "Z")

    # The typed read parses both forms to the same instant.
    bulk_table = sf.bulk.query("SELECT CreatedDate FROM Account", poll_interval=0.02).to_arrow()
    rest_table = sf.query.to_arrow("SELECT CreatedDate FROM Account")
    assert bulk_table.column("CreatedDate").to_pylist() == rest_table.column("CreatedDate").to_pylist()


def test_answers_are_gzip_compressed_when_asked(org: Emulator) -> None:
    org.seed_records("Account", ({"Name": f"Zip {i}"} for i in range(200)))
    status, headers, body = call(
        org,
        "GET",
        f"{API}/query?q=" + quote("SELECT Id, Name FROM Account"),
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["totalSize"] == 200

    status, headers, body = call(org, "GET", f"{API}/query?q=" + quote("SELECT Id FROM Account"))
    assert "Content-Encoding" not in headers and json.loads(body)["totalSize"] == 200

    job_id = completed_query_job(org, "SELECT Id, Name FROM Account")
    status, headers, body = call(
        org, "GET", f"{API}/jobs/query/{job_id}/results", headers={"Accept-Encoding": "gzip"}
    )
    assert headers.get("Content-Encoding") == "gzip" and headers["Sforce-NumberOfRecords"] == "200"
    assert gzip.decompress(body).count(b"\n") == 201
    assert org.stats()["gzip_answers"] == 2


def test_the_client_asks_for_gzip_except_on_loopback_unless_told(org: Emulator) -> None:
    org.seed_records("Account", ({"Name": f"Zip {i}"} for i in range(50)))
    before = org.stats()["gzip_answers"]
    assert len(org.client().query.query_all("SELECT Id FROM Account").records) == 50
    assert org.stats()["gzip_answers"] == before, "loopback: not asked by default"

    compressed = (
        Salesforce.builder().instance_url(org.instance_url).access_token(org.access_token).gzip(True).build()
    )
    assert len(compressed.query.query_all("SELECT Id, Name FROM Account").records) == 50
    rows = list(compressed.bulk.query("SELECT Id, Name FROM Account", poll_interval=0.02))
    assert sorted(r["Name"] for r in rows) == sorted(f"Zip {i}" for i in range(50))
    assert org.stats()["gzip_answers"] >= before + 2


def test_sf_gzip_is_read_from_the_environment_and_checked(
    org: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_INSTANCE_URL", org.instance_url)
    monkeypatch.setenv("SF_ACCESS_TOKEN", org.access_token)
    monkeypatch.setenv("SF_GZIP", "true")
    before = org.stats()["gzip_answers"]
    Salesforce.from_env().sobjects.describe("Account")
    assert org.stats()["gzip_answers"] == before + 1
    monkeypatch.setenv("SF_GZIP", "sometimes")
    with pytest.raises(ConfigError, match="SF_GZIP"):
        Salesforce.from_env()


def test_upsert_keyed_by_id_updates_or_is_not_found(org: Emulator) -> None:
    sf = org.client()
    account_id = sf.sobjects.create("Account", {"Name": "Before"}).id
    status, _, body = call(org, "PATCH", f"{API}/sobjects/Account/Id/{account_id}", {"Name": "After"})
    assert status == 200 and json.loads(body) == {
        "id": account_id,
        "success": True,
        "errors": [],
        "created": False,
    }
    assert sf.sobjects.get("Account", account_id)["Name"] == "After"

    status, _, body = call(org, "PATCH", f"{API}/sobjects/Account/Id/001000000000999AAA", {"Name": "Ghost"})
    assert status == 404 and json.loads(body)[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(NotFoundError):
        sf.sobjects.upsert("Account", "Id", "001000000000999AAA", {"Name": "Ghost"})

    result = sf.bulk.upsert(
        "Account",
        [
            {"Id": account_id, "Name": "Bulk After"},
            {"Id": "", "Name": "Bulk New"},
            {"Id": "001000000000999AAA", "Name": "Ghost"},
        ],
        external_id_field="Id",
        **FAST,
    )
    assert (result.records_processed, result.records_failed) == (3, 1)
    created = {r["Name"]: r["sf__Created"] for r in result.successful_records()}
    assert created == {"Bulk After": "false", "Bulk New": "true"}
    assert next(iter(result.failed_records()))["sf__Error"].startswith("NOT_FOUND:")
    names = sorted(r["Name"] for r in sf.query.query_all("SELECT Name FROM Account").records)
    assert names == ["Bulk After", "Bulk New"]
