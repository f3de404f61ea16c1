"""SOQL queries: a page, the next page, every record streamed, query plans."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._core import QueryCore, QueryPage
from ._twins import async_twin_of

__all__ = ["AsyncQuery", "Query"]


class Query:
    """Reached as ``sf.query``. Build queries with user input through
    :func:`forcelink.format_soql`."""

    def __init__(self, core: QueryCore) -> None:
        self._core = core

    def query(self, soql: str, *, batch_size: int | None = None) -> QueryPage:
        """The first page (up to 2000 records; ``batch_size`` 200 to 2000). ``page.done`` and
        ``page.next_records_url`` tell whether and where it goes on."""
        return self._core.query(soql, batch_size=batch_size).wait()

    def query_all(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> QueryPage:
        """Every record of the query, all pages read, as one page (``done`` is True and
        ``next_records_url`` None); iterate over it or read ``records``. With
        ``include_deleted``, deleted and archived records too (``queryAll``). The whole answer
        is held in memory: :meth:`stream` reads page by page instead."""
        return self._core.query_all(soql, batch_size=batch_size, include_deleted=include_deleted).wait()

    def query_more(self, next_records_url: str) -> QueryPage:
        """The page at ``next_records_url`` (from a previous page): resume where it stopped."""
        return self._core.query_more(next_records_url).wait()

    def stream(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every record of the query, in order, each exactly once; with ``include_deleted``,
        deleted and archived records too. The next page is fetched while the current one is
        consumed; memory holds at most two pages."""
        stream = self._core.stream(soql, batch_size=batch_size, include_deleted=include_deleted)
        while (page := stream.next_page().wait()) is not None:
            yield from page.records()

    def explain(self, soql: str) -> dict[str, Any]:
        """The plans Salesforce would consider for ``soql``, best first, without running it."""
        return self._core.explain(soql).wait()


@async_twin_of(Query)
class AsyncQuery:
    """Reached as ``sf.query`` on ``AsyncSalesforce``."""

    def __init__(self, core: QueryCore) -> None:
        self._core = core

    async def query(self, soql: str, *, batch_size: int | None = None) -> QueryPage:
        return await self._core.query(soql, batch_size=batch_size)

    async def query_all(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> QueryPage:
        return await self._core.query_all(soql, batch_size=batch_size, include_deleted=include_deleted)

    async def query_more(self, next_records_url: str) -> QueryPage:
        return await self._core.query_more(next_records_url)

    async def stream(
        self, soql: str, *, batch_size: int | None = None, include_deleted: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        """``async for record in sf.query.stream(soql)``: every record, the next page fetched
        ahead."""
        stream = self._core.stream(soql, batch_size=batch_size, include_deleted=include_deleted)
        while (page := await stream.next_page()) is not None:
            for record in page.records():
                yield record

    async def explain(self, soql: str) -> dict[str, Any]:
        return await self._core.explain(soql)
