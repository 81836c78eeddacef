"""MCP over stdio: newline-delimited JSON-RPC on stdin/stdout (``folionaut mcp``).

stdout carries protocol messages only: logs go to stderr, and ``sys.stdout``
is pointed at stderr while serving so a stray ``print`` cannot corrupt the
stream. Messages are answered one at a time, in order, until stdin closes.
"""

from __future__ import annotations

import asyncio
import sys
from typing import BinaryIO

from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.core.clock import Clock, SystemClock
from folionaut.core.logging import get_logger
from folionaut.mcp.protocol import ConnectionState, McpServer
from folionaut.settings import Settings
from folionaut.storage import open_database
from folionaut.storage.migrate import apply_migrations

log = get_logger("mcp.stdio")


async def serve_connection(server: McpServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer every line of ``stdin`` on ``stdout`` until end of input."""
    state = ConnectionState()
    while True:
        # Blocking reads happen in a thread so the event loop stays free for the database.
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        if not line.strip():
            continue
        reply = await server.handle_text(line, state)
        if reply is not None:
            stdout.write(jsonutil.dumps(reply) + b"\n")
            stdout.flush()


async def serve_stdio(settings: Settings, clock: Clock | None = None,
                      stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Open the database as ``serve`` does (migrations applied), then serve MCP on stdio."""
    clock = clock or SystemClock()
    protocol_out = stdout or sys.stdout.buffer
    db = await open_database(settings)
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        for migration in await apply_migrations(db, clock):
            log.info("applied migration %04d_%s", migration.version, migration.name)
        service = ContentService(ContentRepository(db), clock, audit_log=settings.feature_audit_log)
        log.info("serving MCP on stdio")
        await serve_connection(McpServer(service), stdin or sys.stdin.buffer, protocol_out)
        log.info("stdin closed: stopping")
    finally:
        sys.stdout = real_stdout
        await db.close()
