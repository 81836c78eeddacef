"""Route declarations: everything the service knows about a route, said once.

Each route module (``http/routes/*.py``) lists its routes as ``Route`` values:
method, path template, handler, who may call it (``access``), its rate limiter,
its deadline, whether it honours ``Idempotency-Key``, whether it may stream its
response, the feature flags it needs and its OpenAPI operation. ``http/app.py``
gathers the modules' lists into one table, and everything else is derived from
that table:

- registration on the aiohttp router (routes whose features are off are skipped);
- the edge's per-route facts (``RouteFacts``: auth, limiter, deadline,
  idempotency, streaming, metrics label), worked out once per route;
- the OpenAPI document (``http/openapi.py``), whose ``security`` and
  ``Idempotency-Key`` parameter come from the same facts, so the two cannot
  disagree.

Handlers are plain ``async def handler(request)``: no decorators, so there is
no decorator order to get wrong.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from folionaut.settings import Settings

__all__ = ["Access", "Deadline", "Handler", "Operation", "Route", "RouteFacts", "enabled_routes", "register_routes"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Operation = dict[str, Any]


class Access(enum.Enum):
    """Who may call a route; the edge checks it before the handler runs (``http/auth.py`` maps each
    to the scope it needs). Refusals and changes on READ, WRITE and ROOT routes are audited."""

    PUBLIC = "public"
    READ = "read"  # admin reads (drafts, history, chat sessions): the admin key, a read or write token
    WRITE = "write"  # content writes: the admin key or a write token
    ROOT = "root"  # token management: the admin key only
    METRICS = "metrics"  # the admin key, a metrics token or METRICS_TOKEN; anyone with METRICS_PUBLIC=true


class Deadline(enum.Enum):
    """Which timeout bounds a request (REQUEST_TIMEOUT_MS, CHAT_REQUEST_TIMEOUT_MS, or none)."""

    REQUEST = "request"
    CHAT = "chat"
    STREAM = "stream"  # long-lived streams: no deadline, and shutdown does not wait for them


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # aiohttp path template, e.g. /api/v1/content/{type}/{slug}
    handler: Handler
    access: Access
    operation: Operation  # the OpenAPI operation object (security and Idempotency-Key are added)
    limiter: str | None = None  # the rate limiter that applies ("content", "chat", "sign_in"), if any
    deadline: Deadline = Deadline.REQUEST
    idempotent: bool = False  # honours Idempotency-Key
    streams: bool = False  # may answer with a stream: the handler gets a StreamEdge (http/streaming.py)
    features: tuple[str, ...] = ()  # Settings flags (feature_*) that must all be on
    allow_head: bool = True  # GET routes also answer HEAD
    page: bool = False  # a page or asset for browsers: the pages' security headers (their own CSP)

    def enabled(self, settings: Settings) -> bool:
        return all(getattr(settings, flag) for flag in self.features)


@dataclass(frozen=True, slots=True)
class RouteFacts:
    """What the edge does around one route's handler, worked out once."""

    access: Access = Access.PUBLIC
    limiter: str | None = None
    deadline: Deadline = Deadline.REQUEST
    idempotent: bool = False
    streams: bool = False
    label: str = "unmatched"  # metrics label: the path template, never the raw path
    page: bool = False
    declared: Route | None = field(default=None, compare=False)

    @classmethod
    def of(cls, route: Route) -> RouteFacts:
        return cls(route.access, route.limiter, route.deadline, route.idempotent, route.streams, route.path,
                   route.page, route)


#: Facts of requests that matched no declared route (404/405, or a route added outside the table).
UNDECLARED = RouteFacts()


def enabled_routes(routes: Iterable[Route], settings: Settings) -> list[Route]:
    return [route for route in routes if route.enabled(settings)]


def register_routes(router: web.UrlDispatcher, routes: Iterable[Route]) -> Mapping[tuple[str, str], RouteFacts]:
    """Add the routes to the router; returns each one's facts keyed by (METHOD, path template)."""
    facts: dict[tuple[str, str], RouteFacts] = {}
    for route in routes:
        key = (route.method, route.path)
        if key in facts:
            raise ValueError(f"route declared twice: {route.method} {route.path}")
        if route.method == "GET":
            router.add_get(route.path, route.handler, allow_head=route.allow_head)
        else:
            router.add_route(route.method, route.path, route.handler)
        facts[key] = RouteFacts.of(route)
    return facts
