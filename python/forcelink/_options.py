"""Per-call options: a timeout and extra headers for the requests one call sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Headers", "scoped"]

Headers = Mapping[str, str]


class _Scopable(Protocol):
    def with_options(self, timeout: float | None = None, headers: list[tuple[str, str]] = ...) -> Self: ...


_Core = TypeVar("_Core", bound=_Scopable)


def scoped(core: _Core, timeout: float | None, headers: Headers | None) -> _Core:
    """``core`` as is when the call gives no options; else a handle on the same client that
    sends them (checked here: a bad header or timeout raises before anything is sent)."""
    if timeout is None and not headers:
        return core
    return core.with_options(timeout, list(headers.items()) if headers else [])
