"""Peer clients pointed at the emulator, built the same way for every benchmark."""

from __future__ import annotations

import requests
from simple_salesforce import Salesforce as SimpleSalesforce

from forcelink.testing import Emulator


def simple_salesforce(org: Emulator) -> SimpleSalesforce:
    """simple-salesforce on the emulator over HTTPS, trusting its CA (the environment's CA
    bundle variables would override ``session.verify`` otherwise)."""
    session = requests.Session()
    session.verify = org.ca_cert_path
    session.trust_env = False
    return SimpleSalesforce(
        instance_url=org.instance_url, session_id=org.access_token, session=session, version="62.0"
    )
