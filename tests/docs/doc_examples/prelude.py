"""What the documentation's examples take as given, made real against the emulator whose
settings are in the SF_* environment variables. Run before each example, in its namespace."""

# ruff: noqa: F401
from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from forcelink import (
    AsyncSalesforce,
    BulkIncompleteError,
    CollectionsIncompleteError,
    EventDecodeError,
    NotFoundError,
    OutcomeUnknownError,
    Salesforce,
    format_soql,
    format_sosl,
)


class ExampleDone(Exception):
    """Raised by the handlers below to end an example that would otherwise wait for events
    forever: the first event reached the handler, which is what the example shows."""


sf = Salesforce.from_env()
token = os.environ["SF_ACCESS_TOKEN"]
url = my_domain = os.environ["SF_INSTANCE_URL"]
name, names, term = "Lee", ["Lee", "Kim"], "Acme"
start, end = datetime.now(timezone.utc) - timedelta(days=1), datetime.now(timezone.utc) + timedelta(days=1)
record = {"Name": "Example"}
lead = {"LastName": "Lee", "Company": "Acme"}
records = [{"attributes": {"type": "Account"}, "Name": f"Collected {i}"} for i in range(3)]
nested_records = [
    {
        "attributes": {"type": "Account", "referenceId": "parent"},
        "Name": "Parent",
        "Contacts": {
            "records": [{"attributes": {"type": "Contact", "referenceId": "child"}, "LastName": "Child"}]
        },
    }
]
rows = [{"Invoice_Number__c": "INV-9", "Amount__c": 5}]
id = sf.sobjects.create("Account", {"Name": "Existing"}).id  # the examples name a record id `id`
client_id, username, secret, refresh_token = (
    "example-app",
    "user@acme.com",
    "example-secret",
    "example-refresh",
)
private_key_pem = Path("server.key").read_text()


class _Vault:
    def read_token(self) -> str:
        return token


vault = _Vault()


def store(*_: object) -> None:
    raise ExampleDone


def handle(*_: object) -> None:
    raise ExampleDone


def set_aside(*_: object) -> None:
    pass
