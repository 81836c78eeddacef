"""The `folionaut` command: a thin shell over the library.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from folionaut import __version__
from folionaut.core.errors import AppError, ConfigError
from folionaut.core.logging import configure_logging
from folionaut.settings import Settings, load_settings

T = TypeVar("T")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="TOML settings file (default: $FOLIONAUT_CONFIG, else none). Env vars override it.",
)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"folionaut: {message}", err=True)
    sys.exit(code)


def settings_from(config_path: str | None, **overrides: Any) -> Settings:
    try:
        settings = load_settings(config_path, overrides=overrides)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    configure_logging(settings.log_level)
    return settings


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; configuration and runtime errors become one line and an exit code."""
    try:
        return asyncio.run(make())
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except AppError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="folionaut", message="%(prog)s %(version)s")
def cli() -> None:
    """Folionaut: a self-hosted portfolio content API.

    \b
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    Settings: defaults < config.toml (--config) < environment < flags.
    """


@cli.command()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1, or HOST].")
@click.option("--port", default=None, help="Port to listen on; 0 picks a free one [default: 3000, or PORT].")
@config_option
def serve(host: str | None, port: str | None, config_path: str | None) -> None:
    """Apply pending migrations, then serve HTTP until SIGTERM/SIGINT.

    With nothing configured: SQLite in ./data, 127.0.0.1:3000, and an admin key
    generated into ./data/admin_key.
    """
    from folionaut.bootstrap import ensure_admin_key
    from folionaut.server import run

    settings = settings_from(config_path, host=host, port=port)
    try:
        settings = ensure_admin_key(settings)
        run(settings)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    except AppError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot start: {exc}")


@cli.command()
@click.option("--dry-run", is_flag=True, help="List the migrations that would be applied; change nothing.")
@click.option("--status", "show_status", is_flag=True, help="List applied and pending migrations; change nothing.")
@config_option
def migrate(dry_run: bool, show_status: bool, config_path: str | None) -> None:
    """Bring the database schema up to date (safe to run repeatedly)."""
    from folionaut.storage import open_database
    from folionaut.storage.migrate import apply_migrations, migration_status

    settings = settings_from(config_path)

    async def go() -> None:
        db = await open_database(settings)
        try:
            status = await migration_status(db)
            if show_status:
                for version, name, applied_at in status.applied:
                    click.echo(f"applied  {version:04d}_{name}  {applied_at}")
                for migration in status.pending:
                    click.echo(f"pending  {migration.version:04d}_{migration.name}")
                return
            if dry_run:
                if not status.pending:
                    click.echo("nothing to apply: the database is up to date")
                for migration in status.pending:
                    click.echo(f"would apply {migration.version:04d}_{migration.name}")
                return
            applied = await apply_migrations(db)
            for migration in applied:
                click.echo(f"applied {migration.version:04d}_{migration.name}")
            if not applied:
                click.echo("nothing to apply: the database is up to date")
        finally:
            await db.close()

    run_async(go)


@cli.command()
@config_option
def mcp(config_path: str | None) -> None:
    """Serve MCP (Model Context Protocol) on stdin/stdout for AI assistants.

    \b
    Newline-delimited JSON-RPC; logs go to stderr only. Opens the database as
    `serve` does (pending migrations applied). Writes are recorded in the
    history as changed by "mcp".
    """
    settings = settings_from(config_path)
    if not settings.feature_mcp_server:
        fail("MCP is disabled (FEATURE_MCP_SERVER=false)", EXIT_USAGE)
    from folionaut.mcp.stdio import serve_stdio

    try:
        run_async(lambda: serve_stdio(settings))
    except KeyboardInterrupt:
        pass  # Ctrl-C ends a stdio session like closing stdin does


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a usage mistake is one line on stderr and exit code 2 (click prints three)."""
    try:
        code = cli.main(args=argv, prog_name="folionaut", standalone_mode=False)
    except click.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `folionaut`: the help is the message
            click.echo(exc.format_message(), err=True)
            sys.exit(EXIT_USAGE)
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        fail(f"{exc.format_message()}{hint}", EXIT_USAGE)
    except click.ClickException as exc:
        fail(exc.format_message(), exc.exit_code)
    except click.Abort:
        fail("aborted", EXIT_FAILURE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
