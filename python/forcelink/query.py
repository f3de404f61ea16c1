"""SOQL queries: a page, the next page, every record streamed, query plans."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from ._core import QueryCore, QueryPage
from ._options import Headers, scoped
from ._twins import async_twin_of
from .frames import arrow_table, pandas_frame

if TYPE_CHECKING:
    import pandas
    import pyarrow

__all__ = ["AsyncQuery", "Query"]

#: The smallest page Salesforce serves (``batch_size``): what ``count`` reads.
_COUNT_BATCH = 200


class Query:
    """Reached as ``sf.query``. Build queries with user input through
    ``forcelink.format_soql``."""

    def __init__(self, core: QueryCore) -> None:
        self._core = core

    def __call__(self, soql: str, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "sf.query is the query service, not a call: sf.query.query(soql) gives the first page, "
            "sf.query.query_all(soql) every record, sf.query.stream(soql) every record page by page"
        )

    def count(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        """How many records ``soql`` matches: its answer's ``totalSize``, read from the first
        page. ``SELECT COUNT() FROM ...`` answers with this count alone, and no records."""
        # One page of the smallest size: no page is fetched ahead, as a stream would.
        core = scoped(self._core, timeout, headers)
        return core.query(soql, batch_size=_COUNT_BATCH, include_deleted=include_deleted).wait().total_size

    def query(
        self,
        soql: str,
        *,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> QueryPage:
        """The first page (up to 2000 records; ``batch_size`` 200 to 2000). ``page.done`` and
        ``page.next_records_url`` tell whether and where it goes on."""
        return scoped(self._core, timeout, headers).query(soql, batch_size=batch_size).wait()

    def query_all(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> QueryPage:
        """Every record of the query, all pages read, as one page (``done`` is True and
        ``next_records_url`` None); iterate over it or read ``records``. With
        ``include_deleted``, deleted and archived records too (``queryAll``). The whole answer
        is held in memory: ``stream`` reads page by page instead."""
        return (
            scoped(self._core, timeout, headers)
            .query_all(soql, batch_size=batch_size, include_deleted=include_deleted)
            .wait()
        )

    def query_more(
        self, next_records_url: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> QueryPage:
        """The page at ``next_records_url`` (from a previous page): resume where it stopped."""
        return scoped(self._core, timeout, headers).query_more(next_records_url).wait()

    def stream(
        self,
        soql: str,
        *,
        batch_size: int | None = None,
        include_deleted: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every record of the query, in order, each exactly once; with ``include_deleted``,
        deleted and archived records too. The next page is fetched while the current one is
        consumed; memory holds at most two pages."""
        core = self._core

        def pages() -> Iterator[list[dict[str, Any]]]:
            stream = scoped(core, timeout, headers).stream(
                soql, batch_size=batch_size, include_deleted=include_deleted
            )
            while (page := stream.next_page().wait()) is not None:
                yield page.records()

        # Records are handed out by chain's C loop over each page's list, not by resuming a
        # Python generator per record; nothing is sent before the first record is asked for.
        return itertools.chain.from_iterable(pages())

    def explain(
        self, soql: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        """The plans Salesforce would consider for ``soql``, best first, without running it."""
        return scoped(self._core, timeout, headers).explain(soql).wait()

    def to_arrow(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> pyarrow.Table:
        """Every record of the query as a ``pyarrow.Table``, built in Rust: columns follow the
        SELECT list (``Account.Name`` for a parent's field, the alias or ``expr0`` for an
        aggregate), typed from the object's describe (``int64``, ``double``, ``bool``,
        ``date32``, ``timestamp[ms, UTC]``, ``large_string``); nulls stay nulls. A list the engine cannot
        type ahead (``FIELDS(ALL)``, a subquery) takes its columns from the first record, as
        text. Needs ``forcelink[frames]``."""
        core = scoped(self._core, timeout, headers)
        return arrow_table(core.to_arrow(soql, batch_size=batch_size, include_deleted=include_deleted).wait())

    def to_pandas(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> pandas.DataFrame:
        """``to_arrow`` as a pandas DataFrame (see ``forcelink.frames.pandas_frame``
        for the dtypes)."""
        core = scoped(self._core, timeout, headers)
        return pandas_frame(
            core.to_arrow(soql, batch_size=batch_size, include_deleted=include_deleted).wait()
        )


@async_twin_of(Query)
class AsyncQuery:
    """Reached as ``sf.query`` on ``AsyncSalesforce``."""

    def __init__(self, core: QueryCore) -> None:
        self._core = core

    async def query(
        self,
        soql: str,
        *,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> QueryPage:
        return await scoped(self._core, timeout, headers).query(soql, batch_size=batch_size)

    def __call__(self, soql: str, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "sf.query is the query service, not a call: await sf.query.query(soql) gives the first "
            "page, sf.query.query_all(soql) every record, async for ... in sf.query.stream(soql)"
        )

    async def count(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        core = scoped(self._core, timeout, headers)
        page = await core.query(soql, batch_size=_COUNT_BATCH, include_deleted=include_deleted)
        return page.total_size

    async def query_all(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> QueryPage:
        return await scoped(self._core, timeout, headers).query_all(
            soql, batch_size=batch_size, include_deleted=include_deleted
        )

    async def query_more(
        self, next_records_url: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> QueryPage:
        return await scoped(self._core, timeout, headers).query_more(next_records_url)

    async def stream(
        self,
        soql: str,
        *,
        batch_size: int | None = None,
        include_deleted: bool = False,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """``async for record in sf.query.stream(soql)``: every record, the next page fetched
        ahead."""
        stream = scoped(self._core, timeout, headers).stream(
            soql, batch_size=batch_size, include_deleted=include_deleted
        )
        while (page := await stream.next_page()) is not None:
            for record in page.records():
                yield record

    async def explain(
        self, soql: str, *, timeout: float | None = None, headers: Headers | None = None
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).explain(soql)

    async def to_arrow(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> pyarrow.Table:
        core = scoped(self._core, timeout, headers)
        return arrow_table(await core.to_arrow(soql, batch_size=batch_size, include_deleted=include_deleted))

    async def to_pandas(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        batch_size: int | None = None,
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> pandas.DataFrame:
        core = scoped(self._core, timeout, headers)
        return pandas_frame(await core.to_arrow(soql, batch_size=batch_size, include_deleted=include_deleted))
