"""The data source's options: credentials (the same settings as ``Salesforce.from_env``, with
the ``SF_*`` environment beneath them), and one client per Python worker for each set of them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from typing import Any

from ..client import Salesforce
from ..errors import InvalidArgumentError

__all__ = ["CREDENTIAL_OPTIONS", "as_dict", "client_for", "credentials_of", "flag", "positive_int"]

#: Spark option (any case) -> the client setting it gives.
CREDENTIAL_OPTIONS: dict[str, str] = {
    "instanceurl": "instance_url",
    "loginurl": "login_url",
    "apiversion": "api_version",
    "clientid": "client_id",
    "clientsecret": "client_secret",
    "username": "username",
    "privatekey": "private_key",
    "privatekeyfile": "private_key_file",
    "refreshtoken": "refresh_token",
    "accesstoken": "access_token",
    "cacertfile": "ca_cert_file",
    "pubsubendpoint": "pubsub_endpoint",
}

_clients: dict[str, Salesforce] = {}
_clients_lock = threading.Lock()


def credentials_of(options: Mapping[str, str]) -> dict[str, str]:
    """The client settings the options give (keys compared without case)."""
    settings: dict[str, str] = {}
    for key, value in options.items():
        setting = CREDENTIAL_OPTIONS.get(key.lower())
        if setting is not None and value:
            settings[setting] = value
    return settings


def client_for(settings: Mapping[str, str]) -> Salesforce:
    """This worker's client for these settings, built once (its token renewed by its own flow)
    and kept for the worker's later tasks."""
    # Keyed by a digest, so no secret is kept as a dict key that a debugger would print.
    key = hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = Salesforce.from_env(**settings)
            _clients[key] = client
        return client


def flag(options: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A true/false option."""
    text = options.get(name)
    if text is None:
        return default
    value = str(text).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise InvalidArgumentError(f"option {name} must be true or false, not {text!r}", argument=name)


def positive_int(options: Mapping[str, str], name: str) -> int | None:
    """A positive whole-number option, or None when it is not set."""
    text = options.get(name)
    if text is None:
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InvalidArgumentError(
            f"option {name} must be a whole number, not {text!r}", argument=name
        ) from None
    if value > 0:
        return value
    raise InvalidArgumentError(f"option {name} must be positive, not {value}", argument=name)


def as_dict(options: Any) -> dict[str, str]:
    """Spark's case-insensitive options as a plain dict with lower-case keys."""
    return {str(k).lower(): str(v) for k, v in dict(options).items()}
