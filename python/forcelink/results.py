"""Typed results returned by the services."""

from __future__ import annotations

from typing import NamedTuple

from ._core import (
    ApiUsage,
    DescribeGlobal,
    FieldDescribe,
    QueryPage,
    RecordResult,
    SaveResult,
    SObjectDescribe,
    SObjectSummary,
    TokenInfo,
    UpsertResult,
)

__all__ = [
    "ApiUsage",
    "DescribeGlobal",
    "FieldDescribe",
    "QueryPage",
    "RecordResult",
    "RetryEvent",
    "SObjectDescribe",
    "SObjectSummary",
    "SaveResult",
    "TokenInfo",
    "UpsertResult",
]


class RetryEvent(NamedTuple):
    """What an ``on_retry`` callback is told before the client waits and tries again."""

    method: str
    url: str
    attempt: int
    """The try that failed, 1 for the first."""
    cause: str
    """Why it failed, e.g. ``"HTTP 503 SERVER_UNAVAILABLE"`` or ``"connection failed"``."""
    delay: float
    """Seconds the client waits before the next try."""
