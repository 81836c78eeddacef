#!/usr/bin/env python3
"""Benchmark Folionaut's read path against a bare-aiohttp ceiling, plus writes, Redis and cold start.

    python scripts/bench.py                    # full: wrk -t1 -c32 -d10s, 3 rounds, 100k-request leak run
    python scripts/bench.py --quick            # smoke run: 1 s per wrk run, 1 round (what the test runs)
    python scripts/bench.py --json             # one JSON document on stdout instead of the table
    python scripts/bench.py --redis URL        # also with Redis (or set REDIS_URL); use a scratch database:
                                               # the script deletes content:* and ratelimit:* keys there
    python scripts/bench.py --items 1000       # scale mode (scripts/bench_scale.py): N items written into the
                                               # database directly; reads, compression, writes, paging,
                                               # dump/restore, a 12,000-item crawl, cold start (issue 23)
    python scripts/bench.py --scale-out        # libSQL contention, two instances, --workers 2
                                               # (scripts/bench_scaleout.py; with --redis for two instances)

What it does, all on 127.0.0.1 and every load run bounded in time:

1. Seeds a realistic portfolio (40 published items over 8 types, a few drafts and
   archived ones; bundle about 20 KB) through the admin API of ``python
   folionaut.py serve`` started in production mode (explicit ADMIN_API_KEY, rate
   limiting off) on a temp data dir.
2. Starts the ceiling: a bare aiohttp app (uvloop, its own process) serving the
   identical bytes and ETags the service answered, one route per scenario.
3. Drives service and ceiling alternately with wrk for: bundle, bundle with a
   matching If-None-Match (304), type/slug, list by type, health/live. Figures
   are medians over the rounds; RSS (VmRSS) of the service idle and peak under load.
4. The in-process rate limiter on vs off on the bundle.
5. A 100k-request run on the bundle in segments: first vs last segment req/s,
   p99 and RSS (a slowdown or a leak shows there).
6. 1,000 sequential and 1,000 concurrent (50 at a time) admin updates: rate,
   latency, and every non-2xx counted (SQLITE_BUSY must never surface).
7. With Redis: the same reads (L1 hits in front of Redis) and the Redis rate
   limiter on vs off on the bundle.
8. Cold start of ``python folionaut.py serve`` to the first 200 on
   /api/health/live (median of 5).

Exit codes: 0 done (targets missed are reported, not fatal), 1 the benchmark
itself failed, 2 usage error or wrk unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
JSON_TYPE = "application/json; charset=utf-8"

# Targets from issue 10 (reported, never asserted).
TARGET_RATIO = {"bundle": 0.70, "item": 0.70, "bundle_304": 0.85}
TARGET_P99_MS = 5.0
TARGET_RSS_MB = 60.0

WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,' ..
    '"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


class BenchError(Exception):
    """The benchmark itself could not run (not a missed target)."""


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --- wrk -----------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk's path; installs the Debian package when missing and possible, else exits 2."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        log("wrk not found; installing it with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, timeout=300,
                           stdout=subprocess.DEVNULL)
        except (subprocess.SubprocessError, OSError) as exc:
            log(f"installing wrk failed: {exc}")
        found = shutil.which("wrk")
        if found:
            return found
    print("bench: wrk is required: install it (Debian/Ubuntu: sudo apt-get install -y wrk) and run again",
          file=sys.stderr)
    sys.exit(2)


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    errors: int  # socket errors and timeouts
    non_2xx_3xx: int  # status >= 400 as wrk counts them
    cpu_us: float = 0.0  # server CPU time (user + system) per request: steadier than req/s on a busy machine

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


class Wrk:
    def __init__(self, binary: str, threads: int, connections: int, workdir: Path) -> None:
        self.binary = binary
        self.threads = threads
        self.connections = connections
        self.script = workdir / "report.lua"
        self.script.write_text(WRK_SCRIPT, encoding="utf-8")

    def run(self, url: str, seconds: float, headers: dict[str, str] | None = None,
            server_pid: int | None = None) -> WrkResult:
        command = [self.binary, f"-t{self.threads}", f"-c{self.connections}", f"-d{max(1, round(seconds))}s",
                   "--timeout", "5s", "-s", str(self.script)]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"wrk did not finish: {' '.join(command)}") from exc
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH ")), None)
        if done.returncode != 0 or line is None:
            raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        raw = json.loads(line[len("BENCH "):])
        cpu = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
        return WrkResult(
            rps=raw["requests"] / (raw["duration_us"] / 1e6),
            p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
            max_ms=raw["max_us"] / 1000, requests=int(raw["requests"]),
            errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
            non_2xx_3xx=int(raw["status"]),
            cpu_us=cpu / raw["requests"] * 1e6 if raw["requests"] else 0.0,
        )


def median_result(results: list[WrkResult]) -> WrkResult:
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p90_ms=statistics.median(r.p90_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        max_ms=max(r.max_ms for r in results),
        requests=sum(r.requests for r in results),
        errors=sum(r.errors for r in results),
        non_2xx_3xx=sum(r.non_2xx_3xx for r in results),
        cpu_us=statistics.median(r.cpu_us for r in results),
    )


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def http_get(port: int, path: str, headers: dict[str, str] | None = None,
             timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Process:
    """A child process we started, stopped by its own pid."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str = "/api/health/live", timeout: float = 30.0) -> float:
        """Seconds from spawn to the first 200 on ``path``; polls every 2 ms."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                status, _, _ = http_get(self.port, path, timeout=1.0)
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.002)
        raise BenchError(f"{self.name} not ready within {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


class RssSampler:
    """Peak VmRSS of a process while active (sampled every 100 ms in a thread)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


@dataclass
class Bench:
    workdir: Path
    data_dir: Path
    admin_key: str
    processes: list[Process] = field(default_factory=list)

    def service_env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FEATURE_", "CONTENT_RATE_", "RATE_LIMIT_", "TURSO_", "LLM_"))
               and k not in ("REDIS_URL", "FOLIONAUT_CONFIG", "NODE_ENV", "PORT", "HOST", "CORS_ORIGINS")}
        env.update({
            "FOLIONAUT_ENV": "production",
            "ADMIN_API_KEY": self.admin_key,
            "FOLIONAUT_DATA_DIR": str(self.data_dir),
            "FEATURE_RATE_LIMITING": "false",
            "LOG_LEVEL": "warning",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.update(extra)
        return env

    def compile_package(self) -> None:
        """Byte-compile the package before timing starts. The services run with PYTHONDONTWRITEBYTECODE
        (the checkout stays as it was), and a start that compiles every module from source is one nobody
        runs: pip and the zipapp install compiled files. (Uncompiled, a start took ~40 % longer.)"""
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "folionaut")], check=True)

    def start_service(self, name: str, **extra: str) -> Process:
        port = free_port()
        command = [sys.executable, "folionaut.py", "serve", "--host", HOST, "--port", str(port)]
        process = Process(name, command, self.service_env(**extra), port, self.workdir / f"{name}.log")
        self.processes.append(process)
        process.wait_ready()
        return process

    def start_ceiling(self, routes: list[dict[str, str]]) -> Process:
        port = free_port()
        spec = self.workdir / f"ceiling-{port}.json"
        spec.write_text(json.dumps(routes), encoding="utf-8")
        command = [sys.executable, str(Path(__file__).resolve()), "--serve-ceiling", str(port), str(spec)]
        process = Process("ceiling", command, dict(os.environ), port, self.workdir / "ceiling.log")
        self.processes.append(process)
        process.wait_ready(routes[0]["path"])
        return process

    def stop(self, process: Process) -> None:
        process.stop()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.stop(process)


# --- the ceiling: a bare aiohttp app -------------------------------------------------


def serve_ceiling(port: int, spec_path: str, reuse_port: bool = False) -> None:
    """Serve fixed bytes per URL, answering a matching If-None-Match with 304 (uvloop, like serve).

    Routes use the service's templates (``/api/v1/content/{type}/{slug}``), so routing
    costs both the same; the handler only looks the bytes up. With ``reuse_port``, several
    of these share one port (SO_REUSEPORT), as ``serve --workers N`` does.
    """
    from aiohttp import web

    # Keyed by path and the Accept-Encoding sent (None: none), so compressed bytes are served as such.
    responses: dict[tuple[str, str | None], tuple[bytes, str, dict[str, str], dict[str, str]]] = {}
    templates: set[str] = set()
    for route in json.loads(Path(spec_path).read_text(encoding="utf-8")):
        etag = route["etag"]
        full = {"Content-Type": JSON_TYPE, "ETag": etag, "Cache-Control": route["cache_control"]}
        bare = {"ETag": etag, "Cache-Control": route["cache_control"]}
        if route.get("encoding"):
            full.update({"Content-Encoding": route["encoding"], "Vary": "Accept-Encoding"})
            bare["Vary"] = "Accept-Encoding"
        key = (route["path"], route.get("accept_encoding"))
        responses[key] = (base64.b64decode(route["body"]), etag, full, bare)
        templates.add(route["template"])

    async def handler(request: web.Request) -> web.Response:
        path, accepted = request.path_qs, request.headers.get("Accept-Encoding")
        body, etag, full, bare = responses.get((path, accepted)) or responses[(path, None)]
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=bare)
        return web.Response(body=body, headers=full)

    app = web.Application()
    for template in sorted(templates, key=lambda t: "{" in t):  # plain routes first, as the service has them
        app.router.add_get(template, handler)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, HOST, port, reuse_port=reuse_port).start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await runner.cleanup()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


# --- the portfolio ---------------------------------------------------------------------

TYPES = {  # type: published count (40 in all)
    "project": 8, "experience": 6, "skill": 8, "education": 3,
    "testimonial": 5, "post": 5, "talk": 3, "award": 2,
}
WORDS = ("async data platform design latency cache edge stream typed schema tests deploy metrics query "
         "service portfolio render search graph team mentor build review ship scale python rust web api "
         "cloud storage queue secure audit migrate model content frontend mobile").split()


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def make_item(rng: random.Random, kind: str, number: int) -> dict[str, Any]:
    title = f"{kind.title()} {number}: {sentence(rng, 3)[:-1]}"
    data: dict[str, Any] = {"title": title, "summary": sentence(rng, rng.randint(14, 22))}
    if kind == "project":
        data.update(description=sentence(rng, 16), tags=rng.sample(WORDS, 4),
                    url=f"https://example.com/{kind}/{number}",
                    year=2018 + number % 7, featured=number < 3)
    elif kind == "experience":
        data.update(company=f"Company {number}", role="Engineer", start=f"{2015 + number}-01", end=None)
    elif kind == "skill":
        data = {"title": title, "level": rng.randint(1, 5), "years": rng.randint(1, 12)}
    elif kind == "testimonial":
        data.update(author=f"Person {number}", quote=sentence(rng, 14))
    elif kind == "talk":
        data.update(event=f"Conf {number}", date=f"202{number}-05-01")
    return data


def seed_items() -> list[dict[str, Any]]:
    rng = random.Random(10)
    items: list[dict[str, Any]] = []
    for kind, count in TYPES.items():
        for number in range(1, count + 1):
            items.append({"type": kind, "slug": f"{kind}-{number}", "data": make_item(rng, kind, number),
                          "status": "published", "sortOrder": number})
    for number in range(1, 5):
        items.append({"type": "post", "slug": f"draft-{number}", "data": make_item(rng, "post", 90 + number),
                      "status": "draft"})
    for number in range(1, 3):
        items.append({"type": "project", "slug": f"old-{number}", "data": make_item(rng, "project", 90 + number),
                      "status": "archived"})
    return items


def admin_call(port: int, key: str, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body).encode(),
                     headers={"X-Admin-Key": key, "Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        if response.status not in (200, 201):
            raise BenchError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
        return dict(json.loads(payload)["data"])
    finally:
        conn.close()


def seed(port: int, key: str) -> list[str]:
    """Create the portfolio; returns the ids of the published items."""
    ids = []
    for item in seed_items():
        created = admin_call(port, key, "POST", "/api/v1/admin/content", item)
        if created["status"] == "published":
            ids.append(created["id"])
    return ids


# --- scenarios -------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    label: str
    path: str
    template: str  # the service's route
    cache_control: str
    conditional: bool = False  # send the current ETag in If-None-Match


BUNDLE = "/api/v1/content/bundle"
SCENARIOS = [
    Scenario("bundle", "bundle", BUNDLE, BUNDLE, "public, max-age=300"),
    Scenario("bundle_304", "bundle 304", BUNDLE, BUNDLE, "public, max-age=300", conditional=True),
    Scenario("item", "type/slug", "/api/v1/content/project/project-1", "/api/v1/content/{type}/{slug}",
             "public, max-age=300"),
    Scenario("list", "list by type", "/api/v1/content?type=project", "/api/v1/content", "public, max-age=60"),
    Scenario("live", "health/live", "/api/health/live", "/api/health/live", ""),
]


def capture(port: int) -> dict[str, tuple[bytes, str]]:
    """The bytes and ETag the service answers per path (primes its cache as a side effect)."""
    captured: dict[str, tuple[bytes, str]] = {}
    for scenario in SCENARIOS:
        if scenario.path in captured:
            continue
        status, headers, body = http_get(port, scenario.path)
        if status != 200:
            raise BenchError(f"GET {scenario.path} answered {status}")
        captured[scenario.path] = (body, headers.get("etag", ""))
    bundle_etag = captured["/api/v1/content/bundle"][1]
    status, _, body = http_get(port, "/api/v1/content/bundle", {"If-None-Match": bundle_etag})
    if status != 304 or body:
        raise BenchError(f"conditional bundle answered {status} with {len(body)} bytes, expected an empty 304")
    return captured


def ceiling_routes(captured: dict[str, tuple[bytes, str]]) -> list[dict[str, str]]:
    routes, seen = [], set()
    for scenario in SCENARIOS:
        if scenario.path in seen:
            continue
        seen.add(scenario.path)
        body, etag = captured[scenario.path]
        routes.append({"path": scenario.path, "template": scenario.template,
                       "body": base64.b64encode(body).decode(), "etag": etag or '"-"',
                       "cache_control": scenario.cache_control or "no-store"})
    return routes


def headers_for(scenario: Scenario, captured: dict[str, tuple[bytes, str]]) -> dict[str, str]:
    return {"If-None-Match": captured[scenario.path][1]} if scenario.conditional else {}


def drive(wrk: Wrk, targets: dict[str, Process], captured: dict[str, tuple[bytes, str]],
          scenarios: list[Scenario], seconds: float, rounds: int) -> dict[str, dict[str, WrkResult]]:
    """Run each scenario on each target alternately (order flipped every round); medians per target."""
    runs: dict[str, dict[str, list[WrkResult]]] = {s.name: {t: [] for t in targets} for s in scenarios}
    names = list(targets)
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]
        for scenario in scenarios:
            for name in order:
                process = targets[name]
                url = f"http://{HOST}:{process.port}{scenario.path}"
                runs[scenario.name][name].append(
                    wrk.run(url, seconds, headers_for(scenario, captured), server_pid=process.pid))
    return {s: {t: median_result(results) for t, results in per.items()} for s, per in runs.items()}


def leak_run(wrk: Wrk, service: Process, total: int, segment_seconds: float,
             max_segments: int) -> dict[str, Any]:
    """Hammer the bundle in segments until ``total`` requests; compare first and last segment."""
    url = f"http://{HOST}:{service.port}/api/v1/content/bundle"
    segments: list[dict[str, Any]] = []
    done = 0
    while (done < total or len(segments) < 2) and len(segments) < max_segments:
        result = wrk.run(url, segment_seconds)
        done += result.requests
        segments.append({"rps": round(result.rps, 1), "p99_ms": round(result.p99_ms, 3),
                         "rss_mb": round(rss_mb(service.pid), 1), "requests": result.requests,
                         "errors": result.errors + result.non_2xx_3xx})
    first, last = segments[0], segments[-1]
    return {
        "requests": done, "segments": len(segments), "segment_seconds": segment_seconds,
        "first": first, "last": last,
        "rps_ratio_last_to_first": round(last["rps"] / first["rps"], 3) if first["rps"] else None,
        "rss_growth_mb": round(last["rss_mb"] - first["rss_mb"], 1),
        "errors": sum(s["errors"] for s in segments),
    }


# --- writes ----------------------------------------------------------------------------


async def _updates(port: int, key: str, ids: list[str], count: int, concurrency: int) -> dict[str, Any]:
    import aiohttp

    statuses: dict[str, int] = {}
    latencies: list[float] = []
    busy_errors = 0
    counter = iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"X-Admin-Key": key}

    async with aiohttp.ClientSession(f"http://{HOST}:{port}", connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def worker() -> None:
            nonlocal busy_errors
            for number in counter:
                content_id = ids[number % len(ids)]
                body = {"data": {"title": f"Updated {number}", "summary": f"Benchmark update number {number}.",
                                 "views": number}}
                started = time.perf_counter()
                async with session.put(f"/api/v1/admin/content/{content_id}", json=body, headers=headers) as r:
                    text = await r.read()
                latencies.append(time.perf_counter() - started)
                statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                if b"SQLITE_BUSY" in text or b"database is locked" in text:
                    busy_errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "updates": count, "concurrency": concurrency, "seconds": round(elapsed, 3),
        "per_second": round(count / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "statuses": statuses,
        "non_2xx": sum(n for s, n in statuses.items() if not s.startswith("2")),
        "sqlite_busy": busy_errors,
    }


def writes(port: int, key: str, ids: list[str], count: int) -> dict[str, Any]:
    return {
        "sequential": asyncio.run(_updates(port, key, ids, count, 1)),
        "concurrent": asyncio.run(_updates(port, key, ids, count, 50)),
    }


# --- Redis -----------------------------------------------------------------------------


def clear_redis(url: str) -> None:
    """Remove cached reads and buckets left by earlier runs (they would serve another portfolio)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        for pattern in ("content:*", "ratelimit:*"):
            batch = list(client.scan_iter(match=pattern, count=500))
            if batch:
                client.delete(*batch)
    except redis.RedisError as exc:
        raise BenchError(f"Redis at the given URL did not answer: {exc}") from exc
    finally:
        client.close()


LIMITER_ON = {"FEATURE_RATE_LIMITING": "true", "CONTENT_RATE_LIMIT_CAPACITY": "1000000",
              "CONTENT_RATE_LIMIT_REFILL_RATE": "1000000"}


def limiter_cost(bench: Bench, wrk: Wrk, captured: dict[str, tuple[bytes, str]], seconds: float, rounds: int,
                 **extra: str) -> dict[str, Any]:
    """Bundle with the limiter off vs on (a bucket that never empties), alternating two instances."""
    off = bench.start_service("limiter-off", **extra)
    on = bench.start_service("limiter-on", **extra, **LIMITER_ON)
    try:
        status, headers, _ = http_get(on.port, "/api/v1/content/bundle")
        if status != 200 or "x-ratelimit-limit" not in headers:
            raise BenchError("the limiter-on instance did not answer with X-RateLimit headers")
        result = drive(wrk, {"off": off, "on": on}, captured, [SCENARIOS[0]], seconds, rounds)["bundle"]
    finally:
        bench.stop(off)
        bench.stop(on)
    return {"off": result["off"].as_dict(), "on": result["on"].as_dict(),
            "ratio_on_to_off": round(result["on"].rps / result["off"].rps, 3)}


# --- the whole run ---------------------------------------------------------------------


def reads_report(results: dict[str, dict[str, WrkResult]], service: str = "service") -> dict[str, Any]:
    report = {}
    for name, per in results.items():
        entry: dict[str, Any] = {"service": per[service].as_dict()}
        if "ceiling" in per:
            entry["ceiling"] = per["ceiling"].as_dict()
            entry["ratio"] = round(per[service].rps / per["ceiling"].rps, 3)
            if per[service].cpu_us:
                entry["cpu_ratio"] = round(per["ceiling"].cpu_us / per[service].cpu_us, 3)
        report[name] = entry
    return report


def run(args: argparse.Namespace) -> dict[str, Any]:
    wrk_binary = ensure_wrk()
    seconds, rounds = (1.0, 1) if args.quick else (args.duration, args.rounds)
    updates = args.updates if args.updates is not None else (100 if args.quick else 1000)
    cold_runs = args.cold_starts if args.cold_starts is not None else (2 if args.quick else 5)
    leak_total = 0 if args.quick else args.leak_requests
    redis_url = args.redis or os.environ.get("REDIS_URL") or ""

    workdir = Path(tempfile.mkdtemp(prefix="folionaut-bench-"))
    bench = Bench(workdir, workdir / "data", "bench-" + secrets.token_hex(20))
    wrk = Wrk(wrk_binary, args.threads, args.connections, workdir)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "command": " ".join(["python", "scripts/bench.py", *sys.argv[1:]]),
        "wrk": {"threads": args.threads, "connections": args.connections, "seconds": seconds, "rounds": rounds},
    }
    try:
        log(f"seeding a portfolio into {bench.data_dir}")
        service = bench.start_service("service")
        ids = seed(service.port, bench.admin_key)
        captured = capture(service.port)
        report["portfolio"] = {"published": len(ids), "types": len(TYPES),
                               "bundle_bytes": len(captured["/api/v1/content/bundle"][0])}
        ceiling = bench.start_ceiling(ceiling_routes(captured))
        report["rss_mb"] = {"idle": round(rss_mb(service.pid), 1)}

        log(f"reads: {len(SCENARIOS)} scenarios x {rounds} round(s) x {seconds:.0f} s, service and ceiling")
        with RssSampler(service.pid) as sampler:
            results = drive(wrk, {"service": service, "ceiling": ceiling}, captured, SCENARIOS, seconds, rounds)
            if leak_total or args.quick:
                log(f"leak run: {leak_total or 'two short'} requests on the bundle")
                report["leak"] = leak_run(wrk, service, leak_total, 1.0 if args.quick else 2.0, 200)
        report["rss_mb"]["load"] = round(sampler.peak, 1)
        report["reads"] = reads_report(results)
        bench.stop(ceiling)

        log(f"writes: {updates} sequential, {updates} concurrent (50 at a time)")
        report["writes"] = writes(service.port, bench.admin_key, ids, updates)
        bench.stop(service)

        # The writes changed the content: later phases capture the new bytes.
        probe = bench.start_service("probe")
        captured = capture(probe.port)
        bench.stop(probe)

        log("rate limiter (in process): on vs off on the bundle")
        report["limiter_memory"] = limiter_cost(bench, wrk, captured, seconds, rounds)

        if redis_url:
            log("Redis: reads (L1 hits) and the Redis rate limiter")
            clear_redis(redis_url)
            service = bench.start_service("service-redis", REDIS_URL=redis_url)
            captured = capture(service.port)
            ceiling = bench.start_ceiling(ceiling_routes(captured))
            redis_results = drive(wrk, {"service": service, "ceiling": ceiling}, captured, SCENARIOS,
                                  seconds, rounds)
            bench.stop(service)
            bench.stop(ceiling)
            report["redis"] = {"reads": reads_report(redis_results),
                               "limiter": limiter_cost(bench, wrk, captured, seconds, rounds, REDIS_URL=redis_url)}
            clear_redis(redis_url)
        else:
            report["redis"] = None

        log(f"cold start: {cold_runs} x python folionaut.py serve")
        bench.compile_package()
        times = []
        for _ in range(cold_runs):
            process = bench.start_service("cold")
            times.append(time.perf_counter() - process.started)
            bench.stop(process)
        report["cold_start_ms"] = {"median": round(statistics.median(times) * 1000, 1),
                                   "runs": [round(t * 1000, 1) for t in times]}
        report["targets"] = targets(report)
    finally:
        bench.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    return report


def targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    reads = report["reads"]
    checks: dict[str, dict[str, Any]] = {}
    for name, minimum in TARGET_RATIO.items():
        checks[f"{name}_ratio"] = {"value": reads[name]["ratio"], "target": f">= {minimum}",
                                   "met": reads[name]["ratio"] >= minimum}
    worst = max(reads[n]["service"]["p99_ms"] for n in reads)
    checks["p99_ms"] = {"value": worst, "target": f"<= {TARGET_P99_MS}", "met": worst <= TARGET_P99_MS}
    load = report["rss_mb"]["load"]
    checks["rss_load_mb"] = {"value": load, "target": f"<= {TARGET_RSS_MB}", "met": load <= TARGET_RSS_MB}
    writes_bad = report["writes"]["sequential"]["non_2xx"] + report["writes"]["concurrent"]["non_2xx"]
    checks["writes_non_2xx"] = {"value": writes_bad, "target": "0", "met": writes_bad == 0}
    leak = report.get("leak")
    if leak:
        ratio = leak["rps_ratio_last_to_first"] or 0
        checks["leak_rps_ratio"] = {"value": ratio, "target": ">= 0.9", "met": ratio >= 0.9}
        checks["leak_rss_growth_mb"] = {"value": leak["rss_growth_mb"], "target": "<= 5",
                                        "met": leak["rss_growth_mb"] <= 5}
    return checks


# --- output ----------------------------------------------------------------------------


def reads_table(reads: dict[str, Any], title: str) -> list[str]:
    lines = [title, f"  {'scenario':<13}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'cpu us':>8}  |"
                    f"{'ceiling':>8}{'p50 ms':>8}{'p99 ms':>8}{'cpu us':>8}  |{'ratio':>7}{'cpu':>6}"]
    for scenario in SCENARIOS:
        entry = reads[scenario.name]
        s, c = entry["service"], entry.get("ceiling")
        row = f"  {scenario.label:<13}{s['rps']:>8.0f}{s['p50_ms']:>8.2f}{s['p99_ms']:>8.2f}{s['cpu_us']:>8.1f}  |"
        if c:
            row += (f"{c['rps']:>8.0f}{c['p50_ms']:>8.2f}{c['p99_ms']:>8.2f}{c['cpu_us']:>8.1f}  |"
                    f"{entry['ratio']:>7.2f}{entry.get('cpu_ratio', 0):>6.2f}")
        if s["errors"] or s["non_2xx_3xx"]:
            row += f"  ({s['errors']} socket errors, {s['non_2xx_3xx']} >= 400)"
        lines.append(row)
    return lines


def print_table(report: dict[str, Any]) -> None:
    w = report["wrk"]
    out = [f"Folionaut benchmark, {report['date']}, {report['machine']['cpus']} CPUs, "
           f"Python {report['machine']['python']}, {report['machine']['platform']}",
           f"wrk -t{w['threads']} -c{w['connections']} -d{w['seconds']:.0f}s, {w['rounds']} round(s), medians; "
           f"portfolio: {report['portfolio']['published']} published items over {report['portfolio']['types']} "
           f"types, bundle {report['portfolio']['bundle_bytes']} bytes", ""]
    out += reads_table(report["reads"], "Reads (in-process cache), service vs bare aiohttp ceiling:")
    rss = report["rss_mb"]
    out.append(f"  service RSS: {rss['idle']:.1f} MB idle, {rss['load']:.1f} MB peak under load")
    limiter = report["limiter_memory"]
    out.append(f"  rate limiter (in process) on/off on the bundle: {limiter['on']['rps']:.0f} / "
               f"{limiter['off']['rps']:.0f} req/s = {limiter['ratio_on_to_off']:.2f}")
    if report.get("leak"):
        leak = report["leak"]
        out.append(f"  {leak['requests']} requests on the bundle in {leak['segments']} segments: first "
                   f"{leak['first']['rps']:.0f} req/s p99 {leak['first']['p99_ms']:.2f} ms RSS "
                   f"{leak['first']['rss_mb']:.1f} MB, last {leak['last']['rps']:.0f} req/s p99 "
                   f"{leak['last']['p99_ms']:.2f} ms RSS {leak['last']['rss_mb']:.1f} MB")
    out.append("")
    out.append("Writes (admin PUT, SQLite):")
    for name, entry in report["writes"].items():
        out.append(f"  {entry['updates']} {name:<10} (x{entry['concurrency']:<2}): {entry['per_second']:>7.0f}/s, "
                   f"p50 {entry['p50_ms']:.2f} ms, p99 {entry['p99_ms']:.2f} ms, non-2xx {entry['non_2xx']}, "
                   f"SQLITE_BUSY {entry['sqlite_busy']}  {entry['statuses']}")
    if report.get("redis"):
        out.append("")
        out += reads_table(report["redis"]["reads"], "Reads with Redis (L1 hits), service vs ceiling:")
        limiter = report["redis"]["limiter"]
        out.append(f"  rate limiter (Redis) on/off on the bundle: {limiter['on']['rps']:.0f} / "
                   f"{limiter['off']['rps']:.0f} req/s = {limiter['ratio_on_to_off']:.2f}")
    else:
        out += ["", "Redis: skipped (no --redis and no REDIS_URL)"]
    cold = report["cold_start_ms"]
    out += ["", f"Cold start to first 200 on /api/health/live: median {cold['median']:.0f} ms {cold['runs']}", "",
            "Targets:"]
    for name, check in report["targets"].items():
        out.append(f"  {name:<20} {check['value']!s:>8}  target {check['target']:<7} "
                   f"{'met' if check['met'] else 'MISSED'}")
    print("\n".join(out))


def main() -> None:
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--serve-ceiling":
        serve_ceiling(int(sys.argv[2]), sys.argv[3], reuse_port=sys.argv[4:] == ["reuse-port"])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 s runs, 1 round, 100 updates (a smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--redis", metavar="URL", help="also measure with Redis (default: $REDIS_URL)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--updates", type=int, help="admin updates per write test (default 1000)")
    parser.add_argument("--cold-starts", type=int, help="cold starts to time (default 5)")
    parser.add_argument("--leak-requests", type=int, default=100_000, help="requests in the leak run")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (data, logs)")
    parser.add_argument("--items", type=int, help="scale mode: N published items (record 40, 1000, 10000)")
    parser.add_argument("--crawl-items", type=int, help="scale mode: items in the crawl (default 12000)")
    parser.add_argument("--dump-only", action="store_true",
                        help="scale mode: only dump and restore against the sqlite3 shell")
    parser.add_argument("--scale-out", action="store_true",
                        help="libSQL contention, two instances as one, --workers 2 (scripts/bench_scaleout.py)")
    args = parser.parse_args()
    if args.duration < 1 or args.rounds < 1 or args.connections < 1 or args.threads < 1:
        parser.error("--duration, --rounds, --connections and --threads must be at least 1")
    if (args.items is not None and not 8 <= args.items <= 1_000_000) or (
            args.crawl_items is not None and not 8 <= args.crawl_items <= 1_000_000):
        parser.error("--items and --crawl-items must be from 8 to 1000000")
    if args.items is not None:
        from bench_scale import print_scale, run_scale

        try:
            scale = run_scale(args)
        except BenchError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(scale, indent=2)) if args.json else print_scale(scale)
        return
    try:
        if args.scale_out:
            sys.modules.setdefault("bench", sys.modules[__name__])  # one module: bench_scaleout uses its parts
            from bench_scaleout import print_scale_out, run_scale_out

            report = run_scale_out(args)
            if not args.json:
                print_scale_out(report)
                return
        else:
            report = run(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
