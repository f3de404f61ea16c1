"""Batch writes that land only when the whole write commits.

Each task writes its partition's Arrow batches as CSV (in Rust), spilling to local files of at
most ``maxUploadBytes``; once its input is read to the end it uploads them to Bulk ingest jobs
and leaves them open: Salesforce processes nothing of an open job. The driver's ``commit`` closes every job and waits for them; its ``abort`` aborts them,
and a task that fails aborts its own. A failed, retried or speculative task, or a write that
fails as a whole, so processes no row of the jobs it abandoned.

Once the jobs are closed, Salesforce processes their rows one by one: there is no atomicity
across jobs, and rows that fail (a validation rule, a duplicate) fail alone. ``upsert`` by an
external id makes a rerun safe.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSourceArrowWriter, WriterCommitMessage

from .._core import BulkCsvBuffer
from ..bulk import BulkResult
from ..errors import SalesforceError
from .options import client_for

__all__ = ["BulkWriter", "SparkWriteError", "StagedJobs", "WriteSettings"]

log = logging.getLogger("forcelink.spark")

#: A job's CSV is uploaded once it holds this much: below Salesforce's limit of 150 MB of
#: base64-encoded data (about 112 MB raw) with room for one more Arrow batch.
DEFAULT_UPLOAD_BYTES = 90 * 1024 * 1024

#: Rows of failed results written to the errors file at a time.
_ERROR_ROWS_PER_BATCH = 50_000


class SparkWriteError(SalesforceError):
    """A write committed, but more rows failed (or were left unprocessed) than ``maxErrors``
    allows. ``records_processed``, ``records_failed`` and ``records_unprocessed`` count them
    and ``errors_path`` holds the failed rows when the option was given."""

    def __init__(
        self,
        message: str,
        *,
        records_processed: int = 0,
        records_failed: int = 0,
        records_unprocessed: int = 0,
        errors_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.records_processed = records_processed
        self.records_failed = records_failed
        self.records_unprocessed = records_unprocessed
        self.errors_path = errors_path


@dataclass
class StagedJobs(WriterCommitMessage):
    """A task's open jobs: ``(job_id, rows)`` each."""

    jobs: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class WriteSettings:
    object: str
    operation: str
    external_id_field: str | None
    errors_path: str | None
    max_errors: int | None
    upload_bytes: int
    settings: dict[str, str]
    #: When the driver set the write up (seconds since the epoch).
    started: float = 0.0


class BulkWriter(DataSourceArrowWriter):
    """Stages rows in tasks; commits or aborts on the driver."""

    def __init__(self, write: WriteSettings) -> None:
        self.write_settings = write

    def write(self, iterator: Iterator[pa.RecordBatch]) -> StagedJobs:
        w = self.write_settings
        bulk = client_for(w.settings).bulk._core
        # On insert an empty cell takes the field's default; elsewhere a null clears the field.
        buffer = BulkCsvBuffer(null_text="" if w.operation == "insert" else "#N/A")
        spool = tempfile.mkdtemp(prefix="forcelink-write-")
        try:
            files: list[tuple[str, int]] = []
            for batch in iterator:
                buffer.push(batch)
                if buffer.size >= w.upload_bytes:
                    path = os.path.join(spool, f"part-{len(files)}.csv")
                    files.append((path, buffer.spill(path)))
            # Jobs are created only once the input was read to its end: a task whose input
            # fails (an upstream error, a killed task) leaves no job behind.
            return StagedJobs(self._stage(bulk, files, buffer))
        finally:
            shutil.rmtree(spool, ignore_errors=True)

    def _stage(self, bulk: Any, files: list[tuple[str, int]], buffer: BulkCsvBuffer) -> list[tuple[str, int]]:
        w = self.write_settings
        staged: list[tuple[str, int]] = []
        try:
            for path, rows in files:
                staged.append(
                    bulk.stage_file(
                        w.object, w.operation, path, rows, external_id_field=w.external_id_field
                    ).wait()
                )
            if buffer.rows:
                staged.append(
                    bulk.stage(w.object, w.operation, buffer, external_id_field=w.external_id_field).wait()
                )
        except BaseException:
            # These jobs are open: aborting them leaves nothing of this task's rows behind.
            if staged:
                try:
                    bulk.abort_staged([job_id for job_id, _ in staged]).wait()
                except Exception:
                    log.warning("could not abort the jobs of a failed task: %s", [j for j, _ in staged])
            raise
        return staged

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        w = self.write_settings
        jobs = [job for message in messages if isinstance(message, StagedJobs) for job in message.jobs]
        sf = client_for(w.settings)
        result = BulkResult(sf.bulk._core.commit_staged(jobs).wait())
        sent = sum(rows for _, rows in jobs)
        failed, unprocessed = result.records_failed, result.records_unprocessed
        summary = {
            "object": w.object,
            "operation": w.operation,
            "job_ids": result.job_ids,
            "records_sent": sent,
            "records_processed": result.records_processed,
            "records_successful": result.records_successful,
            "records_failed": failed,
            "records_unprocessed": unprocessed,
        }
        log.info("forcelink write committed: %s", summary)
        if w.errors_path is not None:
            _write_errors(result, w.errors_path, summary)
        if w.max_errors is not None and failed + unprocessed > w.max_errors:
            where = (
                f"; the failed rows are in {w.errors_path}"
                if w.errors_path
                else " (set errorsPath to keep them)"
            )
            raise SparkWriteError(
                f"{failed} rows failed and {unprocessed} were not processed, more than maxErrors="
                f"{w.max_errors}; {result.records_successful} of {sent} rows were written{where}",
                records_processed=result.records_processed,
                records_failed=failed,
                records_unprocessed=unprocessed,
                errors_path=w.errors_path,
            )

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        w = self.write_settings
        bulk = client_for(w.settings).bulk._core
        job_ids = [
            job_id for message in messages if isinstance(message, StagedJobs) for job_id, _ in message.jobs
        ]
        # PySpark may hand abort no message of a task that ended well, and a task whose input
        # broke off can have staged what it had read: so the open jobs of this object and
        # operation created since the write began are this write's too. (A concurrent write of
        # the same object and operation would lose its open jobs here; it then reports their
        # rows as unprocessed, none processed twice.) Tasks being cancelled may still be
        # staging, so the sweep is repeated until one finds nothing new.
        aborted: set[str] = set()
        quiet = 0
        for _ in range(_ABORT_SWEEPS):
            found = [j["id"] for j in bulk.list_jobs().wait() if _opened_by(j, w) and j["id"] not in job_ids]
            job_ids.extend(found)
            quiet = 0 if found else quiet + 1
            if quiet >= _QUIET_SWEEPS:
                break
            if found or not aborted:
                aborted.update(bulk.abort_staged(job_ids).wait())
            time.sleep(_SWEEP_PAUSE)
        log.warning("forcelink write aborted: %d open jobs aborted", len(aborted))


#: Sweeps for open jobs when a write aborts, and the pause between them.
_ABORT_SWEEPS = 30
_QUIET_SWEEPS = 4
_SWEEP_PAUSE = 1.0

#: Clock difference allowed between the driver and Salesforce when dating a write's jobs.
_CLOCK_SLACK = 120.0


def _opened_by(job: dict[str, Any], w: WriteSettings) -> bool:
    """Whether a job is an open one of this write's object and operation, created since the
    write began."""
    if job.get("state") != "Open" or job.get("operation") != w.operation:
        return False
    if str(job.get("object", "")).lower() != w.object.lower():
        return False
    try:
        created = datetime.datetime.strptime(str(job.get("createdDate")), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return False
    return created.timestamp() >= w.started - _CLOCK_SLACK


def _write_errors(result: BulkResult, path: str, summary: dict[str, Any]) -> None:
    """The failed rows (with ``sf__Error``) and the rows never processed, as parquet, and the
    counts as ``summary.json``, in the directory ``path``."""
    import pyarrow.parquet as pq

    os.makedirs(path, exist_ok=True)
    rows_path = os.path.join(path, "failed.parquet")
    writer: Any = None
    rows: list[dict[str, str]] = []
    columns: list[str] = []

    def flush() -> None:
        nonlocal writer
        if not rows:
            return
        table = pa.table({c: [r.get(c, "") for r in rows] for c in columns})
        if writer is None:
            writer = pq.ParquetWriter(rows_path, table.schema)
        writer.write_table(table)
        rows.clear()

    try:
        for kind, records in (
            ("failed", result.failed_records()),
            ("unprocessed", result.unprocessed_records()),
        ):
            for record in records:
                if kind == "unprocessed":
                    record = {
                        "sf__Id": "",
                        "sf__Error": "UNPROCESSED:the job ended before this row:--",
                        **record,
                    }
                if not columns:
                    # Every job of a write has the DataFrame's columns, so the first row's
                    # names are every row's.
                    columns = list(record)
                rows.append(record)
                if len(rows) >= _ERROR_ROWS_PER_BATCH:
                    flush()
        flush()
    finally:
        if writer is not None:
            writer.close()
    with open(os.path.join(path, "summary.json"), "w", encoding="utf-8") as out:
        json.dump(summary, out, indent=2)
