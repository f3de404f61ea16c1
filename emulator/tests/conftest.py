"""The emulator package's own suite: it drives the package, its pytest fixtures and its command
with the standard library and simple-salesforce, and runs where forcelink is not installed
(scripts/test.sh runs it in a virtual environment of its own)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
import requests
from forcelink_emulator import Emulator
from simple_salesforce import Salesforce as SimpleSalesforce

API = "/services/data/v62.0"


@pytest.fixture
def tls_org() -> Iterator[Emulator]:
    """An org serving HTTPS with its own CA, and a custom object for upserts."""
    with Emulator(tls=True) as org:
        org.define_object("Invoice__c", {"Invoice_Number__c": {"type": "string", "external_id": True}})
        yield org


def call(
    org: Emulator,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, Message, bytes]:
    """One plain-HTTP request with the standard library: status, headers (looked up without
    regard to case, as HTTP names are), raw body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        org.instance_url + path,
        method=method,
        data=data,
        headers={
            "Authorization": f"Bearer {token or org.access_token}",
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def call_json(org: Emulator, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _, raw = call(org, method, path, body)
    return status, json.loads(raw) if raw else None


def simple_salesforce_peer(
    instance_url: str, access_token: str, ca_cert_path: str | None
) -> SimpleSalesforce:
    """simple-salesforce pointed at an org over HTTPS, trusting its CA."""
    session = requests.Session()
    session.verify = ca_cert_path or True
    # REQUESTS_CA_BUNDLE in the environment would override session.verify otherwise.
    session.trust_env = False
    return SimpleSalesforce(
        instance_url=instance_url, session_id=access_token, session=session, version="62.0"
    )
