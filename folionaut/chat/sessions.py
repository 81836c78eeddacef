"""Chat sessions: finding a visitor's session, starting, storing, ending and expiring them.

The database is the source of truth. The key-value store (Redis when
``REDIS_URL`` is set) caches ``session:<visitorId>`` → active session id with
the idle TTL, so a returning visitor's session is found by primary key; a
missing or stale key (wrong id, ended, expired) just falls back to the
database, and ending or expiring a session deletes the key.

One session per visitor, across instances and workers: a turn that finds no
usable session claims the next one atomically (``set_if_absent`` on
``session:<visitorId>:after:<previous session id, or ->``). Turns that saw the
same state race for the same claim; the losers join the winner's session (its
row is inserted by whichever turn stores first: ``INSERT OR IGNORE``), so a
visitor's first two messages, sent at once to two instances, land in one
session.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from folionaut.cache.key_value_store import KeyValueStore
from folionaut.chat.models import ChatMessage, ChatSession
from folionaut.chat.repository import ChatRepository
from folionaut.core import ids
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import NotFoundError
from folionaut.storage.base import Statement

__all__ = ["SESSION_KEY_PREFIX", "ChatSessions", "iso", "session_key"]

SESSION_KEY_PREFIX = "session:"


def session_key(visitor_id: str) -> str:
    """The KV key caching a visitor's active session id (``redis-cli KEYS "session:*"``)."""
    return SESSION_KEY_PREFIX + visitor_id


def iso(moment: datetime) -> str:
    """A stored timestamp."""
    return iso_timestamp(moment.timestamp())


class ChatSessions:
    def __init__(self, repository: ChatRepository, clock: Clock, ttl: timedelta,
                 kv: KeyValueStore | None = None) -> None:
        self.repository = repository
        self.clock = clock
        self.ttl = ttl
        self.kv = kv

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), tz=UTC)

    async def for_turn(
        self, visitor_id: str, ip_hash: str | None, user_agent: str | None, now: datetime
    ) -> tuple[ChatSession, list[Statement]]:
        """The visitor's active session, or a new one (with the statements that create it)."""
        statements: list[Statement] = []
        session = await self._active(visitor_id)
        if session is not None and session.expires_at > iso(now):
            return session, statements
        if session is not None:  # idle too long: mark it and start afresh
            statements.append(self.repository.expire_statement(session.id))
            previous: str | None = session.id
        else:  # the visitor's last session ended or expired, or this is the first
            previous = await self.repository.latest_session_id(visitor_id) if self.kv is not None else None
        stamp = iso(now)
        session = ChatSession(
            id=ids.session_id(), visitor_id=visitor_id, ip_hash=ip_hash, user_agent=(user_agent or "")[:500] or None,
            message_count=0, status="active", created_at=stamp, last_active_at=stamp,
            expires_at=iso(now + self.ttl),
        )
        claimed = await self._claim_next(visitor_id, previous, session.id)
        if claimed != session.id:
            winner = await self.repository.get_session(claimed)
            if winner is None:  # not stored yet: its first turn is still running; join it
                session = replace(session, id=claimed)
            elif winner.status == "active" and winner.visitor_id == visitor_id:
                return winner, statements
            # (else it ended meanwhile: this turn's own session it is)
        statements.append(self.repository.insert_session(session))
        return session, statements

    async def _claim_next(self, visitor_id: str, previous: str | None, candidate: str) -> str:
        """The id of the visitor's session after ``previous``: ``candidate`` if this turn claims it
        first, else the id another turn (in any instance) claimed."""
        if self.kv is None:
            return candidate
        key = f"{session_key(visitor_id)}:after:{previous or '-'}"
        if await self.kv.set_if_absent(key, candidate.encode(), self.ttl.total_seconds()):
            return candidate
        claimed = await self.kv.get(key)
        return claimed.decode("utf-8", "replace") if claimed is not None else candidate

    async def store(self, session: ChatSession, statements: list[Statement], added: int, now: datetime) -> None:
        """Write a turn's statements and the session's new counters and expiry in one batch."""
        statements.append(self.repository.touch_session(session.id, added, iso(now), iso(now + self.ttl)))
        await self.repository.write(statements)
        await self._remember(session)  # only once the database has it

    async def _active(self, visitor_id: str) -> ChatSession | None:
        """The visitor's active session: by the cached id when the cache is right, else from the database."""
        if self.kv is not None:
            cached = await self.kv.get(session_key(visitor_id))
            if cached is not None:
                session = await self.repository.get_session(cached.decode("utf-8", "replace"))
                if session is not None and session.status == "active" and session.visitor_id == visitor_id:
                    return session
        return await self.repository.active_session_for(visitor_id)

    async def _remember(self, session: ChatSession) -> None:
        if self.kv is not None:
            await self.kv.set(session_key(session.visitor_id), session.id.encode(), self.ttl.total_seconds())

    async def _forget(self, visitor_ids: list[str]) -> None:
        if self.kv is not None:
            for visitor_id in visitor_ids:
                await self.kv.delete(session_key(visitor_id))

    async def _expire_idle(self) -> None:
        await self._forget(await self.repository.expire_idle(iso(self.now())))

    # --- the admin's view ----------------------------------------------------------------------

    async def find(self, status: str | None, limit: int, offset: int) -> list[ChatSession]:
        await self._expire_idle()
        return await self.repository.list_sessions(status, limit, offset)

    async def with_messages(self, session_id: str) -> tuple[ChatSession, list[ChatMessage]]:
        await self._expire_idle()
        session = await self.repository.get_session(session_id)
        if session is None:
            raise NotFoundError(f"Chat session not found: {session_id}")
        return session, await self.repository.messages(session_id)

    async def end(self, session_id: str) -> None:
        session = await self.repository.get_session(session_id)
        if session is None:
            raise NotFoundError(f"Chat session not found: {session_id}")
        await self.repository.end_session(session_id)
        await self._forget([session.visitor_id])
