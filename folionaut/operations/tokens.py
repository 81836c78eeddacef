"""`folionaut token create|list|revoke`: API tokens from the command line, on the database directly.

Each opens only the storage (pending migrations applied, as `serve` does), so
it works whether or not a server is running; a running server sees the change
on its next request (tokens are read through the database).
"""

from __future__ import annotations

from folionaut.access.models import ApiToken
from folionaut.access.repository import TokenRepository
from folionaut.access.service import TokenRequest, TokenService
from folionaut.runtime import Runtime
from folionaut.settings import Settings

__all__ = ["create_token", "list_tokens", "revoke_token"]


def _service(runtime: Runtime) -> TokenService:
    return TokenService(TokenRepository(runtime.database), runtime.clock)


async def create_token(settings: Settings, request: TokenRequest) -> tuple[ApiToken, str]:
    """The new token's record and its secret (to be shown once)."""
    async with Runtime.storage_only(settings, migrate=True) as runtime:
        return await _service(runtime).create(request)


async def list_tokens(settings: Settings) -> list[dict[str, object]]:
    """Every token's wire form (status worked out now); never a secret."""
    async with Runtime.storage_only(settings, migrate=True) as runtime:
        service = _service(runtime)
        now = service.now_iso()
        return [token.to_wire(now) for token in await service.list()]


async def revoke_token(settings: Settings, name: str) -> ApiToken:
    async with Runtime.storage_only(settings, migrate=True) as runtime:
        return await _service(runtime).revoke(name)
