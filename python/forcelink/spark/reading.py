"""Batch reads: the driver types the columns and plans one Bulk API 2.0 query job per
predicate; each result page of each job is a partition that an executor reads on its own, into
Arrow record batches built in Rust. A retried task reads its page again: the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark.sql.datasource import DataSourceReader, InputPartition
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

from ..errors import InvalidArgumentError
from .filters import to_soql
from .options import client_for, flag, positive_int

__all__ = ["BulkReader", "ReadPlan", "ResultPage"]


@dataclass
class ResultPage(InputPartition):
    """One page of a query job's results: a description of work, never data or a client."""

    job_id: str
    result_url: str

    def __init__(self, job_id: str, result_url: str) -> None:
        super().__init__(result_url)
        self.job_id = job_id
        self.result_url = result_url


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
        for soql in self.plan.queries(self.pushed):
            plan = bulk.plan_query(
                soql,
                include_deleted=self.plan.include_deleted,
                max_records=self.plan.max_records,
                partitions=self.plan.partitions,
            ).wait()
            pages.extend(ResultPage(plan["job_id"], url) for url in plan["result_urls"])
        return pages

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, ResultPage):
            raise TypeError(f"not a forcelink partition: {partition!r}")
        bulk = client_for(self.settings).bulk._core
        frame = bulk.read_result_page(partition.job_id, partition.result_url, self.columns).wait()
        # Spark wants its own Arrow types (32-bit string offsets, microsecond times); the cast
        # is done by Arrow, column by column.
        target = to_arrow_schema(self.schema, timezone="UTC")
        for batch in pa.RecordBatchReader.from_stream(frame):
            yield batch.cast(target)
