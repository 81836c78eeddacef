"""Prepare the virtualenvs of the real clients the tests drive (run before pytest; .ci/run does).

Some clients cannot share the test virtualenv: the official ``mcp`` SDK 1.x and
2.x are the same distribution, and 1.2.x pins older dependencies. Each one gets
a virtualenv of its own under ``.venv-clients/<name>`` (git-ignored), made once
and kept while its spec is unchanged. Tests never install anything: they skip,
naming this script, when a client's virtualenv is missing.

Usage::

    python3 scripts/prepare_test_clients.py              # every client in CLIENTS
    python3 scripts/prepare_test_clients.py mcp-1.2      # only these names
    python3 scripts/prepare_test_clients.py 'name=spec'  # an ad-hoc client (pip requirements)

Exit codes: 0 all prepared, 1 an install failed, 2 usage error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["CLIENTS", "CLIENTS_DIR", "client_python", "prepare"]

REPO = Path(__file__).resolve().parents[1]
#: Where the client virtualenvs live (FOLIONAUT_TEST_CLIENTS_DIR moves them).
CLIENTS_DIR = Path(os.environ.get("FOLIONAUT_TEST_CLIENTS_DIR", REPO / ".venv-clients"))
#: name -> pip requirements (space-separated). mcp 1.2.x speaks only protocol 2024-11-05 (HTTP+SSE
#: transport) and imports a pydantic internal that pydantic 2.11 removed; the newest 1.x speaks the
#: handshake revisions over Streamable HTTP. 2.x is in the test extra.
CLIENTS: dict[str, str] = {
    "mcp-1.2": "mcp==1.2.1 pydantic<2.11",
    "mcp-1": "mcp>=1.30,<2",
}
_SPEC_FILE = "folionaut-client-spec.txt"


def client_python(name: str, clients_dir: Path = CLIENTS_DIR) -> Path | None:
    """The interpreter of a prepared client virtualenv, or None when it is not (fully) prepared."""
    root = clients_dir / name
    python = root / "bin" / "python"
    return python if python.exists() and (root / _SPEC_FILE).exists() else None


def prepare(name: str, requirement: str, clients_dir: Path = CLIENTS_DIR) -> None:
    """Make (or keep) the virtualenv ``clients_dir/name`` with ``requirement`` installed."""
    root = clients_dir / name
    spec_file = root / _SPEC_FILE
    if client_python(name, clients_dir) and spec_file.read_text().strip() == requirement:
        print(f"{name}: ready ({requirement})", file=sys.stderr)
        return
    if root.exists():
        shutil.rmtree(root)
    print(f"{name}: installing {requirement}", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    subprocess.run([str(root / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *requirement.split()], check=True, timeout=900)
    # Written last: a half-made virtualenv (interrupted install) is never taken for a prepared one.
    spec_file.write_text(requirement + "\n")


def main(argv: list[str]) -> int:
    wanted: dict[str, str] = {}
    for arg in argv or list(CLIENTS):
        name, _, spec = arg.partition("=")
        if spec:
            wanted[name] = spec
        elif name in CLIENTS:
            wanted[name] = CLIENTS[name]
        else:
            print(f"prepare_test_clients: unknown client {name!r} (known: {', '.join(CLIENTS)}; "
                  "or give name=requirement)", file=sys.stderr)
            return 2
    clients_dir = CLIENTS_DIR
    clients_dir.mkdir(parents=True, exist_ok=True)
    for name, requirement in wanted.items():
        try:
            prepare(name, requirement, clients_dir)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            print(f"prepare_test_clients: {name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
