"""Liveness, readiness and startup probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from folionaut import __version__
from folionaut.core import jsonutil
from folionaut.core.errors import AppError
from folionaut.core.logging import get_logger
from folionaut.http.headers import JSON_CONTENT_TYPE
from folionaut.http.keys import CLOCK, DATABASE, METRICS, SETTINGS, STARTED_AT
from folionaut.http.prepared import PreparedResponse, serialise_head
from folionaut.http.responses import json_response

log = get_logger("health")
PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    critical: bool  # a critical failure makes the service unhealthy (503); others degrade it
    check: Callable[[], Awaitable[None]]


HEALTH_CHECKS = web.AppKey("health_checks", list[HealthCheck])


def add_health_check(app: web.Application, check: HealthCheck) -> None:
    app[HEALTH_CHECKS].append(check)


_LIVE_BODY = jsonutil.dumps({"status": "ok"})
_LIVE_HEAD = serialise_head(200, {"Content-Type": JSON_CONTENT_TYPE, "Content-Length": str(len(_LIVE_BODY))})


async def live(request: web.Request) -> web.StreamResponse:
    # Probed all day by orchestrators and load balancers: the same bytes every time.
    return PreparedResponse(200, _LIVE_HEAD, _LIVE_BODY)


async def ready(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, str] = {}
    healthy, degraded = True, False

    async def database() -> None:
        await app[DATABASE].ping()

    probes = [HealthCheck("database", True, database), *app[HEALTH_CHECKS]]
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(probe.check(), PROBE_TIMEOUT_SECONDS) for probe in probes), return_exceptions=True
    )
    for probe, outcome in zip(probes, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            checks[probe.name] = "error"
            reason = outcome.message if isinstance(outcome, AppError) else repr(outcome)
            log.warning("readiness check %s failed: %s", probe.name, reason)
            if probe.name == "database":
                app[METRICS].database_connection_errors.inc()
            if probe.critical:
                healthy = False
            else:
                degraded = True
        else:
            checks[probe.name] = "ok"
    if not healthy:
        return json_response({"status": "unhealthy", "checks": checks}, status=503)
    return json_response({"status": "degraded" if degraded else "ready", "checks": checks})


async def startup(request: web.Request) -> web.Response:
    app = request.app
    uptime_ms = int((app[CLOCK].monotonic() - app[STARTED_AT]) * 1000)
    return json_response({
        "status": "started", "uptime": uptime_ms, "version": __version__,
        "environment": app[SETTINGS].environment,
    })


def register(app: web.Application) -> None:
    app[HEALTH_CHECKS] = []
    app.router.add_get("/", live)
    app.router.add_get("/api/health/live", live)
    app.router.add_get("/api/health/ready", ready)
    app.router.add_get("/api/health/startup", startup)
