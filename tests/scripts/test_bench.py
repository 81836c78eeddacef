"""scripts/bench.py runs end to end on a tiny setting (--quick) so it cannot rot.

Only the presence and shape of the figures is checked, never their values:
speed is recorded in docs/benchmarks.md, not asserted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRK_FIGURES = {"rps", "p50_ms", "p99_ms", "cpu_us", "requests", "errors", "non_2xx_3xx"}
SCENARIOS = {"bundle", "bundle_304", "item", "list", "live"}


def check_reads(reads: dict) -> None:
    assert set(reads) == SCENARIOS
    for entry in reads.values():
        assert WRK_FIGURES <= set(entry["service"])
        assert WRK_FIGURES <= set(entry["ceiling"])
        assert isinstance(entry["ratio"], float)
        assert entry["service"]["requests"] > 0


@pytest.mark.slow
def test_quick_benchmark_reports_every_figure(redis_url: str) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: the benchmark needs it (apt-get install -y wrk; .ci/run installs it)")
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--quick", "--json", "--redis", redis_url],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)

    assert report["portfolio"]["published"] == 40
    assert report["portfolio"]["types"] == 8
    check_reads(report["reads"])
    assert set(report["rss_mb"]) == {"idle", "load"}
    assert {"first", "last", "rps_ratio_last_to_first", "rss_growth_mb"} <= set(report["leak"])
    for kind in ("sequential", "concurrent"):
        writes = report["writes"][kind]
        assert {"updates", "per_second", "p50_ms", "p99_ms", "non_2xx", "sqlite_busy", "statuses"} <= set(writes)
        assert sum(writes["statuses"].values()) == writes["updates"]
    assert report["writes"]["concurrent"]["concurrency"] == 50
    assert {"on", "off", "ratio_on_to_off"} <= set(report["limiter_memory"])
    check_reads(report["redis"]["reads"])
    assert {"on", "off", "ratio_on_to_off"} <= set(report["redis"]["limiter"])
    assert len(report["cold_start_ms"]["runs"]) >= 1 and report["cold_start_ms"]["median"] > 0
    assert {"bundle_ratio", "item_ratio", "bundle_304_ratio", "p99_ms", "rss_load_mb"} <= set(report["targets"])


def test_usage_errors_exit_2() -> None:
    done = subprocess.run([sys.executable, "scripts/bench.py", "--rounds", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "--rounds" in done.stderr


@pytest.mark.slow
def test_quick_scale_out_benchmark_reports_every_figure(redis_url: str) -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: the benchmark needs it (apt-get install -y wrk; .ci/run installs it)")
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--scale-out", "--quick", "--json", "--redis", redis_url],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    for transport in ("http", "ws"):
        contention = report[f"contention_{transport}"]
        assert contention["writers"]["puts"] > 0 and "errors_5xx" in contention["writers"]
        assert len(contention["versioned"]["per_round"]) == contention["versioned"]["rounds"]
    for side in ("visibility_instances", "visibility_workers"):
        assert {"iterations", "stale_first_reads", "p50_ms", "p99_ms"} <= set(report[side])
    for name in ("workers_1", "ceiling_1", "workers_2", "ceiling_2"):
        assert WRK_FIGURES <= set(report["workers"][name]) and report["workers"][name]["requests"] > 0
    assert isinstance(report["workers"]["ratio_2_workers_to_2_processes"], float)
    assert {"on", "off", "ratio_on_to_off"} <= set(report["workers_limiter"])
    assert {"http_5xx", "ws_one_200_rest_409", "instances_visible_p99_ms", "workers_2_ratio",
            "cpu_per_request_2_to_1"} <= set(report["targets"])
    assert all({"value", "target", "met"} <= set(check) for check in report["targets"].values())


@pytest.mark.slow
def test_scale_mode_reports_every_figure_with_its_target() -> None:
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: the benchmark needs it (apt-get install -y wrk; .ci/run installs it)")
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--items", "60", "--crawl-items", "120", "--quick", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["items"] == 60
    assert set(report["reads"]) == {"bundle", "bundle_gzip", "bundle_304", "item", "list"}
    for entry in report["reads"].values():
        assert WRK_FIGURES <= set(entry["service"]) and isinstance(entry["ratio"], float)
        assert entry["service"]["requests"] > 0 and entry["service"]["non_2xx_3xx"] == 0
    assert report["bundle_bytes"]["gzip"] < report["bundle_bytes"]["identity"]
    for key in ("after_write", "after_write_gzip"):
        assert {"one_rebuild_ms", "concurrent_median_ms", "concurrent_cached_median_ms",
                "median_per_rebuild"} <= set(report[key])
    assert report["admin_listing"]["items"] == 60
    assert {"default_bounds", "bound_below_the_crawl", "ratio"} <= set(report["crawl"])
    assert {"ours_ms", "bare_aiohttp_ms", "ratio", "cpu_ratio"} <= set(report["cold_start"])
    assert {"gzip_bundle_ratio", "after_write_median_per_rebuild", "write_p99_ratio", "crawl_ratio",
            "admin_listing_s", "rss_mb", "cold_start_ratio"} <= set(report["targets"])
    assert all({"value", "target", "met", "applies"} <= set(check) for check in report["targets"].values())


def test_scale_mode_usage_errors_exit_2() -> None:
    done = subprocess.run([sys.executable, "scripts/bench.py", "--items", "3"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 2
    assert "--items" in done.stderr
