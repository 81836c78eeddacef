"""SQL for admin web sessions (table ``folionaut_admin_sessions``, migration 0004)."""

from __future__ import annotations

from dataclasses import dataclass

from folionaut.storage.base import Database, Statement

__all__ = ["AdminSessionRepository", "StoredSession"]

_TABLE = "folionaut_admin_sessions"


@dataclass(frozen=True, slots=True)
class StoredSession:
    id_hash: str
    principal: str
    credential: str
    created_at: str
    expires_at: str


class AdminSessionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, session: StoredSession, now_iso: str) -> None:
        """Store a new session; expired ones are swept in the same batch (sign-ins are rare)."""
        await self.db.batch([
            Statement(f"DELETE FROM {_TABLE} WHERE expires_at <= ?", (now_iso,)),
            Statement(
                f"INSERT INTO {_TABLE} (id_hash, principal, credential, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (session.id_hash, session.principal, session.credential, session.created_at, session.expires_at),
            ),
        ])

    async def live(self, id_hash: str, now_iso: str) -> StoredSession | None:
        row = await self.db.fetch_one(
            f"SELECT id_hash, principal, credential, created_at, expires_at FROM {_TABLE} "
            "WHERE id_hash = ? AND expires_at > ?",
            (id_hash, now_iso),
        )
        return StoredSession(**row) if row else None

    async def delete(self, id_hash: str) -> bool:
        result = await self.db.execute(f"DELETE FROM {_TABLE} WHERE id_hash = ?", (id_hash,))
        return result.rows_affected > 0
