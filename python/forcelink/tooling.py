"""The Tooling API: queries and records of metadata objects (ApexClass, ApexTrigger, ...) and
anonymous Apex, through the client's pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._core import QueryPage, SaveResult, ToolingCore
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

    def query(self, soql: str) -> QueryPage:
        """The first page of a Tooling query, such as ``SELECT Id, Name FROM ApexClass``."""
        return _page(self._core.query(soql).wait())

    def query_all(self, soql: str) -> QueryPage:
        """Every record of a Tooling query, all pages read."""
        return _page(self._core.query_all(soql).wait())

    def create(self, object: str, record: Mapping[str, Any]) -> SaveResult:
        """Creates a Tooling record (an ApexClass with its ``Name`` and ``Body``, ...)."""
        return self._core.create(object, record).wait()

    def get(self, object: str, id: str) -> dict[str, Any]:
        """A Tooling record by id."""
        return self._core.get(object, id).wait()

    def update(self, object: str, id: str, record: Mapping[str, Any]) -> None:
        """Updates a Tooling record by id."""
        self._core.update(object, id, record).wait()

    def delete(self, object: str, id: str) -> None:
        """Deletes a Tooling record by id."""
        self._core.delete(object, id).wait()

    def describe(self, object: str) -> dict[str, Any]:
        """A Tooling object's describe, as Salesforce sends it."""
        return self._core.describe(object).wait()

    def execute_anonymous(self, apex: str) -> ExecuteAnonymousResult:
        """Compiles and runs anonymous Apex. A compile error or an exception is in the result
        (``compiled``, ``success``), not raised."""
        return ExecuteAnonymousResult(**self._core.execute_anonymous(apex).wait())


@async_twin_of(Tooling)
class AsyncTooling:
    def __init__(self, core: ToolingCore) -> None:
        self._core = core

    async def query(self, soql: str) -> QueryPage:
        return _page(await self._core.query(soql))

    async def query_all(self, soql: str) -> QueryPage:
        return _page(await self._core.query_all(soql))

    async def create(self, object: str, record: Mapping[str, Any]) -> SaveResult:
        return await self._core.create(object, record)

    async def get(self, object: str, id: str) -> dict[str, Any]:
        return await self._core.get(object, id)

    async def update(self, object: str, id: str, record: Mapping[str, Any]) -> None:
        await self._core.update(object, id, record)

    async def delete(self, object: str, id: str) -> None:
        await self._core.delete(object, id)

    async def describe(self, object: str) -> dict[str, Any]:
        return await self._core.describe(object)

    async def execute_anonymous(self, apex: str) -> ExecuteAnonymousResult:
        return ExecuteAnonymousResult(**(await self._core.execute_anonymous(apex)))
