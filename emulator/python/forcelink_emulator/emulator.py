"""A local Salesforce org: ``Emulator``.

>>> from forcelink_emulator import Emulator
>>> with Emulator() as org:
...     sf = org.client()
...     sf.sobjects.create("Account", {"Name": "Acme"})

The org listens on 127.0.0.1 on a random port, over real HTTP/1.1 and HTTP/2 (HTTPS with
``tls=True``, trusted through ``ca_cert_path``). Any client can talk to it; ``Emulator.client``
and the builders make forcelink clients, and need the ``forcelink`` package.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._core import EmulatorServer

if TYPE_CHECKING:
    from typing_extensions import Self

    from forcelink import AsyncSalesforce, Salesforce
    from forcelink.config import ClientBuilder

__all__ = ["ApexRequest", "Emulator"]

# Records are seeded in chunks, so a generator of a million records is never held whole as JSON.
SEED_CHUNK = 20_000


class AccessToken(str):
    """The access token: a ``str``. Calling it, as when ``access_token`` was a method, still
    gives the token, with a DeprecationWarning."""

    __slots__ = ()

    def __call__(self) -> str:
        warnings.warn(
            "Emulator.access_token is a property now: drop the ()", DeprecationWarning, stacklevel=2
        )
        return str(self)


def _json_default(value: object) -> object:
    """JSON for the values records carry besides JSON's own: dates, datetimes and Decimals."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"cannot store a {type(value).__name__} in the emulator")


def _to_json(value: object) -> str:
    return json.dumps(value, default=_json_default, allow_nan=False)


@dataclass(frozen=True)
class ApexRequest:
    """A call to an Apex REST class played by ``Emulator.register_apex``: the HTTP method,
    the path under ``/services/apexrest``, the query parameters and the decoded JSON body."""

    method: str
    path: str
    params: dict[str, str]
    body: Any


def _is_status_pair(answer: object) -> bool:
    return isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[0], int)


def _forcelink() -> Any:
    """The forcelink package, for the client helpers; a clear error when it is not installed."""
    try:
        import forcelink
    except ImportError as e:  # pragma: no cover - exercised in the slim-install test
        raise ImportError(
            "Emulator.client() and its builders make forcelink clients: pip install forcelink"
        ) from e
    return forcelink


class Emulator:
    """A local org. Use it as a context manager, or call ``start`` and ``stop``."""

    def __init__(
        self,
        *,
        tls: bool = False,
        api_limit: int = 100_000,
        seed: int = 0,
        port: int = 0,
        token_lifetime: float | None = None,
        bulk_upload_limit: int = 150 * 1024 * 1024,
    ) -> None:
        self._token_lifetime = token_lifetime
        self._bulk_upload_limit = bulk_upload_limit
        self._tls = tls
        self._api_limit = api_limit
        self._seed = seed
        self._port = port
        self._server: EmulatorServer | None = None
        self._ca_file: str | None = None

    def start(self) -> Self:
        """Starts serving (idempotent); returns the emulator."""
        if self._server is None:
            self._server = EmulatorServer.start(
                tls=self._tls,
                api_limit=self._api_limit,
                seed=self._seed,
                port=self._port,
                token_lifetime=self._token_lifetime,
                bulk_upload_limit=self._bulk_upload_limit,
            )
            pem = self._server.ca_cert_pem
            if pem is not None:
                fd, path = tempfile.mkstemp(prefix="sf-emulator-ca-", suffix=".pem")
                with os.fdopen(fd, "w") as f:
                    f.write(pem)
                self._ca_file = path
        return self

    def stop(self) -> None:
        """Stops serving and removes the CA file (idempotent)."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._ca_file is not None:
            os.unlink(self._ca_file)
            self._ca_file = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._server.instance_url if self._server else "stopped"
        return f"Emulator({state})"

    @property
    def _running(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("the emulator is not running; use it in a with block or call start()")
        return self._server

    @property
    def instance_url(self) -> str:
        """The org's URL: ``http(s)://127.0.0.1:PORT``."""
        return self._running.instance_url

    @property
    def login_url(self) -> str:
        """The URL of the OAuth endpoints (the same server)."""
        return self._running.login_url

    @property
    def org_id(self) -> str:
        """The org's 18-character id."""
        return self._running.org_id

    @property
    def user_id(self) -> str:
        """The running user's id."""
        return self._running.user_id

    @property
    def username(self) -> str:
        """The running user's username."""
        return self._running.username

    @property
    def ca_cert_path(self) -> str | None:
        """A PEM file with the CA that signed the server certificate; None without TLS."""
        self._running  # noqa: B018 - raises when stopped
        return self._ca_file

    @property
    def access_token(self) -> AccessToken:
        """A valid access token of the org's user (a ``str``; ``access_token()`` still works
        but is deprecated)."""
        return AccessToken(self._running.access_token())

    def issue_session(self) -> str:
        """A new access token."""
        return self._running.issue_session()

    def expire_sessions(self) -> None:
        """Every issued token stops working; the next request answers 401 INVALID_SESSION_ID."""
        self._running.expire_sessions()

    def create_user(self, username: str) -> str:
        """Create a user (a username looks like an email address); returns its id."""
        return self._running.create_user(username)

    def create_connected_app(
        self,
        client_id: str,
        certificate_pem: str | None = None,
        client_secret: str | None = None,
        rotate_refresh_tokens: bool = False,
        *,
        run_as: str | None = None,
    ) -> None:
        """Create a connected app. ``certificate_pem`` (an X.509 certificate, or an RSA public
        key) verifies JWT assertions; ``client_secret`` is checked by the refresh token and client
        credentials flows; ``run_as`` is the username client-credentials tokens act as."""
        self._running.create_connected_app(
            client_id,
            certificate_pem=certificate_pem,
            client_secret=client_secret,
            rotate_refresh_tokens=rotate_refresh_tokens,
            run_as=run_as,
        )

    def issue_refresh_token(self, client_id: str, username: str) -> str:
        """Issue a refresh token for a user of an app; this also approves the app for the user,
        so the JWT bearer flow works for them."""
        return self._running.issue_refresh_token(client_id, username)

    def set_bulk_upload_limit(self, limit: int) -> None:
        """Bulk API upload limit per job, in base64-encoded bytes (Salesforce: 150 MB)."""
        self._running.set_bulk_upload_limit(limit)

    def fail_bulk_jobs_after(self, batches: int | None) -> None:
        """Ingest jobs fail after ``batches`` internal batches of 10,000 records, leaving the
        rest unprocessed (None: jobs run normally)."""
        self._running.fail_bulk_jobs_after(batches)

    def set_bulk_batch_delay(self, seconds: float) -> None:
        """Ingest jobs pause ``seconds`` after each internal batch of 10,000 records."""
        self._running.set_bulk_batch_delay(seconds)

    def set_token_lifetime(self, seconds: float | None) -> None:
        """How long tokens issued from now on work (None: as long as the org runs)."""
        self._running.set_token_lifetime(seconds)

    @property
    def pubsub_endpoint(self) -> str:
        """``127.0.0.1:PORT`` of the Pub/Sub gRPC API (TLS when the emulator serves TLS)."""
        return self._running.pubsub_endpoint

    @property
    def pubsub_url(self) -> str:
        """The Pub/Sub endpoint as a client setting: ``https://`` with TLS, ``http://`` without."""
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self.pubsub_endpoint}"

    def define_event(self, name: str, fields: Mapping[str, str]) -> None:
        """Define a platform event ``Name__e`` (topic ``/event/Name__e``); ``fields`` maps custom
        field names to ``"text"``, ``"number"``, ``"int"``, ``"boolean"``, ``"date"`` or
        ``"datetime"``. Its Avro schema is derived from the fields."""
        self._running.define_event(name, list(fields.items()))

    def define_managed_subscription(self, developer_name: str, topic: str, *, replay: str = "latest") -> str:
        """Define a managed event subscription on ``topic`` that starts at the ``"earliest"``
        retained event or the ``"latest"``; returns its id."""
        if replay not in ("earliest", "latest"):
            raise ValueError(f"replay must be 'earliest' or 'latest', not {replay!r}")
        return self._running.define_managed_subscription(developer_name, topic, earliest=replay == "earliest")

    def drop_streams_after(self, events: int | None) -> None:
        """Fault hook: every subscription stream ends with UNAVAILABLE after delivering
        ``events`` events (None: never)."""
        self._running.drop_streams_after(events)

    def expire_events_before(self, replay_id: bytes | int) -> None:
        """Fault hook: drop events older than ``replay_id`` from every topic, as the 72-hour
        retention would; replay ids before them become invalid."""
        value = int.from_bytes(replay_id, "big") if isinstance(replay_id, bytes) else replay_id
        self._running.expire_events_before(value)

    def set_event_retention(self, seconds: float | None) -> None:
        """Keep events for ``seconds`` only (Salesforce keeps them 72 hours): older ones are
        dropped, and their replay ids refused as a subscription's start. None keeps them
        until the per-topic count is reached."""
        self._running.set_event_retention(seconds)

    def set_stream_timings(self, *, keepalive: float, idle_timeout: float) -> None:
        """The keepalive period and the no-credit idle timeout of subscription streams
        (Salesforce: 270 s and 60 s)."""
        self._running.set_stream_timings(keepalive, idle_timeout)

    @property
    def latest_replay_id(self) -> int:
        """The newest replay id issued on the event bus (0 before any event)."""
        return self._running.latest_replay_id

    def _configure(self, builder: ClientBuilder[Any]) -> None:
        builder.instance_url(self.instance_url).login_url(self.login_url).access_token(self.access_token)
        builder.pubsub_endpoint(self.pubsub_url)
        if self._ca_file is not None:
            builder.ca_cert_file(self._ca_file)

    def client(self) -> Salesforce:
        """A blocking client of this org, already authenticated."""
        client: Salesforce = self.client_builder().build()
        return client

    def client_builder(self) -> ClientBuilder[Salesforce]:
        """A builder already pointed at this org (URL, token, CA), for clients with settings
        of their own: ``org.client_builder().retries(1).build()``."""
        builder: ClientBuilder[Salesforce] = _forcelink().Salesforce.builder()
        self._configure(builder)
        return builder

    def async_client_builder(self) -> ClientBuilder[AsyncSalesforce]:
        """The async twin of ``client_builder``."""
        builder: ClientBuilder[AsyncSalesforce] = _forcelink().AsyncSalesforce.builder()
        self._configure(builder)
        return builder

    def async_client(self) -> AsyncSalesforce:
        """An async client of this org, already authenticated."""
        client: AsyncSalesforce = self.async_client_builder().build()
        return client

    def define_object(self, name: str, fields: Mapping[str, Any]) -> None:
        """Define a custom object. ``fields`` maps ``Name__c`` field names to a type name
        (``"string"``, ``"currency"``, ``"date"``, ...) or to a spec such as
        ``{"type": "string", "external_id": True, "unique": True, "required": True,
        "length": 80, "reference_to": "Account", "default": ...}``."""
        self._running.define_object(name, _to_json(fields))

    def inject_fault(
        self,
        path_contains: str,
        *,
        status: int = 503,
        error_code: str = "SERVER_UNAVAILABLE",
        message: str = "Server unavailable (injected fault)",
        times: int | None = None,
        method: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        drop_connection: bool = False,
        after_commit: bool = False,
        rate: float | None = None,
    ) -> None:
        """Answer requests whose path contains ``path_contains`` with an error (or, with status
        200, only delay them by ``delay`` seconds; with ``drop_connection``, break the
        connection instead of answering, and with ``after_commit`` too, do the request and
        commit its writes first, so the caller cannot tell whether it happened).

        Paths are matched as the data API names them, after ``/services/data/vXX.X``
        (``/sobjects/Account/001...``), and ``/oauth2/token`` for token requests (there a
        delay and an error status apply).

        Without ``rate`` the next ``times`` (default 1) matching requests get the fault. With
        ``rate`` (0 to 1) that share of matching requests gets it, drawn from the org's
        ``seed`` so a run repeats, until ``clear_faults`` (or ``times`` of them)."""
        self._running.inject_fault(
            path_contains,
            status=status,
            error_code=error_code,
            message=message,
            times=times,
            method=method,
            retry_after=retry_after,
            delay=delay,
            drop_connection=drop_connection,
            after_commit=after_commit,
            rate=rate,
        )

    def seed_records(self, object: str, records: Iterable[Mapping[str, Any]]) -> list[str]:
        """Insert records directly, validated like creates but without HTTP or API usage (for
        test and benchmark setup); returns their ids in order."""
        ids: list[str] = []
        it = iter(records)
        while chunk := list(itertools.islice(it, SEED_CHUNK)):
            ids.extend(self._running.seed_records(object, _to_json(chunk)))
        return ids

    def register_apex(self, url_mapping: str, handler: Callable[[ApexRequest], Any]) -> None:
        """Plays an Apex REST class: requests to ``/services/apexrest<url_mapping>`` (a trailing
        ``/*`` matches every path below it, as ``@RestResource(urlMapping=...)`` does) are
        authenticated, counted against the API limit and answered by ``handler``. It gets an
        ``ApexRequest`` and returns the JSON body to answer with (status 200), or a
        ``(status, body)`` pair; a body of None answers with no body. An exception it raises
        answers 500 with its message. It runs on one of the org's threads."""

        def play(
            method: str, path: str, params: list[tuple[str, str]], body: str | None
        ) -> tuple[int, str | None]:
            request = ApexRequest(method, path, dict(params), json.loads(body) if body is not None else None)
            answer = handler(request)
            status, payload = answer if _is_status_pair(answer) else (200, answer)
            return int(status), None if payload is None else _to_json(payload)

        self._running.register_apex(url_mapping, play)

    def clear_faults(self) -> None:
        """Removes every injected fault."""
        self._running.clear_faults()

    def take_down(self) -> None:
        """Takes the whole org down: every request under ``/services/data`` (REST, composite,
        bulk) is answered 503 ``SERVER_UNAVAILABLE``, and still counted in ``stats``, until
        ``bring_up``."""
        self._running.set_down(True)

    def bring_up(self) -> None:
        """Brings the org back after ``take_down``."""
        self._running.set_down(False)

    def stats(self) -> dict[str, Any]:
        """Counters: ``requests`` per route (e.g. ``"POST sobjects/{object}"``),
        ``total_requests``, ``api_usage`` (``used``, ``max``), ``token_grants`` by grant type
        (``jwt_bearer``, ``refresh_token``, ``client_credentials``), ``bulk_jobs`` by state, and
        ``queries``: the latest SOQL texts received (REST queries and Bulk query jobs, the
        last 1,000), to check what a client sent; ``gzip_answers``: how many answers were sent
        gzip-compressed because the client asked (``Accept-Encoding: gzip``)."""
        stats: dict[str, Any] = json.loads(self._running.stats_json())
        return stats
