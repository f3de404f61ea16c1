"""The Tooling API: queries and records of metadata objects (ApexClass, ApexTrigger, ...) and
anonymous Apex, through the client's pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._core import QueryPage, SaveResult, ToolingCore
from ._options import Headers, scoped
from ._twins import async_twin_of

__all__ = ["AsyncTooling", "ExecuteAnonymousResult", "Tooling"]


@dataclass(frozen=True)
class ExecuteAnonymousResult:
    """What running anonymous Apex gave: ``compiled`` and ``success``; where it failed
    (``line`` and ``column``, -1 when it did not) and why (``compile_problem``, or
    ``exception_message`` with ``exception_stack_trace``)."""

    compiled: bool
    success: bool
    line: int
    column: int
    compile_problem: str | None
    exception_message: str | None
    exception_stack_trace: str | None


def _page(raw: dict[str, Any]) -> QueryPage:
    return QueryPage(raw["records"], raw["totalSize"], raw["done"], raw.get("nextRecordsUrl"))


class Tooling:
    """Reached as ``sf.tooling``."""

    def __init__(self, core: ToolingCore) -> None:
        self._core = core

    def query(self, soql: str, *, timeout: float | None = None, headers: Headers | None = None) -> QueryPage:
        """The first page of a Tooling query, such as ``SELECT Id, Name FROM ApexClass``."""
        return _page(scoped(self._core, timeout, headers).query(soql).wait())

    def query_all(
        self, soql: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> QueryPage:
        """Every record of a Tooling query, all pages read."""
        return _page(scoped(self._core, timeout, headers).query_all(soql).wait())

    def create(
        self,
        object: str,
        record: Mapping[str, Any],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> SaveResult:
        """Creates a Tooling record (an ApexClass with its ``Name`` and ``Body``, ...)."""
        return scoped(self._core, timeout, headers).create(object, record).wait()

    def get(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        """A Tooling record by id."""
        return scoped(self._core, timeout, headers).get(object, id).wait()

    def update(
        self,
        object: str,
        id: str,
        record: Mapping[str, Any],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Updates a Tooling record by id."""
        scoped(self._core, timeout, headers).update(object, id, record).wait()

    def delete(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> None:
        """Deletes a Tooling record by id."""
        scoped(self._core, timeout, headers).delete(object, id).wait()

    def describe(
        self, object: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        """A Tooling object's describe, as Salesforce sends it."""
        return scoped(self._core, timeout, headers).describe(object).wait()

    def execute_anonymous(
        self, apex: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> ExecuteAnonymousResult:
        """Compiles and runs anonymous Apex. A compile error or an exception is in the result
        (``compiled``, ``success``), not raised."""
        return ExecuteAnonymousResult(**scoped(self._core, timeout, headers).execute_anonymous(apex).wait())


@async_twin_of(Tooling)
class AsyncTooling:
    def __init__(self, core: ToolingCore) -> None:
        self._core = core

    async def query(
        self, soql: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> QueryPage:
        return _page(await scoped(self._core, timeout, headers).query(soql))

    async def query_all(
        self, soql: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> QueryPage:
        return _page(await scoped(self._core, timeout, headers).query_all(soql))

    async def create(
        self,
        object: str,
        record: Mapping[str, Any],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> SaveResult:
        return await scoped(self._core, timeout, headers).create(object, record)

    async def get(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).get(object, id)

    async def update(
        self,
        object: str,
        id: str,
        record: Mapping[str, Any],
        *,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        await scoped(self._core, timeout, headers).update(object, id, record)

    async def delete(
        self, object: str, id: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> None:
        await scoped(self._core, timeout, headers).delete(object, id)

    async def describe(
        self, object: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).describe(object)

    async def execute_anonymous(
        self, apex: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> ExecuteAnonymousResult:
        return ExecuteAnonymousResult(**(await scoped(self._core, timeout, headers).execute_anonymous(apex)))
