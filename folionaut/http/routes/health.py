"""Liveness, readiness and startup probes."""

from __future__ import annotations

from aiohttp import web

from folionaut import __version__
from folionaut.core import jsonutil
from folionaut.http import openapi as oa
from folionaut.http.fastpath.prepared import PreparedResponse, serialise_head
from folionaut.http.headers import JSON_CONTENT_TYPE
from folionaut.http.responses import json_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME
from folionaut.observability.health import run_checks

__all__ = ["ROUTES"]

_LIVE_BODY = jsonutil.dumps({"status": "ok"})
_LIVE_HEAD = serialise_head(200, {"Content-Type": JSON_CONTENT_TYPE, "Content-Length": str(len(_LIVE_BODY))})


async def live(request: web.Request) -> web.StreamResponse:
    # Probed all day by orchestrators and load balancers: the same bytes every time.
    return PreparedResponse(200, _LIVE_HEAD, _LIVE_BODY)


async def ready(request: web.Request) -> web.Response:
    readiness = await run_checks(request.app[RUNTIME].health_checks)
    return json_response({"status": readiness.status, "checks": readiness.checks},
                         status=200 if readiness.healthy else 503)


async def startup(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    uptime_ms = int((runtime.clock.monotonic() - runtime.started_at) * 1000)
    return json_response({
        "status": "started", "uptime": uptime_ms, "version": __version__,
        "environment": runtime.settings.environment,
    })


_LIVE_RESPONSES = {"200": oa.json_content(oa.schema("Live"))}

ROUTES = (
    Route("GET", "/", live, Access.PUBLIC, operation={
        "tags": ["health"], "summary": "Liveness (root)", "operationId": "root", "responses": _LIVE_RESPONSES,
    }),
    Route("GET", "/api/health/live", live, Access.PUBLIC, operation={
        "tags": ["health"], "summary": "Liveness", "operationId": "healthLive", "responses": _LIVE_RESPONSES,
    }),
    Route("GET", "/api/health/ready", ready, Access.PUBLIC, operation={
        "tags": ["health"], "summary": "Readiness: database (critical) and Redis (degrades only)",
        "operationId": "healthReady",
        "responses": {"200": oa.json_content(oa.schema("Ready"), "ready or degraded"),
                      "503": oa.json_content(oa.schema("Ready"), "unhealthy: the database is down")},
    }),
    Route("GET", "/api/health/startup", startup, Access.PUBLIC, operation={
        "tags": ["health"], "summary": "Startup probe", "operationId": "healthStartup",
        "responses": {"200": oa.json_content(oa.schema("Startup"))},
    }),
)
