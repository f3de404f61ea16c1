"""simple-salesforce, a client we did not write, does CRUD against the emulator over HTTPS."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceResourceNotFound

from forcelink.testing import Emulator

from .conftest import simple_salesforce_peer


def test_simple_salesforce_crud_over_https(tls_emulator: Emulator) -> None:
    peer = simple_salesforce_peer(
        tls_emulator.instance_url, tls_emulator.access_token(), tls_emulator.ca_cert_path
    )
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

    # What the peer wrote, our client reads.
    ours = tls_emulator.client()
    invoice = ours.sobjects.get_by_external_id("Invoice__c", "Invoice_Number__c", "P-1")
    assert invoice["Name"] == "peer invoice"
