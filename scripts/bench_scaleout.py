#!/usr/bin/env python3
"""Scale-out benchmarks (issue 17): libSQL under contention, two instances as one, ``--workers 2``.

    python scripts/bench.py --scale-out                 # full (~4 min): 30 s of writers per transport
    python scripts/bench.py --scale-out --quick --json  # a smoke run, as JSON
    python scripts/bench.py --scale-out --redis URL     # also two instances sharing Redis (a scratch database)

All on 127.0.0.1, every run bounded in time; the libSQL server is the Hrana
test server (``tests/helpers/hrana_server.py``: real SQLite, a connection and a
thread per stream, as sqld), in a process of its own.

1. Contention, over Hrana HTTP and WebSocket: 4 writers updating items for 30 s
   (each PUT without a version: the service retries its compare-and-set), then
   rounds of 50 concurrent PUTs to one item, all with the same version. Target:
   0 responses >= 500, exactly one 200 per round and 409 for the rest.
2. Two instances on one Hrana server and one Redis: a PUT on one, then reads of
   that item on the other until it shows the new version. Target: p99 of
   write-ack -> visible <= 100 ms. The same with ``--workers 2``: reads on fresh
   connections right after the ack, counting stale ones (target 0).
3. ``--workers 2`` against the stack's own two-process ceiling (two bare aiohttp
   processes on one port with SO_REUSEPORT serving the same bytes), side by side
   in one run, and one worker against one bare process; server CPU per request
   (every process of each side summed). Targets: cached bundle >= 0.85 x the
   two-process ceiling; CPU per request with 2 workers <= 1.1 x with 1.
4. The rate limiter with 2 workers (the table they share, no Redis) on vs off on
   the bundle, beside the in-process limiter of one process.

Targets are printed with whether they are met; none is fatal.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import bench
from bench import HOST, Bench, BenchError, Process, Wrk, WrkResult, cpu_seconds, free_port, log

TARGET_WORKERS_RATIO = 0.85
TARGET_VISIBLE_P99_MS = 100.0
TARGET_CPU_GROWTH = 1.10
WRITERS = 4
RACERS = 50


# --- the Hrana server, in a process of its own --------------------------------------------------

def serve_hrana(port: int, path: str) -> None:
    sys.path.insert(0, str(bench.ROOT))
    from tests.helpers.hrana_server import HranaServer

    async def main() -> None:
        server = HranaServer(Path(path), port=port)
        await server.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(main())


def start_hrana(runner: Bench, name: str) -> Process:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve-hrana", str(port),
               str(runner.workdir / f"{name}.db")]
    process = Process(name, command, dict(os.environ), port, runner.workdir / f"{name}.log")
    runner.processes.append(process)
    process.wait_ready("/health")
    return process


# --- helpers ---------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def group_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def run_wrk(wrk: Wrk, port: int, path: str, seconds: float, pids: list[int]) -> WrkResult:
    """One wrk run; CPU per request summed over ``pids`` (a supervisor's workers, or two ceilings)."""
    before = group_cpu(pids)
    result = wrk.run(f"http://{HOST}:{port}{path}", seconds)
    result.cpu_us = (group_cpu(pids) - before) / result.requests * 1e6 if result.requests else 0.0
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


async def _session(port: int, key: str) -> Any:
    import aiohttp

    return aiohttp.ClientSession(f"http://{HOST}:{port}", headers={"X-Admin-Key": key},
                                 timeout=aiohttp.ClientTimeout(total=60),
                                 connector=aiohttp.TCPConnector(limit=RACERS + 10))


async def _create(session: Any, body: dict[str, Any]) -> dict[str, Any]:
    async with session.post("/api/v1/admin/content", json=body) as response:
        payload = await response.json()
        if response.status != 201:
            raise BenchError(f"create answered {response.status}: {payload}")
        return dict(payload["data"])


# --- 1. contention -------------------------------------------------------------------------------

async def _contention(port: int, key: str, seconds: float, rounds: int) -> dict[str, Any]:
    async with await _session(port, key) as session:
        items = [await _create(session, {"type": "project", "slug": f"c-{n}", "data": {"title": f"C {n}"}})
                 for n in range(8)]
        statuses: dict[str, int] = {}
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def writer(number: int) -> None:
            step = 0
            while time.perf_counter() < deadline:
                item = items[(number + step) % len(items)]  # writers cross paths on every item
                started = time.perf_counter()
                async with session.put(f"/api/v1/admin/content/{item['id']}",
                                       json={"data": {"title": f"w{number} s{step}", "step": step}}) as r:
                    await r.read()
                latencies.append(time.perf_counter() - started)
                statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                step += 1

        started = time.perf_counter()
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        elapsed = time.perf_counter() - started

        target = await _create(session, {"type": "project", "slug": "raced", "data": {"title": "Raced"}})
        round_results: list[dict[str, int]] = []
        for version in range(1, rounds + 1):
            async def put(n: int, version: int = version) -> int:
                async with session.put(f"/api/v1/admin/content/{target['id']}",
                                       json={"data": {"title": f"v{version} by {n}"}, "version": version}) as r:
                    await r.read()
                    return r.status

            outcome = await asyncio.gather(*(put(n) for n in range(RACERS)))
            round_results.append({str(s): outcome.count(s) for s in sorted(set(outcome))})
    return {
        "writers": {"writers": WRITERS, "seconds": round(elapsed, 1), "puts": len(latencies),
                    "per_second": round(len(latencies) / elapsed, 1),
                    "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
                    "p99_ms": round(percentile(latencies, 0.99) * 1000, 2), "statuses": statuses,
                    "errors_5xx": sum(n for s, n in statuses.items() if s.startswith("5"))},
        "versioned": {"racers": RACERS, "rounds": rounds, "per_round": round_results,
                      "exactly_one_winner": all(r.get("200") == 1 for r in round_results),
                      "rest_409": all(r.get("409", 0) == RACERS - 1 for r in round_results),
                      "errors_5xx": sum(n for r in round_results for s, n in r.items() if s.startswith("5"))},
    }


def contention(runner: Bench, transport: str, seconds: float, rounds: int) -> dict[str, Any]:
    hrana = start_hrana(runner, f"hrana-{transport}")
    scheme = "http" if transport == "http" else "ws"
    service = runner.start_service(f"libsql-{transport}", TURSO_DATABASE_URL=f"{scheme}://{HOST}:{hrana.port}",
                                   FOLIONAUT_DATA_DIR=str(runner.workdir / f"data-{transport}"))
    try:
        return asyncio.run(_contention(service.port, runner.admin_key, seconds, rounds))
    finally:
        runner.stop(service)
        runner.stop(hrana)


# --- 2. visibility across instances and workers ---------------------------------------------------

async def _visibility(writer_port: int, reader_port: int, key: str, iterations: int,
                      fresh_connections: bool) -> dict[str, Any]:
    import aiohttp

    async with await _session(writer_port, key) as admin, aiohttp.ClientSession(
            f"http://{HOST}:{reader_port}", timeout=aiohttp.ClientTimeout(total=10),
            connector=aiohttp.TCPConnector(force_close=fresh_connections)) as reader:
        slug = f"visible-{os.getpid()}-{int(time.time())}"
        item = await _create(admin, {"type": "project", "slug": slug, "status": "published",
                                     "data": {"title": "v0"}})
        path = f"/api/v1/content/project/{slug}"
        lags: list[float] = []
        stale_first = 0
        for number in range(1, iterations + 1):
            for _ in range(3):  # the reader's cache holds the old version now
                async with reader.get(path) as response:
                    await response.read()
            async with admin.put(f"/api/v1/admin/content/{item['id']}",
                                 json={"data": {"title": f"v{number}"}, "version": number}) as r:
                await r.read()
                if r.status != 200:
                    raise BenchError(f"PUT answered {r.status}")
            acknowledged = time.perf_counter()
            reads = 0
            while True:
                async with reader.get(path) as response:
                    body = await response.json()
                reads += 1
                if body["data"]["data"]["title"] == f"v{number}":
                    break
                if time.perf_counter() - acknowledged > 10:
                    raise BenchError("a write was not visible on the other side within 10 s")
            lags.append(time.perf_counter() - acknowledged)
            stale_first += reads > 1
    return {"iterations": iterations, "stale_first_reads": stale_first,
            "p50_ms": round(percentile(lags, 0.5) * 1000, 2), "p99_ms": round(percentile(lags, 0.99) * 1000, 2),
            "max_ms": round(max(lags) * 1000, 2)}


def visibility_instances(runner: Bench, redis_url: str, iterations: int) -> dict[str, Any]:
    bench.clear_redis(redis_url)
    hrana = start_hrana(runner, "hrana-shared")
    url = f"ws://{HOST}:{hrana.port}"
    first = runner.start_service("instance-a", TURSO_DATABASE_URL=url, REDIS_URL=redis_url,
                                 FOLIONAUT_DATA_DIR=str(runner.workdir / "data-a"))
    second = runner.start_service("instance-b", TURSO_DATABASE_URL=url, REDIS_URL=redis_url,
                                  FOLIONAUT_DATA_DIR=str(runner.workdir / "data-b"))
    try:
        return asyncio.run(_visibility(first.port, second.port, runner.admin_key, iterations, False))
    finally:
        for process in (first, second, hrana):
            runner.stop(process)
        bench.clear_redis(redis_url)


def visibility_workers(runner: Bench, iterations: int) -> dict[str, Any]:
    service = runner.start_service("workers-visible", WORKERS="2",
                                   FOLIONAUT_DATA_DIR=str(runner.workdir / "data-workers"))
    try:
        return asyncio.run(_visibility(service.port, service.port, runner.admin_key, iterations, True))
    finally:
        runner.stop(service)


# --- 3. --workers 2 against two bare processes -----------------------------------------------------

def start_ceiling_pair(runner: Bench, routes: list[dict[str, str]]) -> tuple[int, list[Process]]:
    port = free_port()
    spec = runner.workdir / f"ceiling-pair-{port}.json"
    spec.write_text(json.dumps(routes), encoding="utf-8")
    pair = []
    for number in range(2):
        command = [sys.executable, str(Path(bench.__file__).resolve()), "--serve-ceiling", str(port), str(spec),
                   "reuse-port"]
        process = Process(f"ceiling-{number}", command, dict(os.environ), port,
                          runner.workdir / f"ceiling-{number}.log")
        runner.processes.append(process)
        pair.append(process)
    pair[0].wait_ready(routes[0]["path"])
    pair[1].wait_ready(routes[0]["path"])
    return port, pair


def workers_throughput(runner: Bench, wrk: Wrk, seconds: float, rounds: int) -> dict[str, Any]:
    data = str(runner.workdir / "data-throughput")
    one = runner.start_service("serve-1", FOLIONAUT_DATA_DIR=data)
    bench.seed(one.port, runner.admin_key)
    captured = bench.capture(one.port)
    two = runner.start_service("serve-2", WORKERS="2", FOLIONAUT_DATA_DIR=data)
    routes = bench.ceiling_routes(captured)
    single = runner.start_ceiling(routes)
    pair_port, pair = start_ceiling_pair(runner, routes)
    time.sleep(0.5)
    targets = {
        "workers_1": (one.port, [one.pid]),
        "ceiling_1": (single.port, [single.pid]),
        "workers_2": (two.port, children(two.pid)),
        "ceiling_2": (pair_port, [p.pid for p in pair]),
    }
    runs: dict[str, list[WrkResult]] = {name: [] for name in targets}
    for round_number in range(rounds):
        order = list(targets) if round_number % 2 == 0 else list(targets)[::-1]
        for name in order:
            port, pids = targets[name]
            runs[name].append(run_wrk(wrk, port, bench.BUNDLE, seconds, pids))
    result = {name: bench.median_result(values).as_dict() for name, values in runs.items()}
    for process in (one, two, single, *pair):
        runner.stop(process)
    return {
        **result,
        "ratio_2_workers_to_2_processes": round(result["workers_2"]["rps"] / result["ceiling_2"]["rps"], 3),
        "ratio_1_worker_to_1_process": round(result["workers_1"]["rps"] / result["ceiling_1"]["rps"], 3),
        "ceiling_2_to_1": round(result["ceiling_2"]["rps"] / result["ceiling_1"]["rps"], 3),
        "cpu_us_2_to_1": round(result["workers_2"]["cpu_us"] / result["workers_1"]["cpu_us"], 3)
        if result["workers_1"]["cpu_us"] else None,
    }


# --- 4. the shared limiter -------------------------------------------------------------------------

def workers_limiter(runner: Bench, wrk: Wrk, seconds: float, rounds: int) -> dict[str, Any]:
    data = str(runner.workdir / "data-throughput")
    off = runner.start_service("limiter-2-off", WORKERS="2", FOLIONAUT_DATA_DIR=data)
    on = runner.start_service("limiter-2-on", WORKERS="2", FOLIONAUT_DATA_DIR=data, **bench.LIMITER_ON)
    try:
        runs: dict[str, list[WrkResult]] = {"off": [], "on": []}
        for round_number in range(rounds):
            for name in (["off", "on"] if round_number % 2 == 0 else ["on", "off"]):
                process = off if name == "off" else on
                runs[name].append(run_wrk(wrk, process.port, bench.BUNDLE, seconds, children(process.pid)))
    finally:
        runner.stop(off)
        runner.stop(on)
    result = {name: bench.median_result(values).as_dict() for name, values in runs.items()}
    return {**result, "ratio_on_to_off": round(result["on"]["rps"] / result["off"]["rps"], 3),
            "cpu_us_added": round(result["on"]["cpu_us"] - result["off"]["cpu_us"], 2)}


# --- the whole run ---------------------------------------------------------------------------------

def run_scale_out(args: Any) -> dict[str, Any]:
    wrk_binary = bench.ensure_wrk()
    quick = args.quick
    seconds, rounds = (1.0, 1) if quick else (args.duration, args.rounds)
    writer_seconds = 2.0 if quick else 30.0
    race_rounds = 2 if quick else 20
    iterations = 10 if quick else 200
    redis_url = args.redis or os.environ.get("REDIS_URL") or ""
    import secrets
    import shutil
    import tempfile

    workdir = Path(tempfile.mkdtemp(prefix="folionaut-bench-scale-"))
    runner = Bench(workdir, workdir / "data", "bench-" + secrets.token_hex(20))
    wrk = Wrk(wrk_binary, args.threads, max(args.connections, 64), workdir)
    load = os.getloadavg()
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in load]},
        "command": " ".join(["python", "scripts/bench.py", *sys.argv[1:]]),
        "wrk": {"threads": args.threads, "connections": wrk.connections, "seconds": seconds, "rounds": rounds},
    }
    try:
        for transport in ("http", "ws"):
            log(f"contention over Hrana {transport}: {WRITERS} writers x {writer_seconds:.0f} s, "
                f"{race_rounds} rounds of {RACERS} versioned PUTs")
            report[f"contention_{transport}"] = contention(runner, transport, writer_seconds, race_rounds)
        if redis_url:
            log(f"two instances on one Hrana server and one Redis: {iterations} writes, read on the other")
            report["visibility_instances"] = visibility_instances(runner, redis_url, iterations)
        else:
            report["visibility_instances"] = None
        log(f"--workers 2: {iterations} writes, read on fresh connections")
        report["visibility_workers"] = visibility_workers(runner, iterations)
        log(f"--workers 2 vs two bare aiohttp processes on one port: {rounds} round(s) x {seconds:.0f} s")
        report["workers"] = workers_throughput(runner, wrk, seconds, rounds)
        log("the shared rate limiter with 2 workers: on vs off")
        report["workers_limiter"] = workers_limiter(runner, wrk, seconds, rounds)
        report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        report["targets"] = scale_targets(report)
    finally:
        runner.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    return report


def scale_targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    for transport in ("http", "ws"):
        entry = report[f"contention_{transport}"]
        errors = entry["writers"]["errors_5xx"] + entry["versioned"]["errors_5xx"]
        checks[f"{transport}_5xx"] = {"value": errors, "target": "0", "met": errors == 0}
        one = entry["versioned"]["exactly_one_winner"] and entry["versioned"]["rest_409"]
        checks[f"{transport}_one_200_rest_409"] = {"value": one, "target": "True", "met": one}
    if report["visibility_instances"]:
        p99 = report["visibility_instances"]["p99_ms"]
        checks["instances_visible_p99_ms"] = {"value": p99, "target": f"<= {TARGET_VISIBLE_P99_MS:g}",
                                              "met": p99 <= TARGET_VISIBLE_P99_MS}
    stale = report["visibility_workers"]["stale_first_reads"]
    checks["workers_stale_reads"] = {"value": stale, "target": "0", "met": stale == 0}
    ratio = report["workers"]["ratio_2_workers_to_2_processes"]
    checks["workers_2_ratio"] = {"value": ratio, "target": f">= {TARGET_WORKERS_RATIO}",
                                 "met": ratio >= TARGET_WORKERS_RATIO}
    growth = report["workers"]["cpu_us_2_to_1"]
    checks["cpu_per_request_2_to_1"] = {"value": growth, "target": f"<= {TARGET_CPU_GROWTH}",
                                        "met": growth is not None and growth <= TARGET_CPU_GROWTH}
    return checks


def print_scale_out(report: dict[str, Any]) -> None:
    machine = report["machine"]
    out = [f"Folionaut scale-out benchmark, {report['date']}, {machine['cpus']} CPUs, load average "
           f"{machine['load_average_at_start']} at start, {machine.get('load_average_at_end')} at end", ""]
    for transport in ("http", "ws"):
        entry = report[f"contention_{transport}"]
        w, v = entry["writers"], entry["versioned"]
        out.append(f"libSQL over Hrana {transport}: {w['writers']} writers x {w['seconds']} s: {w['puts']} PUTs, "
                   f"{w['per_second']}/s, p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms, {w['statuses']}")
        out.append(f"  {v['rounds']} rounds of {v['racers']} versioned PUTs: one 200 each {v['exactly_one_winner']}, "
                   f"rest 409 {v['rest_409']}, >= 500: {v['errors_5xx']}")
    vis = report["visibility_instances"]
    if vis:
        out.append(f"Two instances (one Hrana server, one Redis): write-ack -> visible on the other: p50 "
                   f"{vis['p50_ms']} ms, p99 {vis['p99_ms']} ms, max {vis['max_ms']} ms over {vis['iterations']} "
                   f"writes; first read stale {vis['stale_first_reads']} times")
    else:
        out.append("Two instances: skipped (no --redis and no REDIS_URL)")
    vis = report["visibility_workers"]
    out.append(f"--workers 2, read on a fresh connection right after the ack: stale {vis['stale_first_reads']} "
               f"of {vis['iterations']} (p99 to visible {vis['p99_ms']} ms)")
    w = report["workers"]
    out.append("Cached bundle, req/s (server CPU per request, all processes):")
    for name, label in (("workers_1", "serve (1 worker)"), ("ceiling_1", "1 bare aiohttp process"),
                        ("workers_2", "serve --workers 2"), ("ceiling_2", "2 bare processes, SO_REUSEPORT")):
        out.append(f"  {label:<32}{w[name]['rps']:>9.0f}  p99 {w[name]['p99_ms']:.2f} ms  "
                   f"cpu {w[name]['cpu_us']:.1f} us")
    out.append(f"  2 workers / 2 processes = {w['ratio_2_workers_to_2_processes']}, 1 worker / 1 process = "
               f"{w['ratio_1_worker_to_1_process']}, ceiling 2 / 1 = {w['ceiling_2_to_1']}, "
               f"CPU per request 2 / 1 workers = {w['cpu_us_2_to_1']}")
    lim = report["workers_limiter"]
    out.append(f"Rate limiter shared by 2 workers (no Redis) on/off on the bundle: {lim['on']['rps']:.0f} / "
               f"{lim['off']['rps']:.0f} req/s = {lim['ratio_on_to_off']}, +{lim['cpu_us_added']} us CPU per "
               "request")
    out += ["", "Targets:"]
    for name, check in report["targets"].items():
        out.append(f"  {name:<26} {check['value']!s:>8}  target {check['target']:<8} "
                   f"{'met' if check['met'] else 'MISSED'}")
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-hrana":
        serve_hrana(int(sys.argv[2]), sys.argv[3])
    else:
        print("run it as: python scripts/bench.py --scale-out [--quick] [--json] [--redis URL]", file=sys.stderr)
        sys.exit(2)
