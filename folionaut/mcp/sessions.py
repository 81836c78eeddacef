"""MCP handshake sessions of this process (Streamable HTTP revisions before 2026-07-28, and the
HTTP+SSE transport of 2024-11-05).

Transport-free: the HTTP route (``http/routes/mcp.py``) creates, finds and ends
them. Bounded (least recently used evicted), idle ones expire; a session with an
open GET stream never expires while the stream is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field

from folionaut.core.clock import Clock
from folionaut.mcp.protocol import ConnectionState

__all__ = ["MAX_SESSIONS", "SESSION_IDLE_SECONDS", "HttpSession", "SessionStore"]

SESSION_IDLE_SECONDS = 3600.0
MAX_SESSIONS = 1000


@dataclass(slots=True)
class HttpSession:
    id: str
    state: ConnectionState
    last_used: float
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    streaming: bool = False
    #: HTTP+SSE sessions (2024-11-05 transport) only: answers waiting for the session's stream; None ends it.
    outbox: asyncio.Queue[bytes | None] | None = None

    @property
    def legacy_sse(self) -> bool:
        return self.outbox is not None

    def end(self) -> None:
        self.ended.set()
        if self.outbox is not None:
            with contextlib.suppress(asyncio.QueueFull):  # a full outbox: the stream sees `ended` when drained
                self.outbox.put_nowait(None)  # wakes the stream, which then closes


class SessionStore:
    """Handshake-era sessions of this process: bounded, least recently used evicted, idle ones expire."""

    def __init__(self, clock: Clock, idle_seconds: float = SESSION_IDLE_SECONDS,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, HttpSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, state: ConnectionState, *, outbox_size: int = 0) -> HttpSession:
        """A new session; ``outbox_size`` > 0 makes an HTTP+SSE one (answers queue for its stream)."""
        while len(self._sessions) >= self.max_sessions:
            _, oldest = self._sessions.popitem(last=False)
            oldest.end()
        session = HttpSession(secrets.token_urlsafe(24), state, self.clock.monotonic(),
                              outbox=asyncio.Queue(outbox_size) if outbox_size else None)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> HttpSession | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self.clock.monotonic()
        if not session.streaming and now - session.last_used > self.idle_seconds:
            self.end(session_id)
            return None
        session.last_used = now
        self._sessions.move_to_end(session_id)
        return session

    def end(self, session_id: str) -> bool:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return False
        session.end()
        return True

    def end_all(self) -> None:
        for session_id in list(self._sessions):
            self.end(session_id)
