"""The HTTP app, declared in one place: its routes, its middleware and its lifespan.

``create_app(settings)`` wraps a ``Runtime`` (``folionaut/runtime.py``) for HTTP:

- routes: ``ROUTES``, the table gathered from one module per resource
  (``http/routes/*.py``); registration, the edge's per-route facts and the
  OpenAPI document all come from it (``http/routing.py``);
- middleware: the edge (``http/edge.py``), the only per-request layer;
- lifespan: one cleanup context opens the runtime (which opens and closes every
  resource in its stated order) and makes the HTTP layer's own objects; the
  app reaches the runtime through ``app[RUNTIME]`` and those objects through
  ``app[HTTP]`` (``http/state.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web

from folionaut import __version__
from folionaut.core import jsonutil
from folionaut.http.access_log import ACCESS_LOGGER, AccessLog
from folionaut.http.edge import make_edge
from folionaut.http.openapi import build_document
from folionaut.http.published import PublishedReads, PublishedResponses
from folionaut.http.responses import MAX_BODY_BYTES
from folionaut.http.routes import (
    admin_content,
    admin_operations,
    admin_session,
    admin_ui,
    chat,
    content,
    health,
    mcp,
    metrics,
    openapi_document,
    tokens,
    webhooks,
)
from folionaut.http.routing import Route, enabled_routes, register_routes
from folionaut.http.state import HTTP, RUNTIME, HttpState
from folionaut.mcp.sessions import SessionStore
from folionaut.runtime import Runtime
from folionaut.settings import Settings

__all__ = ["ROUTES", "create_app"]

#: Every route the service can serve, one module per resource.
ROUTES: tuple[Route, ...] = (
    *health.ROUTES,
    *content.ROUTES,
    *admin_content.ROUTES,
    *admin_operations.ROUTES,
    *admin_session.ROUTES,
    *tokens.ROUTES,
    *webhooks.ROUTES,
    *chat.ROUTES,
    *mcp.ROUTES,
    *metrics.ROUTES,
    *openapi_document.ROUTES,
    *admin_ui.ROUTES,
)


def create_app(settings: Settings, *, extra_routes: Sequence[Route] = (), **runtime_options: Any) -> web.Application:
    """The whole service as an aiohttp app. ``runtime_options`` go to ``Runtime`` (clock, metrics,
    llm_sleep); ``extra_routes`` are declared like ``ROUTES`` (tests use them)."""
    runtime = Runtime(settings, **runtime_options)
    state = HttpState()
    # aiohttp's access-log hook, after each response is written (http/access_log.py); None turns it off.
    access = {"access_log": ACCESS_LOGGER if settings.access_log else None,
              "access_log_class": AccessLog.for_runtime(runtime)}
    app = web.Application(client_max_size=MAX_BODY_BYTES, handler_args=access)
    app[RUNTIME] = runtime
    app[HTTP] = state
    routes = enabled_routes((*ROUTES, *extra_routes), settings)
    declared = register_routes(app.router, routes)
    app.middlewares.append(make_edge(runtime, state.in_flight, declared))
    state.openapi_body = jsonutil.dumps(build_document(routes, __version__))

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        async with runtime:
            state.published = PublishedResponses(PublishedReads(runtime.content, runtime.content_cache),
                                                 vary_origin=bool(settings.cors_origins))
            if settings.feature_mcp_server:
                state.mcp_sessions = SessionStore(runtime.records, runtime.clock, runtime.process_id)
                # HTTP+SSE messages another worker or instance received for a stream held here.
                for channel in (runtime.siblings, runtime.bus):
                    if channel is not None:
                        channel.on(mcp.SSE_RELAY, mcp.sse_relay(state.mcp_sessions, runtime.mcp_server))
            yield
            if state.mcp_sessions is not None:
                state.mcp_sessions.end_streams()

    async def end_streams(app: web.Application) -> None:
        # On shutdown, before in-flight requests are awaited: open MCP GET streams end so shutdown is not held up.
        if state.mcp_sessions is not None:
            state.mcp_sessions.end_streams()

    app.cleanup_ctx.append(lifespan)
    app.on_shutdown.append(end_streams)
    return app
