from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
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


def point_env_at(monkeypatch: pytest.MonkeyPatch, org: Emulator) -> None:
    """SF_INSTANCE_URL and SF_ACCESS_TOKEN naming this emulator, for the calls that read them."""
    monkeypatch.setenv("SF_INSTANCE_URL", org.instance_url)
    monkeypatch.setenv("SF_ACCESS_TOKEN", org.access_token)


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


@contextlib.contextmanager
def standalone_emulator_env() -> Iterator[dict[str, str]]:
    """A `forcelink-emulator --tls` process of its own; yields this environment with its SF_*
    settings in place of any others."""
    command = [sys.executable, "-m", "forcelink_emulator.cli", "--tls", "--json"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            settings = json.loads(proc.stdout.readline())
            env = {k: v for k, v in os.environ.items() if not k.startswith("SF_")}
            env.update({k: v for k, v in settings.items() if k.startswith("SF_")})
            yield env
        finally:
            proc.terminate()
            proc.wait(timeout=20)
