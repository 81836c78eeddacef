"""MCP over stdio: newline-delimited JSON-RPC on stdin/stdout (``folionaut mcp``).

stdout carries protocol messages only: logs go to stderr, and ``sys.stdout``
is pointed at stderr while serving (``protocol_stdout``) so a stray ``print``
cannot corrupt the stream. Messages are answered one at a time, in order, until
stdin closes. The CLI opens the runtime and hands its MCP server to
``serve_connection``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import BinaryIO

from folionaut.access.models import STDIO_OWNER, Principal
from folionaut.core import jsonutil
from folionaut.mcp.protocol import McpServer
from folionaut.mcp.revisions import ConnectionState

__all__ = ["protocol_stdout", "serve_connection"]


async def serve_connection(server: McpServer, stdin: BinaryIO, stdout: BinaryIO,
                           principal: Principal = STDIO_OWNER) -> None:
    """Answer every line of ``stdin`` on ``stdout`` until end of input, as ``principal`` (the owner by default:
    whoever can start the process can read the database anyway)."""
    state = ConnectionState(principal)
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


@contextlib.contextmanager
def protocol_stdout() -> Iterator[BinaryIO]:
    """The real stdout, for protocol messages only; ``sys.stdout`` goes to stderr meanwhile."""
    real_stdout = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield real_stdout.buffer
    finally:
        sys.stdout = real_stdout
