"""SQL for chat sessions and messages."""

from __future__ import annotations

from collections.abc import Sequence

from folionaut.chat.models import ChatMessage, ChatSession
from folionaut.storage.base import Database, Statement

_SESSION_COLUMNS = ("id, visitor_id, ip_hash, user_agent, message_count, status, created_at, last_active_at, "
                    "expires_at")
_MESSAGE_COLUMNS = "id, session_id, role, content, tokens_used, model, created_at"


class ChatRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_session(self, session_id: str) -> ChatSession | None:
        row = await self.db.fetch_one(f"SELECT {_SESSION_COLUMNS} FROM chat_sessions WHERE id = ?", (session_id,))
        return ChatSession.from_row(row) if row else None

    async def active_session_for(self, visitor_id: str) -> ChatSession | None:
        row = await self.db.fetch_one(
            f"SELECT {_SESSION_COLUMNS} FROM chat_sessions WHERE visitor_id = ? AND status = 'active' "
            "ORDER BY last_active_at DESC LIMIT 1",
            (visitor_id,),
        )
        return ChatSession.from_row(row) if row else None

    async def latest_session_id(self, visitor_id: str) -> str | None:
        """The visitor's most recent session, whatever its status."""
        row = await self.db.fetch_one(
            "SELECT id FROM chat_sessions WHERE visitor_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (visitor_id,),
        )
        return row["id"] if row else None

    async def list_sessions(self, status: str | None, limit: int, offset: int) -> list[ChatSession]:
        if status is None:
            rows = await self.db.fetch_all(
                f"SELECT {_SESSION_COLUMNS} FROM chat_sessions ORDER BY last_active_at DESC, id LIMIT ? OFFSET ?",
                (limit, offset),
            )
        else:
            rows = await self.db.fetch_all(
                f"SELECT {_SESSION_COLUMNS} FROM chat_sessions WHERE status = ? "
                "ORDER BY last_active_at DESC, id LIMIT ? OFFSET ?",
                (status, limit, offset),
            )
        return [ChatSession.from_row(row) for row in rows]

    async def messages(self, session_id: str, limit: int | None = None) -> list[ChatMessage]:
        """Messages oldest first; with ``limit``, only the most recent ones."""
        if limit is None:
            rows = await self.db.fetch_all(
                f"SELECT {_MESSAGE_COLUMNS} FROM chat_messages WHERE session_id = ? ORDER BY created_at, rowid",
                (session_id,),
            )
        else:
            rows = await self.db.fetch_all(
                f"SELECT * FROM (SELECT {_MESSAGE_COLUMNS}, rowid AS seq FROM chat_messages WHERE session_id = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, seq",
                (session_id, limit),
            )
        return [ChatMessage.from_row(row) for row in rows]

    async def usage(self, session_id: str) -> tuple[int, int]:
        """(visitor messages, LLM tokens) of a session so far, for its budgets."""
        row = await self.db.fetch_one(
            "SELECT COALESCE(SUM(role = 'user'), 0) AS asked, COALESCE(SUM(tokens_used), 0) AS tokens "
            "FROM chat_messages WHERE session_id = ?", (session_id,))
        return (int(row["asked"]), int(row["tokens"])) if row else (0, 0)

    async def expire_idle(self, now_iso: str) -> list[str]:
        """Mark idle sessions expired; returns their visitor ids (so cached session keys can go)."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT visitor_id FROM chat_sessions WHERE status = 'active' AND expires_at <= ?", (now_iso,)
        )
        if not rows:
            return []
        await self.db.execute(
            "UPDATE chat_sessions SET status = 'expired' WHERE status = 'active' AND expires_at <= ?", (now_iso,)
        )
        return [row["visitor_id"] for row in rows]

    async def end_session(self, session_id: str) -> int:
        result = await self.db.execute(
            "UPDATE chat_sessions SET status = 'ended' WHERE id = ? AND status = 'active'", (session_id,)
        )
        return result.rows_affected

    # --- write statements (one atomic batch per chat turn) -----------------------------

    @staticmethod
    def insert_session(session: ChatSession) -> Statement:
        """Insert the session unless a concurrent turn that joined it stored it first."""
        return Statement(
            f"INSERT OR IGNORE INTO chat_sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session.id, session.visitor_id, session.ip_hash, session.user_agent, session.message_count,
             session.status, session.created_at, session.last_active_at, session.expires_at),
        )

    @staticmethod
    def insert_message(message: ChatMessage) -> Statement:
        return Statement(
            f"INSERT INTO chat_messages ({_MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message.id, message.session_id, message.role, message.content, message.tokens_used, message.model,
             message.created_at),
        )

    @staticmethod
    def touch_session(session_id: str, added_messages: int, last_active_at: str, expires_at: str) -> Statement:
        return Statement(
            "UPDATE chat_sessions SET message_count = message_count + ?, last_active_at = ?, expires_at = ? "
            "WHERE id = ?",
            (added_messages, last_active_at, expires_at, session_id),
        )

    @staticmethod
    def expire_statement(session_id: str) -> Statement:
        return Statement("UPDATE chat_sessions SET status = 'expired' WHERE id = ? AND status = 'active'",
                         (session_id,))

    async def write(self, statements: Sequence[Statement]) -> None:
        await self.db.batch(statements)
