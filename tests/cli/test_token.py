"""`folionaut token create|list|revoke` as real processes, against a real server on the same database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import clean_env, run_cli


def test_token_lifecycle_on_the_command_line_seen_by_a_running_server(
        workdir: Path, start_serve: Callable[..., Any]) -> None:
    server = start_serve()
    created = run_cli(["token", "create", "--name", "laptop", "--scope", "write", "--expires", "90d"], workdir)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n" and secret.startswith("folionaut_")  # the token and nothing else

    status, _, _ = server.get("/api/v1/admin/content", {"Authorization": f"Bearer {secret}"})
    assert status == 200
    listed = run_cli(["token", "list"], workdir)
    assert listed.returncode == 0
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "SCOPE", "STATUS", "CREATED", "LAST", "USED", "EXPIRES"]
    assert row.split()[:3] == ["laptop", "write", "active"] and "never" not in row  # used, and it expires
    as_json = json.loads(run_cli(["token", "list", "--json"], workdir).stdout)
    assert [(t["name"], t["scope"]) for t in as_json] == [("laptop", "write")] and secret not in listed.stdout

    revoked = run_cli(["token", "revoke", "laptop"], workdir)
    assert revoked.returncode == 0 and revoked.stdout == "revoked token 'laptop'\n"
    status, headers, body = server.get("/api/v1/admin/content", {"Authorization": f"Bearer {secret}"})
    assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer realm=")
    assert body["error"]["code"] == "UNAUTHORIZED"
    assert run_cli(["token", "list"], workdir).stdout == "no tokens\n"
    assert secret not in server.stderr


def test_token_misuse_is_one_line_and_the_documented_exit_code(workdir: Path) -> None:
    env = clean_env(workdir, LOG_LEVEL="warning")
    cases = [
        (["token", "create", "--scope", "read"], 2, "folionaut: Missing option '--name'"),
        (["token", "create", "--name", "x", "--scope", "admin"], 2, "folionaut: Invalid value for '--scope'"),
        (["token", "create", "--name", "two words", "--scope", "read"], 2, "folionaut: --name: Must be"),
        (["token", "create", "--name", "x", "--scope", "read", "--expires", "soon"], 2, "folionaut: --expires:"),
        (["token", "revoke", "nobody"], 1, "folionaut: No token named 'nobody'"),
        (["token", "frobnicate"], 2, "folionaut: No such command 'frobnicate'"),
    ]
    for args, code, starts in cases:
        result = run_cli(args, workdir, env)
        lines = result.stderr.strip().splitlines()
        assert (result.returncode, len(lines)) == (code, 1), (args, result.stderr)
        assert lines[0].startswith(starts) and result.stdout == "", (args, result.stderr)
    first = run_cli(["token", "create", "--name", "once", "--scope", "metrics"], workdir, env)
    assert first.returncode == 0
    again = run_cli(["token", "create", "--name", "once", "--scope", "read"], workdir, env)
    assert (again.returncode, again.stdout, again.stderr) == (1, "", "folionaut: A token named 'once' already exists\n")
