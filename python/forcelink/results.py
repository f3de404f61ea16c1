"""Typed results returned by the services."""

from __future__ import annotations

from typing import Any, NamedTuple

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
    "ApiResponse",
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


class ApiResponse:
    """The answer to ``Salesforce.request``: ``status``, ``headers`` (names in lower case)
    and the body as ``content`` bytes; ``json`` decodes it."""

    __slots__ = ("_content", "_headers", "_status")

    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self._status = status
        self._headers = headers
        self._content = content

    @property
    def status(self) -> int:
        """The HTTP status."""
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        """The answer's headers, names in lower case."""
        return self._headers

    @property
    def content(self) -> bytes:
        """The body, as sent."""
        return self._content

    def json(self) -> Any:
        """The body decoded from JSON; None when it is empty."""
        if not self.content.strip():
            return None
        import orjson  # on first use: most programs never parse a raw response

        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        """The body as text (UTF-8)."""
        return self.content.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        kind = self.headers.get("content-type", "")
        return f"ApiResponse(status={self.status}, content_type={kind!r}, bytes={len(self.content)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ApiResponse):
            return NotImplemented
        return (self.status, self.headers, self.content) == (other.status, other.headers, other.content)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[type[ApiResponse], tuple[int, dict[str, str], bytes]]:
        return (ApiResponse, (self.status, self.headers, self.content))

    @classmethod
    def _from_engine(cls, raw: tuple[int, list[tuple[str, str]], bytes]) -> ApiResponse:
        status, headers, content = raw
        return cls(status, {k.lower(): v for k, v in headers}, content)
