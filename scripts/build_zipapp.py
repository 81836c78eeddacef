#!/usr/bin/env python3
"""Build the one-file distribution, ``dist/folionaut.pyz``: one shiv zipapp for CPython 3.11–3.13.

    python scripts/build_zipapp.py                          # linux-x86_64, from requirements.lock
    python scripts/build_zipapp.py --platform linux-aarch64 # the same for ARM servers
    python scripts/build_zipapp.py --lock                   # re-resolve requirements.lock (needs python3.11–3.13)
    python scripts/build_zipapp.py --output X               # build somewhere else (tests, benchmarks)
    python scripts/build_zipapp.py --fetch-only             # only download the wheels (.ci/run, before pytest)
    python scripts/build_zipapp.py --offline                # build from the wheelhouse alone, no index

Settings come from ``shiv.toml``. For every target interpreter (cp311, cp312, cp313) the
build installs exactly that target's pins of the lock, as wheels for the target platform
(``pip install --only-binary=:all: --platform … --python-version … --no-deps``: nothing is
resolved at build time, nothing compiled, any Python can build for any target), checks that
the installed set is precisely the runtime closure of folionaut for that target, and fails
naming the package when a wheel is missing. Files identical in every target go into the
zipapp once (``site-packages/``), the rest per target (``site-packages-cp3XX/``, the native
extensions and their metadata). Our bootstrap (scripts/zipapp_bootstrap.py) picks the set at
start and hands over to shiv's runtime. Every wheel is first downloaded into a wheelhouse
(build/wheelhouse); the installs read only from there, so ``--offline`` reaches no index.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

try:  # the build runs in the dev venv; the --lock helper runs in a bare venv that only has pip
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # pragma: no cover
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef]

__all__ = ["BuildError", "Target", "ZipappConfig", "load_config", "main", "pins_for_target", "read_lock"]

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "folionaut"
#: What a wheel of folionaut is built from (copied to a temp dir so concurrent builds never share build/).
SOURCE_ITEMS = ("pyproject.toml", "README.md", "folionaut")
BOOTSTRAP = Path(__file__).resolve().parent / "zipapp_bootstrap.py"
#: Patch releases a target's markers are evaluated at: a pin is in a target's closure when any
#: release of that minor version needs it (async-timeout: python_full_version < "3.11.3").
PATCH_RELEASES = range(0, 40)
#: Where the wheels of every target are downloaded to, and built from (git-ignored).
DEFAULT_WHEELHOUSE = ROOT / "build" / "wheelhouse"
#: shiv's reproducible timestamp (SOURCE_DATE_EPOCH overrides it, as for shiv).
DEFAULT_EPOCH = 315532800


class BuildError(Exception):
    """A build problem worth one clear line (exit 1)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One interpreter the zipapp carries wheels for: ``cp312`` is CPython 3.12."""

    tag: str

    @property
    def version(self) -> tuple[int, int]:
        return 3, int(self.tag[3:])

    @property
    def dotted(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    name: str
    machines: tuple[str, ...]  # platform.machine() values it runs on
    wheel_platforms: tuple[str, ...]  # pip --platform values, most wanted first
    glibc: tuple[int, int]  # the oldest glibc those wheels run on


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
    targets: tuple[Target, ...]
    platforms: dict[str, PlatformSpec]
    default_platform: str


def load_config(path: Path = ROOT / "shiv.toml") -> ZipappConfig:
    with open(path, "rb") as handle:
        table = tomllib.load(handle)["zipapp"]
    extras = tuple(table.get("extras", []))
    if "test" in extras:
        raise BuildError(f"{path}: extras must not include 'test' (test tools stay out of the zipapp)")
    platforms = {
        name: PlatformSpec(name, tuple(spec["machines"]), tuple(spec["wheel_platforms"]),
                           tuple(int(x) for x in spec["glibc"].split(".")))  # type: ignore[arg-type]
        for name, spec in table["platforms"].items()
    }
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
        targets=tuple(Target(t) for t in table["targets"]),
        platforms=platforms,
        default_platform=table["default_platform"],
    )


# --- markers, evaluated for a whole target (every patch release, every machine) ---------------

def target_environments(target: Target, machines: tuple[str, ...], extras: tuple[str, ...] = ("",)) -> list[dict]:
    envs = []
    for patch in PATCH_RELEASES:
        for machine in machines:
            for extra in extras or ("",):
                envs.append({
                    "python_version": target.dotted, "python_full_version": f"{target.dotted}.{patch}",
                    "implementation_version": f"{target.dotted}.{patch}", "implementation_name": "cpython",
                    "platform_python_implementation": "CPython", "sys_platform": "linux", "os_name": "posix",
                    "platform_system": "Linux", "platform_machine": machine, "extra": extra,
                })
    return envs


def applies(marker: Marker | None, envs: list[dict]) -> bool:
    return marker is None or any(marker.evaluate(env) for env in envs)


# --- the dependency closure, read from installed metadata ------------------------------------

@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    marker: str  # environment marker the lock line carries ("" when always needed)


def runtime_closure(paths: list[str] | None, extras: tuple[str, ...], exclude: frozenset[str],
                    envs: list[dict]) -> tuple[dict[str, Pin], list[str]]:
    """Walk folionaut's requirements through the distributions found on ``paths``.

    A requirement is followed when its marker holds in any of ``envs`` (a target's range).
    Returns the pins found and the requirements that are needed but not installed. Raises
    BuildError when an installed version is outside a declared range.
    """
    search = {} if paths is None else {"path": paths}
    dists = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(**search)}
    found: dict[str, Pin] = {}
    missing: list[str] = []
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
            missing.append(name)
            continue
        extra_envs = [dict(env, extra=e) for env in envs for e in wanted_extras]
        for line in dist.requires or []:
            req = Requirement(line)
            dep = canonicalize_name(req.name)
            if dep in exclude:
                continue
            marker_text = str(req.marker) if req.marker is not None else ""
            if "extra" in marker_text:
                if not any(req.marker.evaluate(env) for env in extra_envs):  # type: ignore[union-attr]
                    continue
                marker_text = ""
            elif not applies(req.marker, envs):
                continue
            installed = dists.get(dep)
            if installed is None:
                missing.append(str(Requirement(f"{req.name}{req.specifier}")))
                continue
            if req.specifier and not req.specifier.contains(installed.version, prereleases=True):
                raise BuildError(f"{dep}=={installed.version} does not satisfy {name}'s requirement {line}")
            if not marker_text:
                unconditional.add(dep)
            if dep not in found:
                found[dep] = Pin(installed.metadata["Name"], installed.version, marker_text)
            queue.append((dep, frozenset(req.extras)))
    # A package reached by any unconditional path needs no marker in the lock.
    pins = {n: Pin(p.name, p.version, "" if n in unconditional else p.marker) for n, p in found.items()}
    return pins, missing


# --- the lock: pip requirement lines whose markers say which targets each pin is for ----------

@dataclass(frozen=True, slots=True)
class LockLine:
    name: str  # canonical
    version: str
    marker: Marker | None


def read_lock(path: Path) -> list[LockLine]:
    if not path.exists():
        raise BuildError(f"{path.name} is missing: run `python scripts/build_zipapp.py --lock`")
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        versions = [s.version for s in req.specifier if s.operator == "=="]
        if len(versions) != 1:
            raise BuildError(f"{path.name}: '{line}' is not pinned with ==")
        lines.append(LockLine(canonicalize_name(req.name), versions[0], req.marker))
    return lines


def pins_for_target(lock: list[LockLine], target: Target, machines: tuple[str, ...]) -> dict[str, str]:
    """``{name: version}``: the lock's closure for one target (any patch release of it)."""
    envs = target_environments(target, machines)
    pins: dict[str, str] = {}
    for line in lock:
        if applies(line.marker, envs):
            if line.name in pins and pins[line.name] != line.version:
                raise BuildError(f"the lock pins {line.name} twice for {target.tag}")
            pins[line.name] = line.version
    return pins


def merge_closures(closures: dict[Target, dict[str, Pin]]) -> list[str]:
    """One line per pin when every target agrees on it, else one line per target."""
    names = sorted({n for pins in closures.values() for n in pins})
    lines = []
    for name in names:
        having = {t: pins[name] for t, pins in closures.items() if name in pins}
        variants = {(p.name, p.version, p.marker) for p in having.values()}
        pin = next(iter(having.values()))
        lacking = [t for t in closures if t not in having]
        marker = Marker(pin.marker) if pin.marker else None
        if len(variants) == 1 and not any(applies(marker, target_environments(t, ("x86_64",))) for t in lacking):
            lines.append(f"{pin.name}=={pin.version}" + (f" ; {pin.marker}" if pin.marker else ""))
            continue
        for target, each in having.items():
            condition = f'python_version == "{target.dotted}"' + (f" and ({each.marker})" if each.marker else "")
            lines.append(f"{each.name}=={each.version} ; {condition}")
    return lines


# --- building ---------------------------------------------------------------------------------

def run(command: list[str], quiet: bool, what: str = "") -> None:
    shown = " ".join(command)
    if not quiet:
        print(f"+ {shown}", file=sys.stderr)
    done = subprocess.run(command, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-12:] if quiet else []
        raise BuildError("\n".join([what or f"command failed ({done.returncode}): {shown}", *detail]))


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


def forget_install_paths(site: Path) -> None:
    """Drop PEP 610 direct_url.json (it names this build's temp dir) so equal inputs give equal bytes."""
    for record_file in site.glob("*.dist-info/RECORD"):
        direct_url = record_file.parent / "direct_url.json"
        if direct_url.exists():
            direct_url.unlink()
            lines = record_file.read_text(encoding="utf-8").splitlines(keepends=True)
            record_file.write_text("".join(x for x in lines if "/direct_url.json," not in x), encoding="utf-8")
    for installer in site.glob("*.dist-info/INSTALLER"):
        installer.write_text("pip\n", encoding="utf-8")


def verify_site_packages(site: Path, config: ZipappConfig, target: Target, spec: PlatformSpec,
                         wanted: dict[str, str]) -> None:
    envs = target_environments(target, spec.machines)
    closure, missing = runtime_closure([str(site)], config.extras, config.exclude, envs)
    if missing:
        raise BuildError(f"{target.tag}: needed but not in {config.lock.name}: {', '.join(missing)} "
                         "(run `python scripts/build_zipapp.py --lock`)")
    installed = {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions(path=[str(site)])}
    installed.discard(canonicalize_name(PROJECT))
    stray = sorted(installed - set(closure))
    if stray:
        raise BuildError(f"{config.lock.name} pins packages nothing needs at run time on {target.tag}: "
                         f"{', '.join(stray)} (run `python scripts/build_zipapp.py --lock`)")
    banned = sorted(installed & config.forbidden)
    if banned:
        raise BuildError(f"refusing to bundle test/build tools: {', '.join(banned)}")
    for name, pin in closure.items():
        if wanted.get(name) != pin.version:
            raise BuildError(f"{target.tag}: {name} {pin.version} is installed but the lock says {wanted.get(name)}")
    if not list((site / PROJECT / "storage" / "migrations").glob("*.sql")):
        raise BuildError("the migrations SQL files are not in the built package (package-data)")


def target_requirements(work: Path, target: Target, spec: PlatformSpec, lock: list[LockLine]) -> tuple[Path, dict]:
    wanted = pins_for_target(lock, target, spec.machines)
    requirements = work / f"requirements-{spec.name}-{target.tag}.txt"
    # Markers were evaluated above for the target (pip would evaluate them for the running Python).
    requirements.write_text("".join(f"{n}=={v}\n" for n, v in sorted(wanted.items())), encoding="utf-8")
    return requirements, wanted


def wheel_selection(target: Target, spec: PlatformSpec) -> list[str]:
    return ["--no-deps", "--only-binary=:all:", "--implementation", "cp", "--python-version", target.dotted,
            "--abi", target.tag, *[arg for p in spec.wheel_platforms for arg in ("--platform", p)]]


def fetch(work: Path, wheelhouse: Path, config: ZipappConfig, spec: PlatformSpec, lock: list[LockLine],
          quiet: bool) -> None:
    """Download every target's wheels (and the build backend) into the wheelhouse: the one step online."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "-d", str(wheelhouse)]
    if quiet:
        pip.append("--quiet")
    for target in config.targets:
        requirements, _ = target_requirements(work, target, spec, lock)
        run([*pip, *wheel_selection(target, spec), "-r", str(requirements)], quiet,
            f"no wheel for every pin of {config.lock.name} for {target.tag} on {spec.name} "
            f"({', '.join(spec.wheel_platforms)}): refusing to build a file that would break at run time")
    with open(ROOT / "pyproject.toml", "rb") as handle:
        backend = tomllib.load(handle)["build-system"]["requires"]
    run([*pip, "--only-binary=:all:", *backend], quiet)


def install_target(work: Path, wheelhouse: Path, wheel: Path, config: ZipappConfig, target: Target,
                   spec: PlatformSpec, lock: list[LockLine], quiet: bool) -> Path:
    """Exactly the target's pins, as wheels for the target from the wheelhouse, plus folionaut itself."""
    site = work / f"site-{target.tag}"
    requirements, wanted = target_requirements(work, target, spec, lock)
    pip = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-compile",
           "--no-index", "--find-links", str(wheelhouse), "--target", str(site), *wheel_selection(target, spec)]
    if quiet:
        pip.append("--quiet")
    run([*pip, "-r", str(requirements)], quiet,
        f"no wheel for every pin of {config.lock.name} for {target.tag} on {spec.name} in {wheelhouse} "
        "(build without --offline to fetch them): refusing to build a file that would break at run time")
    run([*pip, str(wheel)], quiet)
    shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts point at the build venv's python
    forget_install_paths(site)
    verify_site_packages(site, config, target, spec, wanted)
    return site


def files_of(site: Path) -> dict[str, Path]:
    return {p.relative_to(site).as_posix(): p for p in sorted(site.rglob("*"))
            if p.is_file() and p.suffix != ".pyc" and "__pycache__" not in p.parts}


def main_py(targets: tuple[Target, ...], spec: PlatformSpec) -> str:
    """The zipapp's __main__: refuses other interpreters in one line (parses on any Python)."""
    supported = ", ".join(t.dotted for t in targets)
    versions = tuple(t.version for t in targets)
    example = targets[-1].dotted
    return f'''# -*- coding: utf-8 -*-
# folionaut.pyz for CPython {supported} on {spec.name}: refuse any other interpreter in one line.
import sys
SUPPORTED = {versions!r}
if getattr(sys, "implementation", None) is None or sys.implementation.name != "cpython" \\
        or tuple(sys.version_info[:2]) not in SUPPORTED:
    sys.stderr.write("folionaut: folionaut.pyz runs on CPython {supported}; this is %s %d.%d "
                     "(run it as: python{example} folionaut.pyz ...)\\n"
                     % (getattr(getattr(sys, "implementation", None), "name", "python"),
                        sys.version_info[0], sys.version_info[1]))
    sys.exit(2)
import _folionaut_bootstrap
_folionaut_bootstrap.bootstrap({spec.machines!r}, {spec.name!r}, {spec.glibc!r})
'''


def write_archive(output: Path, sites: dict[Target, Path], config: ZipappConfig, spec: PlatformSpec) -> int:
    """Pack: shared files once, the rest per target; returns the number of shared files."""
    from shiv import __version__ as shiv_version
    from shiv import bootstrap as shiv_runtime
    from shiv.bootstrap.environment import Environment
    from shiv.builder import iter_package_files, write_file_prefix, write_to_zipapp

    listings = {t: files_of(site) for t, site in sites.items()}
    first = next(iter(listings.values()))
    shared = [rel for rel, path in first.items()
              if all(rel in other and other[rel].read_bytes() == path.read_bytes() for other in listings.values())]
    entries: list[tuple[str, Path]] = [(f"site-packages/{rel}", first[rel]) for rel in shared]
    shared_set = set(shared)
    for target, listing in listings.items():
        entries += [(f"site-packages-{target.tag}/{rel}", p) for rel, p in listing.items() if rel not in shared_set]
    entries.sort()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH if config.reproducible else time.time()))
    date_time = time.gmtime(epoch)[0:6]
    compression = zipfile.ZIP_DEFLATED if config.compressed else zipfile.ZIP_STORED
    contents = hashlib.sha256()
    for arcname, path in entries:
        contents.update(arcname.encode())
        contents.update(path.read_bytes())
    env = Environment(
        built_at=datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        shiv_version=shiv_version, build_id=contents.hexdigest(), entry_point=config.entry_point,
        compile_pyc=config.compile_pyc, reproducible=config.reproducible,
    )
    partial = output.with_name(output.name + ".part")
    with partial.open("wb") as handle:
        write_file_prefix(handle, config.python)
        with zipfile.ZipFile(handle, "w", compression=compression) as archive:
            for arcname, path in entries:
                write_to_zipapp(archive, arcname, path.read_bytes(), date_time, compression, stat=path.stat())
            for path, name in sorted(iter_package_files(shiv_runtime), key=lambda item: item[1]):
                if name.endswith(".py"):
                    write_to_zipapp(archive, f"_bootstrap/{name}", path.read_bytes(), date_time, compression)
            write_to_zipapp(archive, "_folionaut_bootstrap.py", BOOTSTRAP.read_bytes(), date_time, compression)
            write_to_zipapp(archive, "environment.json", env.to_json().encode(), date_time, compression)
            write_to_zipapp(archive, "__main__.py", main_py(config.targets, spec).encode(), date_time, compression)
    partial.chmod(0o755)
    os.replace(partial, output)  # atomic: a half-written file never takes the output's name
    return len(shared)


def build(config: ZipappConfig, output: Path, platform_name: str, wheelhouse: Path = DEFAULT_WHEELHOUSE,
          offline: bool = False, fetch_only: bool = False, quiet: bool = False) -> Path:
    spec = config.platforms.get(platform_name)
    if spec is None:
        raise BuildError(f"unknown platform {platform_name!r} (shiv.toml knows: {', '.join(config.platforms)})")
    lock = read_lock(config.lock)
    output = output.resolve()
    with tempfile.TemporaryDirectory(prefix="folionaut-zipapp-") as tmp:
        work = Path(tmp)
        if not offline:
            fetch(work, wheelhouse, config, spec, lock, quiet)
        if fetch_only:
            return wheelhouse
        try:
            import shiv  # noqa: F401
        except ImportError:
            raise BuildError("shiv is not installed for this Python: run it as .venv/bin/python "
                             "scripts/build_zipapp.py after the README's test set-up (the test extra brings "
                             "shiv)") from None
        if not wheelhouse.is_dir():
            raise BuildError(f"no wheelhouse at {wheelhouse}: run `python scripts/build_zipapp.py --fetch-only` "
                             "(.ci/run does) or build without --offline")
        wheels = work / "wheel"
        # The build backend comes from the wheelhouse too: an offline build reaches no index.
        run([sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--quiet",
             "--no-index", "--find-links", str(wheelhouse), "--wheel-dir", str(wheels), str(stage_source(work))],
            quiet, f"building the folionaut wheel failed (is setuptools in {wheelhouse}?)")
        [wheel] = wheels.glob("*.whl")  # installed --no-deps: its extras are the lock's business
        sites = {t: install_target(work, wheelhouse, wheel, config, t, spec, lock, quiet) for t in config.targets}
        output.parent.mkdir(parents=True, exist_ok=True)
        write_archive(output, sites, config, spec)
    return output


# --- locking ----------------------------------------------------------------------------------

def find_interpreter(target: Target) -> str:
    """A local CPython of the target's minor version (PATH, then pyenv), to resolve with."""
    candidates = [shutil.which(f"python{target.dotted}")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob(f"{target.dotted}.*/bin/python{target.dotted}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys, venv; print(sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == str(target.version):
            return candidate
    raise BuildError(f"--lock resolves each target with its own interpreter: no python{target.dotted} found "
                     "(on PATH or under pyenv)")


def resolve_target(work: Path, source: Path, config: ZipappConfig, target: Target, quiet: bool) -> dict[str, Pin]:
    venv = work / f"venv-{target.tag}"
    run([find_interpreter(target), "-m", "venv", str(venv)], quiet)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    project = f"{source}[{','.join(config.extras)}]" if config.extras else str(source)
    run([*pip, project], quiet)
    for _ in range(10):  # requirements pip skipped for this patch release, but another one needs
        helper = [python, str(Path(__file__).resolve()), "--print-closure", target.tag]
        done = subprocess.run(helper, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BuildError(f"resolving the closure for {target.tag} failed: {done.stderr.strip()}")
        lines = done.stdout.strip().splitlines()
        missing = [line.removeprefix("MISSING ") for line in lines if line.startswith("MISSING ")]
        if not missing:
            return {canonicalize_name(Requirement(x.split(";")[0]).name): _pin(x) for x in lines}
        run([*pip, *missing], quiet)
    raise BuildError(f"the closure for {target.tag} did not settle")


def _pin(line: str) -> Pin:
    requirement, _, marker = line.partition(" ; ")
    name, _, version = requirement.partition("==")
    return Pin(name, version, marker)


def relock(config: ZipappConfig, quiet: bool = False) -> Path:
    """Resolve folionaut's runtime closure for every target, each in a clean venv, and write the lock."""
    with tempfile.TemporaryDirectory(prefix="folionaut-lock-") as tmp:
        work = Path(tmp)
        source = stage_source(work)
        closures = {t: resolve_target(work, source, config, t, quiet) for t in config.targets}
    excluded = ", ".join(sorted(config.exclude)) or "nothing"
    header = [
        "# The exact runtime dependency closure of folionaut for every target of folionaut.pyz",
        f"# (CPython {', '.join(t.dotted for t in config.targets)}; {', '.join(config.platforms)}): one pinned",
        "# closure per target, the environment markers kept, so `pip install -r` is right on each.",
        "# Generated by `python scripts/build_zipapp.py --lock` (per target: a clean venv of that CPython,",
        "# `pip install .`, then folionaut's requirements walked with markers true for any patch release).",
        f"# Extras bundled: {', '.join(config.extras) or 'none'}. Left out (declared, never imported): {excluded}.",
        "# Do not edit by hand; test tools are not here on purpose.",
    ]
    config.lock.write_text("\n".join([*header, *merge_closures(closures)]) + "\n", encoding="utf-8")
    return config.lock


def print_closure(config: ZipappConfig, tag: str) -> None:
    """Runs inside a target's clean venv (made by --lock)."""
    machines = tuple(m for spec in config.platforms.values() for m in spec.machines)
    pins, missing = runtime_closure(None, config.extras, config.exclude, target_environments(Target(tag), machines))
    for requirement in missing:
        print(f"MISSING {requirement}")
    for _, pin in sorted(pins.items()):
        print(f"{pin.name}=={pin.version}" + (f" ; {pin.marker}" if pin.marker else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build folionaut.pyz (settings in shiv.toml).")
    parser.add_argument("--output", type=Path, default=None, help="where to write the .pyz [shiv.toml output]")
    parser.add_argument("--platform", default=None, help="linux-x86_64 or linux-aarch64 [shiv.toml default_platform]")
    parser.add_argument("--wheelhouse", type=Path, default=DEFAULT_WHEELHOUSE,
                        help="where the wheels are downloaded to and built from [build/wheelhouse]")
    parser.add_argument("--offline", action="store_true",
                        help="reach no package index: every wheel must already be in the wheelhouse")
    parser.add_argument("--fetch-only", action="store_true", help="only download the wheels into the wheelhouse")
    parser.add_argument("--lock", action="store_true", help="re-resolve requirements.lock instead of building")
    parser.add_argument("--quiet", action="store_true", help="only print the result (or the error)")
    parser.add_argument("--print-closure", metavar="TAG", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        config = load_config()
        if args.print_closure:
            print_closure(config, args.print_closure)
            return 0
        if args.lock:
            print(f"wrote {relock(config, args.quiet)}")
            return 0
        platform_name = args.platform or config.default_platform
        output = build(config, args.output or config.output, platform_name, args.wheelhouse.resolve(),
                       args.offline, args.fetch_only, args.quiet)
        if args.fetch_only:
            print(f"fetched the wheels of every target on {platform_name} into {output}")
            return 0
    except BuildError as exc:
        print(f"build_zipapp: {exc}", file=sys.stderr)
        return 1
    size = output.stat().st_size
    print(f"built {output} ({size / 1_048_576:.1f} MiB) for CPython "
          f"{', '.join(t.dotted for t in config.targets)} on {platform_name} (built on {platform.machine()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
