"""SQL for API tokens. The only module that knows the ``api_tokens`` table."""

from __future__ import annotations

from folionaut.access.models import ApiToken
from folionaut.storage.base import Database, Row

__all__ = ["TokenRepository"]

_COLUMNS = "id, name, scope, created_at, expires_at, last_used_at"


class TokenRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, token: ApiToken, token_hash: str) -> None:
        """Raises ``ConstraintViolation`` when the name (or, astronomically unlikely, the hash) is taken."""
        await self.db.execute(
            f"INSERT INTO api_tokens ({_COLUMNS}, token_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token.id, token.name, token.scope, token.created_at, token.expires_at, token.last_used_at, token_hash),
        )

    async def by_hash(self, token_hash: str) -> ApiToken | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return _token(row)

    async def by_id(self, token_id: str) -> ApiToken | None:
        return _token(await self.db.fetch_one(f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,)))

    async def by_name(self, name: str) -> ApiToken | None:
        return _token(await self.db.fetch_one(f"SELECT {_COLUMNS} FROM api_tokens WHERE name = ?", (name,)))

    async def all(self) -> list[ApiToken]:
        rows = await self.db.fetch_all(f"SELECT {_COLUMNS} FROM api_tokens ORDER BY created_at, name")
        return [ApiToken.from_row(row) for row in rows]

    async def delete(self, name: str) -> bool:
        result = await self.db.execute("DELETE FROM api_tokens WHERE name = ?", (name,))
        return result.rows_affected == 1

    async def touch(self, token_id: str, used_at: str) -> None:
        await self.db.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (used_at, token_id))


def _token(row: Row | None) -> ApiToken | None:
    return ApiToken.from_row(row) if row else None
