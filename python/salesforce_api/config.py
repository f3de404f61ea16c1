"""Building a client: settings collected here, validated in Rust when ``build()`` is called."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import Engine
from .results import RetryEvent

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClientBuilder"]

ClientT = TypeVar("ClientT")


class ClientBuilder(Generic[ClientT]):
    """Collects settings for a client; ``build()`` validates them and raises
    :class:`~salesforce_api.errors.ConfigError` naming the setting at fault.

    Obtain one from ``Salesforce.builder()`` or ``AsyncSalesforce.builder()``.
    """

    def __init__(self, factory: Callable[[Engine], ClientT], *, from_env: bool = False) -> None:
        self._factory = factory
        self._from_env = from_env
        self._settings: dict[str, Any] = {}
        self._on_retry: Callable[[RetryEvent], object] | None = None

    def __repr__(self) -> str:
        shown = sorted(k for k in self._settings if k in _PUBLIC_SETTINGS)
        return f"ClientBuilder(settings={shown})"

    def _set(self, key: str, value: Any) -> Self:
        self._settings[key] = value
        return self

    def instance_url(self, url: str) -> Self:
        """The org's URL, e.g. ``https://acme.my.salesforce.com`` (HTTPS, or HTTP on loopback)."""
        return self._set("instance_url", url)

    def login_url(self, url: str) -> Self:
        """The OAuth host: login.salesforce.com, test.salesforce.com or a My Domain."""
        return self._set("login_url", url)

    def api_version(self, version: str) -> Self:
        """The REST API version, like ``"62.0"``."""
        return self._set("api_version", version)

    def timeout(self, seconds: float) -> Self:
        """The whole-request timeout."""
        return self._set("timeout", seconds)

    def connect_timeout(self, seconds: float) -> Self:
        return self._set("connect_timeout", seconds)

    def access_token(self, token: str) -> Self:
        """Use an access token (session id) obtained elsewhere."""
        return self._set("access_token", token)

    def ca_cert_file(self, path: str | os.PathLike[str]) -> Self:
        """Trust the CA certificate(s) in this PEM file beside the system roots."""
        return self._set("ca_cert_file", os.fspath(path))

    def ca_cert_pem(self, pem: str) -> Self:
        """Trust this PEM CA certificate beside the system roots."""
        return self._set("ca_cert_pem", pem)

    def track_limits(self, enabled: bool = True) -> Self:
        """Read ``Sforce-Limit-Info`` from every response into ``client.limits.usage``."""
        return self._set("track_limits", enabled)

    def retries(
        self, max_attempts: int = 4, *, backoff_base: float = 0.25, backoff_max: float = 20.0
    ) -> Self:
        """Tries in all (1 disables retries) and the full-jitter backoff window in seconds."""
        self._settings.update(max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max)
        return self

    def on_retry(self, callback: Callable[[RetryEvent], object]) -> Self:
        """Call ``callback`` before every retry with the failed attempt, its cause and the wait."""
        self._on_retry = callback
        return self

    def build(self) -> ClientT:
        hook: Callable[[dict[str, Any]], object] | None = None
        if self._on_retry is not None:
            user_hook = self._on_retry

            def hook(event: dict[str, Any]) -> object:
                return user_hook(RetryEvent(**event))

        engine = Engine(self._settings, from_env=self._from_env, on_retry=hook)
        return self._factory(engine)


_PUBLIC_SETTINGS = {
    "instance_url",
    "login_url",
    "api_version",
    "timeout",
    "connect_timeout",
    "ca_cert_file",
    "track_limits",
    "max_attempts",
    "backoff_base",
    "backoff_max",
}
