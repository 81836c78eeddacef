"""Running the HTTP service until SIGTERM/SIGINT, then shutting down gracefully."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiohttp import web

from folionaut.core.logging import get_logger
from folionaut.http.app import create_app
from folionaut.settings import Settings

log = get_logger("server")

#: In-flight requests get this long to finish after a stop signal.
SHUTDOWN_GRACE_SECONDS = 30.0


async def serve(settings: Settings) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS, handle_signals=False)
    await runner.setup()  # opens the database and applies pending migrations
    try:
        site = web.TCPSite(runner, settings.host, settings.port, reuse_address=True)
        await site.start()
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
        port = sockets[0].getsockname()[1] if sockets else settings.port
        url = f"http://{settings.host}:{port}"
        log.info("listening on %s", url, extra={"environment": settings.environment})
        if not sys.stderr.isatty():
            pass  # the JSON log line above says it; a TTY already got the readable form
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("stopping: finishing in-flight requests")
    finally:
        await runner.cleanup()  # stops listening, lets requests finish, closes the database
    log.info("stopped")


def run(settings: Settings) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (not on Windows)
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
