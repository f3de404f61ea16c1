"""Spark's pushed filters as SOQL conditions, written with ``forcelink.format_soql`` so
every value stays a literal.

SOQL compares text without case, where Spark does not: a condition on a text column is pushed
(so Salesforce sends fewer rows) and also handed back to Spark to apply exactly. Conditions on
numbers, booleans and dates mean the same on both sides and are handled by the SOQL alone.
Negations are never pushed: SOQL's ``!=`` keeps nulls, Spark's ``<>`` drops them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..soql import format_soql

__all__ = ["to_soql"]

_COMPARISONS = {
    "EqualTo": "=",
    "GreaterThan": ">",
    "GreaterThanOrEqual": ">=",
    "LessThan": "<",
    "LessThanOrEqual": "<=",
}


def _literal_ok(value: Any, kind: str) -> bool:
    """Whether a value can stand for a column of this kind in SOQL with Spark's meaning."""
    if isinstance(value, bool):
        return kind == "boolean"
    if isinstance(value, (int, float)):
        return kind in ("integer", "float")
    if isinstance(value, datetime.datetime):
        # A naive datetime's zone is Spark's session zone, which the SOQL cannot know.
        return kind == "datetime" and value.tzinfo is not None
    if isinstance(value, datetime.date):
        return kind == "date"
    if isinstance(value, str):
        return kind == "text"
    return False


def _condition(spark_filter: Any, kinds: Mapping[str, tuple[str, str]]) -> tuple[str, bool] | None:
    """The SOQL of one filter and whether Spark must still apply it; None when it cannot be
    pushed. ``kinds`` maps a lower-case column name to its SOQL name and kind."""
    name = type(spark_filter).__name__
    attribute = getattr(spark_filter, "attribute", None)
    if not isinstance(attribute, tuple):
        return None
    column = kinds.get(".".join(attribute).lower())
    if column is None:
        return None
    field, kind = column
    exact = kind != "text"
    if name in _COMPARISONS:
        value = spark_filter.value
        if not _literal_ok(value, kind):
            return None
        return format_soql(f"{field} {_COMPARISONS[name]} {{}}", value), exact
    if name == "In":
        values: Sequence[Any] = spark_filter.value
        if not values or not all(_literal_ok(v, kind) for v in values):
            return None
        return format_soql(f"{field} IN {{}}", list(values)), exact
    if name == "IsNull":
        return f"{field} = null", True
    if name == "IsNotNull":
        return f"{field} != null", True
    if name == "StringStartsWith" and kind == "text":
        prefix = spark_filter.value
        # LIKE's wildcards cannot be escaped through a quoted literal: leave those to Spark.
        if not isinstance(prefix, str) or "%" in prefix or "_" in prefix:
            return None
        return format_soql(f"{field} LIKE {{}}", prefix + "%"), False
    return None


def to_soql(filters: Iterable[Any], kinds: Mapping[str, tuple[str, str]]) -> tuple[list[str], list[Any]]:
    """The SOQL conditions of the filters that can be pushed, and the filters Spark must still
    apply (those not pushed, and pushed ones SOQL applies more loosely)."""
    conditions: list[str] = []
    left: list[Any] = []
    for spark_filter in filters:
        pushed = _condition(spark_filter, kinds)
        if pushed is None:
            left.append(spark_filter)
            continue
        soql, exact = pushed
        conditions.append(soql)
        if not exact:
            left.append(spark_filter)
    return conditions, left
