"""Connections with limits: aiohttp's ``RequestHandler`` with a head timeout, a body timeout, a connection cap,
and our error envelope for what its parser refuses.

aiohttp's protocol closes idle keep-alive connections (``keepalive_timeout``) but
has no limit on how long a request head or body may take and no cap on open
connections: sockets that send nothing, or headers one every 10 s, stayed open
for good, and a few hundred of them used up the process's descriptors so that
every normal request failed (issue 15). ``EdgeProtocol`` adds, per connection:

- a *head timer*, armed when the connection opens and when the first bytes of a
  request arrive after an idle keep-alive; disarmed when the head is parsed. A
  head not complete in ``head_timeout`` closes the connection;
- a *body timer*, armed when a parsed request's body is not all there yet; a
  body not complete in ``body_timeout`` closes the connection.

A whole head arriving in one read (nearly every request) arms nothing: the cost
is a counter comparison and a look at the parsed message (its HTTP version, and
whether its body is complete) per read. ``EdgeServer`` counts connections and,
past ``max_connections``, closes the oldest idle one (waiting for a request,
possibly with part of its head) for the new one, or the new one when none is
idle. Each close is counted in ``http_connections_closed_total{reason}``.

Requests the parser refuses (bad request line, bad header bytes, a header line
too long) and request lines naming an HTTP version other than 1.x reach
``handle_error``, which answers with the error envelope of ``http/edge.py``
(``protocol_error_response``) instead of aiohttp's plain text that echoed the
parser's message (and with it the raw header line, an admin key included) and
logged it at error level.

aiohttp internals used (guarded by tests/http/test_server_protocol.py, which
fails first when an upgrade changes them): ``RequestHandler``'s ``_messages``,
``_request_count``, ``_waiter``, ``_loop``, ``handle_error``'s signature and
``_ErrInfo``; ``Server``'s ``_connections``, ``_kwargs``, ``_loop`` and
``__call__``; ``AppRunner._make_server``.
"""

from __future__ import annotations

import asyncio
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler, _ErrInfo
from aiohttp.web_server import Server

from folionaut.core.logging import get_logger

__all__ = ["DESCRIPTOR_RESERVE", "ConnectionLimits", "EdgeProtocol", "EdgeRunner", "EdgeServer", "describe",
           "fitted_max_connections", "raise_descriptor_limit"]

log = get_logger("http")

#: Descriptors kept back from the connection cap: the database and its journal, Redis, logs, metrics files.
DESCRIPTOR_RESERVE = 64
#: The soft descriptor limit is raised toward the hard one, but not past this (an "unlimited" hard limit).
DESCRIPTOR_CEILING = 1 << 20
#: At most one warning about the connection cap in this many seconds.
CAP_WARNING_INTERVAL = 60.0

#: What the server does when a client stalls or the cap is reached: reason -> counted.
OnClose = Callable[[str], None]
#: Builds the answer to a request the parser refused: (status, problem) -> response.
ProtocolErrorResponse = Callable[[int, str], web.StreamResponse]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    head_timeout: float  # seconds
    keepalive_timeout: float
    body_timeout: float
    max_connections: int


def raise_descriptor_limit() -> int:
    """Raise the soft open-file limit toward the hard one; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = DESCRIPTOR_CEILING if hard == resource.RLIM_INFINITY else min(hard, DESCRIPTOR_CEILING)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # not allowed here (a sandbox): serve within what there is
            pass
    return DESCRIPTOR_CEILING if soft == resource.RLIM_INFINITY else soft


def fitted_max_connections(configured: int, descriptors: int) -> int:
    """The connection cap that fits the descriptor limit (never below 8)."""
    return max(8, min(configured, descriptors - DESCRIPTOR_RESERVE))


_QUOTED = re.compile(r"""b?'[^']*'?|b?"[^"]*"?""")
_PLAIN = re.compile(r"[A-Za-z0-9 .,()-]{1,80}")


def describe(exc: BaseException) -> str:
    """What a log line may say of a parser error: its class and the gist of its message, with anything
    quoted (the parser quotes the request's bytes: a header line, an admin key in it) left out."""
    gist = _QUOTED.sub("...", str(getattr(exc, "message", "")).split("\n", 1)[0]).split(":", 1)[0].strip()
    return f"{type(exc).__name__} ({gist})" if _PLAIN.fullmatch(gist) else type(exc).__name__


class EdgeProtocol(RequestHandler):
    """One connection: aiohttp's protocol with a head timer, a body timer and the error envelope."""

    __slots__ = ("_edge", "_timer", "_timing_body")

    def __init__(self, manager: EdgeServer, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._edge = manager  # aiohttp drops its _manager when the connection is lost
        self._timer: asyncio.TimerHandle | None = None
        self._timing_body = False  # a body timer may outlive its body (it checks when it fires)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._timer = self._loop.call_later(self._edge.limits.head_timeout, self._head_overdue)
        self._edge.admit(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:  # one or more heads parsed
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._timing_body = False
            messages = self._messages
            for index in range(count - self._request_count, 0):
                message, payload = messages[index]
                if type(message) is not _ErrInfo and (message.version[0] != 1):
                    messages[index] = (_ErrInfo(status=505, exc=None, message=""), EMPTY_PAYLOAD)  # type: ignore[arg-type]
            message, payload = messages[-1] if messages else (None, EMPTY_PAYLOAD)
            if not payload.is_eof():
                self._timer = self._loop.call_later(self._edge.limits.body_timeout, self._body_overdue, payload)
                self._timing_body = True
        elif data and (self._timer is None or self._timing_body) and self._waiting_for_request():
            # The first bytes of a head after an idle keep-alive (or after a request): the head timer starts.
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop.call_later(self._edge.limits.head_timeout, self._head_overdue)
            self._timing_body = False

    def _waiting_for_request(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._messages

    def _head_overdue(self) -> None:
        self._timer = None
        if self.transport is not None and self._waiting_for_request():
            self._edge.close_stalled(self, "head_timeout")

    def _body_overdue(self, payload: StreamReader) -> None:
        self._timer = None
        if self.transport is not None and not payload.is_eof():
            self._edge.close_stalled(self, "body_timeout")

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        # Never aiohttp's answer: it echoes the parser's message (raw request bytes) and logs it at error level.
        if request.writer.output_size > 0:
            raise ConnectionError("response already started: no error response can follow")
        problem = "unsupported HTTP version" if status == 505 else describe(exc) if exc else f"status {status}"
        response = self._edge.protocol_error_response(status, problem)
        response.force_close()
        return response


class EdgeServer(Server):
    """aiohttp's ``Server`` making ``EdgeProtocol`` connections, counting them and keeping the cap."""

    def __init__(self, base: Server, limits: ConnectionLimits, on_close: OnClose,
                 protocol_error_response: ProtocolErrorResponse) -> None:
        kwargs = {**base._kwargs, "keepalive_timeout": limits.keepalive_timeout}
        super().__init__(base.request_handler, request_factory=base.request_factory,
                         handler_cancellation=base.handler_cancellation, loop=base._loop, **kwargs)
        self.limits = limits
        self.on_close = on_close
        self.protocol_error_response = protocol_error_response
        self._warned_at = -CAP_WARNING_INTERVAL

    def __call__(self) -> EdgeProtocol:
        return EdgeProtocol(self, loop=self._loop, **self._kwargs)

    def close_stalled(self, protocol: RequestHandler, reason: str) -> None:
        log.debug("closing a connection: %s", reason)
        protocol.force_close()
        self.on_close(reason)

    def admit(self, newcomer: RequestHandler) -> None:
        """Past the cap, close the oldest idle connection (or the newcomer when none is idle)."""
        connections = self._connections
        if len(connections) <= self.limits.max_connections:
            return
        open_ones = [conn for conn in connections if conn.transport is not None]  # closing ones still listed
        excess = len(open_ones) - self.limits.max_connections
        if excess <= 0:
            return
        now = time.monotonic()
        if now - self._warned_at >= CAP_WARNING_INTERVAL:
            self._warned_at = now
            log.warning("connection cap reached (%d open): closing the oldest idle connections",
                        len(open_ones), extra={"maxConnections": self.limits.max_connections})
        for conn in open_ones:  # oldest first (connections are kept in the order they came)
            if excess <= 0:
                return
            if conn is not newcomer and isinstance(conn, EdgeProtocol) and conn._waiting_for_request():
                conn.force_close()
                self.on_close("shed")
                excess -= 1
        if excess > 0:
            newcomer.force_close()
            self.on_close("refused")


class EdgeRunner(web.AppRunner):
    """``web.AppRunner`` serving through ``EdgeServer``."""

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, on_close: OnClose,
                 protocol_error_response: ProtocolErrorResponse, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits
        self._on_close = on_close
        self._protocol_error_response = protocol_error_response

    async def _make_server(self) -> Server:
        base = await super()._make_server()
        return EdgeServer(base, self._limits, self._on_close, self._protocol_error_response)
