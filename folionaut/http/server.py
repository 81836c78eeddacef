"""Running the HTTP service until SIGTERM/SIGINT, then shutting down gracefully."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from folionaut.core.logging import get_logger
from folionaut.core.workers import WorkerGroup
from folionaut.http.app import create_app
from folionaut.http.edge import protocol_error_response
from folionaut.http.fastpath.server_protocol import (
    ConnectionLimits,
    EdgeRunner,
    fitted_max_connections,
    raise_descriptor_limit,
)
from folionaut.http.state import HTTP, RUNTIME
from folionaut.settings import Settings

__all__ = ["SHUTDOWN_GRACE_SECONDS", "connection_limits", "make_runner", "run", "serve"]

log = get_logger("server")

#: In-flight requests get this long to finish after a stop signal.
SHUTDOWN_GRACE_SECONDS = 30.0


def connection_limits(settings: Settings, descriptors: int) -> ConnectionLimits:
    """The connection settings, the cap fitted to the open-file limit (``descriptors``)."""
    return ConnectionLimits(
        head_timeout=settings.http_head_timeout_ms / 1000, keepalive_timeout=settings.http_keepalive_timeout_ms / 1000,
        body_timeout=settings.http_body_timeout_ms / 1000,
        max_connections=fitted_max_connections(settings.http_max_connections, descriptors))


def make_runner(app: web.Application, settings: Settings, descriptors: int) -> EdgeRunner:
    """The app's runner: connections with limits, closes counted, parser errors in the error envelope."""
    limits = connection_limits(settings, descriptors)
    if limits.max_connections < settings.http_max_connections:
        log.info("connection cap lowered to fit the open-file limit", extra={
            "maxConnections": limits.max_connections, "openFileLimit": descriptors})
    closed = app[RUNTIME].metrics.http_connections_closed
    return EdgeRunner(app, limits=limits, on_close=lambda reason: closed.labels(reason).inc(),
                      protocol_error_response=protocol_error_response, access_log=None,
                      shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handle_signals=False)


async def serve(settings: Settings, *, workers: WorkerGroup | None = None,
                on_listening: Callable[[int], None] | None = None) -> None:
    """Serve until SIGTERM/SIGINT. As one of ``workers`` (``http/workers.py``), the port is shared
    (SO_REUSEPORT) and ``on_listening(port)`` tells the supervisor this worker is serving."""
    # Signal handlers first: a SIGTERM during startup must also mean "stop cleanly",
    # not the default action that kills the process mid-migration.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    descriptors = raise_descriptor_limit()  # many keep-alive clients need many descriptors
    app = create_app(settings, workers=workers)
    in_flight = app[HTTP].in_flight  # counted by the edge middleware
    runner = make_runner(app, settings, descriptors)
    try:
        await runner.setup()  # opens the database and applies pending migrations
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True, reuse_port=workers is not None)
        await site.start()
        port = runner.addresses[0][1] if runner.addresses else settings.port
        if workers is None:
            log.info("listening on http://%s:%s", settings.host, port, extra={"environment": settings.environment})
        else:
            log.info("worker %d listening", workers.index)
        if on_listening is not None:
            on_listening(port)
        await stop.wait()
        log.info("stopping: finishing in-flight requests", extra={"inFlight": in_flight.count})
        await site.stop()  # no new connections; open ones keep reading so uploads can complete
        if not await in_flight.drained(SHUTDOWN_GRACE_SECONDS):
            log.warning("shutdown grace period over: cancelling %d request(s)", in_flight.count)
    finally:
        await runner.cleanup()  # closes connections, cancels leftovers, closes the database
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped")


def run(settings: Settings, *, workers: WorkerGroup | None = None,
        on_listening: Callable[[int], None] | None = None) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (not on Windows)
        asyncio.run(serve(settings, workers=workers, on_listening=on_listening))
    else:
        uvloop.run(serve(settings, workers=workers, on_listening=on_listening))
