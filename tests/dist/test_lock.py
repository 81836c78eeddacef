"""requirements.lock is true for every interpreter folionaut.pyz runs on, and agrees with pyproject.toml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.dist.conftest import ROOT, WHEELHOUSE, require_wheelhouse

_spec = importlib.util.spec_from_file_location("build_zipapp", ROOT / "scripts" / "build_zipapp.py")
assert _spec is not None and _spec.loader is not None
build_zipapp = importlib.util.module_from_spec(_spec)
sys.modules["build_zipapp"] = build_zipapp
_spec.loader.exec_module(build_zipapp)

CONFIG = build_zipapp.load_config()
LOCK = build_zipapp.read_lock(CONFIG.lock)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def runtime_requirements() -> list[Requirement]:
    """folionaut's own runtime requirements: the defaults plus the extras the zipapp bundles."""
    lines = list(PYPROJECT["dependencies"])
    for extra in CONFIG.extras:
        lines += PYPROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def test_targets_are_cpython_3_11_to_3_13_on_both_platforms() -> None:
    assert [t.tag for t in CONFIG.targets] == ["cp311", "cp312", "cp313"]
    assert set(CONFIG.platforms) == {"linux-x86_64", "linux-aarch64"}


def test_every_target_pins_every_requirement_of_pyproject_within_its_range() -> None:
    for spec in CONFIG.platforms.values():
        for target in CONFIG.targets:
            pins = build_zipapp.pins_for_target(LOCK, target, spec.machines)
            envs = build_zipapp.target_environments(target, spec.machines)
            for requirement in runtime_requirements():
                if requirement.marker is not None and not any(requirement.marker.evaluate(e) for e in envs):
                    continue
                name = canonicalize_name(requirement.name)
                assert name in pins, f"{name} is not pinned for {target.tag} on {spec.name}"
                assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name], target)


def test_markers_are_kept_so_every_patch_release_gets_what_it_needs() -> None:
    # redis needs async-timeout below 3.11.3 (Debian 12's python3 is 3.11.2): pinned for cp311 only.
    lines = {line.name: line for line in LOCK}
    marker = lines["async-timeout"].marker
    assert marker is not None
    assert marker.evaluate({"python_full_version": "3.11.2", "python_version": "3.11"})
    assert not marker.evaluate({"python_full_version": "3.11.7", "python_version": "3.11"})
    machines = ("x86_64",)
    cp311, cp312, cp313 = (build_zipapp.pins_for_target(LOCK, t, machines) for t in CONFIG.targets)
    assert "async-timeout" in cp311 and "async-timeout" not in cp312 and "async-timeout" not in cp313
    assert lines["backports-zstd"].marker == Marker('python_version < "3.14"')


def test_test_tools_and_the_docs_theme_stay_out() -> None:
    names = {line.name for line in LOCK}
    assert not names & CONFIG.forbidden
    assert not names & {"sphinx", "sphinx-press-theme", "babel"}


def build_offline(config_text: str, wheelhouse: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "shiv.toml"
    config.write_text(config_text, encoding="utf-8")
    code = ("import pathlib, sys, build_zipapp as b\n"
            f"c = b.load_config(pathlib.Path({str(config)!r}))\n"
            "try:\n"
            f"    b.build(c, pathlib.Path({str(tmp_path / 'x.pyz')!r}), 'linux-x86_64', "
            f"pathlib.Path({str(wheelhouse)!r}), offline=True, quiet=True)\n"
            "except b.BuildError as exc:\n"
            "    sys.exit(f'build_zipapp: {exc}')\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT / "scripts", capture_output=True, text=True,
                          timeout=600)


def test_a_lock_without_a_needed_pin_fails_the_build_loudly(tmp_path: Path) -> None:
    require_wheelhouse()
    # A lock that lost a pin (here: multidict, which aiohttp needs) must stop the build, naming it.
    broken = tmp_path / "requirements.lock"
    text = CONFIG.lock.read_text(encoding="utf-8")
    broken.write_text("\n".join(x for x in text.splitlines() if not x.startswith("multidict==")) + "\n")
    shiv_toml = (ROOT / "shiv.toml").read_text().replace('lock = "requirements.lock"', f'lock = "{broken}"')
    done = build_offline(shiv_toml, WHEELHOUSE, tmp_path)
    assert done.returncode != 0
    assert "cp311: needed but not in" in done.stderr and "multidict" in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "x.pyz").exists()


def test_a_wheel_missing_for_one_target_fails_the_build_loudly(tmp_path: Path) -> None:
    require_wheelhouse()
    # The wheelhouse lacks orjson for CPython 3.11 only: no file that would break on 3.11 at run time.
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    for wheel in WHEELHOUSE.glob("*.whl"):
        if not (wheel.name.startswith("orjson-") and "-cp311-" in wheel.name):
            (wheelhouse / wheel.name).symlink_to(wheel)
    done = build_offline((ROOT / "shiv.toml").read_text(), wheelhouse, tmp_path)
    assert done.returncode != 0
    assert "no wheel for every pin" in done.stderr and "cp311" in done.stderr, done.stderr[-2000:]
    assert "orjson" in done.stderr
    assert not (tmp_path / "x.pyz").exists()
