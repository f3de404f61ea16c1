from __future__ import annotations

from collections.abc import Iterator

import pytest

from forcelink import AsyncSalesforce
from forcelink.testing import Emulator

pytest_plugins = ["pytester"]

INVOICE_FIELDS = {
    "Invoice_Number__c": {"type": "string", "external_id": True, "unique": True},
    "Code__c": {"type": "string", "external_id": True},
    "Amount__c": "currency",
    "Due__c": "date",
}


@pytest.fixture
def tls_emulator() -> Iterator[Emulator]:
    with Emulator(tls=True) as org:
        org.define_object("Invoice__c", INVOICE_FIELDS)
        yield org


@pytest.fixture
def org(sf_emulator: Emulator) -> Emulator:
    """The plugin's emulator with a custom object for upserts."""
    sf_emulator.define_object("Invoice__c", INVOICE_FIELDS)
    return sf_emulator


@pytest.fixture
def async_sf(org: Emulator) -> AsyncSalesforce:
    return org.async_client()
