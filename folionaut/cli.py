"""The `folionaut` command: a thin shell over the library.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from folionaut import __version__
from folionaut.access.models import TOKEN_SCOPES as TOKEN_SCOPE_CHOICES
from folionaut.core.errors import AppError, ConfigError, ValidationError
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
@click.option("--workers", default=None, metavar="N|auto",
              help="Worker processes on the one port; auto: one per CPU core [default: 1, or WORKERS].")
@config_option
def serve(host: str | None, port: str | None, workers: str | None, config_path: str | None) -> None:
    """Apply pending migrations, then serve HTTP until SIGTERM/SIGINT.

    With nothing configured: SQLite in ./data, 127.0.0.1:3000, and an admin key
    generated into ./data/admin_key. With --workers N, a supervisor runs N
    processes on the one port and restarts any that dies.

    \b
    Exit codes: 0 stopped cleanly, 1 runtime failure, 2 usage or configuration error.
    """
    from folionaut.http.server import run
    from folionaut.operations.admin_key import ensure_admin_key

    settings = settings_from(config_path, host=host, port=port, workers=workers)
    try:
        settings = ensure_admin_key(settings)
        if settings.workers > 1:
            from folionaut.http.workers import run_workers

            sys.exit(run_workers(settings))
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
    """Bring the database schema up to date (safe to run repeatedly).

    \b
    An original (TypeScript) Folionaut database is adopted: its tables and rows
    are kept and our baseline is recorded instead of re-creating them.
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """
    from folionaut.operations.schema import migrate as apply_pending
    from folionaut.operations.schema import migration_plan, migration_report

    settings = settings_from(config_path)
    command = migration_report if show_status else migration_plan if dry_run else apply_pending
    for line in run_async(lambda: command(settings)):
        click.echo(line)


@cli.command()
@click.option("--read-only", is_flag=True, help="Offer only the read tools (no create, update, delete, publish…).")
@config_option
def mcp(read_only: bool, config_path: str | None) -> None:
    """Serve MCP (Model Context Protocol) on stdin/stdout for AI assistants.

    \b
    Newline-delimited JSON-RPC; logs go to stderr only. Opens the database as
    `serve` does (pending migrations applied). The assistant acts as the owner:
    it reads drafts, archived items and history, and (unless --read-only)
    changes content; changes are recorded in the history as changed by "mcp".
    Exit codes: 0 stdin closed, 1 runtime failure, 2 usage or configuration error.
    """
    settings = settings_from(config_path)
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
                assert runtime.mcp is not None
                log.info("serving MCP on stdio" + (" (read-only)" if read_only else ""))
                await serve_connection(runtime.mcp, sys.stdin.buffer, protocol_out,
                                       STDIO_READ_ONLY if read_only else STDIO_OWNER)
                log.info("stdin closed: stopping")

    try:
        run_async(go)
    except KeyboardInterrupt:
        pass  # Ctrl-C ends a stdio session like closing stdin does


def progress_to_tty(label: str) -> Callable[[str], None] | None:
    """Progress lines on stderr for a human watching; cron and pipes stay quiet."""
    if not sys.stderr.isatty():
        return None
    return lambda message: click.echo(f"{label}: {message}", err=True)


class _Terminated(BaseException):
    """SIGTERM, raised where the program is so `finally` blocks (temp-file cleanup) run."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@cli.command()
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE|-",
              help="Where to write; strftime fields expand (backup-%Y%m%d.sql); - is stdout.")
@click.option("--gzip", "compress", is_flag=True, help="Compress with gzip (restore detects it).")
@config_option
def dump(output: str, compress: bool, config_path: str | None) -> None:
    """Write the whole database as SQL: a consistent snapshot, safe while serving.

    \b
    Schema, rows and migration records, in a deterministic order (the same data
    gives the same bytes). Load it with `folionaut restore FILE`, or with
    `sqlite3 new.db < FILE`. A file is written atomically (temp file, fsync,
    rename): an interrupted dump never leaves a partial backup under FILE.
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """
    import signal

    from folionaut.operations.backups import atomic_write, encode_dump, output_path, read_snapshot, write_stdout

    settings = settings_from(config_path)
    path = None if output == "-" else output_path(output)
    if path is not None and not path.parent.is_dir():
        fail(f"--output: directory {path.parent} does not exist", EXIT_USAGE)
    if path is None and compress and sys.stdout.isatty():
        fail("--gzip output is binary: redirect stdout or use --output FILE", EXIT_USAGE)
    progress = progress_to_tty("dump")

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        data = encode_dump(run_async(lambda: read_snapshot(settings, progress)), compress=compress)
        if path is None:
            write_stdout(data)
        else:
            try:
                atomic_write(path, data, progress)
            except OSError as exc:
                fail(f"cannot write {path}: {exc.strerror or exc}")
            if progress:
                progress(f"wrote {path} ({len(data)} bytes)")
    except (_Terminated, KeyboardInterrupt):
        fail("dump interrupted; nothing was written" + (f" to {path}" if path else ""))
    finally:
        signal.signal(signal.SIGTERM, previous)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Replace the contents of a database that is not empty.")
@config_option
def restore(file: str, force: bool, config_path: str | None) -> None:
    """Load a dump into the configured database, all or nothing.

    \b
    FILE is a `folionaut dump` (plain or gzip'd) or a `sqlite3 .dump` of an
    original Folionaut database; - reads stdin. Refuses a database with rows
    unless --force (which replaces everything in it). The whole file loads in
    one transaction: any failure changes nothing and names the failing line.
    Pending migrations are applied afterwards.
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """
    from folionaut.operations.backups import restore_file

    settings = settings_from(config_path)
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")

    async def go() -> None:
        result = await restore_file(settings, raw, force=force, progress=progress_to_tty("restore"))
        replaced = f", replacing {result.replaced_rows} rows" if result.replaced_rows else ""
        click.echo(f"restored {result.statements} statements from {file}{replaced}")
        if result.adopted:
            click.echo("adopted existing Folionaut database: recorded 0001 as applied")
        for migration in result.migrations:
            click.echo(f"applied {migration.version:04d}_{migration.name}")

    run_async(go)


@cli.command()
@config_option
def check(config_path: str | None) -> None:
    """Check settings, database, migrations, Redis and the LLM; one line each.

    \b
    Redis is checked when REDIS_URL is set, the LLM (one GET {LLM_BASE_URL}/models)
    when LLM_API_KEY is set. Read-only; suitable as a container health check.
    Exit codes: 0 all ok, 1 a check failed, 2 usage or configuration error.
    """
    from folionaut.operations.admin_key import check_production_key
    from folionaut.operations.check import CheckResult, run_checks

    settings = settings_from(config_path)
    if settings.is_production and not settings.admin_api_key:
        fail("ADMIN_API_KEY: expected an explicit key of at least 32 characters in production", EXIT_USAGE)
    try:
        check_production_key(settings)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)
    click.echo(CheckResult("settings", True, f"{settings.environment} environment").line())
    results = run_async(lambda: run_checks(settings, lambda result: click.echo(result.line())))
    if not all(result.ok for result in results):
        sys.exit(EXIT_FAILURE)


_TOKEN_OPTIONS = {"name": "--name", "scope": "--scope", "expiresIn": "--expires"}


@cli.group()
def token() -> None:
    """Scoped API tokens: create, list, revoke.

    \b
    A token is sent as `Authorization: Bearer <token>`. Scopes: read (every
    admin GET: drafts, history, chat sessions; MCP read tools), write (read
    plus content writes and MCP write tools), metrics (/api/metrics only).
    Only a hash is stored; revoking takes effect on every instance at once.
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """


@token.command("create")
@click.option("--name", required=True, help="A unique name: 1-64 letters, digits, '.', '_' or '-'.")
@click.option("--scope", required=True, type=click.Choice(TOKEN_SCOPE_CHOICES), help="What the token may do.")
@click.option("--expires", default=None, metavar="DURATION",
              help="Lifetime such as 12h, 90d or 2w (at most 3650d) [default: never].")
@config_option
def token_create(name: str, scope: str, expires: str | None, config_path: str | None) -> None:
    """Create a token and print it once on stdout (nothing else goes there).

    \b
    Store it right away: only its hash is kept, it cannot be shown again.
    Example: TOKEN=$(folionaut token create --name ci --scope read --expires 90d)
    """
    from folionaut.access.service import parse_token_request
    from folionaut.operations.tokens import create_token

    try:
        request = parse_token_request({"name": name, "scope": scope,
                                       **({"expiresIn": expires} if expires is not None else {})})
    except ValidationError as exc:
        field, problems = next(iter(exc.fields.items()))
        fail(f"{_TOKEN_OPTIONS.get(field, field)}: {problems[0]}", EXIT_USAGE)
    settings = settings_from(config_path)
    created, secret = run_async(lambda: create_token(settings, request))
    click.echo(secret)
    if sys.stderr.isatty():
        expiry = f"expires {created.expires_at}" if created.expires_at else "never expires"
        click.echo(f"token {created.name!r} created (scope {created.scope}, {expiry}); "
                   "it is shown only this once", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@config_option
def token_list(as_json: bool, config_path: str | None) -> None:
    """List tokens: name, scope, status, created, last used, expiry (never the tokens themselves)."""
    from folionaut.core import jsonutil
    from folionaut.operations.tokens import list_tokens

    settings = settings_from(config_path)
    tokens = run_async(lambda: list_tokens(settings))
    if as_json:
        click.echo(jsonutil.dumps_str(tokens))
        return
    if not tokens:
        click.echo("no tokens")
        return
    rows = [("NAME", "SCOPE", "STATUS", "CREATED", "LAST USED", "EXPIRES")] + [
        (str(t["name"]), str(t["scope"]), str(t["status"]), str(t["createdAt"]),
         str(t["lastUsedAt"] or "never"), str(t["expiresAt"] or "never")) for t in tokens]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("name")
@config_option
def token_revoke(name: str, config_path: str | None) -> None:
    """Revoke the token NAME: every instance refuses it from its next request on."""
    from folionaut.operations.tokens import revoke_token

    settings = settings_from(config_path)
    run_async(lambda: revoke_token(settings, name))
    click.echo(f"revoked token {name!r}")


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
