"""The ``forcelink`` data source: it names itself, types the schema through describe and hands
out a reader and a writer. Everything it checks, it checks on the driver before any job."""

from __future__ import annotations

import time
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceReader, DataSourceWriter
from pyspark.sql.types import StructType

from ..bulk import MAX_UPLOAD_BYTES
from ..errors import InvalidArgumentError
from .options import as_dict, client_for, credentials_of, positive_int
from .reading import BulkReader, ReadPlan
from .schema import UNQUERYABLE_TYPES, kind_of, spark_schema, unwritable_columns
from .writing import DEFAULT_UPLOAD_BYTES, BulkWriter, WriteSettings

__all__ = ["ForcelinkDataSource"]

_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")


class ForcelinkDataSource(DataSource):
    """``spark.read.format("forcelink")`` and ``df.write.format("forcelink")``; see
    ``forcelink.spark`` and the Spark guide for the options."""

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._options = as_dict(options)
        self._settings = credentials_of(self._options)

    @classmethod
    def name(cls) -> str:
        return "forcelink"

    def __repr__(self) -> str:
        # Options carry credentials: only the names of the non-secret ones are shown.
        return f"ForcelinkDataSource(object={self._options.get('object')!r})"

    def _client(self) -> Any:
        return client_for(self._settings)

    def _fields(self) -> list[str]:
        """An object read's fields: the option's, else every field a Bulk query can select."""
        named = self._options.get("fields")
        if named:
            fields = [f.strip() for f in named.split(",") if f.strip()]
            if not fields:
                raise InvalidArgumentError("the option fields names no field", argument="fields")
            return fields
        describe = self._client().sobjects.describe(self._options["object"])
        return [f.name for f in describe.fields if f.type not in UNQUERYABLE_TYPES]

    def _plan(self, fields: list[str] | None = None) -> ReadPlan:
        plan = ReadPlan.of(self._options)
        if plan.object is not None:
            plan = ReadPlan.of(self._options, fields if fields is not None else self._fields())
        return plan

    def _columns(self, plan: ReadPlan) -> list[tuple[str, str]]:
        soql = plan.queries([])[0]
        columns: list[tuple[str, str]] = self._client().bulk._core.query_columns(soql).wait()
        return columns

    def schema(self) -> StructType:
        """The columns as describe types them (dates, timestamps, numbers, booleans, text;
        ``Account.Name`` for a parent's field)."""
        return spark_schema(self._columns(self._plan()))

    def reader(self, schema: StructType) -> DataSourceReader:
        given = [(f.name, kind_of(f.name, f.dataType)) for f in schema.fields]
        plan = self._plan([name for name, _ in given] if "fields" not in self._options else None)
        planned = self._columns(plan)
        if [n.lower() for n, _ in planned] != [n.lower() for n, _ in given]:
            raise InvalidArgumentError(
                f"the schema's columns {[n for n, _ in given]} are not the query's {[n for n, _ in planned]}",
                argument="schema",
            )
        return BulkReader(plan, given, spark_schema(given), self._settings)

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceWriter:
        if overwrite:
            raise InvalidArgumentError(
                "forcelink writes append (insert, update, upsert or delete rows); use mode('append')",
                argument="mode",
            )
        return BulkWriter(self._write_settings(schema))

    def _write_settings(self, schema: StructType) -> WriteSettings:
        options = self._options
        obj = options.get("object")
        if not obj:
            raise InvalidArgumentError("a write needs the option object", argument="object")
        if "soql" in options:
            raise InvalidArgumentError("a write takes object, not soql", argument="soql")
        operation = options.get("operation", "insert")
        by_lower = {op.lower(): op for op in _OPERATIONS}
        if operation.lower() not in by_lower:
            raise InvalidArgumentError(
                f"operation must be one of {', '.join(_OPERATIONS)}, not {operation!r}", argument="operation"
            )
        operation = by_lower[operation.lower()]
        bad_types = unwritable_columns(schema)
        if bad_types:
            raise InvalidArgumentError(
                f"these columns have no Bulk CSV form: {', '.join(bad_types)}", argument="schema"
            )
        describe = self._client().sobjects.describe(obj)
        fields = {f.name.lower(): f for f in describe.fields}
        relationships = {f.relationship_name.lower() for f in describe.fields if f.relationship_name}
        columns = [f.name for f in schema.fields]
        unknown = [
            c
            for c in columns
            if c.lower() not in fields and not ("." in c and c.split(".", 1)[0].lower() in relationships)
        ]
        if unknown:
            raise InvalidArgumentError(f"{obj} has no field {', '.join(unknown)}", argument="schema")
        lowered = [c.lower() for c in columns]
        external_id = options.get("externalidfield")
        if operation == "upsert":
            if not external_id:
                raise InvalidArgumentError(
                    "upsert needs the option externalIdField", argument="externalIdField"
                )
            key = fields.get(external_id.lower())
            if key is None or not (key.external_id or key.name == "Id"):
                raise InvalidArgumentError(
                    f"{external_id} is not an external id field of {obj}", argument="externalIdField"
                )
            if external_id.lower() not in lowered:
                raise InvalidArgumentError(
                    f"the DataFrame has no column {external_id}, the upsert's key", argument="externalIdField"
                )
            external_id = key.name
        elif external_id:
            raise InvalidArgumentError("externalIdField goes with upsert only", argument="externalIdField")
        if operation in ("update", "delete", "hardDelete") and "id" not in lowered:
            raise InvalidArgumentError(f"{operation} needs an Id column", argument="schema")
        if operation in ("delete", "hardDelete") and lowered != ["id"]:
            raise InvalidArgumentError(f"{operation} takes the Id column alone", argument="schema")
        if operation == "insert" and "id" in lowered:
            raise InvalidArgumentError("insert cannot set Id; use update or upsert", argument="schema")
        if not columns:
            raise InvalidArgumentError("the DataFrame has no column", argument="schema")
        upload = positive_int(options, "maxuploadbytes") or DEFAULT_UPLOAD_BYTES
        if upload > MAX_UPLOAD_BYTES // 4 * 3:
            raise InvalidArgumentError(
                f"maxUploadBytes is over Salesforce's limit of {MAX_UPLOAD_BYTES // 4 * 3} raw bytes per job",
                argument="maxUploadBytes",
            )
        return WriteSettings(
            object=describe.name,
            operation=operation,
            external_id_field=external_id,
            errors_path=options.get("errorspath"),
            max_errors=_max_errors(options),
            upload_bytes=upload,
            settings=self._settings,
            started=time.time(),
        )


def _max_errors(options: dict[str, str]) -> int | None:
    """Failed or unprocessed rows a write may have and still succeed: 0 by default, -1 for
    any number."""
    text = options.get("maxerrors", "0")
    try:
        value = int(text.strip())
    except ValueError:
        value = -2
    if value < -1:
        raise InvalidArgumentError(
            f"maxErrors must be 0 or more, or -1 for no limit, not {text!r}", argument="maxErrors"
        )
    return None if value == -1 else value
