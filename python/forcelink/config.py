"""Building a client: settings collected here, validated in Rust when ``build()`` is called."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import Engine, FakeTransport, SimulationRecorder, SimulationReplayer, client_defaults
from .results import RetryEvent

# The engine declares each default once (RetryPolicy, BreakerSettings, ThrottleSettings,
# HealthThresholds); the signatures below show them.
_ENGINE_DEFAULTS = client_defaults()
#: Tries in all, the first included, by default.
DEFAULT_MAX_ATTEMPTS: int = _ENGINE_DEFAULTS["max_attempts"]
#: The first retry's backoff window in seconds, by default; it doubles with each retry.
DEFAULT_BACKOFF_BASE: float = _ENGINE_DEFAULTS["backoff_base"]
#: The largest backoff window in seconds, by default.
DEFAULT_BACKOFF_MAX: float = _ENGINE_DEFAULTS["backoff_max"]
#: Outages in a row that open a circuit breaker, by default.
DEFAULT_BREAKER_FAILURES: int = _ENGINE_DEFAULTS["breaker_failures"]
#: Seconds an open circuit refuses calls, by default.
DEFAULT_BREAKER_OPEN_SECONDS: float = _ENGINE_DEFAULTS["breaker_open_seconds"]
#: Daily API usage percentages at which a warning is logged, by default.
DEFAULT_USAGE_WARNINGS: tuple[float, ...] = tuple(_ENGINE_DEFAULTS["usage_warnings"])
#: ``health()`` reports ``degraded`` from this daily API usage percentage, by default.
DEFAULT_HEALTH_WARN_PERCENT: float = _ENGINE_DEFAULTS["health_warn_percent"]
#: ``health()`` reports ``down`` from this daily API usage percentage, by default.
DEFAULT_HEALTH_CRITICAL_PERCENT: float = _ENGINE_DEFAULTS["health_critical_percent"]

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClientBuilder"]

ClientT = TypeVar("ClientT")


class ClientBuilder(Generic[ClientT]):
    """Collects settings for a client; ``build()`` validates them and raises
    ``ConfigError`` naming the setting at fault.

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
        """The time allowed to open a connection (TCP and TLS), in seconds."""
        return self._set("connect_timeout", seconds)

    def access_token(self, token: str) -> Self:
        """Use an access token (session id) obtained elsewhere."""
        return self._set("access_token", token)

    def jwt_bearer(
        self,
        client_id: str,
        username: str,
        private_key: str | None = None,
        *,
        private_key_file: str | os.PathLike[str] | None = None,
    ) -> Self:
        """The JWT bearer flow: the connected app's client id, the user to act as, and its RSA
        private key as PEM text (PKCS#1 or PKCS#8) or a PEM file. The org's URL is taken from
        the token answer unless ``instance_url`` is set."""
        if (private_key is None) == (private_key_file is None):
            raise TypeError("give exactly one of private_key and private_key_file")
        self._settings.update(flow="jwt_bearer", client_id=client_id, username=username)
        if private_key is not None:
            self._settings["private_key"] = private_key
        else:
            self._settings["private_key_file"] = os.fspath(private_key_file)  # type: ignore[arg-type]
        return self

    def refresh_token(
        self,
        client_id: str,
        refresh_token: str,
        client_secret: str | None = None,
        *,
        on_refresh_token: Callable[[str], object] | None = None,
    ) -> Self:
        """The refresh token flow. When the org rotates refresh tokens, the new one is kept and
        passed to ``on_refresh_token`` so it can be stored."""
        self._settings.update(
            flow="refresh_token",
            client_id=client_id,
            refresh_token=refresh_token,
            client_secret=client_secret,
            on_refresh_token=on_refresh_token,
        )
        return self

    def client_credentials(self, client_id: str, client_secret: str) -> Self:
        """The client credentials flow, against the org's My Domain URL (``instance_url``)."""
        self._settings.update(flow="client_credentials", client_id=client_id, client_secret=client_secret)
        return self

    def auth_provider(
        self, provider: Callable[[], str | Mapping[str, str] | Awaitable[str | Mapping[str, str]]]
    ) -> Self:
        """Get tokens from ``provider``: a callable (sync or async) returning a token, or a
        mapping with ``access_token`` and optionally ``instance_url``. It is called when a token
        is needed and again, once, when the org rejects the current one."""
        return self._set("auth_provider", provider)

    def token_lifetime(self, seconds: float) -> Self:
        """The org's session timeout, if known: tokens are renewed shortly before it."""
        return self._set("token_lifetime", seconds)

    def pubsub_endpoint(self, endpoint: str) -> Self:
        """The Pub/Sub API endpoint: ``host:port`` (TLS) or a URL (``http://`` only on loopback).
        Default ``api.pubsub.salesforce.com:7443``."""
        return self._set("pubsub_endpoint", endpoint)

    def ca_cert_file(self, path: str | os.PathLike[str]) -> Self:
        """Trust the CA certificate(s) in this PEM file as well (``SF_CA_CERT_FILE``).

        TLS (REST, Bulk and Pub/Sub alike) trusts the operating system's certificate store by
        default (or the file named by ``SSL_CERT_FILE``, and the directory ``SSL_CERT_DIR``, when
        set, as OpenSSL does), Mozilla's root list bundled with the library, and the CA files and
        PEMs given here."""
        return self._set("ca_cert_file", os.fspath(path))

    def ca_cert_pem(self, pem: str) -> Self:
        """Trust this PEM CA certificate as well (see ``ca_cert_file``)."""
        return self._set("ca_cert_pem", pem)

    def proxy(self, url: str | None, *, no_proxy: str | Sequence[str] = ()) -> Self:
        """Send REST, Bulk and Pub/Sub traffic through an HTTP proxy that tunnels with CONNECT:
        ``url`` is ``http://[user:password@]host:port``, and ``no_proxy`` lists the hosts that
        go direct (a name covers its subdomains; ``*`` is every host). ``None`` connects
        directly, whatever the environment says.

        Without this call, the proxy is read from ``HTTPS_PROXY`` (or ``ALL_PROXY``) and
        ``NO_PROXY`` when the client is built. The proxy's password never appears in errors or
        reprs."""
        hosts = no_proxy if isinstance(no_proxy, str) else ",".join(no_proxy)
        return self._set("proxy", (url, hosts))

    def track_limits(self, enabled: bool = True) -> Self:
        """Read ``Sforce-Limit-Info`` from every response into ``client.limits.usage``."""
        return self._set("track_limits", enabled)

    def gzip(self, enabled: bool = True) -> Self:
        """Ask for gzip-compressed answers (``Accept-Encoding: gzip``), or never (``SF_GZIP``).
        Without this call every host is asked but a loopback one (the emulator on this machine),
        where compressing costs CPU at both ends and saves no time."""
        return self._set("gzip", enabled)

    def retries(
        self,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        *,
        backoff_base: float = DEFAULT_BACKOFF_BASE,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
    ) -> Self:
        """Tries in all (1 disables retries) and the full-jitter backoff window in seconds."""
        self._settings.update(max_attempts=max_attempts, backoff_base=backoff_base, backoff_max=backoff_max)
        return self

    def throttle(
        self,
        *,
        max_per_second: float | None = None,
        reserve_percent: float | None = None,
        usage_warnings: Sequence[float] = DEFAULT_USAGE_WARNINGS,
    ) -> Self:
        """Protects the org's limits. ``max_per_second`` caps this client's requests per second,
        across all its threads and tasks. ``reserve_percent`` leaves that share of the daily
        API limit to other integrations: once the org's usage (from ``Sforce-Limit-Info``)
        reaches it, calls raise ``RequestLimitError`` before sending.
        As usage climbs past each of ``usage_warnings`` (percent), a warning is logged once to
        the ``forcelink.limits`` logger."""
        if max_per_second is not None:
            self._set("max_per_second", max_per_second)
        if reserve_percent is not None:
            self._set("reserve_percent", reserve_percent)
        return self._set("usage_warnings", list(usage_warnings))

    def circuit_breaker(
        self, failures: int = DEFAULT_BREAKER_FAILURES, *, open_seconds: float = DEFAULT_BREAKER_OPEN_SECONDS
    ) -> Self:
        """Each service family (REST, Bulk, Pub/Sub) gets a circuit breaker: after ``failures``
        outages in a row (no connection, a timeout, a 5xx), its calls raise
        ``CircuitOpenError`` at once, without a request, for
        ``open_seconds``; then one call is let through, and its success closes the circuit.
        ``failures=0`` turns them off. The default is 5 and 30 s (``SF_BREAKER_FAILURES``,
        ``SF_BREAKER_OPEN_SECONDS``)."""
        return self._set("circuit_breaker", (failures, open_seconds))

    def with_recorder(self, recorder: SimulationRecorder) -> Self:
        """Record every HTTP interaction into ``recorder`` (tokens, secrets, keys redacted)."""
        return self._set("recorder", recorder)

    def with_replayer(self, replayer: SimulationReplayer) -> Self:
        """Answer every request from a cassette instead of the network."""
        return self._set("replayer", replayer)

    def with_fake_transport(self, fake: FakeTransport) -> Self:
        """Send every request to ``fake``, which answers from its queue (unit tests)."""
        return self._set("fake_transport", fake)

    def on_retry(self, callback: Callable[[RetryEvent], object]) -> Self:
        """Call ``callback`` before every retry with the failed attempt, its cause and the wait."""
        self._on_retry = callback
        return self

    def build(self) -> ClientT:
        """Builds the client: settings are checked here, and a bad one raises ``ConfigError`` before anything is sent."""
        hook: Callable[[dict[str, Any]], object] | None = None
        if self._on_retry is not None:
            user_hook = self._on_retry

            def hook(event: dict[str, Any]) -> object:
                return user_hook(RetryEvent(**event))

        engine = Engine(self._settings, from_env=self._from_env, on_retry=hook)
        return self._factory(engine)


_PUBLIC_SETTINGS = {
    "instance_url",
    "pubsub_endpoint",
    "proxy",
    "login_url",
    "api_version",
    "timeout",
    "connect_timeout",
    "ca_cert_file",
    "track_limits",
    "gzip",
    "max_attempts",
    "backoff_base",
    "backoff_max",
    "flow",
    "client_id",
    "username",
    "token_lifetime",
}
