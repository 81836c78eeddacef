#!/usr/bin/env python3
"""Startup figures for docs/benchmarks.md ("Startup and distribution").

    .venv/bin/python scripts/startup_bench.py [--runs 5] [--pyz dist/folionaut.pyz] [--python PATH ...]

Measures the time from process start to the first 200 on /api/health/live for:
  - ``python folionaut.py serve`` (the checkout, dependencies from the venv);
  - under every CPython 3.11–3.13 on the machine (Debian's python3, pyenv's; or each --python):
    the zipapp's first start (a fresh SHIV_ROOT: its files are extracted and compiled) and
    its later starts (SHIV_ROOT already holds the extraction);
and the size of the .pyz. Every run uses a fresh, empty working directory, so
each start also creates the SQLite file, applies the migrations and generates
the admin key, as a first run on a new machine does. The zipapp runs under the
bare CPython (not the venv), as on a machine with only Python. Without --pyz
it builds one first with scripts/build_zipapp.py. Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from folionaut.settings import SETTINGS  # noqa: E402
from tests.dist.conftest import cpythons, is_supported  # noqa: E402
from tests.helpers.served import ServerProcess  # noqa: E402


def clean_env(**extra: str) -> dict[str, str]:
    names = {var for spec in SETTINGS for var in spec.env} | {"FOLIONAUT_CONFIG", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("SHIV_")}
    env.update(extra)
    return env


def time_to_live(command: list[str], env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(prefix="folionaut-bench-") as home:
        with ServerProcess(command, cwd=Path(home), env=env) as server:
            seconds = server.wait_live(timeout=120)
            code = server.stop()
            if code != 0:
                raise RuntimeError(f"server exited {code} on SIGTERM:\n{server.stderr}")
            return seconds


def measure(runs: int, variants: list[Callable[[], float]]) -> list[list[float]]:
    """Run the variants in turn, round after round, so a load change on the machine hits all alike."""
    for once in variants:
        once()  # warm-up: OS page cache, and the warm SHIV_ROOT's extraction
    samples: list[list[float]] = [[] for _ in variants]
    for _ in range(runs):
        for once, into in zip(variants, samples, strict=True):
            into.append(once())
    return samples


def summary(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"{statistics.median(ms):.0f} | {min(ms):.0f} | {max(ms):.0f}"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pyz", type=Path, default=None, help="an existing folionaut.pyz (default: build one)")
    parser.add_argument("--python", action="append", default=None,
                        help="an interpreter to run the zipapp with (repeatable) [every CPython 3.11-3.13 here]")
    args = parser.parse_args()
    pythons = args.python or [path for version, path in cpythons() if is_supported(version)]
    versions = {path: subprocess.run([path, "-c", "import platform; print(platform.python_version())"],
                                     capture_output=True, text=True, check=True).stdout.strip() for path in pythons}

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="folionaut-bench-dist-") as tmp:
        pyz = args.pyz
        if pyz is None:
            pyz = Path(tmp) / "folionaut.pyz"
            started = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "scripts" / "build_zipapp.py"), "--quiet",
                            "--output", str(pyz)], check=True)
            build_seconds = time.perf_counter() - started
        else:
            build_seconds = None
        pyz = pyz.resolve()

        def source() -> float:
            return time_to_live([sys.executable, str(ROOT / "folionaut.py"), "serve", "--port", "0"], clean_env())

        def cold(python: str) -> Callable[[], float]:
            def once() -> float:
                with tempfile.TemporaryDirectory(prefix="folionaut-shiv-") as root:
                    return time_to_live([python, str(pyz), "serve", "--port", "0"], clean_env(SHIV_ROOT=root))
            return once

        def warm(python: str, root: Path) -> Callable[[], float]:
            def once() -> float:
                return time_to_live([python, str(pyz), "serve", "--port", "0"], clean_env(SHIV_ROOT=str(root)))
            return once

        warm_roots = {python: Path(tmp) / f"shiv-root-{i}" for i, python in enumerate(pythons)}
        variants: list[Callable[[], float]] = [source]
        for python in pythons:
            variants += [cold(python), warm(python, warm_roots[python])]
        samples = measure(args.runs, variants)
        extracted = {python: sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
                     for python, root in warm_roots.items()}
        size = pyz.stat().st_size

    print(f"- Date: {time.strftime('%Y-%m-%d')}")
    print(f"- Machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.machine()}; "
          f"load average before the runs: {load_before}")
    print(f"- Command: `{Path(sys.executable).name} scripts/startup_bench.py --runs {args.runs}`")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("- PYTHONDONTWRITEBYTECODE is set: no new bytecode is written (the checkout uses the __pycache__ "
              "it has; the zipapp compiles its own once, at extraction)")
    print()
    print(f"Time from process start to the first 200 on `/api/health/live` ({args.runs} rounds after one warm-up, "
          "every start taking turns; each in an empty directory):")
    print()
    print("| start | median ms | min ms | max ms |")
    print("|---|---|---|---|")
    print(f"| `python folionaut.py serve` (checkout + venv, CPython {platform.python_version()}) "
          f"| {summary(samples[0])} |")
    for i, python in enumerate(pythons):
        first, later = samples[1 + 2 * i], samples[2 + 2 * i]
        label = f"CPython {versions[python]} (`{python}`)"
        print(f"| {label}: `folionaut.pyz serve`, first start (fresh SHIV_ROOT: extraction) | {summary(first)} |")
        print(f"| {label}: `folionaut.pyz serve`, later starts (SHIV_ROOT reused) | {summary(later)} |")
    print()
    print(f"- `folionaut.pyz`: {size / 1_048_576:.1f} MiB ({size:,} bytes)")
    for python in pythons:
        print(f"- extracted for CPython {versions[python]}: {extracted[python] / 1_048_576:.1f} MiB")
    if build_seconds is not None:
        print(f"- Build (`scripts/build_zipapp.py`, wheels fetched): {build_seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
