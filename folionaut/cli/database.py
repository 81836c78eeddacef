"""`folionaut migrate`, `folionaut check` and `folionaut config`: the schema, readiness and settings."""

from __future__ import annotations

import sys

import click

from folionaut.cli.common import (
    ALL_SETTINGS,
    EXIT_FAILURE,
    EXIT_USAGE,
    STORAGE_SETTINGS,
    fail,
    load,
    run_async,
    settings_from,
    settings_options,
)

__all__ = ["check", "config", "migrate"]

_CHECK_SETTINGS = (*STORAGE_SETTINGS, "admin_api_key", "redis_url", "llm_api_key", "llm_base_url")


@click.command()
@click.option("--dry-run", is_flag=True, help="List the migrations that would be applied; change nothing on disk.")
@click.option("--status", "show_status", is_flag=True,
              help="List applied and pending migrations; change nothing on disk.")
@settings_options(STORAGE_SETTINGS)
def migrate(dry_run: bool, show_status: bool, config_path: str | None, data_dir: str | None,
            log_level: str | None) -> None:
    """Bring the database schema up to date (safe to run repeatedly).

    \b
    An original (TypeScript) Folionaut database is adopted: its tables and rows
    are kept and our baseline is recorded instead of re-creating them. A
    database migrated by a newer folionaut is left alone (exit 2).
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    """
    from folionaut.operations.schema import migrate as apply_pending
    from folionaut.operations.schema import migration_plan, migration_report

    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    if show_status:
        lines, problem = run_async(lambda: migration_report(settings))
        for line in lines:
            click.echo(line)
        if problem:
            fail(problem, EXIT_USAGE)
        return
    for line in run_async(lambda: (migration_plan if dry_run else apply_pending)(settings)):
        click.echo(line)


@click.command()
@click.option("--url", default=None, metavar="URL",
              help="Instead, ask a running server whether it is ready (GET URL, or URL/api/health/ready "
                   "when URL has no path): a container health check.")
@settings_options(_CHECK_SETTINGS)
def check(url: str | None, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """Check settings, database, migrations, Redis and the LLM; one line each.

    \b
    Redis is checked when REDIS_URL is set, the LLM (one GET {LLM_BASE_URL}/models)
    when LLM_API_KEY is set. Read-only: it never creates or changes anything.
    With --url, one line about the running server instead, e.g. in a Dockerfile:
      HEALTHCHECK CMD folionaut check --url http://127.0.0.1:3000
    Exit codes: 0 all ok, 1 a check failed, 2 usage or configuration error.
    """
    from folionaut.core.errors import ConfigError
    from folionaut.operations.admin_key import check_production_key
    from folionaut.operations.check import CheckResult, probe_server, readiness_url, run_checks

    if url is not None:
        try:
            target = readiness_url(url)
        except ValueError as exc:
            fail(f"--url: expected {exc}, got {url!r}", EXIT_USAGE)
        result = run_async(lambda: probe_server(target))
        click.echo(result.line())
        sys.exit(0 if result.ok else EXIT_FAILURE)
    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
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


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object: each setting's value and source.")
@settings_options(ALL_SETTINGS)
def config(as_json: bool, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """Print the effective settings and where each came from; secrets masked.

    \b
    One line per setting, as TOML with its source as a comment: default,
    file PATH, environment VAR or flag --OPTION. Precedence: flag >
    environment > file > default. The file is --config, else FOLIONAUT_CONFIG,
    else ./config.toml when there is one.
    Exit codes: 0 success, 2 usage or configuration error.
    """
    from folionaut.core import jsonutil
    from folionaut.settings import SETTINGS, shown_value

    settings, sources = load(config_path, data_dir=data_dir, log_level=log_level)
    if as_json:
        click.echo(jsonutil.dumps_str({spec.name: {
            # shown_value's TOML is JSON for every type we declare (strings, numbers, booleans, lists).
            "value": jsonutil.loads(shown_value(spec, getattr(settings, spec.name))),
            "source": str(sources[spec.name])} for spec in SETTINGS}))
        return
    rows = [(f"{spec.name} = {shown_value(spec, getattr(settings, spec.name))}", str(sources[spec.name]))
            for spec in SETTINGS]
    width = max(len(text) for text, _ in rows)
    for text, source in rows:
        click.echo(f"{text.ljust(width)}  # {source}")
