"""Column kinds (as the engine types them from describe) and Spark's types, both ways."""

from __future__ import annotations

from typing import Any

from pyspark.sql.types import (
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    NullType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from ..errors import InvalidArgumentError

__all__ = ["describe_kind", "kind_of", "spark_schema", "unwritable_columns"]

_SPARK_OF_KIND: dict[str, DataType] = {
    "text": StringType(),
    "integer": LongType(),
    "float": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "datetime": TimestampType(),
}

#: Describe types a Bulk query cannot select (compound fields) or returns only as a link.
UNQUERYABLE_TYPES = frozenset({"address", "location", "base64"})


def describe_kind(field_type: str) -> str:
    """The engine's column kind of a describe ``type`` (the engine's own mapping)."""
    if field_type in ("int", "long"):
        return "integer"
    if field_type in ("double", "currency", "percent"):
        return "float"
    if field_type in ("boolean", "date", "datetime"):
        return field_type
    return "text"


def spark_schema(columns: list[tuple[str, str]]) -> StructType:
    """A Spark schema of planned columns ``(name, kind)``, every column nullable."""
    return StructType([StructField(name, _SPARK_OF_KIND[kind], True) for name, kind in columns])


def kind_of(name: str, data_type: Any) -> str:
    """The column kind a user-given Spark type reads as; other types are refused."""
    if isinstance(data_type, StringType):
        return "text"
    if isinstance(data_type, (LongType, IntegerType, ShortType, ByteType)):
        return "integer"
    if isinstance(data_type, (DoubleType, FloatType)):
        return "float"
    if isinstance(data_type, BooleanType):
        return "boolean"
    if isinstance(data_type, DateType):
        return "date"
    if isinstance(data_type, TimestampType):
        return "datetime"
    raise InvalidArgumentError(
        f"column {name!r} is of type {data_type.simpleString()}; a Salesforce column reads as string, "
        "long, int, double, float, boolean, date or timestamp",
        argument="schema",
    )


_WRITABLE = (
    StringType,
    LongType,
    IntegerType,
    ShortType,
    ByteType,
    DoubleType,
    FloatType,
    DecimalType,
    BooleanType,
    DateType,
    TimestampType,
    TimestampNTZType,
    NullType,
)


def unwritable_columns(schema: StructType) -> list[str]:
    """Columns whose Spark type has no Bulk CSV form (arrays, maps, structs, binary)."""
    return [
        f"{f.name} ({f.dataType.simpleString()})"
        for f in schema.fields
        if not isinstance(f.dataType, _WRITABLE)
    ]
