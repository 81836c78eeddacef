"""What every command shares: exit codes, one-line failures, the settings options and their help.

Each command that reads settings takes ``--config``, ``--data-dir`` and ``--log-level``,
and its ``--help`` ends with the environment variables it reads, named from the
``Settings`` declarations (``settings.py``), so the help cannot drift from them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from folionaut.core.errors import AppError, ConfigError, NewerSchemaError
from folionaut.core.logging import configure_logging
from folionaut.settings import SETTINGS, SPECS_BY_NAME, Settings, Source, load_settings_with_sources

__all__ = [
    "ALL_SETTINGS", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "STORAGE_SETTINGS", "SettingValue", "counted", "fail",
    "load", "progress_to_tty", "run_async", "settings_from", "settings_options",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

#: What a command that only opens the database reads (besides FOLIONAUT_CONFIG).
STORAGE_SETTINGS = ("environment", "data_dir", "log_level", "log_format", "turso_database_url", "turso_auth_token",
                    "turso_connect_timeout_seconds", "turso_call_timeout_ms")
ALL_SETTINGS = tuple(spec.name for spec in SETTINGS)
LOG_LEVELS = ("debug", "info", "warning", "error")


class SettingValue(click.ParamType):
    """An option that sets a setting: its help shows the type (``--port INTEGER``) and a bad value gets
    the setting's own one-line message (``invalid --port: expected an integer from 0 to 65535, …``)."""

    def __init__(self, setting: str, type_name: str) -> None:
        self.spec = SPECS_BY_NAME[setting]
        self.name = type_name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.spec.parse(value)
        except (ValueError, TypeError):
            flag = param.opts[0] if param is not None else self.spec.name
            raise click.UsageError(f"invalid {flag}: expected {self.spec.expected}, got {value!r}", ctx) from None


def counted(number: int, noun: str) -> str:
    """``1 row``, ``3 rows``: what a CLI line reports."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    click.echo(f"folionaut: {message}", err=True)
    sys.exit(code)


def environment_help(reads: Sequence[str]) -> str:
    names = ["FOLIONAUT_CONFIG"] + [var for name in reads for var in SPECS_BY_NAME[name].env]
    return "Environment variables read: " + ", ".join(names) + "."


def settings_options(reads: Sequence[str]) -> Callable[[F], F]:
    """--config, --data-dir and --log-level, and the environment variables the command reads in its help."""

    def decorate(command: F) -> F:
        command.__doc__ = (command.__doc__ or "").rstrip() + "\n\n    " + environment_help(reads) + "\n"
        for option in reversed((
            click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                         help="TOML settings file [default: $FOLIONAUT_CONFIG, else ./config.toml if present]. "
                              "Precedence: flag > environment > file > default."),
            click.option("--data-dir", default=None, type=click.Path(file_okay=False),
                         help="Directory of the SQLite file and generated admin key [default: ./data, "
                              "or FOLIONAUT_DATA_DIR]."),
            click.option("--log-level", default=None, type=click.Choice(LOG_LEVELS, case_sensitive=False),
                         help="Lowest log level on stderr [default: info, or LOG_LEVEL]."),
        )):
            command = option(command)
        return command

    return decorate


def load(config_path: str | None, **overrides: Any) -> tuple[Settings, dict[str, Source]]:
    try:
        return load_settings_with_sources(config_path, overrides=overrides, working_dir=Path.cwd())
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def settings_from(config_path: str | None, **overrides: Any) -> Settings:
    settings, _ = load(config_path, **overrides)
    configure_logging(settings.log_level, log_format=settings.log_format)
    return settings


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine; configuration and runtime errors become one line and an exit code."""
    try:
        return asyncio.run(make())
    except (ConfigError, NewerSchemaError) as exc:
        fail(str(exc), EXIT_USAGE)
    except AppError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(str(exc))


def progress_to_tty(label: str) -> Callable[[str], None] | None:
    """Progress lines on stderr for a human watching; cron and pipes stay quiet."""
    if not sys.stderr.isatty():
        return None
    return lambda message: click.echo(f"{label}: {message}", err=True)
