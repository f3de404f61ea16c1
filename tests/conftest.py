from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce as SimpleSalesforce

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


def simple_salesforce_peer(
    instance_url: str, access_token: str, ca_cert_path: str | None
) -> SimpleSalesforce:
    """simple-salesforce pointed at an emulator over HTTPS, trusting its CA."""
    session = requests.Session()
    session.verify = ca_cert_path or True
    # REQUESTS_CA_BUNDLE in the environment would override session.verify otherwise.
    session.trust_env = False
    return SimpleSalesforce(
        instance_url=instance_url, session_id=access_token, session=session, version="62.0"
    )
