"""folionaut.pyz on the Pythons self-hosters have: every CPython on this machine, a service user's start.

The machine keeps the Debian system CPython 3.11.2 (what systemd units and cron pick, and
the one that needs async-timeout) and pyenv's 3.11, 3.12 and 3.13, plus older ones the file
must refuse in one line. Each supported one serves, checks (with Redis, so redis-py and what
it needs below 3.11.3 are imported) and dumps from the same file.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dist.conftest import clean_env, cpythons, is_supported
from tests.helpers.served import ServerProcess

pytestmark = pytest.mark.slow

COMMAND_TIMEOUT_SECONDS = 180
SUPPORTED_HERE = [(version, path) for version, path in cpythons() if is_supported(version)]
REFUSED_HERE = [(version, path) for version, path in cpythons() if not is_supported(version)]
NOBODY = 65534


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)


def test_this_machine_has_the_interpreters_the_issue_names() -> None:
    # Not a skip in disguise: the per-interpreter tests below are only as good as this list.
    minors = {tuple(int(x) for x in version.split(".")[:2]) for version, _ in SUPPORTED_HERE}
    assert (sys.version_info.major, sys.version_info.minor) in minors
    if not os.environ.get("CI"):
        return
    assert minors == {(3, 11), (3, 12), (3, 13)}, SUPPORTED_HERE
    assert any(version == "3.11.2" for version, _ in SUPPORTED_HERE), "Debian's system python3 (3.11.2)"


@pytest.mark.parametrize(("version", "python"), SUPPORTED_HERE, ids=[v for v, _ in SUPPORTED_HERE])
def test_serves_checks_and_dumps_under_each_cpython(
    zipapp: Path, shiv_root: Path, tmp_path: Path, redis_url: str, version: str, python: str,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    env = clean_env(SHIV_ROOT=str(shiv_root))
    # -S: nothing from this interpreter's own site-packages; everything comes from the file.
    with ServerProcess([python, "-S", str(zipapp), "serve", "--port", "0"], cwd=site, env=env) as server:
        server.wait_live(timeout=120)
        status, _, body = server.request("GET", "/api/health/live")
        assert status == 200, body

        checked = run([python, "-S", str(zipapp), "check"], dict(env, REDIS_URL=redis_url), site)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Traceback" not in checked.stderr
        assert any(line.startswith("ok") and "redis" in line for line in checked.stdout.splitlines()), checked.stdout

        dumped = run([python, "-S", str(zipapp), "dump", "--output", "backup.sql"], env, site)
        assert dumped.returncode == 0, dumped.stderr
        assert "CREATE TABLE" in (site / "backup.sql").read_text(encoding="utf-8")

        assert server.stop() == 0, server.stderr
    assert "Traceback" not in server.stderr
    tag = "cp" + "".join(version.split(".")[:2])
    assert (shiv_root / next(p.name for p in shiv_root.glob(f"folionaut_*_{tag}")) / "site-packages").is_dir()


@pytest.mark.parametrize(("version", "python"), REFUSED_HERE, ids=[v for v, _ in REFUSED_HERE])
def test_other_interpreters_are_refused_in_one_line(zipapp: Path, tmp_path: Path, version: str, python: str) -> None:
    done = run([python, str(zipapp), "--version"], clean_env(SHIV_ROOT=str(tmp_path)), tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "runs on CPython 3.11, 3.12, 3.13" in done.stderr and version.rsplit(".", 1)[0] in done.stderr
    assert not list(tmp_path.glob("folionaut_*")), "nothing is extracted for an interpreter it refuses"


# --- a service user: no writable home, no SHIV_ROOT ------------------------------------------

@pytest.fixture
def service_box() -> Iterator[Path]:
    """A world-readable directory outside root's home holding a copy of the file (a service user's view)."""
    box = Path(tempfile.mkdtemp(prefix="folionaut-service-", dir="/tmp"))
    box.chmod(0o755)
    try:
        yield box
    finally:
        shutil.rmtree(box, ignore_errors=True)


def as_service_user(box: Path, zipapp: Path) -> tuple[list[str], Path]:
    """(command prefix running as an unprivileged user, its unwritable home)."""
    pyz = box / "folionaut.pyz"
    shutil.copy2(zipapp, pyz)
    pyz.chmod(0o755)
    home = box / "home"
    home.mkdir()
    if os.geteuid() != 0:
        home.chmod(0o555)  # we are that user already
        return [sys.executable], home
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")
    if shutil.which("setpriv") is None or python is None:
        pytest.fail("running as root needs setpriv (util-linux) and a python3 outside /root to drop privileges")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python], home


def owned_by_service_user(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return path


def service_env(home: Path, **extra: str) -> dict[str, str]:
    env = clean_env(HOME=str(home), **extra)
    env.pop("XDG_CACHE_HOME", None)
    env.update(extra)
    return env


def test_serves_without_a_writable_home_from_a_cache_beside_the_data(zipapp: Path, service_box: Path) -> None:
    prefix, home = as_service_user(service_box, zipapp)
    site = owned_by_service_user(service_box / "site")
    command = [*prefix, str(service_box / "folionaut.pyz"), "serve", "--port", "0"]
    with ServerProcess(command, cwd=site, env=service_env(home)) as server:
        server.wait_live(timeout=120)
        assert server.stop() == 0, server.stderr
    assert "Traceback" not in server.stderr
    # Beside the data directory (./data): site/.shiv; nothing in the unwritable home.
    assert list((site / ".shiv").glob("folionaut_*/site-packages")), list(site.iterdir())
    assert not (home / ".shiv").exists()


def test_xdg_cache_home_is_used_before_the_data_directory(zipapp: Path, service_box: Path) -> None:
    prefix, home = as_service_user(service_box, zipapp)
    site = owned_by_service_user(service_box / "site")
    cache = owned_by_service_user(service_box / "cache")
    done = run([*prefix, str(service_box / "folionaut.pyz"), "--version"],
               service_env(home, XDG_CACHE_HOME=str(cache)), site)
    assert done.returncode == 0, done.stderr
    assert list((cache / "shiv").glob("folionaut_*/site-packages"))
    assert not (site / ".shiv").exists()


def test_nowhere_writable_stops_with_one_line_saying_set_shiv_root(zipapp: Path, service_box: Path) -> None:
    prefix, home = as_service_user(service_box, zipapp)
    locked = service_box / "locked"  # neither home nor the working directory is the user's
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o555)
    pyz = str(service_box / "folionaut.pyz")
    done = run([*prefix, pyz, "serve", "--port", "0"], service_env(home), locked)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "set SHIV_ROOT" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

    explicit = run([*prefix, pyz, "--version"], service_env(home, SHIV_ROOT=str(home / "cache")), locked)
    assert explicit.returncode == 2
    assert explicit.stderr.count("\n") == 1 and f"SHIV_ROOT={home / 'cache'} is not a writable" in explicit.stderr


# --- extractions of earlier builds ------------------------------------------------------------

def fake_earlier_extraction(root: Path, build_id: str, tag: str = "cp311") -> Path:
    """What an earlier build leaves in SHIV_ROOT: its extraction and its in-use lock file."""
    name = f"folionaut_{build_id}_{tag}"
    (root / name / "site-packages" / "folionaut").mkdir(parents=True)
    (root / name / "site-packages" / "folionaut" / "__init__.py").write_text("")
    (root / f".{name}.inuse").touch()
    (root / f".{name}_lock").touch()
    return root / name


def test_a_start_removes_earlier_builds_extractions_but_never_one_in_use(zipapp: Path, tmp_path: Path) -> None:
    root = tmp_path / "shiv"
    root.mkdir()
    unused = fake_earlier_extraction(root, "0" * 16)
    running = fake_earlier_extraction(root, "1" * 16)
    # A process of that earlier build still runs: it holds the shared in-use lock, as the bootstrap does.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
         "fcntl.flock(fd, fcntl.LOCK_SH); print('held', flush=True); sys.stdin.read()",
         str(root / f".{running.name}.inuse")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        done = run([sys.executable, str(zipapp), "--version"], clean_env(SHIV_ROOT=str(root)), tmp_path)
        assert done.returncode == 0, done.stderr
    finally:
        holder.communicate(input="", timeout=30)
    assert not unused.exists() and not (root / f".{unused.name}.inuse").exists()
    assert (running / "site-packages" / "folionaut" / "__init__.py").exists(), "an extraction in use was deleted"
    ours = [p for p in root.glob("folionaut_*") if p not in (unused, running)]
    assert len(ours) == 1 and (ours[0] / "site-packages" / "folionaut" / "cli" / "__init__.py").is_file()
    # The one in use is removed by the first start after its process has gone.
    again = run([sys.executable, str(zipapp), "--version"], clean_env(SHIV_ROOT=str(root)), tmp_path)
    assert again.returncode == 0, again.stderr
    assert not running.exists()
    assert [p.name for p in root.glob("folionaut_*")] == [ours[0].name]


def test_a_running_process_holds_its_own_extraction(zipapp: Path, tmp_path: Path) -> None:
    root = tmp_path / "shiv"
    with ServerProcess([sys.executable, str(zipapp), "serve", "--port", "0"], cwd=tmp_path,
                       env=clean_env(SHIV_ROOT=str(root))) as server:
        server.wait_live(timeout=120)
        [lock] = root.glob(".folionaut_*.inuse")
        fd = os.open(lock, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):  # what a cleaner tries: refused while serve runs
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        assert server.stop() == 0, server.stderr
