"""The `folionaut` command: a thin shell over the library, one module per group of commands.

``serving`` (serve, mcp), ``database`` (migrate, check, config), ``backups``
(dump, restore), ``tokens`` (token …); ``common`` holds what they share.
Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
"""

from __future__ import annotations

import sys

import click

from folionaut import __version__
from folionaut.cli.backups import dump, restore
from folionaut.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fail
from folionaut.cli.database import check, config, migrate
from folionaut.cli.serving import mcp, serve
from folionaut.cli.tokens import token

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="folionaut", message="%(prog)s %(version)s")
def cli() -> None:
    """Folionaut: a self-hosted portfolio content API.

    \b
    Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
    Settings: flag > environment > config file > default; the file is --config,
    else $FOLIONAUT_CONFIG, else ./config.toml. `folionaut config` shows them.
    """


for _command in (serve, migrate, mcp, dump, restore, check, config, token):
    cli.add_command(_command)


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
