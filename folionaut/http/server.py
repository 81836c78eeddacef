"""Running the HTTP service until SIGTERM/SIGINT, then shutting down gracefully."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from aiohttp import web

from folionaut.core.logging import get_logger
from folionaut.core.workers import WorkerGroup
from folionaut.http.app import create_app
from folionaut.http.state import HTTP
from folionaut.settings import Settings

__all__ = ["SHUTDOWN_GRACE_SECONDS", "run", "serve"]

log = get_logger("server")

#: In-flight requests get this long to finish after a stop signal.
SHUTDOWN_GRACE_SECONDS = 30.0

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
    app = create_app(settings, workers=workers)
    in_flight = app[HTTP].in_flight  # counted by the edge middleware
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handle_signals=False)
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
