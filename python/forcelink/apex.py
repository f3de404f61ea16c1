"""Apex REST: calls to the org's own REST classes (``@RestResource``), under
``/services/apexrest/``, through the client's pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._core import Engine
from ._twins import async_twin_of
from .results import ApiResponse

__all__ = ["Apex", "AsyncApex"]

Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


def _args(
    params: Params, headers: Mapping[str, str] | None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params or ())
    return [(str(k), str(v)) for k, v in pairs], list((headers or {}).items())


class Apex:
    """Reached as ``sf.apex``: ``sf.apex.post("orders", json={...})`` calls
    ``/services/apexrest/orders`` and returns the decoded JSON answer (None when empty). Errors
    raise the typed exceptions; ``call`` returns the whole ``ApiResponse``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        """Any method on an Apex REST path, answered with status, headers and body."""
        query, extra = _args(params, headers)
        raw = self._engine.request(
            method, path, json=json, params=query, headers=extra, timeout=timeout, apex=True
        ).wait()
        return ApiResponse._from_engine(raw)

    def get(
        self,
        path: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``GET /services/apexrest/<path>``; the decoded JSON answer."""
        return self.call("GET", path, params=params, headers=headers, timeout=timeout).json()

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``POST`` with a JSON body; the decoded JSON answer."""
        return self.call("POST", path, json=json, params=params, headers=headers, timeout=timeout).json()

    def patch(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``PATCH`` with a JSON body; the decoded JSON answer."""
        return self.call("PATCH", path, json=json, params=params, headers=headers, timeout=timeout).json()

    def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``PUT`` with a JSON body; the decoded JSON answer."""
        return self.call("PUT", path, json=json, params=params, headers=headers, timeout=timeout).json()

    def delete(
        self,
        path: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``DELETE``; the decoded JSON answer (None when empty)."""
        return self.call("DELETE", path, params=params, headers=headers, timeout=timeout).json()


@async_twin_of(Apex)
class AsyncApex:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ApiResponse:
        query, extra = _args(params, headers)
        raw = await self._engine.request(
            method, path, json=json, params=query, headers=extra, timeout=timeout, apex=True
        )
        return ApiResponse._from_engine(raw)

    async def get(
        self,
        path: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return (await self.call("GET", path, params=params, headers=headers, timeout=timeout)).json()

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return (
            await self.call("POST", path, json=json, params=params, headers=headers, timeout=timeout)
        ).json()

    async def patch(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return (
            await self.call("PATCH", path, json=json, params=params, headers=headers, timeout=timeout)
        ).json()

    async def put(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return (
            await self.call("PUT", path, json=json, params=params, headers=headers, timeout=timeout)
        ).json()

    async def delete(
        self,
        path: str,
        *,
        params: Params = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        return (await self.call("DELETE", path, params=params, headers=headers, timeout=timeout)).json()
