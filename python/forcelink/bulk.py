"""Bulk API 2.0: load any amount of data (split into jobs before anything is sent), read the
results back as dicts, and run bulk queries page by page.

``data`` for a load is a path, bytes, a file object (text or binary), or an iterable of dicts
(the first one's keys are the header) or of rows (the first row is the header). Malformed CSV
raises ``CsvFormatError`` with its line before any job exists.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypedDict, Union

from ._core import (
    BulkCore,
    BulkQueryCore,
    BulkQueryPage,
    BulkResultCore,
    CsvSplitter,
    SplitInput,
    bulk_defaults,
    split_path,
)
from ._options import Headers, scoped
from ._twins import async_twin_of
from .errors import InvalidArgumentError
from .frames import arrow_table, pandas_frame

if TYPE_CHECKING:
    import pandas
    import pyarrow
    from typing_extensions import Unpack

__all__ = [
    "AsyncBulk",
    "AsyncBulkQuery",
    "AsyncBulkResult",
    "Bulk",
    "BulkData",
    "BulkEvent",
    "BulkQuery",
    "BulkResult",
]

BulkData = Union[
    str,
    "os.PathLike[str]",
    bytes,
    bytearray,
    memoryview,
    IO[bytes],
    IO[str],
    Iterable[Mapping[str, Any]],
    Iterable[Sequence[Any]],
]

#: Salesforce's upload limit per job: 150 MB of base64-encoded CSV.
MAX_UPLOAD_BYTES = 150 * 1024 * 1024

# The engine declares each default once (its PollOptions and IngestOptions); the signatures
# below show them.
_ENGINE_DEFAULTS = bulk_defaults()
#: Seconds a bulk call waits for its jobs before BulkTimeoutError, by default.
DEFAULT_TIMEOUT: float = _ENGINE_DEFAULTS["timeout"]
#: Seconds before a job's first status check, by default; the waits grow from there.
DEFAULT_POLL_INTERVAL: float = _ENGINE_DEFAULTS["poll_interval"]
#: Jobs a load keeps in flight at once, by default.
DEFAULT_PARALLELISM: int = int(_ENGINE_DEFAULTS["parallelism"])

_READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class BulkEvent:
    """Progress of a load. ``kind`` is ``"split"`` (``records``, ``bytes``, ``jobs``),
    ``"job_created"`` (``job_id``, ``records``), ``"uploaded"`` (``job_id``, ``bytes``) or
    ``"job_state"`` (``job_id``, ``state``, ``processed``, ``failed``)."""

    kind: str
    job_id: str | None = None
    records: int | None = None
    bytes: int | None = None
    jobs: int | None = None
    state: str | None = None
    processed: int | None = None
    failed: int | None = None


class LoadOptions(TypedDict, total=False):
    """Keyword options of every load. ``timeout`` bounds the whole load (every job's wait);
    ``request_timeout`` each HTTP request, and ``headers`` are sent with each request.
    ``rows`` loads only those data rows of ``data`` (``(first, last)`` pairs counted from 1
    after the header, as ``BulkIncompleteError`` reports them unsent)."""

    column_delimiter: str
    max_upload_bytes: int
    max_records_per_job: int | None
    parallelism: int
    poll_interval: float
    max_poll_interval: float
    timeout: float
    progress: Callable[[BulkEvent], object] | None
    spool_dir: str | os.PathLike[str] | None
    headers: Headers | None
    request_timeout: float | None
    rows: Sequence[tuple[int, int]] | None


def _check_options(options: Mapping[str, object]) -> None:
    """A misspelt option is a TypeError, as it is for a keyword argument, not silently ignored."""
    unknown = sorted(set(options) - set(LoadOptions.__annotations__))
    if unknown:
        known = ", ".join(sorted(LoadOptions.__annotations__))
        raise TypeError(f"unknown bulk load option(s) {', '.join(unknown)}; the options are: {known}")


def _rows(options: LoadOptions) -> list[tuple[int, int]] | None:
    rows = options.get("rows")
    return None if rows is None else [(int(first), int(last)) for first, last in rows]


def _is_path(data: object) -> bool:
    return isinstance(data, (str, os.PathLike))


def _split_in_memory(data: BulkData, options: LoadOptions) -> SplitInput:
    splitter = CsvSplitter(
        column_delimiter=options.get("column_delimiter", ","),
        max_upload_bytes=options.get("max_upload_bytes", MAX_UPLOAD_BYTES),
        max_records=options.get("max_records_per_job"),
        spool_dir=options.get("spool_dir"),
        rows=_rows(options),
    )
    if isinstance(data, (bytes, bytearray, memoryview)):
        splitter.feed(bytes(data))
    elif hasattr(data, "read"):
        reader: IO[Any] = data  # type: ignore[assignment]
        while chunk := reader.read(_READ_SIZE):
            splitter.feed(chunk)
    else:
        empty = True
        for item in data:  # type: ignore[union-attr]
            if isinstance(item, Mapping):
                splitter.push_dict(dict(item))
            elif isinstance(item, (str, bytes)) or not isinstance(item, Iterable):
                raise TypeError(
                    "bulk data must be a path, bytes, a file object, or an iterable of dicts or rows"
                )
            else:
                splitter.push_row(item)
            empty = False
        if empty:
            raise InvalidArgumentError("bulk data is empty: there is nothing to load", argument="data")
    return splitter.finish()


def _split_path(data: str | os.PathLike[str], options: LoadOptions) -> Any:
    return split_path(
        data,
        column_delimiter=options.get("column_delimiter", ","),
        max_upload_bytes=options.get("max_upload_bytes", MAX_UPLOAD_BYTES),
        max_records=options.get("max_records_per_job"),
        spool_dir=options.get("spool_dir"),
        rows=_rows(options),
    )


def _progress(callback: Callable[[BulkEvent], object] | None) -> Callable[..., object] | None:
    if callback is None:
        return None
    return lambda **fields: callback(BulkEvent(**fields))


def _ingest(
    core: BulkCore,
    operation: str,
    object: str,
    split: SplitInput,
    external_id_field: str | None,
    options: LoadOptions,
) -> Any:
    core = scoped(core, options.get("request_timeout"), options.get("headers"))
    return core.ingest(
        object,
        operation,
        split,
        external_id_field=external_id_field,
        parallelism=options.get("parallelism"),
        poll_interval=options.get("poll_interval"),
        max_poll_interval=options.get("max_poll_interval"),
        timeout=options.get("timeout"),
        progress=_progress(options.get("progress")),
    )


class _ResultBase:
    def __init__(self, core: BulkResultCore) -> None:
        self._core = core

    @property
    def job_ids(self) -> list[str]:
        """The jobs of the load, in input order."""
        return self._core.job_ids

    @property
    def records_processed(self) -> int:
        """Rows Salesforce processed, failed ones included (``numberRecordsProcessed``)."""
        return self._core.records_processed

    @property
    def records_failed(self) -> int:
        return self._core.records_failed

    @property
    def records_successful(self) -> int:
        return self._core.records_successful

    @property
    def records_unprocessed(self) -> int:
        """Rows sent but never attempted (a job failed or was aborted)."""
        return self._core.records_unprocessed

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """Each job's JobInfo as Salesforce last described it, plus ``recordsSent``."""
        return self._core.jobs

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(job_ids={self.job_ids!r}, processed={self.records_processed}, "
            f"failed={self.records_failed}, unprocessed={self.records_unprocessed})"
        )


class BulkResult(_ResultBase):
    """What a load did. The result files are read when iterated, job after job, as dicts of
    the result CSV's columns."""

    def _records(self, which: str) -> Iterator[dict[str, str]]:
        rows = self._core.rows(which)
        while (page := rows.next_rows().wait()) is not None:
            yield from page.records()

    def successful_records(self) -> Iterator[dict[str, str]]:
        """``sf__Id``, ``sf__Created``, then the input row's columns."""
        return self._records("successful")

    def failed_records(self) -> Iterator[dict[str, str]]:
        """``sf__Id``, ``sf__Error`` (``CODE:message:fields --``), then the input row's columns."""
        return self._records("failed")

    def unprocessed_records(self) -> Iterator[dict[str, str]]:
        """The input rows that were never attempted."""
        return self._records("unprocessed")


@async_twin_of(BulkResult)
class AsyncBulkResult(_ResultBase):
    """The asyncio twin of ``BulkResult``."""

    async def _records(self, which: str) -> AsyncIterator[dict[str, str]]:
        rows = self._core.rows(which)
        while (page := await rows.next_rows()) is not None:
            for record in page.records():
                yield record

    def successful_records(self) -> AsyncIterator[dict[str, str]]:
        return self._records("successful")

    def failed_records(self) -> AsyncIterator[dict[str, str]]:
        return self._records("failed")

    def unprocessed_records(self) -> AsyncIterator[dict[str, str]]:
        return self._records("unprocessed")


def _write_to(out: str | os.PathLike[str] | IO[bytes]) -> tuple[IO[bytes], bool]:
    if isinstance(out, (str, os.PathLike)):
        return open(out, "wb"), True
    return out, False


class _QueryArgs(TypedDict):
    include_deleted: bool
    max_records: int | None
    timeout: float
    poll_interval: float


def _job_pages(job: BulkQueryCore) -> Iterator[BulkQueryPage]:
    while (page := job.next_page().wait()) is not None:
        yield page


async def _async_job_pages(job: BulkQueryCore) -> AsyncIterator[BulkQueryPage]:
    while (page := await job.next_page()) is not None:
        yield page


def _query_repr(query: object, soql: str, taken: bool) -> str:
    state = "read" if taken else "not started"
    return f"{type(query).__name__}({soql!r}, {state})"


class BulkQuery:
    """The rows of a bulk query, returned by ``Bulk.query``. Iterate over it for each row
    as a dict of strings, read page by page in flat memory; or take every row at once with
    ``to_arrow`` or ``to_pandas``, typed from the object's describe. The job starts
    when the rows are first asked for, and the rows can be read once."""

    def __init__(self, core: BulkCore, soql: str, args: _QueryArgs) -> None:
        self._core = core
        self._soql = soql
        self._args = args
        self._rows: Iterator[dict[str, str]] | None = None
        self._taken = False

    def __repr__(self) -> str:
        return _query_repr(self, self._soql, self._taken)

    def _start(self) -> BulkQueryCore:
        if self._taken:
            raise RuntimeError("this bulk query's rows were read already; run sf.bulk.query(...) again")
        self._taken = True
        return self._core.query(self._soql, **self._args).wait()

    def _read(self) -> Iterator[dict[str, str]]:
        for page in _job_pages(self._start()):
            yield from page.records()

    def __iter__(self) -> Iterator[dict[str, str]]:
        return self

    def __next__(self) -> dict[str, str]:
        if self._rows is None:
            self._rows = self._read()
        return next(self._rows)

    def to_arrow(self) -> pyarrow.Table:
        """Every row as a ``pyarrow.Table``, columns typed from the FROM object's describe
        (see ``forcelink.query.Query.to_arrow``); the CSV pages are read into Arrow in
        Rust. Needs ``forcelink[frames]``."""
        return arrow_table(self._start().to_arrow().wait())

    def to_pandas(self) -> pandas.DataFrame:
        """``to_arrow`` as a pandas DataFrame (dtypes as in
        ``forcelink.frames.pandas_frame``)."""
        return pandas_frame(self._start().to_arrow().wait())


class AsyncBulkQuery:
    """The asyncio twin of ``BulkQuery``: ``async for row in sf.bulk.query(soql)``, or
    ``await sf.bulk.query(soql).to_pandas()``."""

    def __init__(self, core: BulkCore, soql: str, args: _QueryArgs) -> None:
        self._core = core
        self._soql = soql
        self._args = args
        self._rows: AsyncIterator[dict[str, str]] | None = None
        self._taken = False

    def __repr__(self) -> str:
        return _query_repr(self, self._soql, self._taken)

    async def _start(self) -> BulkQueryCore:
        if self._taken:
            raise RuntimeError("this bulk query's rows were read already; run sf.bulk.query(...) again")
        self._taken = True
        job: BulkQueryCore = await self._core.query(self._soql, **self._args)
        return job

    async def _read(self) -> AsyncIterator[dict[str, str]]:
        async for page in _async_job_pages(await self._start()):
            for record in page.records():
                yield record

    def __aiter__(self) -> AsyncIterator[dict[str, str]]:
        return self

    async def __anext__(self) -> dict[str, str]:
        if self._rows is None:
            self._rows = self._read()
        return await anext(self._rows)

    async def to_arrow(self) -> pyarrow.Table:
        """The async twin of ``BulkQuery.to_arrow``."""
        job = await self._start()
        return arrow_table(await job.to_arrow())

    async def to_pandas(self) -> pandas.DataFrame:
        """The async twin of ``BulkQuery.to_pandas``."""
        job = await self._start()
        return pandas_frame(await job.to_arrow())


class Bulk:
    """Reached as ``sf.bulk``."""

    def __init__(self, core: BulkCore) -> None:
        self._core = core

    def _load(
        self,
        operation: str,
        object: str,
        data: BulkData,
        external_id_field: str | None,
        options: LoadOptions,
    ) -> BulkResult:
        _check_options(options)
        split: SplitInput = (
            _split_path(data, options).wait()  # type: ignore[arg-type]
            if _is_path(data)
            else _split_in_memory(data, options)
        )
        core = _ingest(self._core, operation, object, split, external_id_field, options)
        return BulkResult(core.wait())

    def insert(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> BulkResult:
        """Inserts every row of ``data``; see the module docs for what ``data`` can be."""
        return self._load("insert", object, data, None, options)

    def update(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> BulkResult:
        """Updates by ``Id`` (a column of ``data``). In rows given as dicts or lists, ``None``
        clears a field (it is sent as ``#N/A``, Bulk API's null), as ``None`` does in
        ``sf.sobjects.update``; an empty string, or a key a later dict leaves out, leaves the
        field as it is. In CSV files, write ``#N/A`` to clear."""
        return self._load("update", object, data, None, options)

    def upsert(
        self,
        object: str,
        data: BulkData,
        *,
        external_id_field: str,
        **options: Unpack[LoadOptions],
    ) -> BulkResult:
        """Inserts or updates by ``external_id_field``."""
        return self._load("upsert", object, data, external_id_field, options)

    def delete(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> BulkResult:
        """Deletes (to the recycle bin) the records whose ``Id`` column ``data`` holds."""
        return self._load("delete", object, data, None, options)

    def hard_delete(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> BulkResult:
        """Deletes for good, skipping the recycle bin (needs the Bulk API Hard Delete permission)."""
        return self._load("hardDelete", object, data, None, options)

    def resume(
        self,
        job_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> BulkResult:
        """Waits for jobs created earlier (e.g. after a ``BulkTimeoutError``) and returns
        their result."""
        return BulkResult(
            scoped(self._core, request_timeout, headers).resume(list(job_ids), timeout=timeout).wait()
        )

    def job_info(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """A job's state and counters, as Salesforce reports them (``kind`` is ``"ingest"`` or ``"query"``)."""
        return scoped(self._core, timeout, headers).job_info(job_id, kind=kind).wait()

    def abort(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        """Aborts a job; rows not yet processed stay unprocessed."""
        return scoped(self._core, timeout, headers).abort(job_id, kind=kind).wait()

    def delete_job(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Deletes a finished job and its result files."""
        scoped(self._core, timeout, headers).delete(job_id, kind=kind).wait()

    def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        max_records: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> BulkQuery:
        """The rows of a bulk query: iterate for each row as a dict of strings, read page by
        page (``max_records`` rows per page) so memory stays flat, or call ``.to_arrow()`` /
        ``.to_pandas()`` on the result for a typed table. ``timeout`` bounds the job's wait,
        ``request_timeout`` each HTTP request."""
        args: _QueryArgs = {
            "include_deleted": include_deleted,
            "max_records": max_records,
            "timeout": timeout,
            "poll_interval": poll_interval,
        }
        return BulkQuery(scoped(self._core, request_timeout, headers), soql, args)

    def query_to_file(
        self,
        soql: str,
        out: str | os.PathLike[str] | IO[bytes],
        *,
        include_deleted: bool = False,
        max_records: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        progress: Callable[[int, int], object] | None = None,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        """Writes the query's CSV (one header row) to a path or binary writer, page by page;
        returns the number of records. ``progress(pages, records)`` is called after each page
        is written, with the totals so far."""
        # The job runs to its end before the output is opened.
        job = self.query(
            soql,
            include_deleted=include_deleted,
            max_records=max_records,
            timeout=timeout,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
            headers=headers,
        )._start()
        writer, owned = _write_to(out)
        count = pages = 0
        try:
            first = True
            for page in _job_pages(job):
                writer.write(page.csv(header=first))
                first = False
                count += page.record_count
                pages += 1
                if progress is not None:
                    progress(pages, count)
        finally:
            if owned:
                writer.close()
        return count


@async_twin_of(Bulk)
class AsyncBulk:
    """Reached as ``sf.bulk`` on ``AsyncSalesforce``."""

    def __init__(self, core: BulkCore) -> None:
        self._core = core

    async def _load(
        self,
        operation: str,
        object: str,
        data: BulkData,
        external_id_field: str | None,
        options: LoadOptions,
    ) -> AsyncBulkResult:
        _check_options(options)
        if _is_path(data):
            split = await _split_path(data, options)  # type: ignore[arg-type]
        else:
            split = _split_in_memory(data, options)
        core = _ingest(self._core, operation, object, split, external_id_field, options)
        return AsyncBulkResult(await core)

    async def insert(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> AsyncBulkResult:
        return await self._load("insert", object, data, None, options)

    async def update(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> AsyncBulkResult:
        return await self._load("update", object, data, None, options)

    async def upsert(
        self,
        object: str,
        data: BulkData,
        *,
        external_id_field: str,
        **options: Unpack[LoadOptions],
    ) -> AsyncBulkResult:
        return await self._load("upsert", object, data, external_id_field, options)

    async def delete(self, object: str, data: BulkData, **options: Unpack[LoadOptions]) -> AsyncBulkResult:
        return await self._load("delete", object, data, None, options)

    async def hard_delete(
        self, object: str, data: BulkData, **options: Unpack[LoadOptions]
    ) -> AsyncBulkResult:
        return await self._load("hardDelete", object, data, None, options)

    async def resume(
        self,
        job_ids: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> AsyncBulkResult:
        return AsyncBulkResult(
            await scoped(self._core, request_timeout, headers).resume(list(job_ids), timeout=timeout)
        )

    async def job_info(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).job_info(job_id, kind=kind)

    async def abort(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> dict[str, Any]:
        return await scoped(self._core, timeout, headers).abort(job_id, kind=kind)

    async def delete_job(
        self,
        job_id: str,
        *,
        kind: str = "ingest",
        timeout: float | None = None,
        headers: Headers | None = None,
    ) -> None:
        await scoped(self._core, timeout, headers).delete(job_id, kind=kind)

    def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        max_records: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> AsyncBulkQuery:
        """``async for row in sf.bulk.query(soql)``: every row, page by page; or
        ``await sf.bulk.query(soql).to_pandas()``. Nothing is sent until the rows are asked
        for."""
        args: _QueryArgs = {
            "include_deleted": include_deleted,
            "max_records": max_records,
            "timeout": timeout,
            "poll_interval": poll_interval,
        }
        return AsyncBulkQuery(scoped(self._core, request_timeout, headers), soql, args)

    async def query_to_file(
        self,
        soql: str,
        out: str | os.PathLike[str] | IO[bytes],
        *,
        include_deleted: bool = False,
        max_records: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        progress: Callable[[int, int], object] | None = None,
        request_timeout: float | None = None,
        headers: Headers | None = None,
    ) -> int:
        """The async twin of ``Bulk.query_to_file``."""
        job = await self.query(
            soql,
            include_deleted=include_deleted,
            max_records=max_records,
            timeout=timeout,
            poll_interval=poll_interval,
            request_timeout=request_timeout,
            headers=headers,
        )._start()
        writer, owned = _write_to(out)
        count = pages = 0
        try:
            first = True
            async for page in _async_job_pages(job):
                writer.write(page.csv(header=first))
                first = False
                count += page.record_count
                pages += 1
                if progress is not None:
                    progress(pages, count)
        finally:
            if owned:
                writer.close()
        return count
