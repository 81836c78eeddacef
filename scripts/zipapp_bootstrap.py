"""Folionaut's start-up inside folionaut.pyz, around shiv's runtime (``_bootstrap``).

scripts/build_zipapp.py copies this file into the zipapp as ``_folionaut_bootstrap.py``;
the generated ``__main__.py`` has already refused any interpreter the bundle has no
wheels for (in one line, exit 2) before it imports this module. Here:

1. the machine is checked (architecture, glibc) — one line and exit 2 when it cannot work;
2. a writable extraction root is chosen: ``SHIV_ROOT`` if set, else ``~/.shiv``, else
   ``$XDG_CACHE_HOME/shiv``, else ``.shiv`` beside the data directory
   (``$FOLIONAUT_DATA_DIR``, default ``./data``) — or one line saying to set ``SHIV_ROOT``;
3. this process marks its extraction as in use (a shared ``flock`` held until it exits),
   and extractions of other builds that no process holds are deleted;
4. the shared pure-Python files (``site-packages/``) and this interpreter's native ones
   (``site-packages-cp3XX/``) are extracted, merged, into
   ``<root>/folionaut_<build id>_cp3XX/site-packages`` once (bytecode compiled then), and
5. shiv's runtime takes over: that directory goes on ``sys.path``, the entry point runs.

Names in the extraction root (all of them this module's, so cleaning never touches others'):
``folionaut_<id>_<tag>/`` an extraction, ``.folionaut_<id>_<tag>.inuse`` its in-use lock,
``.folionaut_<id>_<tag>_lock`` its extraction lock (shiv's FileLock), ``folionaut_<id>_<tag>.tmp``
an extraction under way, ``.trash-…`` one being deleted.
"""

from __future__ import annotations

import compileall
import fcntl
import os
import platform
import shutil
import site
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NoReturn

__all__ = ["bootstrap", "choose_root", "clean_other_builds", "extraction_name"]

#: Characters of the build id in directory names: enough to never collide, short enough to read.
BUILD_ID_CHARS = 16
PREFIX = "folionaut_"
#: Bounded retries for taking the in-use lock while a cleaner replaces the lock file under us.
LOCK_ATTEMPTS = 50

# Kept open for the life of the process: the shared lock that tells cleaners "in use".
_in_use_fd: int | None = None


def stop(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"folionaut: {message}\n")
    sys.exit(code)


def check_machine(machines: tuple[str, ...], platform_name: str, glibc: tuple[int, int]) -> None:
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in machines:
        stop(f"this folionaut.pyz is built for {platform_name}; this machine is {sys.platform} {machine} "
             "(build one for it with scripts/build_zipapp.py --platform)")
    libc, version = platform.libc_ver()
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        found = (0, 0)
    if libc != "glibc" or found < glibc:
        shown = f"{libc or 'not glibc'} {version}".strip()
        stop(f"this folionaut.pyz needs glibc {glibc[0]}.{glibc[1]} or newer (manylinux wheels); "
             f"this system has {shown} (use a Debian/Ubuntu-based system or image)")


def writable(directory: Path) -> str | None:
    """None if files can be created in ``directory`` (made if missing), else why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def choose_root(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """Where extractions go; stops with one line (exit 2) when nowhere is writable."""
    explicit = environ.get("SHIV_ROOT")
    if explicit:
        root = Path(explicit).expanduser()
        problem = writable(root)
        if problem:
            stop(f"SHIV_ROOT={explicit} is not a writable directory ({problem}); "
                 "set SHIV_ROOT to one this user can write")
        return root
    candidates: list[Path] = []
    home = environ.get("HOME")
    if home or "HOME" not in environ:
        candidates.append(Path("~/.shiv").expanduser())
    if environ.get("XDG_CACHE_HOME"):
        candidates.append(Path(environ["XDG_CACHE_HOME"]) / "shiv")
    data_dir = Path(environ.get("FOLIONAUT_DATA_DIR") or "./data")
    candidates.append(data_dir.absolute().parent / ".shiv")
    for candidate in candidates:
        if writable(candidate) is None:
            return candidate
    stop("no writable directory to extract folionaut.pyz into (tried "
         + ", ".join(str(c) for c in candidates) + "): set SHIV_ROOT to a directory this user can write")


def extraction_name(build_id: str, tag: str) -> str:
    return f"{PREFIX}{build_id[:BUILD_ID_CHARS]}_{tag}"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def hold_in_use(root: Path, name: str) -> None:
    """Take a shared lock on the extraction's in-use file for the rest of this process."""
    global _in_use_fd
    lock_path = root / f".{name}.inuse"
    for _ in range(LOCK_ATTEMPTS):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
        # A cleaner may have deleted the file between our open and our lock: then lock the new one.
        if _same_file(fd, lock_path):
            _in_use_fd = fd
            return
        os.close(fd)
    raise OSError(f"could not lock {lock_path}")


def clean_other_builds(root: Path, build_id: str) -> list[str]:
    """Delete extractions of other builds that no running process holds; returns their names.

    Best effort: anything that cannot be removed (another user's files…) is left alone.
    Extractions of this build for other interpreters are kept (they are not stale).
    """
    ours = f"{PREFIX}{build_id[:BUILD_ID_CHARS]}_"
    removed: list[str] = []
    for trash in root.glob(f".trash-{PREFIX}*"):  # a cleaner that died half-way
        shutil.rmtree(trash, ignore_errors=True)
    for lock_path in sorted(root.glob(f".{PREFIX}*.inuse")):
        name = lock_path.name[1:-len(".inuse")]
        if name.startswith(ours):
            continue
        try:
            fd = os.open(lock_path, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # in use (or being extracted) by a running process
            if not _same_file(fd, lock_path):
                continue
            trash = root / f".trash-{name}-{os.getpid()}"
            for victim in (root / name, root / f"{name}.tmp"):
                if victim.exists():
                    os.rename(victim, trash)
                    shutil.rmtree(trash, ignore_errors=True)
            (root / f".{name}_lock").unlink(missing_ok=True)
            lock_path.unlink()
            removed.append(name)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


def extract(archive: zipfile.ZipFile, root: Path, name: str, tag: str, compile_pyc: bool, workers: int,
            force: bool) -> None:
    """Merge site-packages/ and site-packages-<tag>/ into root/name/site-packages, atomically."""
    from _bootstrap.filelock import FileLock  # shiv's runtime, at the root of the zipapp

    target = root / name
    with FileLock(str(root / f".{name}_lock")):
        if (target / "site-packages").is_dir() and not force:
            return  # another start extracted it while we waited
        staging = root / f"{name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        prefixes = ("site-packages/", f"site-packages-{tag}/")
        for info in archive.infolist():
            prefix = next((p for p in prefixes if info.filename.startswith(p)), None)
            if prefix is None or info.is_dir():
                continue
            destination = staging / "site-packages" / info.filename[len(prefix):]
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(destination, "wb") as out:
                shutil.copyfileobj(source, out)
            os.chmod(destination, ((info.external_attr >> 16) & 0o777) or 0o644)
        if compile_pyc:
            compileall.compile_dir(str(staging), quiet=2, workers=workers)
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)


def add_site_packages(site_packages: Path) -> None:
    """shiv's way: addsitedir (honours .pth files), then ahead of any other site-packages."""
    length = len(sys.path)
    index = next((i for i, p in enumerate(sys.path) if Path(p).stem in ("site-packages", "dist-packages")), length)
    site.addsitedir(str(site_packages))
    sys.path[:] = sys.path[:index] + sys.path[length:] + sys.path[index:length]


def bootstrap(machines: tuple[str, ...], platform_name: str, glibc: tuple[int, int]) -> NoReturn:
    from _bootstrap import import_string, run  # shiv's runtime
    from _bootstrap.environment import Environment

    check_machine(machines, platform_name, glibc)
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    with zipfile.ZipFile(sys.argv[0]) as archive:
        env = Environment.from_json(archive.read("environment.json").decode())
        root = choose_root()
        name = extraction_name(env.build_id or "unknown", tag)
        site_packages = root / name / "site-packages"
        try:
            hold_in_use(root, name)
            clean_other_builds(root, env.build_id or "")
            if not site_packages.is_dir() or env.force_extract:
                extract(archive, root, name, tag, env.compile_pyc, env.compile_workers, env.force_extract)
        except OSError as exc:
            stop(f"cannot extract folionaut.pyz into {root}: {exc.strerror or exc}", 1)
    add_site_packages(site_packages)
    if env.interpreter:
        from _bootstrap.interpreter import execute_interpreter

        execute_interpreter()
    if env.entry_point is None:
        stop("this folionaut.pyz has no entry point (a broken build)", 1)
    run(import_string(env.entry_point))
    sys.exit(0)  # run() exits; for the type checker
