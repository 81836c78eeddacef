"""`folionaut token`: scoped API tokens from the command line."""

from __future__ import annotations

import sys

import click

from folionaut.access.models import TOKEN_SCOPES as TOKEN_SCOPE_CHOICES
from folionaut.cli.common import EXIT_USAGE, STORAGE_SETTINGS, fail, run_async, settings_from, settings_options
from folionaut.core.errors import ValidationError

__all__ = ["token"]

_TOKEN_OPTIONS = {"name": "--name", "scope": "--scope", "expiresIn": "--expires"}


@click.group()
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
@settings_options(STORAGE_SETTINGS)
def token_create(name: str, scope: str, expires: str | None, config_path: str | None, data_dir: str | None,
                 log_level: str | None) -> None:
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
    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    created, secret = run_async(lambda: create_token(settings, request))
    click.echo(secret)
    if sys.stderr.isatty():
        expiry = f"expires {created.expires_at}" if created.expires_at else "never expires"
        click.echo(f"token {created.name!r} created (scope {created.scope}, {expiry}); "
                   "it is shown only this once", err=True)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array instead of a table.")
@settings_options(STORAGE_SETTINGS)
def token_list(as_json: bool, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """List tokens: name, scope, status, created, last used, expiry (never the tokens themselves)."""
    from folionaut.core import jsonutil
    from folionaut.operations.tokens import list_tokens

    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
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
@settings_options(STORAGE_SETTINGS)
def token_revoke(name: str, config_path: str | None, data_dir: str | None, log_level: str | None) -> None:
    """Revoke the token NAME: every instance refuses it from its next request on."""
    from folionaut.operations.tokens import revoke_token

    settings = settings_from(config_path, data_dir=data_dir, log_level=log_level)
    run_async(lambda: revoke_token(settings, name))
    click.echo(f"revoked token {name!r}")
