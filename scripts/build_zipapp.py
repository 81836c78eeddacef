#!/usr/bin/env python3
"""Build the one-file distribution, ``dist/folionaut.pyz``, with shiv.

    python scripts/build_zipapp.py               # build from requirements.lock (the one build command)
    python scripts/build_zipapp.py --lock        # re-resolve requirements.lock in a clean virtualenv
    python scripts/build_zipapp.py --output X    # build somewhere else (tests, benchmarks)

Settings come from ``shiv.toml``. The build installs exactly the pins of the lock
with ``--no-deps`` (so nothing is resolved at build time), then folionaut itself,
checks that the installed set is precisely the runtime closure of folionaut (no
missing pin, no stray package, no test tool, versions inside every declared
range), and packs it. pip's cache and find-links make a rebuild work offline
once the wheels have been fetched. Run it with the CPython the zipapp is for: the
bundled native wheels (orjson, aiohttp, uvloop…) are that interpreter's.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

try:  # the build runs in the dev venv; the --lock helper runs in a bare venv that only has pip
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "folionaut"
#: What a wheel of folionaut is built from (copied to a temp dir so concurrent builds never share build/).
SOURCE_ITEMS = ("pyproject.toml", "README.md", "folionaut")


class BuildError(Exception):
    """A build problem worth one clear line (exit 1)."""


@dataclass(frozen=True, slots=True)
class ZipappConfig:
    entry_point: str
    python: str
    output: Path
    compressed: bool
    reproducible: bool
    compile_pyc: bool
    lock: Path
    extras: tuple[str, ...]
    exclude: frozenset[str]
    forbidden: frozenset[str]


def load_config(path: Path = ROOT / "shiv.toml") -> ZipappConfig:
    with open(path, "rb") as handle:
        table = tomllib.load(handle)["zipapp"]
    extras = tuple(table.get("extras", []))
    if "test" in extras:
        raise BuildError(f"{path}: extras must not include 'test' (test tools stay out of the zipapp)")
    return ZipappConfig(
        entry_point=table["entry_point"],
        python=table.get("python", "/usr/bin/env python3"),
        output=ROOT / table.get("output", "dist/folionaut.pyz"),
        compressed=bool(table.get("compressed", True)),
        reproducible=bool(table.get("reproducible", True)),
        compile_pyc=bool(table.get("compile_pyc", True)),
        lock=ROOT / table.get("lock", "requirements.lock"),
        extras=extras,
        exclude=frozenset(canonicalize_name(n) for n in table.get("exclude", [])),
        forbidden=frozenset(canonicalize_name(n) for n in table.get("forbidden", [])),
    )


# --- the dependency closure, read from installed metadata ------------------------------------

@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    marker: str  # environment marker the lock line carries ("" when always needed)


def runtime_closure(
    paths: list[str] | None, extras: tuple[str, ...], exclude: frozenset[str]
) -> dict[str, Pin]:
    """Walk folionaut's requirements through the distributions found on ``paths``.

    Markers are evaluated for this interpreter. Raises BuildError for a requirement
    that is missing or whose installed version is outside the declared range.
    """
    search = {} if paths is None else {"path": paths}
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(**search)}
    found: dict[str, Pin] = {}
    unconditional: set[str] = set()
    queue: list[tuple[str, frozenset[str]]] = [(canonicalize_name(PROJECT), frozenset(extras))]
    seen: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, wanted_extras = queue.pop()
        if (name, wanted_extras) in seen:
            continue
        seen.add((name, wanted_extras))
        dist = dists.get(name)
        if dist is None:
            raise BuildError(f"{name} is required but not installed")
        for line in dist.requires or []:
            req = Requirement(line)
            dep = canonicalize_name(req.name)
            if dep in exclude:
                continue
            if req.marker is not None:
                envs = [{"extra": e} for e in wanted_extras] or [{"extra": ""}]
                if not any(req.marker.evaluate(env) for env in envs):
                    continue
            installed = dists.get(dep)
            if installed is None:
                raise BuildError(f"{dep} (required by {name}: {line}) is not installed")
            if req.specifier and not req.specifier.contains(installed.version, prereleases=True):
                raise BuildError(f"{dep}=={installed.version} does not satisfy {name}'s requirement {line}")
            marker = str(req.marker) if req.marker is not None and "extra" not in str(req.marker) else ""
            if not marker:
                unconditional.add(dep)
            if dep not in found:
                found[dep] = Pin(installed.metadata["Name"], installed.version, marker)
            queue.append((dep, frozenset(req.extras)))
    # A package reached by any unconditional path needs no marker in the lock.
    return {n: Pin(p.name, p.version, "" if n in unconditional else p.marker) for n, p in found.items()}


def lock_lines(pins: dict[str, Pin]) -> list[str]:
    lines = []
    for _, pin in sorted(pins.items()):
        lines.append(f"{pin.name}=={pin.version}" + (f" ; {pin.marker}" if pin.marker else ""))
    return lines


def read_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the lock's pins."""
    if not path.exists():
        raise BuildError(f"{path.name} is missing: run `python scripts/build_zipapp.py --lock`")
    pins = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(versions) != 1:
            raise BuildError(f"{path.name}: '{line}' is not pinned with ==")
        pins[canonicalize_name(req.name)] = versions[0]
    return pins


# --- building ---------------------------------------------------------------------------------

def run(command: list[str], quiet: bool) -> None:
    shown = " ".join(command)
    if not quiet:
        print(f"+ {shown}", file=sys.stderr)
    done = subprocess.run(command, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-15:] if quiet else []
        raise BuildError("\n".join([f"command failed ({done.returncode}): {shown}", *detail]))


def stage_source(into: Path) -> Path:
    """Copy what the folionaut wheel is built from, so the build never writes into the checkout."""
    source = into / "src"
    source.mkdir()
    for item in SOURCE_ITEMS:
        origin = ROOT / item
        if origin.is_dir():
            shutil.copytree(origin, source / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / item)
    return source


def preamble_text() -> str:
    version = sys.version_info
    return f'''"""Run by shiv inside folionaut.pyz before the CLI starts."""
import sys

# The bundled native extensions were built for this interpreter; any other fails on import.
BUILT_FOR = ({version.major}, {version.minor})
if sys.implementation.name != "cpython" or sys.version_info[:2] != BUILT_FOR:
    sys.stderr.write(
        "folionaut: this folionaut.pyz needs CPython {version.major}.{version.minor} "
        f"(it is running on {{sys.implementation.name}} {{sys.version_info[0]}}.{{sys.version_info[1]}}); "
        "run it as: python{version.major}.{version.minor} folionaut.pyz ...\\n"
    )
    sys.exit(2)
'''


def forget_install_paths(site: Path) -> None:
    """Drop PEP 610 direct_url.json (it names this build's temp dir) so equal inputs give equal bytes."""
    for record_file in site.glob("*.dist-info/RECORD"):
        direct_url = record_file.parent / "direct_url.json"
        if direct_url.exists():
            direct_url.unlink()
            lines = record_file.read_text(encoding="utf-8").splitlines(keepends=True)
            record_file.write_text("".join(x for x in lines if "/direct_url.json," not in x), encoding="utf-8")


def verify_site_packages(site: Path, config: ZipappConfig, locked: dict[str, str]) -> None:
    closure = runtime_closure([str(site)], config.extras, config.exclude)
    installed = {
        canonicalize_name(d.metadata["Name"]) for d in metadata.distributions(path=[str(site)])
    } - {canonicalize_name(PROJECT)}
    stray = sorted(installed - set(closure))
    if stray:
        raise BuildError(f"{config.lock.name} pins packages nothing needs at run time: {', '.join(stray)} "
                         "(run `python scripts/build_zipapp.py --lock`)")
    banned = sorted(installed & config.forbidden)
    if banned:
        raise BuildError(f"refusing to bundle test/build tools: {', '.join(banned)}")
    for name, pin in closure.items():
        if locked.get(name) != pin.version:
            raise BuildError(f"{name} {pin.version} is installed but {config.lock.name} says {locked.get(name)}")
    migrations = list((site / PROJECT / "storage" / "migrations").glob("*.sql"))
    if not migrations:
        raise BuildError("the migrations SQL files are not in the built package (package-data)")


def build(config: ZipappConfig, output: Path, quiet: bool = False) -> Path:
    if importlib.util.find_spec("shiv") is None:
        raise BuildError("shiv is not installed for this Python: run it as .venv/bin/python scripts/build_zipapp.py "
                         "after the README's test set-up (the test extra brings shiv)")
    locked = read_lock(config.lock)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="folionaut-zipapp-") as tmp:
        work = Path(tmp)
        site = work / "site-packages"
        pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
               "--target", str(site), "--no-deps"]
        if quiet:
            pip.append("--quiet")
        # Exactly the lock, nothing resolved: --no-deps, then the closure check below.
        run([*pip, "--no-compile", "-r", str(config.lock)], quiet)
        source = stage_source(work)
        target = f"{source}[{','.join(config.extras)}]" if config.extras else str(source)
        run([*pip, "--no-compile", target], quiet)
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts point at the build venv's python
        forget_install_paths(site)
        verify_site_packages(site, config, locked)
        preamble = work / "folionaut_preamble.py"
        preamble.write_text(preamble_text(), encoding="utf-8")
        shiv = [
            sys.executable, "-m", "shiv",
            "--site-packages", str(site),
            "--entry-point", config.entry_point,
            "--python", config.python,
            "--output-file", str(output),
            "--preamble", str(preamble),
            "--compressed" if config.compressed else "--uncompressed",
        ]
        if config.reproducible:
            shiv.append("--reproducible")
        if config.compile_pyc:
            shiv.append("--compile-pyc")
        run(shiv, quiet)
    output.chmod(0o755)
    return output


def relock(config: ZipappConfig, quiet: bool = False) -> Path:
    """Resolve folionaut's runtime closure in a clean venv and write the lock."""
    with tempfile.TemporaryDirectory(prefix="folionaut-lock-") as tmp:
        work = Path(tmp)
        venv = work / "venv"
        run([sys.executable, "-m", "venv", str(venv)], quiet)
        python = str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
        source = stage_source(work)
        target = f"{source}[{','.join(config.extras)}]" if config.extras else str(source)
        run([python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet", target], quiet)
        helper = [python, str(Path(__file__).resolve()), "--print-closure"]
        done = subprocess.run(helper, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(f"resolving the closure failed: {done.stderr.strip()}")
        pins = done.stdout.strip().splitlines()
    excluded = ", ".join(sorted(config.exclude)) or "nothing"
    header = [
        "# The exact runtime dependency closure of folionaut, bundled into folionaut.pyz.",
        "# Generated by `python scripts/build_zipapp.py --lock` (a clean venv, `pip install .`, then",
        f"# folionaut's requirements walked) on CPython {sys.version_info.major}.{sys.version_info.minor}"
        f" {platform.system().lower()} {platform.machine()}.",
        f"# Extras bundled: {', '.join(config.extras) or 'none'}. Left out (declared, never imported): {excluded}.",
        "# Do not edit by hand; test tools are not here on purpose.",
    ]
    config.lock.write_text("\n".join([*header, *pins]) + "\n", encoding="utf-8")
    return config.lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build folionaut.pyz (settings in shiv.toml).")
    parser.add_argument("--output", type=Path, default=None, help="where to write the .pyz [shiv.toml output]")
    parser.add_argument("--lock", action="store_true", help="re-resolve requirements.lock instead of building")
    parser.add_argument("--quiet", action="store_true", help="only print the result (or the error)")
    parser.add_argument("--print-closure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        config = load_config()
        if args.print_closure:  # runs inside the clean venv made by --lock
            print("\n".join(lock_lines(runtime_closure(None, config.extras, config.exclude))))
            return 0
        if args.lock:
            print(f"wrote {relock(config, args.quiet)}")
            return 0
        output = build(config, args.output or config.output, args.quiet)
    except BuildError as exc:
        print(f"build_zipapp: {exc}", file=sys.stderr)
        return 1
    size = output.stat().st_size
    print(f"built {output} ({size / 1_048_576:.1f} MiB) for CPython {sys.version_info.major}.{sys.version_info.minor}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
