"""`folionaut serve` (HTTP) and `folionaut mcp` (MCP on stdio)."""

from __future__ import annotations

import sys

import click

from folionaut.cli.common import (
    ALL_SETTINGS,
    EXIT_USAGE,
    SettingValue,
    fail,
    run_async,
    settings_from,
    settings_options,
)
from folionaut.core.errors import AppError, ConfigError, NewerSchemaError

__all__ = ["mcp", "serve"]


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1, or HOST].")
@click.option("--port", default=None, type=SettingValue("port", "integer"),
              help="Port to listen on; 0 picks a free one [default: 3000, or PORT].")
@click.option("--workers", default=None, metavar="N|auto",
              help="Worker processes on the one port; auto: one per CPU core [default: 1, or WORKERS].")
@settings_options(ALL_SETTINGS)
def serve(host: str | None, port: int | None, workers: str | None, config_path: str | None,
          data_dir: str | None, log_level: str | None) -> None:
    """Apply pending migrations, then serve HTTP until SIGTERM/SIGINT.

    With nothing configured: SQLite in ./data, 127.0.0.1:3000, and an admin key
    generated into ./data/admin_key. With --workers N, a supervisor runs N
    processes on the one port and restarts any that dies. One access-log line
    per request on stderr (ACCESS_LOG=off to stop them).

    \b
    Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage or configuration
    error (a database migrated by a newer folionaut included).
    """
    from folionaut.http.server import run
    from folionaut.operations.admin_key import ensure_admin_key

    settings = settings_from(config_path, host=host, port=port, workers=workers, data_dir=data_dir,
                             log_level=log_level)
    try:
        settings = ensure_admin_key(settings)
        if settings.workers > 1:
            from folionaut.http.workers import run_workers

            sys.exit(run_workers(settings))
        run(settings)
    except (ConfigError, NewerSchemaError) as exc:
        fail(str(exc), EXIT_USAGE)
    except AppError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot start: {exc}")


@click.command()
@click.option("--read-only", is_flag=True, help="Offer only the read tools (no create, update, delete, publish…).")
@settings_options(ALL_SETTINGS)
def mcp(read_only: bool, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """Serve MCP (Model Context Protocol) on stdin/stdout for AI assistants.

    \b
    Newline-delimited JSON-RPC; logs go to stderr only. Opens the database as
    `serve` does (pending migrations applied). The assistant acts as the owner:
    it reads drafts, archived items and history, and (unless --read-only)
    changes content; changes are recorded in the history as changed by "mcp".
    Exit codes: 0 stdin closed, 1 runtime failure, 2 usage or configuration error.
    """
    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    if not settings.feature_mcp_server:
        fail("MCP is disabled (FEATURE_MCP_SERVER=false)", EXIT_USAGE)
    from folionaut.access.models import STDIO_OWNER, STDIO_READ_ONLY
    from folionaut.core.logging import get_logger
    from folionaut.mcp.stdio import protocol_stdout, serve_connection
    from folionaut.runtime import Runtime

    log = get_logger("mcp.stdio")

    async def go() -> None:
        with protocol_stdout() as protocol_out:
            async with Runtime(settings) as runtime:
                log.info("serving MCP on stdio" + (" (read-only)" if read_only else ""))
                await serve_connection(runtime.mcp_server(), sys.stdin.buffer, protocol_out,
                                       STDIO_READ_ONLY if read_only else STDIO_OWNER)
                log.info("stdin closed: stopping")

    try:
        run_async(go)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends a stdio session like closing stdin does
