"""Composite requests: several operations in one call.

``sf.composite.execute()`` runs up to 25 subrequests, later ones referring to earlier results
(``@{ref.id}``), optionally all or nothing; ``batch()`` runs independent subrequests;
``tree()`` creates nested records in one all-or-nothing call; ``sf.composite.collections``
creates, updates, upserts, deletes and reads any number of records, 200 to a call, results in
input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._core import CompositeCore, RecordResult
from ._options import Headers, scoped
from ._twins import async_twin_of

__all__ = [
    "AsyncCollections",
    "AsyncComposite",
    "BatchResult",
    "Collections",
    "Composite",
    "CompositeRequest",
    "CompositeResult",
    "Ref",
    "SubrequestResult",
    "TreeResult",
]


@dataclass(frozen=True)
class Ref:
    """A subrequest's reference: use ``ref.id`` or ``ref.field("Name")`` in later subrequests."""

    reference_id: str

    @property
    def id(self) -> str:
        """``@{ref.id}``: the id a create answered."""
        return f"@{{{self.reference_id}.id}}"

    def field(self, path: str) -> str:
        """``@{ref.path}``, e.g. ``ref.field("Name")`` or ``ref.field("records[0].Id")``."""
        return f"@{{{self.reference_id}.{path}}}"

    def __str__(self) -> str:
        return self.reference_id


def _url_quote(value: str, safe: str) -> str:
    """Percent-encodes a URL part; urllib is imported on the first composite request, not with
    forcelink."""
    import urllib.parse

    return urllib.parse.quote(value, safe=safe)


def _quote(value: str) -> str:
    # References stay readable so the server can resolve them.
    return value if value.startswith("@{") else _url_quote(value, safe="")


class CompositeRequest:
    """Builds the subrequests of a composite request; each method returns a ``Ref``."""

    def __init__(self) -> None:
        self._subrequests: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self._subrequests)

    @property
    def subrequests(self) -> list[dict[str, Any]]:
        """The subrequests added so far, as Salesforce receives them."""
        return [dict(s) for s in self._subrequests]

    def request(
        self,
        method: str,
        url: str,
        body: Mapping[str, Any] | None = None,
        *,
        reference_id: str | None = None,
        http_headers: Mapping[str, str] | None = None,
    ) -> Ref:
        """Any subrequest; ``url`` is ``/services/data/vNN.N/...`` or relative to it."""
        ref = reference_id or f"ref{len(self._subrequests) + 1}"
        item: dict[str, Any] = {"method": method, "url": url, "referenceId": ref}
        if body is not None:
            item["body"] = dict(body)
        if http_headers is not None:
            item["httpHeaders"] = dict(http_headers)
        self._subrequests.append(item)
        return Ref(ref)

    def create(self, object: str, record: Mapping[str, Any], *, reference_id: str | None = None) -> Ref:
        """Adds a create of ``record``; the returned reference stands for the new id in later subrequests."""
        return self.request("POST", f"sobjects/{object}", record, reference_id=reference_id)

    def get(
        self, object: str, id: str, fields: Sequence[str] | None = None, *, reference_id: str | None = None
    ) -> Ref:
        """Adds a read of a record (``fields`` or all); the reference stands for its fields."""
        url = f"sobjects/{object}/{_quote(id)}"
        if fields:
            url += "?fields=" + ",".join(fields)
        return self.request("GET", url, reference_id=reference_id)

    def update(
        self, object: str, id: str, record: Mapping[str, Any], *, reference_id: str | None = None
    ) -> Ref:
        """Adds an update of a record by id (which may be a reference)."""
        return self.request("PATCH", f"sobjects/{object}/{_quote(id)}", record, reference_id=reference_id)

    def upsert(
        self,
        object: str,
        field: str,
        value: str,
        record: Mapping[str, Any],
        *,
        reference_id: str | None = None,
    ) -> Ref:
        """Adds an upsert by external id."""
        return self.request(
            "PATCH", f"sobjects/{object}/{field}/{_quote(value)}", record, reference_id=reference_id
        )

    def delete(self, object: str, id: str, *, reference_id: str | None = None) -> Ref:
        """Adds a delete of a record by id (which may be a reference)."""
        return self.request("DELETE", f"sobjects/{object}/{_quote(id)}", reference_id=reference_id)

    def query(self, soql: str, *, reference_id: str | None = None) -> Ref:
        """Adds a SOQL query; the reference stands for its result."""
        return self.request("GET", "query?q=" + _url_quote(soql, safe="@{}.'"), reference_id=reference_id)


@dataclass(frozen=True)
class SubrequestResult:
    reference_id: str
    status: int
    body: Any
    headers: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the subrequest answered 2xx."""
        return self.status < 400


@dataclass(frozen=True)
class CompositeResult:
    """The subrequests' answers in order; index by position, reference id or ``Ref``."""

    results: list[SubrequestResult]

    def __getitem__(self, key: int | str | Ref) -> SubrequestResult:
        if isinstance(key, int):
            return self.results[key]
        name = str(key)
        for r in self.results:
            if r.reference_id == name:
                return r
        raise KeyError(name)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def has_errors(self) -> bool:
        """True when any subrequest failed."""
        return any(not r.ok for r in self.results)

    def root_error(self) -> SubrequestResult | None:
        """The first failed subrequest that is not just PROCESSING_HALTED (the cause)."""
        for r in self.results:
            if not r.ok and not (
                isinstance(r.body, list) and r.body and r.body[0].get("errorCode") == "PROCESSING_HALTED"
            ):
                return r
        return None


@dataclass(frozen=True)
class BatchResult:
    has_errors: bool
    results: list[SubrequestResult]


@dataclass(frozen=True)
class TreeResult:
    """Every record's id by reference id; with ``has_errors``, nothing was created."""

    has_errors: bool
    ids: dict[str, str]
    errors: dict[str, list[dict[str, Any]]]


def _composite_result(raw: list[dict[str, Any]]) -> CompositeResult:
    return CompositeResult(
        [SubrequestResult(r["referenceId"], r["httpStatusCode"], r["body"], r["httpHeaders"]) for r in raw]
    )


def _batch_items(requests: CompositeRequest | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    items = requests.subrequests if isinstance(requests, CompositeRequest) else [dict(r) for r in requests]
    out = []
    for item in items:
        entry = {"method": item["method"], "url": item["url"]}
        rich = item.get("richInput", item.get("body"))
        if rich is not None:
            entry["richInput"] = rich
        out.append(entry)
    return out


def _batch_result(raw: dict[str, Any]) -> BatchResult:
    results = [SubrequestResult(str(i), r["statusCode"], r["result"]) for i, r in enumerate(raw["results"])]
    return BatchResult(raw["hasErrors"], results)


def _tree_result(raw: dict[str, Any]) -> TreeResult:
    ids = {r["referenceId"]: r["id"] for r in raw["results"] if r.get("id")}
    errors = {r["referenceId"]: r["errors"] for r in raw["results"] if r.get("errors")}
    return TreeResult(raw["hasErrors"], ids, errors)


def _subrequests(requests: CompositeRequest | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return requests.subrequests if isinstance(requests, CompositeRequest) else [dict(r) for r in requests]


class Collections:
    """sObject collections, reached as ``sf.composite.collections``. Any number of records;
    more than 200 are sent in several calls. ``all_or_none`` covers at most 200 records."""

    def __init__(self, core: CompositeCore) -> None:
        self._core = core

    def create(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        """Records carry ``{"attributes": {"type": "Account"}, ...}``."""
        return scoped(self._core, timeout, headers).create(records, all_or_none).wait()

    def update(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        """Records carry ``attributes.type`` and their ``Id``."""
        return scoped(self._core, timeout, headers).update(records, all_or_none).wait()

    def upsert(
        self,
        object: str,
        external_id_field: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        """Upserts records by an external id field, 200 to a call, in input order; one result per record (``created`` says which were new)."""
        return (
            scoped(self._core, timeout, headers)
            .upsert(object, external_id_field, records, all_or_none)
            .wait()
        )

    def delete(
        self,
        ids: Sequence[str],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        """Deletes records by id, 200 to a call; one result per id, in order."""
        return scoped(self._core, timeout, headers).delete(list(ids), all_or_none).wait()

    def retrieve(
        self,
        object: str,
        ids: Sequence[str],
        fields: Sequence[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[dict[str, Any] | None]:
        """Records by id, None where an id matches none."""
        return scoped(self._core, timeout, headers).retrieve(object, list(ids), list(fields)).wait()


class Composite:
    """Reached as ``sf.composite``."""

    collections: Collections

    def __init__(self, core: CompositeCore) -> None:
        self._core = core
        self.collections = Collections(core)

    @staticmethod
    def request() -> CompositeRequest:
        """A builder for ``execute``."""
        return CompositeRequest()

    def execute(
        self,
        requests: CompositeRequest | Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        collate: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> CompositeResult:
        """Sends a composite request built with ``request``; returns each subrequest's result. With ``all_or_none`` a failure rolls back every subrequest."""
        return _composite_result(
            scoped(self._core, timeout, headers).execute(_subrequests(requests), all_or_none, collate).wait()
        )

    def batch(
        self,
        requests: CompositeRequest | Iterable[Mapping[str, Any]],
        *,
        halt_on_error: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> BatchResult:
        """Sends up to 25 independent subrequests in one call; with ``halt_on_error`` the ones after a failure are not run."""
        return _batch_result(
            scoped(self._core, timeout, headers).batch(_batch_items(requests), halt_on_error).wait()
        )

    def tree(
        self,
        object: str,
        records: Iterable[Mapping[str, Any]],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> TreeResult:
        """Creates records with their children in one call (sObject tree); returns the reference ids and new ids."""
        return _tree_result(scoped(self._core, timeout, headers).tree(object, records).wait())


@async_twin_of(Collections)
class AsyncCollections:
    def __init__(self, core: CompositeCore) -> None:
        self._core = core

    async def create(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        return await scoped(self._core, timeout, headers).create(records, all_or_none)

    async def update(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        return await scoped(self._core, timeout, headers).update(records, all_or_none)

    async def upsert(
        self,
        object: str,
        external_id_field: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        return await scoped(self._core, timeout, headers).upsert(
            object, external_id_field, records, all_or_none
        )

    async def delete(
        self,
        ids: Sequence[str],
        *,
        all_or_none: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[RecordResult]:
        return await scoped(self._core, timeout, headers).delete(list(ids), all_or_none)

    async def retrieve(
        self,
        object: str,
        ids: Sequence[str],
        fields: Sequence[str],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> list[dict[str, Any] | None]:
        return await scoped(self._core, timeout, headers).retrieve(object, list(ids), list(fields))


@async_twin_of(Composite)
class AsyncComposite:
    collections: AsyncCollections

    def __init__(self, core: CompositeCore) -> None:
        self._core = core
        self.collections = AsyncCollections(core)

    @staticmethod
    def request() -> CompositeRequest:
        return CompositeRequest()

    async def execute(
        self,
        requests: CompositeRequest | Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        collate: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> CompositeResult:
        return _composite_result(
            await scoped(self._core, timeout, headers).execute(_subrequests(requests), all_or_none, collate)
        )

    async def batch(
        self,
        requests: CompositeRequest | Iterable[Mapping[str, Any]],
        *,
        halt_on_error: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> BatchResult:
        return _batch_result(
            await scoped(self._core, timeout, headers).batch(_batch_items(requests), halt_on_error)
        )

    async def tree(
        self,
        object: str,
        records: Iterable[Mapping[str, Any]],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> TreeResult:
        return _tree_result(await scoped(self._core, timeout, headers).tree(object, records))
