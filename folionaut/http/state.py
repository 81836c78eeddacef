"""What the HTTP app keeps: the runtime (one AppKey) and the HTTP layer's own objects (one more).

Handlers reach every shared object through ``request.app[RUNTIME]`` (settings,
clock, metrics, services, caches, limiters); what only the HTTP layer needs
(pre-serialised public reads, in-flight requests, MCP HTTP sessions, the
rendered OpenAPI document, idempotency owners) lives in ``request.app[HTTP]``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from folionaut.http.fastpath.deadlines import InFlightRequests
from folionaut.http.published import PublishedResponses
from folionaut.mcp.sessions import SessionStore
from folionaut.runtime import Runtime

__all__ = ["HTTP", "RUNTIME", "HttpState"]


@dataclass(slots=True)
class HttpState:
    in_flight: InFlightRequests = field(default_factory=InFlightRequests)
    #: Cached public reads as ready-made responses (made when the runtime opens).
    published: PublishedResponses | None = None
    #: MCP handshake sessions, in the runtime's key-value store (when MCP is on).
    mcp_sessions: SessionStore | None = None
    #: The OpenAPI document, rendered on first request (the router is frozen by then).
    openapi_body: bytes | None = None
    #: Idempotency records being produced in this process: key -> set when the owner finishes.
    idempotency_owners: dict[str, asyncio.Event] = field(default_factory=dict)


RUNTIME = web.AppKey("runtime", Runtime)
HTTP = web.AppKey("http", HttpState)
