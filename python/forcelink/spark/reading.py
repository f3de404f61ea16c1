"""Batch reads: the driver types the columns and plans one Bulk API 2.0 query job per
predicate; each result page of each job is a partition that an executor reads on its own, into
Arrow record batches built in Rust. A retried task reads its page again: the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSourceReader, InputPartition
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from .._core import ArrowFrame
from ..errors import InvalidArgumentError
from .filters import to_soql
from .options import client_for, flag, positive_int

__all__ = ["BulkReader", "ReadPlan", "ResultPages", "group_pages"]


@dataclass
class ResultPages(InputPartition):
    """Pages of a query job's results, read in order by one task: a description of work,
    never data or a client."""

    job_id: str
    result_urls: tuple[str, ...]

    def __init__(self, job_id: str, result_urls: Sequence[str]) -> None:
        super().__init__(result_urls[0] if result_urls else job_id)
        self.job_id = job_id
        self.result_urls = tuple(result_urls)


def group_pages(job_id: str, urls: Sequence[str], partitions: int | None) -> list[ResultPages]:
    """One partition per page, or the pages in order in at most ``partitions`` runs of
    (nearly) equal length: Salesforce may list more pages than were asked for."""
    if not urls:
        return []
    if partitions is None or partitions >= len(urls):
        return [ResultPages(job_id, [url]) for url in urls]
    size, extra = divmod(len(urls), partitions)
    groups, start = [], 0
    for i in range(partitions):
        end = start + size + (1 if i < extra else 0)
        groups.append(ResultPages(job_id, urls[start:end]))
        start = end
    return groups


@dataclass(frozen=True)
class ReadPlan:
    """What a read selects, fixed on the driver: the object mode's parts (or the whole SOQL)."""

    soql: str | None
    object: str | None
    fields: tuple[str, ...]
    where: str | None
    predicates: tuple[str, ...]
    include_deleted: bool
    partitions: int | None
    max_records: int | None

    @classmethod
    def of(cls, options: dict[str, str], fields: Sequence[str] = ()) -> ReadPlan:
        soql = options.get("soql")
        obj = options.get("object")
        if (soql is None) == (obj is None):
            raise InvalidArgumentError(
                "give either the option soql or the option object (with optional fields and where)",
                argument="soql",
            )
        predicates: tuple[str, ...] = ()
        if "predicates" in options:
            if soql is not None:
                raise InvalidArgumentError(
                    "predicates split an object read; with soql, write the WHERE in the query",
                    argument="predicates",
                )
            try:
                parsed = json.loads(options["predicates"])
            except ValueError:
                parsed = None
            if (
                not isinstance(parsed, list)
                or not parsed
                or not all(isinstance(p, str) and p.strip() for p in parsed)
            ):
                raise InvalidArgumentError(
                    "predicates must be a JSON list of WHERE clauses: [\"Industry = 'Tech'\", ...]",
                    argument="predicates",
                )
            predicates = tuple(parsed)
        if soql is not None and ("fields" in options or "where" in options):
            raise InvalidArgumentError("fields and where go with object, not with soql", argument="soql")
        return cls(
            soql=soql,
            object=obj,
            fields=tuple(fields),
            where=options.get("where"),
            predicates=predicates,
            include_deleted=flag(options, "includedeleted"),
            partitions=positive_int(options, "numpartitions"),
            max_records=positive_int(options, "maxrecords"),
        )

    def queries(self, pushed: Sequence[str]) -> list[str]:
        """The SOQL of each job: one, or one per predicate."""
        if self.soql is not None:
            return [self.soql]
        head = f"SELECT {', '.join(self.fields)} FROM {self.object}"
        base = [f"({self.where})"] if self.where else []
        base += pushed
        out = []
        for predicate in self.predicates or (None,):
            conditions = [*base, f"({predicate})"] if predicate else base
            out.append(f"{head} WHERE {' AND '.join(conditions)}" if conditions else head)
        return out


class BulkReader(DataSourceReader):
    """Plans on the driver (``partitions``), reads on the executors (``read``)."""

    def __init__(
        self, plan: ReadPlan, columns: list[tuple[str, str]], schema: StructType, settings: dict[str, str]
    ) -> None:
        self.plan = plan
        self.columns = columns
        self.schema = schema
        self.settings = settings
        self.pushed: list[str] = []

    def pushFilters(self, filters: list[Any]) -> Iterator[Any]:
        """Object reads push what SOQL can do (see forcelink.spark.filters); a SOQL read
        leaves every filter to Spark."""
        if self.plan.soql is not None:
            yield from filters
            return
        kinds = {name.lower(): (name, kind) for name, kind in self.columns}
        self.pushed, left = to_soql(filters, kinds)
        yield from left

    def partitions(self) -> Sequence[InputPartition]:
        bulk = client_for(self.settings).bulk._core
        pages: list[InputPartition] = []
        queries = self.plan.queries(self.pushed)
        for soql in queries:
            plan = bulk.plan_query(
                soql,
                include_deleted=self.plan.include_deleted,
                max_records=self.plan.max_records,
                partitions=self.plan.partitions,
            ).wait()
            # With predicates, each job gets its share of the partitions asked for.
            share = None if self.plan.partitions is None else max(1, self.plan.partitions // len(queries))
            pages.extend(group_pages(plan["job_id"], plan["result_urls"], share))
        return pages

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, ResultPages):
            raise TypeError(f"not a forcelink partition: {partition!r}")
        bulk = client_for(self.settings).bulk._core
        # Spark wants its own Arrow types (32-bit string offsets, microsecond times); the cast
        # is done by Arrow, column by column.
        target = to_arrow_schema(self.schema, timezone="UTC")
        urls = partition.result_urls

        def fetch(url: str) -> ArrowFrame:
            return bulk.read_result_page(partition.job_id, url, self.columns).wait()

        # The next page downloads (the GIL released) while Spark takes this one.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forcelink-page") as ahead:
            coming = ahead.submit(fetch, urls[0])
            for i in range(len(urls)):
                frame = coming.result()
                if i + 1 < len(urls):
                    coming = ahead.submit(fetch, urls[i + 1])
                for batch in pa.RecordBatchReader.from_stream(frame):
                    yield batch.cast(target)
