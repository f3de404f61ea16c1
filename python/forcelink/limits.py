"""API limits: the org's ``/limits`` and the usage reported on every response."""

from __future__ import annotations

from typing import Any

from ._core import ApiUsage, Engine
from ._options import Headers, scoped
from ._twins import async_twin_of

__all__ = ["AsyncLimits", "Limits"]


class _UsageMixin:
    _engine: Engine

    @property
    def usage(self) -> ApiUsage | None:
        """Daily API usage from the latest response's ``Sforce-Limit-Info``; None before any."""
        return self._engine.api_usage()


class Limits(_UsageMixin):
    """Reached as ``sf.limits``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, *, timeout: float | None = None, headers: Headers | None = None) -> dict[str, Any]:
        """``GET /limits``: limit name to ``{"Max": n, "Remaining": n}``."""
        return scoped(self._engine, timeout, headers).limits().wait()


@async_twin_of(Limits)
class AsyncLimits(_UsageMixin):
    """Reached as ``sf.limits`` on ``AsyncSalesforce``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def get(self, *, timeout: float | None = None, headers: Headers | None = None) -> dict[str, Any]:
        return await scoped(self._engine, timeout, headers).limits()
