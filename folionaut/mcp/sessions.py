"""MCP handshake sessions (Streamable HTTP revisions before 2026-07-28, and the HTTP+SSE transport
of 2024-11-05), shared by every process serving the same service.

Transport-free: the HTTP routes (``http/routes/mcp.py``) create, find and end
them. A session is who opened it and what its handshake negotiated
(``ConnectionState``), kept in the runtime's key-value store under
``mcp:session:<id>`` — process memory without Redis, Redis with it — so a
session opened on one instance (or worker) is found by every other one: no
sticky routing. Idle sessions expire (``SESSION_IDLE_SECONDS``, renewed by every
use); the store's own bound keeps memory in check without Redis.

Streams live in the process that serves them (``streams``, each with the event
that ends it):

- a Streamable HTTP session's GET stream: one per session across processes,
  claimed atomically (``mcp:stream:<id>``) and renewed while open (which keeps
  the session alive); a session ended elsewhere ends its stream here at the
  next keep-alive, when its key is found gone;
- an HTTP+SSE session *is* its stream: its record names the process that holds
  it (``owner``), and a message POSTed to another process is handed to that one
  (``http/routes/mcp.py``), which answers on the stream. The session ends with
  its stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from folionaut.access.models import Principal, PrincipalKind, Scope
from folionaut.cache.key_value_store import KeyValueStore
from folionaut.core import jsonutil
from folionaut.core.clock import Clock
from folionaut.mcp.revisions import ConnectionState

__all__ = ["SESSION_IDLE_SECONDS", "SESSION_KEY_PREFIX", "HttpSession", "SessionStore"]

SESSION_IDLE_SECONDS = 3600.0
SESSION_KEY_PREFIX = "mcp:session:"
STREAM_KEY_PREFIX = "mcp:stream:"


@dataclass(slots=True)
class HttpSession:
    id: str
    state: ConnectionState
    #: HTTP+SSE sessions only: the process holding the stream (``SessionStore.process``).
    owner: str = ""
    #: HTTP+SSE sessions held here: answers waiting for the stream; None ends it.
    outbox: asyncio.Queue[bytes | None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    #: The record as stored, to write it only when a message changed it (or to renew it).
    stored: bytes = b""

    @property
    def legacy_sse(self) -> bool:
        return bool(self.owner)

    def end(self) -> None:
        self.ended.set()
        if self.outbox is not None:
            with contextlib.suppress(asyncio.QueueFull):  # a full outbox: the stream sees `ended` when drained
                self.outbox.put_nowait(None)  # wakes the stream, which then closes


def _encode(session: HttpSession) -> bytes:
    state, principal = session.state, session.state.principal
    return jsonutil.dumps({
        "principal": {"kind": principal.kind.value, "name": principal.name,
                      "scopes": sorted(scope.value for scope in principal.scopes)},
        "protocolVersion": state.protocol_version, "clientInfo": state.client_info,
        "initialized": state.initialized, "owner": session.owner,
    })


def _decode(session_id: str, raw: bytes) -> HttpSession | None:
    try:
        fields: Any = jsonutil.loads(raw)
        who = fields["principal"]
        principal = Principal(PrincipalKind(who["kind"]), str(who["name"]),
                              frozenset(Scope(scope) for scope in who["scopes"]))
        state = ConnectionState(principal, fields.get("protocolVersion"), fields.get("clientInfo"),
                                bool(fields.get("initialized")))
        return HttpSession(session_id, state, owner=str(fields.get("owner") or ""), stored=raw)
    except (jsonutil.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class SessionStore:
    """Sessions in a key-value store; streams in this process (``process`` names it to the others)."""

    def __init__(self, kv: KeyValueStore, clock: Clock, process: str,
                 idle_seconds: float = SESSION_IDLE_SECONDS) -> None:
        self.kv = kv
        self.clock = clock
        self.process = process
        self.idle_seconds = idle_seconds
        #: Sessions with a stream open in this process (GET streams, HTTP+SSE sessions).
        self.streams: dict[str, HttpSession] = {}

    async def create(self, state: ConnectionState, *, outbox_size: int = 0) -> HttpSession:
        """A new session; ``outbox_size`` > 0 makes an HTTP+SSE one, held by this process."""
        session = HttpSession(secrets.token_urlsafe(24), state)
        if outbox_size:
            session.owner, session.outbox = self.process, asyncio.Queue(outbox_size)
            self.streams[session.id] = session
        await self.save(session)
        return session

    async def get(self, session_id: str) -> HttpSession | None:
        """The session; None when it ended, expired or never existed. Saving it renews its idle timer."""
        raw = await self.kv.get(SESSION_KEY_PREFIX + session_id)
        found = _decode(session_id, raw) if raw is not None else None
        if found is None:
            return None
        local = self.streams.get(session_id)
        if local is not None:  # the one whose stream is here (its outbox and end event)
            local.state = found.state
            found = local
        found.stored = b""
        return found

    async def save(self, session: HttpSession) -> None:
        """Store the session (what a message changed; after ``get``, renewing its idle timer)."""
        encoded = _encode(session)
        if encoded != session.stored:
            await self.kv.set(SESSION_KEY_PREFIX + session.id, encoded, self.idle_seconds)
            session.stored = encoded

    async def end(self, session_id: str) -> bool:
        """End the session everywhere; False when there was none."""
        key = SESSION_KEY_PREFIX + session_id
        existed = await self.kv.get(key) is not None
        await self.kv.delete(key)
        local = self.streams.pop(session_id, None)
        if local is not None:
            local.end()
        return existed or local is not None

    async def exists(self, session_id: str) -> bool:
        return await self.kv.get(SESSION_KEY_PREFIX + session_id) is not None

    async def claim_stream(self, session: HttpSession, ttl_seconds: float) -> bool:
        """Claim a Streamable HTTP session's one GET stream for this process; False if one is open anywhere."""
        if not await self.kv.set_if_absent(STREAM_KEY_PREFIX + session.id, self.process.encode(), ttl_seconds):
            return False
        self.streams[session.id] = session
        return True

    async def renew_stream(self, session: HttpSession, ttl_seconds: float) -> None:
        """Keep an open stream's claim and its session alive."""
        if not session.legacy_sse:
            await self.kv.set(STREAM_KEY_PREFIX + session.id, self.process.encode(), ttl_seconds)
        session.stored = b""
        await self.save(session)

    async def release_stream(self, session: HttpSession) -> None:
        self.streams.pop(session.id, None)
        await self.kv.delete(STREAM_KEY_PREFIX + session.id)

    def local(self, session_id: str) -> HttpSession | None:
        """The session whose stream this process holds, if it does."""
        return self.streams.get(session_id)

    def end_streams(self) -> None:
        """Shutdown: end this process's open streams (other sessions stay, for other processes)."""
        for session in list(self.streams.values()):
            session.end()
