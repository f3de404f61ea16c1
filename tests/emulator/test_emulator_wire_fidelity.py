"""The emulator's answers as the client reads them: compound and file fields, Bulk's datetime
form beside REST's, gzip asked for by the client, and upserts keyed by the record id. The same
answers over plain HTTP, byte for byte, are checked by the emulator's own suite
(emulator/tests/test_wire.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from forcelink import Salesforce
from forcelink.errors import ConfigError, InvalidFieldError, NotFoundError, SalesforceError
from forcelink.testing import Emulator

from ..conftest import point_env_at

API = "/services/data/v62.0"
FAST = {"poll_interval": 0.02, "max_poll_interval": 0.2}
REST_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")
GEOLOCATION_PARTS = ("Latitude", "Longitude", "GeocodeAccuracy")
BULK_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def by_name(fields: list[Any]) -> dict[str, Any]:
    return {f.name: f for f in fields}


def test_describe_has_compound_address_and_location_fields_and_base64_file_fields(org: Emulator) -> None:
    org.define_object("Site__c", {"Spot__c": "location"})
    sf = org.client()
    account = by_name(sf.sobjects.describe("Account").fields)
    for prefix in ("Billing", "Shipping"):
        compound = account[f"{prefix}Address"]
        assert (compound.type, compound.createable, compound.updateable) == ("address", False, False)
        for part in (*ADDRESS_PARTS, *GEOLOCATION_PARTS):
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
    point_env_at(monkeypatch, org)
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
    assert sf.sobjects.upsert("Account", "Id", account_id, {"Name": "After"}).created is False
    assert sf.sobjects.get("Account", account_id)["Name"] == "After"

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
