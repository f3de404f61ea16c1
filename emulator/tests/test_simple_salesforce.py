"""simple-salesforce, a client we did not write, does CRUD and a Bulk 2.0 download against the
emulator over HTTPS."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from forcelink_emulator import Emulator
from simple_salesforce.exceptions import SalesforceResourceNotFound

from .conftest import simple_salesforce_peer


def test_simple_salesforce_crud_over_https(tls_org: Emulator) -> None:
    peer = simple_salesforce_peer(tls_org.instance_url, tls_org.access_token, tls_org.ca_cert_path)
    created = peer.Account.create({"Name": "Peer Co", "Industry": "Retail"})
    assert created["success"] is True
    record_id = created["id"]

    record = peer.Account.get(record_id)
    assert record["Name"] == "Peer Co"
    assert record["Industry"] == "Retail"
    assert record["attributes"]["type"] == "Account"

    assert peer.Account.update(record_id, {"Industry": "Energy"}) == 204
    assert peer.Account.get(record_id)["Industry"] == "Energy"

    upserted = peer.Invoice__c.upsert("Invoice_Number__c/P-1", {"Name": "peer invoice"})
    assert upserted == 201

    described = peer.Account.describe()
    assert any(f["name"] == "Industry" for f in described["fields"])

    assert peer.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        peer.Account.get(record_id)
    assert caught.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"

    # The upsert wrote the record under its external id.
    invoice = peer.Invoice__c.get_by_custom_id("Invoice_Number__c", "P-1")
    assert invoice["Name"] == "peer invoice"


def test_simple_salesforce_bulk2_download_by_locator_and_a_compound_rest_read(
    tls_org: Emulator, tmp_path: Path
) -> None:
    """simple-salesforce's bulk2 download follows `Sforce-Locator` page by page and counts rows
    from `Sforce-NumberOfRecords` (asking for gzip, as requests does); its REST read sees
    `BillingAddress` made from the parts."""
    tls_org.seed_records(
        "Account", ({"Name": f"Peer {i:03}", "BillingCity": f"City {i % 7}"} for i in range(250))
    )
    peer = simple_salesforce_peer(tls_org.instance_url, tls_org.access_token, tls_org.ca_cert_path)
    results = peer.bulk2.Account.download(
        "SELECT Id, Name, BillingCity, CreatedDate FROM Account", path=str(tmp_path), max_records=100, wait=1
    )
    assert [r["number_of_records"] for r in results] == [100, 100, 50]
    rows = []
    for result in results:
        with open(result["file"], newline="") as f:
            rows.extend(csv.DictReader(f))
    assert sorted(r["Name"] for r in rows) == [f"Peer {i:03}" for i in range(250)]
    assert all(r["CreatedDate"].endswith("Z") for r in rows)
    assert tls_org.stats()["gzip_answers"] >= 3

    account_id = rows[0]["Id"]
    peer.Account.update(account_id, {"BillingStreet": "2 Peer Rd", "BillingPostalCode": "PX1"})
    record = peer.Account.get(account_id)
    assert record["BillingAddress"]["street"] == "2 Peer Rd"
    assert record["BillingAddress"]["postalCode"] == "PX1"
    assert record["BillingAddress"]["city"] == record["BillingCity"]
    assert record["ShippingAddress"] is None
