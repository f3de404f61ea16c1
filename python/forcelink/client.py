"""The clients: ``Salesforce`` (blocking) and ``AsyncSalesforce`` (asyncio).

Both wrap the same Rust engine; they differ only in how they wait. The blocking client releases
the GIL while it waits and never starts an event loop, so it works in Jupyter and in threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._core import Engine
from ._options import Headers, scoped
from ._twins import async_twin_of
from .apex import _args
from .config import DEFAULT_HEALTH_CRITICAL_PERCENT, DEFAULT_HEALTH_WARN_PERCENT, ClientBuilder
from .results import ApiResponse

# The services are made on first use, and their modules imported then: a program that only
# queries never pays for the dataclasses of bulk, events, composite or health.
if TYPE_CHECKING:
    from typing_extensions import Self

    from .apex import Apex, AsyncApex
    from .auth import AsyncAuth, Auth
    from .breakers import CircuitState
    from .bulk import AsyncBulk, Bulk
    from .composite import AsyncComposite, Composite
    from .events import AsyncEvents, Events
    from .files import AsyncFiles, Files
    from .health import HealthReport
    from .limits import AsyncLimits, Limits
    from .query import AsyncQuery, Query
    from .sobjects import AsyncSObjects, SObjects
    from .tooling import AsyncTooling, Tooling

__all__ = ["AsyncSalesforce", "CircuitState", "Salesforce"]


def __getattr__(name: str) -> Any:
    # `from forcelink.client import CircuitState` keeps working; its module loads on demand.
    if name == "CircuitState":
        from .breakers import CircuitState

        return CircuitState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# simple-salesforce's names for what forcelink reaches otherwise (see the migration guide).
_SIMPLE_SALESFORCE_NAMES = {
    "bulk2": "Bulk API 2.0 is sf.bulk (sf.bulk.insert(object, data), sf.bulk.query(soql))",
    "query_all": "queries go through sf.query: sf.query.query_all(soql)",
    "query_more": "queries go through sf.query: sf.query.query_more(next_records_url)",
    "query_all_iter": "queries go through sf.query: sf.query.stream(soql)",
    "session_id": "the token is sf.auth.token().access_token",
    "restful": "other REST paths go through sf.request(method, path)",
}


class _ClientBase:
    _engine: Engine

    def __init__(self, engine: Engine | None = None, /, **settings: Any) -> None:
        if engine is None or settings:
            # simple-salesforce's `Salesforce(instance_url=..., session_id=...)`, say.
            name = type(self).__name__
            raise TypeError(
                f"{name}() is not configured by arguments: use {name}.builder().instance_url(url)"
                f".access_token(session_id).build(), or {name}.from_env() for the SF_* variables "
                "(the simple-salesforce migration guide has the whole table)"
            )
        self._engine = engine

    if not TYPE_CHECKING:  # hidden from type checkers, which should still flag a misspelling

        def __getattr__(self, name: str) -> Any:
            # Only names the class lacks come here: simple-salesforce idioms get forcelink's way.
            hint = _SIMPLE_SALESFORCE_NAMES.get(name)
            if hint is None and name[:1].isupper():
                hint = (
                    f"records go through sf.sobjects: sf.sobjects.create({name!r}, {{...}}), "
                    f"sf.sobjects.get({name!r}, id), sf.sobjects.describe({name!r})"
                )
            message = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(f"{message}: {hint}" if hint else message)

    @property
    def instance_url(self) -> str:
        return self._engine.instance_url

    @property
    def circuit_breakers(self) -> dict[str, CircuitState]:
        """Each service family's circuit breaker (``"rest"``, ``"bulk"``, ``"pubsub"``)."""
        from .breakers import CircuitState

        return {
            family: CircuitState(family, state, failures, retry_in)
            for family, state, failures, retry_in in self._engine.circuit_breakers()
        }

    @property
    def api_version(self) -> str:
        return self._engine.api_version

    def with_options(self, *, timeout: float | None = None, headers: Headers | None = None) -> Self:
        """This client, sending ``timeout`` (seconds, per request) and ``headers`` (such as
        ``Sforce-Call-Options``) with each REST request its calls make; connections, tokens
        and limits are shared. Options given to a call replace these for that call.
        ``Authorization``, ``Host`` and ``Content-Type`` are the client's own and refused."""
        return type(self)(scoped(self._engine, timeout, headers))

    def __repr__(self) -> str:
        closed = ", closed" if self.closed else ""
        return (
            f"{type(self).__name__}(instance_url={self.instance_url!r}, "
            f"api_version={self.api_version!r}{closed})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the client: its subscriptions end, its pooled connections and Pub/Sub channel
        are let go, and every later call raises ``ClientClosedError``.
        Leaving a ``with`` block closes it too. Closing twice is harmless."""
        self._engine.close()

    @property
    def closed(self) -> bool:
        return self._engine.closed


class Salesforce(_ClientBase):
    """A blocking Salesforce client.

    >>> sf = Salesforce.builder().instance_url(url).access_token(token).build()
    >>> sf.sobjects.create("Account", {"Name": "Acme"})
    """

    @cached_property
    def sobjects(self) -> SObjects:
        """Records one at a time: create, get, update, upsert, delete, describe."""
        from .sobjects import SObjects

        return SObjects(self._engine.sobjects())

    @cached_property
    def query(self) -> Query:
        """SOQL: pages, every record, streams, data frames."""
        from .query import Query

        return Query(self._engine.query())

    @cached_property
    def composite(self) -> Composite:
        """Composite requests, batches, trees and sObject Collections."""
        from .composite import Composite

        return Composite(self._engine.composite())

    @cached_property
    def bulk(self) -> Bulk:
        """Bulk API 2.0: loads, queries and jobs."""
        from .bulk import Bulk

        return Bulk(self._engine.bulk())

    @cached_property
    def events(self) -> Events:
        """The Pub/Sub API: subscribe to and publish events."""
        from .events import Events

        return Events(self._engine.events())

    @cached_property
    def limits(self) -> Limits:
        """The org's limits and this client's view of its API usage."""
        from .limits import Limits

        return Limits(self._engine)

    @cached_property
    def auth(self) -> Auth:
        """The token: its details, renewal and revocation."""
        from .auth import Auth

        return Auth(self._engine)

    @cached_property
    def apex(self) -> Apex:
        """Apex REST classes (``/services/apexrest``)."""
        from .apex import Apex

        return Apex(self._engine)

    @cached_property
    def tooling(self) -> Tooling:
        """The Tooling API: queries, records, anonymous Apex."""
        from .tooling import Tooling

        return Tooling(self._engine.tooling())

    @cached_property
    def files(self) -> Files:
        """Salesforce Files: upload and download ContentVersions."""
        from .files import Files

        return Files(self._engine.files())

    @classmethod
    def builder(cls, *, from_env: bool = False) -> ClientBuilder[Salesforce]:
        """Start configuring a client (on top of the ``SF_*`` variables with ``from_env``);
        finish with ``.build()``."""
        return ClientBuilder(cls, from_env=from_env)

    @classmethod
    def from_env(cls, **overrides: Any) -> Salesforce:
        """Configure from ``SF_*`` environment variables; keyword arguments override them.

        The flow is picked from what is set: SF_ACCESS_TOKEN (a token); SF_CLIENT_ID,
        SF_USERNAME and SF_PRIVATE_KEY or SF_PRIVATE_KEY_FILE (JWT bearer); SF_CLIENT_ID and
        SF_REFRESH_TOKEN (refresh token); SF_CLIENT_ID and SF_CLIENT_SECRET (client
        credentials). Also read: SF_INSTANCE_URL, SF_LOGIN_URL, SF_API_VERSION,
        SF_TIMEOUT_SECONDS, SF_TRACK_LIMITS, SF_GZIP. A ConfigError names what is missing."""
        return cls(Engine(overrides, from_env=True))

    def versions(
        self, *, timeout: float | None = None, headers: Headers | None = None
    ) -> list[dict[str, Any]]:
        """The API versions the instance offers."""
        return scoped(self._engine, timeout, headers).versions().wait()

    def search(
        self, sosl: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> list[dict[str, Any]]:
        """Runs a SOSL search (``GET /search``): the records found, of every RETURNING object,
        each with its ``attributes``. Build the search with ``forcelink.format_sosl`` when
        it holds user input."""
        return scoped(self._engine, timeout, headers).search(sosl).wait()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        """Calls any REST resource of the org, through the same pipeline as the services: the
        token, retries (GET, HEAD, PUT and DELETE after failures that allow it; POST and PATCH
        only when the request never left), limits tracking and typed errors for answers outside
        2xx.

        ``path`` is relative to ``/services/data/vXX.X/`` (``"sobjects/Account/describe"``), an
        absolute ``/services/...`` path (``"/services/apexrest/orders"``), or a full URL on this
        org's instance; another host raises ``InvalidArgumentError`` before anything is sent, so
        the token never leaves the instance. ``json`` is sent as the body; ``params`` as the
        query string; ``headers`` beside the client's own (``Authorization`` is refused);
        ``timeout`` (seconds) replaces the client's for this call."""
        query, extra = _args(params, headers)
        pending = self._engine.request(method, path, json=json, params=query, headers=extra, timeout=timeout)
        return ApiResponse._from_engine(pending.wait())

    def health(
        self,
        *,
        warn_percent: float = DEFAULT_HEALTH_WARN_PERCENT,
        critical_percent: float = DEFAULT_HEALTH_CRITICAL_PERCENT,
    ) -> HealthReport:
        """Checks that a token can be had, that the API answers (``GET /limits``), and the daily
        API usage: ``degraded`` from ``warn_percent``, ``down`` from ``critical_percent``. A
        failing check is reported, not raised; bad thresholds raise ``InvalidArgumentError``."""
        from .health import HealthReport

        raw = self._engine.health(warn_percent=warn_percent, critical_percent=critical_percent).wait()
        return HealthReport._from_engine(raw)


@async_twin_of(Salesforce)
class AsyncSalesforce(_ClientBase):
    """The asyncio twin of ``Salesforce``: the same services, awaited."""

    @cached_property
    def sobjects(self) -> AsyncSObjects:
        from .sobjects import AsyncSObjects

        return AsyncSObjects(self._engine.sobjects())

    @cached_property
    def query(self) -> AsyncQuery:
        from .query import AsyncQuery

        return AsyncQuery(self._engine.query())

    @cached_property
    def composite(self) -> AsyncComposite:
        from .composite import AsyncComposite

        return AsyncComposite(self._engine.composite())

    @cached_property
    def bulk(self) -> AsyncBulk:
        from .bulk import AsyncBulk

        return AsyncBulk(self._engine.bulk())

    @cached_property
    def events(self) -> AsyncEvents:
        from .events import AsyncEvents

        return AsyncEvents(self._engine.events())

    @cached_property
    def limits(self) -> AsyncLimits:
        from .limits import AsyncLimits

        return AsyncLimits(self._engine)

    @cached_property
    def auth(self) -> AsyncAuth:
        from .auth import AsyncAuth

        return AsyncAuth(self._engine)

    @cached_property
    def apex(self) -> AsyncApex:
        from .apex import AsyncApex

        return AsyncApex(self._engine)

    @cached_property
    def tooling(self) -> AsyncTooling:
        from .tooling import AsyncTooling

        return AsyncTooling(self._engine.tooling())

    @cached_property
    def files(self) -> AsyncFiles:
        from .files import AsyncFiles

        return AsyncFiles(self._engine.files())

    @classmethod
    def builder(cls, *, from_env: bool = False) -> ClientBuilder[AsyncSalesforce]:
        return ClientBuilder(cls, from_env=from_env)

    @classmethod
    def from_env(cls, **overrides: Any) -> AsyncSalesforce:
        return cls(Engine(overrides, from_env=True))

    async def versions(
        self, *, timeout: float | None = None, headers: Headers | None = None
    ) -> list[dict[str, Any]]:
        return await scoped(self._engine, timeout, headers).versions()

    async def search(
        self, sosl: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> list[dict[str, Any]]:
        return await scoped(self._engine, timeout, headers).search(sosl)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        query, extra = _args(params, headers)
        pending = self._engine.request(method, path, json=json, params=query, headers=extra, timeout=timeout)
        return ApiResponse._from_engine(await pending)

    async def health(
        self,
        *,
        warn_percent: float = DEFAULT_HEALTH_WARN_PERCENT,
        critical_percent: float = DEFAULT_HEALTH_CRITICAL_PERCENT,
    ) -> HealthReport:
        from .health import HealthReport

        raw = await self._engine.health(warn_percent=warn_percent, critical_percent=critical_percent)
        return HealthReport._from_engine(raw)

    async def aclose(self) -> None:
        """Closes the client, as ``close`` does; for ``async with`` and async code."""
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
