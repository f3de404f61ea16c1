"""The session: the current token, and revoking it."""

from __future__ import annotations

from ._core import Engine, TokenInfo
from ._twins import async_twin_of

__all__ = ["AsyncAuth", "Auth"]


class Auth:
    """Reached as ``sf.auth``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def token(self) -> TokenInfo:
        """The current token (obtained first where needed); its repr never shows the secret."""
        return self._engine.access_token().wait()

    def revoke(self) -> None:
        """Revoke the current token at the org (log out). OAuth flows get a new token on the
        next call; a static token stays revoked."""
        self._engine.revoke().wait()


@async_twin_of(Auth)
class AsyncAuth:
    """Reached as ``sf.auth`` on ``AsyncSalesforce``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def token(self) -> TokenInfo:
        return await self._engine.access_token()

    async def revoke(self) -> None:
        await self._engine.revoke()
