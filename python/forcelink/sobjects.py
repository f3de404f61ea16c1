"""sObject records: create, get, update, upsert, delete, describe."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ._core import DescribeGlobal, SaveResult, SObjectDescribe, SObjectsCore, UpsertResult
from ._options import Headers, scoped
from ._twins import async_twin_of

__all__ = ["AsyncSObjects", "SObjects"]

Record = Mapping[str, Any]


def _iso(when: datetime | str) -> str:
    """A datetime as ISO 8601 with its offset (naive ones taken as UTC); strings pass as given."""
    if isinstance(when, str):
        return when
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.isoformat()


def _fields(fields: Sequence[str] | None) -> list[str] | None:
    if isinstance(fields, str):
        raise TypeError("fields must be a sequence of field names, not one string")
    return None if fields is None else list(fields)


class SObjects:
    """Records of any object, by id or by external id. Reached as ``sf.sobjects``."""

    def __init__(self, core: SObjectsCore) -> None:
        self._core = core

    def create(
        self, object: str, record: Record, *, timeout: float | None = None, headers: Headers | None = None
    ) -> SaveResult:
        """Create a record; returns its id. Raises ValidationError, InvalidFieldError, ..."""
        return scoped(self._core, timeout, headers).create(object, record).wait()

    def get(
        self,
        object: str,
        id: str,
        fields: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """Read a record; with ``fields``, only those fields (plus ``Id`` and ``attributes``)."""
        return scoped(self._core, timeout, headers).get(object, id, _fields(fields)).wait()

    def get_by_external_id(
        self,
        object: str,
        field: str,
        value: str,
        fields: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """Read the record whose external id ``field`` equals ``value``."""
        return (
            scoped(self._core, timeout, headers)
            .get_by_external_id(object, field, value, _fields(fields))
            .wait()
        )

    def update(
        self,
        object: str,
        id: str,
        record: Record,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Update the given fields; ``None`` clears a field."""
        scoped(self._core, timeout, headers).update(object, id, record).wait()

    def upsert(
        self,
        object: str,
        field: str,
        value: str,
        record: Record,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> UpsertResult:
        """Insert or update by external id; ``result.created`` tells which.
        Raises MultipleMatchesError when several records match (nothing is written)."""
        return scoped(self._core, timeout, headers).upsert(object, field, value, record).wait()

    def delete(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> None:
        """Delete a record; raises EntityDeletedError when it is already deleted."""
        scoped(self._core, timeout, headers).delete(object, id).wait()

    def describe(
        self, object: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> SObjectDescribe:
        """The object's fields and properties."""
        return scoped(self._core, timeout, headers).describe(object).wait()

    def get_updated(
        self,
        object: str,
        start: datetime | str,
        end: datetime | str,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """The ids of ``object`` records created or changed from ``start`` to ``end``
        (``GET /sobjects/{type}/updated``): ``{"ids": [...], "latestDateCovered": ...}``. Datetimes
        without a time zone are taken as UTC."""
        return scoped(self._core, timeout, headers).get_updated(object, _iso(start), _iso(end)).wait()

    def get_deleted(
        self,
        object: str,
        start: datetime | str,
        end: datetime | str,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """The ``object`` records deleted from ``start`` to ``end`` (``GET
        /sobjects/{type}/deleted``): ``{"deletedRecords": [{"id", "deletedDate"}, ...],
        "earliestDateAvailable": ..., "latestDateCovered": ...}``."""
        return scoped(self._core, timeout, headers).get_deleted(object, _iso(start), _iso(end)).wait()

    def describe_global(
        self, *, timeout: float | None = None, headers: Headers | None = None
    ) -> DescribeGlobal:
        """Every object of the org."""
        return scoped(self._core, timeout, headers).describe_global().wait()


@async_twin_of(SObjects)
class AsyncSObjects:
    """The async twin of ``SObjects``. Reached as ``sf.sobjects`` on ``AsyncSalesforce``."""

    def __init__(self, core: SObjectsCore) -> None:
        self._core = core

    async def create(
        self, object: str, record: Record, *, timeout: float | None = None, headers: Headers | None = None
    ) -> SaveResult:
        return await scoped(self._core, timeout, headers).create(object, record)

    async def get(
        self,
        object: str,
        id: str,
        fields: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).get(object, id, _fields(fields))

    async def get_by_external_id(
        self,
        object: str,
        field: str,
        value: str,
        fields: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).get_by_external_id(
            object, field, value, _fields(fields)
        )

    async def update(
        self,
        object: str,
        id: str,
        record: Record,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        await scoped(self._core, timeout, headers).update(object, id, record)

    async def upsert(
        self,
        object: str,
        field: str,
        value: str,
        record: Record,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> UpsertResult:
        return await scoped(self._core, timeout, headers).upsert(object, field, value, record)

    async def delete(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> None:
        await scoped(self._core, timeout, headers).delete(object, id)

    async def describe(
        self, object: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> SObjectDescribe:
        return await scoped(self._core, timeout, headers).describe(object)

    async def get_updated(
        self,
        object: str,
        start: datetime | str,
        end: datetime | str,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).get_updated(object, _iso(start), _iso(end))

    async def get_deleted(
        self,
        object: str,
        start: datetime | str,
        end: datetime | str,
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).get_deleted(object, _iso(start), _iso(end))

    async def describe_global(
        self, *, timeout: float | None = None, headers: Headers | None = None
    ) -> DescribeGlobal:
        return await scoped(self._core, timeout, headers).describe_global()
