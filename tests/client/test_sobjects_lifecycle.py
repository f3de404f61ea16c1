"""The CRUD lifecycle through both clients, against the emulator over real sockets."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from forcelink import (
    AsyncSalesforce,
    EntityDeletedError,
    SaveResult,
    UpsertResult,
)
from forcelink.testing import Emulator


def test_sync_lifecycle_over_tls(tls_emulator: Emulator) -> None:
    sf = tls_emulator.client()
    assert sf.instance_url.startswith("https://127.0.0.1:")

    saved = sf.sobjects.create("Account", {"Name": "Acme", "NumberOfEmployees": 12})
    assert isinstance(saved, SaveResult)
    assert saved.success is True
    assert len(saved.id) == 18 and saved.id.startswith("001")
    assert saved.errors == []

    got = sf.sobjects.get("Account", saved.id, fields=["Name", "NumberOfEmployees"])
    assert got["Name"] == "Acme"
    assert got["NumberOfEmployees"] == 12
    assert got["Id"] == saved.id
    assert got["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{saved.id}",
    }
    assert "Industry" not in got

    sf.sobjects.update("Account", saved.id, {"Industry": "Technology", "NumberOfEmployees": None})
    full = sf.sobjects.get("Account", saved.id)
    assert full["Industry"] == "Technology"
    assert full["NumberOfEmployees"] is None
    assert full["IsDeleted"] is False

    inserted = sf.sobjects.upsert(
        "Invoice__c", "Invoice_Number__c", "INV-1", {"Name": "one", "Amount__c": 10}
    )
    assert isinstance(inserted, UpsertResult)
    assert inserted.created is True
    updated = sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "INV-1", {"Amount__c": 25.5})
    assert updated.created is False
    assert updated.id == inserted.id
    invoice = sf.sobjects.get_by_external_id("Invoice__c", "Invoice_Number__c", "INV-1", fields=["Amount__c"])
    assert invoice["Amount__c"] == 25.5

    sf.sobjects.delete("Account", saved.id)
    with pytest.raises(EntityDeletedError) as caught:
        sf.sobjects.get("Account", saved.id)
    assert caught.value.error_code == "ENTITY_IS_DELETED"
    assert caught.value.status == 404


async def test_async_lifecycle(async_sf: AsyncSalesforce) -> None:
    sf = async_sf
    saved = await sf.sobjects.create("Contact", {"LastName": "Lovelace", "Email": "ada@example.com"})
    got = await sf.sobjects.get("Contact", saved.id, fields=["LastName", "Email"])
    assert (got["LastName"], got["Email"]) == ("Lovelace", "ada@example.com")
    await sf.sobjects.update("Contact", saved.id, {"FirstName": "Ada"})
    assert (await sf.sobjects.get("Contact", saved.id))["FirstName"] == "Ada"
    first = await sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "A-9", {"Name": "x"})
    second = await sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "A-9", {"Name": "y"})
    assert (first.created, second.created, second.id) == (True, False, first.id)
    await sf.sobjects.delete("Contact", saved.id)
    with pytest.raises(EntityDeletedError):
        await sf.sobjects.get("Contact", saved.id)
    with pytest.raises(EntityDeletedError):
        await sf.sobjects.delete("Contact", saved.id)


def test_python_values_are_sent_as_salesforce_expects(org: Emulator) -> None:
    sf = org.client()
    saved = sf.sobjects.create(
        "Invoice__c",
        {"Name": "typed", "Amount__c": Decimal("12.50"), "Due__c": dt.date(2026, 3, 1)},
    )
    got = sf.sobjects.get("Invoice__c", saved.id)
    assert got["Amount__c"] == 12.5
    assert got["Due__c"] == "2026-03-01"
    created = dt.datetime.strptime(got["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert created.tzinfo is not None


def test_upsert_with_a_slash_in_the_external_id(org: Emulator) -> None:
    sf = org.client()
    first = sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "2026/03 #1?", {"Name": "slash"})
    again = sf.sobjects.upsert("Invoice__c", "Invoice_Number__c", "2026/03 #1?", {"Name": "slash 2"})
    assert first.created and not again.created and first.id == again.id


def test_describe_and_describe_global(org: Emulator) -> None:
    sf = org.client()
    account = sf.sobjects.describe("Account")
    assert account.name == "Account"
    assert account.key_prefix == "001"
    name = account.field("name")
    assert name is not None
    assert (name.type, name.nillable, name.createable) == ("string", False, True)
    industry = account.field("Industry")
    assert industry is not None and "Technology" in industry.picklist_values
    assert account.raw["name"] == "Account"
    invoice = sf.sobjects.describe("Invoice__c")
    number = invoice.field("Invoice_Number__c")
    assert number is not None and number.external_id and number.unique
    assert invoice.custom is True
    names = {o.name for o in sf.sobjects.describe_global().sobjects}
    assert {"Account", "Contact", "Lead", "Opportunity", "Case", "Invoice__c"} <= names


def test_limits_usage_tracks_every_response(org: Emulator) -> None:
    sf = org.client()
    assert sf.limits.usage is None
    sf.sobjects.create("Account", {"Name": "A"})
    usage = sf.limits.usage
    assert usage is not None
    assert (usage.used, usage.max) == (1, 100_000)
    assert usage.percent == pytest.approx(0.001)
    limits = sf.limits.get()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - 2
    assert org.stats()["api_usage"]["used"] == 2
    assert org.stats()["requests"]["POST sobjects/{object}"] == 1


def test_versions(org: Emulator) -> None:
    versions = org.client().versions()
    assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
