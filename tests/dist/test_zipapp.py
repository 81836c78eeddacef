"""folionaut.pyz as a self-hoster gets it: one file, only CPython, an empty directory.

The zipapp runs under ``python -S``: no site-packages of the machine's Python on
sys.path, so anything missing from the bundle fails here rather than on a user's
machine.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from folionaut import __version__
from folionaut.cli import cli
from tests.dist.conftest import bare_python, clean_env
from tests.helpers.served import ServerProcess

pytestmark = pytest.mark.slow

COMMAND_TIMEOUT_SECONDS = 120


def run_pyz(zipapp: Path, shiv_root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bare_python(), "-S", str(zipapp), *args], cwd=cwd, env=clean_env(SHIV_ROOT=str(shiv_root)),
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL,
    )


def test_runs_through_its_shebang_and_extracts_once(zipapp: Path, tmp_path: Path) -> None:
    root = tmp_path / "shiv"
    for _ in range(2):
        done = subprocess.run(
            [str(zipapp), "--version"], cwd=tmp_path, env=clean_env(SHIV_ROOT=str(root)),
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"folionaut {__version__}"
    # The second start reused the first one's extraction: one build dir, no leftovers.
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    extracted = [p.name for p in root.iterdir() if not p.name.startswith(".")]
    assert len(extracted) == 1 and extracted[0].startswith("folionaut_"), extracted
    assert extracted[0].endswith(f"_{tag}"), extracted
    assert (root / extracted[0] / "site-packages" / "folionaut" / "cli" / "__init__.py").is_file()


def test_bundles_the_runtime_closure_and_no_test_tools(zipapp: Path) -> None:
    names = zipfile.ZipFile(zipapp).namelist()
    for tag in ("cp311", "cp312", "cp313"):
        # What an interpreter gets: the shared files plus its own native ones.
        roots = ("site-packages/", f"site-packages-{tag}/")
        top = {name.split("/")[1] for name in names if name.startswith(roots) and name.count("/") > 1}
        for needed in ("folionaut", "aiohttp", "aiosqlite", "libsql_client", "orjson", "redis", "uvloop",
                       "prometheus_client", "cachetools", "click", "multidict", "yarl", "frozenlist",
                       "propcache", "phonenumbers", "backports"):
            assert needed in top, f"{needed} missing for {tag}"
        native = [n for n in names if n.startswith(f"site-packages-{tag}/orjson/") and n.endswith(".so")]
        assert native and f"cpython-{tag[2:]}-x86_64-linux-gnu" in native[0], native
    # Pure-Python packages once; redis needs async-timeout below 3.11.3, so the 3.11 set has it.
    assert any(n.startswith("site-packages/redis/") for n in names)
    assert not any(n.startswith(("site-packages-cp312/redis/", "site-packages-cp313/redis/")) for n in names)
    assert any(n.startswith("site-packages-cp311/async_timeout/") for n in names)
    assert not any(n.startswith("site-packages-cp312/async_timeout/") for n in names)
    top = {name.split("/")[1] for name in names if name.startswith("site-packages") and name.count("/") > 1}
    for unwanted in ("pytest", "_pytest", "ruff", "shiv", "pip", "setuptools", "sphinx", "babel"):
        assert unwanted not in top, f"{unwanted} must not be in the zipapp"
    folder = "site-packages/folionaut/storage/migrations/"
    migrations = [n for n in names if n.startswith(folder) and n.endswith(".sql")]
    assert migrations, "migrations SQL missing from the zipapp"


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_every_command_has_help(zipapp: Path, shiv_root: Path, command: str) -> None:
    # Iterates the CLI's own command list, so commands added later are covered too.
    done = run_pyz(zipapp, shiv_root, command, "--help")
    assert done.returncode == 0, done.stderr
    assert f"Usage: folionaut {command}" in done.stdout


def test_usage_error_exits_2(zipapp: Path, shiv_root: Path) -> None:
    done = run_pyz(zipapp, shiv_root, "no-such-command")
    assert done.returncode == 2


def test_migrations_are_found_inside_the_zipapp(zipapp: Path, shiv_root: Path, tmp_path: Path) -> None:
    status = run_pyz(zipapp, shiv_root, "migrate", "--status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "pending  0001_initial" in status.stdout
    applied = run_pyz(zipapp, shiv_root, "migrate", cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "applied 0001_initial" in applied.stdout
    again = run_pyz(zipapp, shiv_root, "migrate", cwd=tmp_path)
    assert "nothing to apply" in again.stdout


def test_serve_in_an_empty_directory(zipapp: Path, shiv_root: Path, tmp_path: Path) -> None:
    home = tmp_path / "site"
    home.mkdir()
    command = [bare_python(), "-S", str(zipapp), "serve", "--port", "0"]
    with ServerProcess(command, cwd=home, env=clean_env(SHIV_ROOT=str(shiv_root))) as server:
        server.wait_live(timeout=60)
        key = (home / "data" / "admin_key").read_text().strip()
        admin = {"X-Admin-Key": key}

        status, _, body = server.request(
            "POST", "/api/v1/admin/content", headers=admin,
            body={"type": "project", "status": "published", "data": {"title": "Zipapp Ünïcode"}},
        )
        assert status == 201, body
        assert body["data"]["slug"] == "zipapp-unicode"
        status, _, body = server.request("GET", "/api/v1/content/project/zipapp-unicode")
        assert status == 200 and body["data"]["data"] == {"title": "Zipapp Ünïcode"}
        status, _, body = server.request("GET", "/api/health/ready")
        assert status == 200 and body["checks"]["database"] == "ok"
        # The admin web app and the API reference travel inside the zipapp.
        for page in ("/admin", "/docs", "/static/admin.js", "/static/folionaut.css", "/static/favicon.svg"):
            status, _, body = server.request("GET", page)
            assert status == 200 and body, page
        assert "Folionaut admin" in server.request("GET", "/admin")[2]

        if "dump" in cli.commands:  # the backup command a cron job runs next to the server
            dumped = run_pyz(zipapp, shiv_root, "dump", "--output", "backup.sql.gz", "--gzip", cwd=home)
            assert dumped.returncode == 0, dumped.stderr
            assert "zipapp-unicode" in gzip.decompress((home / "backup.sql.gz").read_bytes()).decode()

        assert server.stop() == 0, server.stderr
    assert "stopped" in server.stderr


def test_the_file_stays_under_24_mib(zipapp: Path) -> None:
    # Three interpreters' native wheels (~7.4 MB each) and the shared files, in one download.
    assert zipapp.stat().st_size <= 24 * 1024 * 1024
