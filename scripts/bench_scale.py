"""The scale mode of scripts/bench.py (``--items N``): the read path and operations at N published items.

    python scripts/bench.py --items 1000              # one scale; record 40, 1000 and 10000
    python scripts/bench.py --items 10000 --json

The portfolio (N published items of 1–3 KB over 8 types, each with its history
row) is written straight into the SQLite file (tests/helpers/generated_portfolio.py),
not through the API, so 10,000 items take seconds. Then, each figure next to
its target from issue 23 (reported, never asserted):

1. Reads vs the bare-aiohttp ceiling serving the same bytes: the bundle plain, with
   ``Accept-Encoding: gzip`` (the ceiling serves the same gzip bytes), 304, one
   item, one type's list; the bundle's sizes per coding; RSS peak of the service
   under 32 readers of the bundle.
2. Right after a write: one bundle read alone ("one rebuild"), then 32 concurrent
   bundle reads (median latency), over several writes.
3. One cached item under wrk with and without one write a second to another item (p99).
4. The whole admin listing, paged with ``cursor`` (and with ``offset`` for comparison).
5. ``dump`` and ``restore`` of the database vs the sqlite3 shell (``.dump``, ``< file``).
6. A crawl over 12,000 items (``--crawl-items``) from a cold cache vs the same crawl all hits.
7. Cold start to the first 200 vs a bare aiohttp app started the same way.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bench as b

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.generated_portfolio import TYPES, create_portfolio_database  # noqa: E402

__all__ = ["print_scale", "run_scale"]

TARGETS = {
    "gzip_bundle_ratio": 0.70,  # at 1k items: cached gzip bundle vs the ceiling serving the same bytes
    "after_write_median_per_rebuild": 2.0,  # 32 readers right after a write: median <= 2 x one rebuild
    "write_p99_ratio": 2.0,  # cached item p99 with one write a second <= 2 x without
    "crawl_ratio": 0.70,  # crawl over 12,000 items >= 0.7 x an all-hit crawl
    "admin_listing_s": 1.0,  # at 10k items
    "rss_mb": 250.0,  # at 10k items, 32 readers of the bundle
    "dump_ratio": 1.5,  # at 10k items
    "restore_ratio": 1.5,  # at 10k items
    "cold_start_ratio": 1.4,
}
BUNDLE = "/api/v1/content/bundle"
GZIP = {"Accept-Encoding": "gzip"}
CRAWL_SCRIPT = """
paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter - 1) %% #paths + 1])
end
"""


class ScaleScenario:
    def __init__(self, name: str, path: str, template: str, cache_control: str,
                 headers: dict[str, str] | None = None, conditional: bool = False) -> None:
        self.name, self.path, self.template, self.cache_control = name, path, template, cache_control
        self.headers = headers or {}
        self.conditional = conditional


SCENARIOS = [
    ScaleScenario("bundle", BUNDLE, BUNDLE, "public, max-age=300"),
    ScaleScenario("bundle_gzip", BUNDLE, BUNDLE, "public, max-age=300", GZIP),
    ScaleScenario("bundle_304", BUNDLE, BUNDLE, "public, max-age=300", conditional=True),
    ScaleScenario("item", "/api/v1/content/project/project-8", "/api/v1/content/{type}/{slug}",
                  "public, max-age=300"),
    ScaleScenario("list", "/api/v1/content?type=project", "/api/v1/content", "public, max-age=60"),
]


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return b.http_get(port, path, headers or {}, timeout=120)


def capture(port: int) -> dict[str, tuple[bytes, str, str | None]]:
    """Per scenario: the bytes, ETag and Content-Encoding the service answers (and its cache is primed)."""
    captured = {}
    for scenario in SCENARIOS:
        status, headers, body = _get(port, scenario.path, scenario.headers)
        if status != 200:
            raise b.BenchError(f"GET {scenario.path} answered {status}")
        captured[scenario.name] = (body, headers.get("etag", ""), headers.get("content-encoding"))
    return captured


def ceiling_routes(captured: dict[str, tuple[bytes, str, str | None]]) -> list[dict[str, Any]]:
    routes = []
    for scenario in SCENARIOS:
        if scenario.conditional:
            continue
        body, etag, encoding = captured[scenario.name]
        routes.append({"path": scenario.path, "template": scenario.template, "etag": etag,
                       "body": base64.b64encode(body).decode(), "cache_control": scenario.cache_control,
                       "encoding": encoding, "accept_encoding": scenario.headers.get("Accept-Encoding")})
    return routes


def drive(wrk: b.Wrk, targets: dict[str, b.Process], captured: dict[str, tuple[bytes, str, str | None]],
          seconds: float, rounds: int) -> dict[str, dict[str, b.WrkResult]]:
    runs: dict[str, dict[str, list[b.WrkResult]]] = {s.name: {t: [] for t in targets} for s in SCENARIOS}
    names = list(targets)
    for number in range(rounds):
        for scenario in SCENARIOS:
            headers = dict(scenario.headers)
            if scenario.conditional:
                headers["If-None-Match"] = captured["bundle"][1]
            for name in names if number % 2 == 0 else names[::-1]:
                process = targets[name]
                runs[scenario.name][name].append(wrk.run(f"http://{b.HOST}:{process.port}{scenario.path}", seconds,
                                                         headers, server_pid=process.pid))
    return {s: {t: b.median_result(results) for t, results in per.items()} for s, per in runs.items()}


# --- right after a write -------------------------------------------------------------


class _RawReader:
    """One keep-alive connection that GETs the bundle and lets the kernel copy the body into one buffer
    it keeps: the client must cost next to nothing, or 32 readers of a 20 MB body measure the client,
    not the service. (asyncio streams copied each chunk twice more; with them the 32 cached reads at
    1,000 items took 26.6 ms median, with this 11.9 ms.)"""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.request = f"GET {BUNDLE} HTTP/1.1\r\nHost: {b.HOST}\r\n{extra}\r\n".encode()
        self.buffer = bytearray(1 << 20)

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.sock = socket.create_connection((b.HOST, self.port), timeout=10)
        self.sock.setblocking(False)

    async def _receive(self, into: memoryview) -> int:
        received = await asyncio.wait_for(self.loop.sock_recv_into(self.sock, into), 300)
        if not received:
            raise b.BenchError("the service closed the connection mid-response")
        return received

    async def read(self) -> float:
        started = time.perf_counter()
        await self.loop.sock_sendall(self.sock, self.request)
        got = 0
        while (end := self.buffer.find(b"\r\n\r\n", 0, got)) < 0:
            got += await self._receive(memoryview(self.buffer)[got:])
        head = bytes(self.buffer[:end])
        if not head.startswith(b"HTTP/1.1 200"):
            raise b.BenchError(f"bundle answered {head[:40]!r}")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        total = end + 4 + length
        if len(self.buffer) < total:
            self.buffer.extend(bytes(total - len(self.buffer)))
        view = memoryview(self.buffer)
        while got < total:
            got += await self._receive(view[got:total])
        view.release()
        return time.perf_counter() - started

    def close(self) -> None:
        self.sock.close()


async def _after_writes(port: int, key: str, item_id: str, writes: int, readers: int,
                        headers: dict[str, str]) -> dict[str, Any]:
    def put(number: int) -> None:
        conn = b.http.client.HTTPConnection(b.HOST, port, timeout=60)
        try:
            conn.request("PUT", f"/api/v1/admin/content/{item_id}", body=json.dumps({"sortOrder": number % 50}),
                         headers={"X-Admin-Key": key, "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise b.BenchError(f"PUT answered {response.status}")
        finally:
            conn.close()

    clients = [_RawReader(port, headers) for _ in range(readers)]
    await asyncio.gather(*(client.open() for client in clients))
    alone: list[float] = []
    together: list[float] = []
    cached: list[float] = []
    try:
        await asyncio.gather(*(client.read() for client in clients))  # warm connections
        for _ in range(writes):  # the floor: 32 readers of the cached bundle, no write before
            cached += await asyncio.gather(*(client.read() for client in clients))
        for number in range(writes):
            await asyncio.to_thread(put, 2 * number)
            alone.append(await clients[0].read())
            await asyncio.to_thread(put, 2 * number + 1)
            together += await asyncio.gather(*(client.read() for client in clients))
    finally:
        for client in clients:
            client.close()
    rebuild = statistics.median(alone)
    median = statistics.median(together)
    return {"writes": writes, "readers": readers, "one_rebuild_ms": round(rebuild * 1000, 2),
            "concurrent_median_ms": round(median * 1000, 2),
            # Serving 32 copies at all takes this long (no rebuild): the part of the median that is transfer.
            "concurrent_cached_median_ms": round(statistics.median(cached) * 1000, 2),
            "concurrent_p99_ms": round(sorted(together)[int(len(together) * 0.99)] * 1000, 2),
            "median_per_rebuild": round(median / rebuild, 3)}


def _writer_thread(port: int, key: str, item_id: str, stop: threading.Event, counts: list[int]) -> None:
    number = 0
    while not stop.wait(1.0):
        number += 1
        conn = b.http.client.HTTPConnection(b.HOST, port, timeout=10)
        try:
            conn.request("PUT", f"/api/v1/admin/content/{item_id}", body=json.dumps({"sortOrder": number % 50}),
                         headers={"X-Admin-Key": key, "Content-Type": "application/json"})
            conn.getresponse().read()
            counts[0] += 1
        finally:
            conn.close()


def writes_and_reads(wrk: b.Wrk, service: b.Process, key: str, item_id: str, seconds: float,
                     rounds: int) -> dict[str, Any]:
    """p99 of a cached item with no writes, then with one write a second to another item (alternating)."""
    url = f"http://{b.HOST}:{service.port}{SCENARIOS[3].path}"
    quiet, busy, written = [], [], [0]
    for _ in range(rounds):
        quiet.append(wrk.run(url, seconds, server_pid=service.pid))
        stop = threading.Event()
        thread = threading.Thread(target=_writer_thread, args=(service.port, key, item_id, stop, written))
        thread.start()
        try:
            busy.append(wrk.run(url, seconds, server_pid=service.pid))
        finally:
            stop.set()
            thread.join()
    q, w = b.median_result(quiet), b.median_result(busy)
    return {"no_writes": q.as_dict(), "one_write_a_second": w.as_dict(), "writes": written[0],
            "p99_ratio": round(w.p99_ms / q.p99_ms, 3) if q.p99_ms else None}


def item_id(port: int, kind: str, slug: str) -> str:
    status, _, body = _get(port, f"/api/v1/content/{kind}/{slug}")
    if status != 200:
        raise b.BenchError(f"no item {kind}/{slug} ({status})")
    return str(json.loads(body)["data"]["id"])


def admin_listing(port: int, key: str, items: int) -> dict[str, Any]:
    headers = {"X-Admin-Key": key}
    started, seen, cursor = time.perf_counter(), 0, None
    while True:
        path = "/api/v1/admin/content?limit=100" + (f"&cursor={cursor}" if cursor else "")
        _, _, body = _get(port, path, headers)
        page = json.loads(body)
        seen += len(page["data"])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    by_cursor = time.perf_counter() - started
    started, offset_seen = time.perf_counter(), 0
    for offset in range(0, items + 100, 100):
        _, _, body = _get(port, f"/api/v1/admin/content?limit=100&offset={offset}", headers)
        offset_seen += len(json.loads(body)["data"])
    by_offset = time.perf_counter() - started
    if seen != offset_seen:
        raise b.BenchError(f"cursor paging saw {seen} items, offset paging {offset_seen}")
    return {"items": seen, "pages": -(-seen // 100), "cursor_s": round(by_cursor, 3), "offset_s": round(by_offset, 3)}


# --- dump / restore ------------------------------------------------------------------


def _timed(command: list[str], env: dict[str, str], stdin: Path | None = None, stdout: Path | None = None) -> float:
    started = time.perf_counter()
    with (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source, \
            (stdout.open("wb") if stdout else open(os.devnull, "wb")) as sink:
        done = subprocess.run(command, env=env, stdin=source, stdout=sink, stderr=subprocess.PIPE, cwd=ROOT,
                              timeout=600, check=False)
    if done.returncode != 0:
        raise b.BenchError(f"{' '.join(command)} failed: {done.stderr.decode(errors='replace')[-500:]}")
    return time.perf_counter() - started


def dump_restore(bench: b.Bench, runs: int) -> dict[str, Any]:
    sqlite3_shell = shutil.which("sqlite3")
    if sqlite3_shell is None:
        return {"skipped": "the sqlite3 shell is not installed"}
    database = bench.data_dir / "folionaut.db"
    env = bench.service_env()
    ours_dump, shell_dump, ours_restore, shell_restore = [], [], [], []
    for number in range(runs):
        ours_file, shell_file = bench.workdir / "ours.sql", bench.workdir / "shell.sql"
        ours_dump.append(_timed([sys.executable, "folionaut.py", "dump", "--force", "--output", str(ours_file)], env))
        shell_dump.append(_timed([sqlite3_shell, str(database), ".dump"], env, stdout=shell_file))
        target = bench.workdir / f"restore-{number}"
        ours_restore.append(_timed([sys.executable, "folionaut.py", "restore", str(ours_file)],
                                   {**env, "FOLIONAUT_DATA_DIR": str(target)}))
        shell_db = bench.workdir / f"shell-{number}.db"
        shell_restore.append(_timed([sqlite3_shell, str(shell_db)], env, stdin=ours_file))
        shutil.rmtree(target, ignore_errors=True)
        shell_db.unlink(missing_ok=True)
    result = {"dump_bytes": ours_file.stat().st_size, "shell_dump_bytes": shell_file.stat().st_size, "runs": runs}
    for name, ours, shell in (("dump", ours_dump, shell_dump), ("restore", ours_restore, shell_restore)):
        result[name] = {"ours_s": round(statistics.median(ours), 3), "shell_s": round(statistics.median(shell), 3),
                        "ratio": round(statistics.median(ours) / statistics.median(shell), 3)}
    return result


# --- crawl ---------------------------------------------------------------------------


def _item_path(number: int) -> str:
    kind = TYPES[number % len(TYPES)]
    return f"/api/v1/content/{kind}/{kind}-{number}"


def _crawler(wrk: b.Wrk, workdir: Path, name: str, items: int) -> b.Wrk:
    paths = workdir / f"{name}-paths.txt"
    paths.write_text("".join(_item_path(n) + "\n" for n in range(items)))
    crawler = b.Wrk(wrk.binary, wrk.threads, wrk.connections, workdir)
    crawler.script = workdir / f"{name}.lua"
    crawler.script.write_text(CRAWL_SCRIPT % paths + b.WRK_SCRIPT)
    return crawler


def _item_builds(port: int, key: str) -> float:
    _, _, body = _get(port, "/api/metrics", {"X-Admin-Key": key})
    for line in body.decode().splitlines():
        if line.startswith('published_builds_total{kind="item"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _crawl_runs(crawler: b.Wrk, small: b.Wrk, bench: b.Bench, items: int, seconds: float,
                **settings: str) -> dict[str, Any]:
    service = bench.start_service("crawl", **settings)
    try:
        url = f"http://{b.HOST}:{service.port}/"
        first = crawler.run(url, seconds, server_pid=service.pid)  # from an empty cache
        for _ in range(10):  # bounded: until every item was read once
            if _item_builds(service.port, bench.admin_key) >= items:
                break
            crawler.run(url, seconds, server_pid=service.pid)
        steady = crawler.run(url, seconds, server_pid=service.pid)
        all_hits = small.run(url, seconds, server_pid=service.pid)
        rss = b.rss_mb(service.pid)
    finally:
        bench.stop(service)
    return {"first_pass": first.as_dict(), "steady": steady.as_dict(), "all_hits": all_hits.as_dict(),
            "rss_mb": round(rss, 1), "ratio": round(steady.rps / all_hits.rps, 3) if all_hits.rps else None}


def crawl(wrk: b.Wrk, workdir: Path, admin_key: str, items: int, seconds: float) -> dict[str, Any]:
    """A crawler reading every one of ``items`` items in turn, over and over, against an all-hit crawl
    (the first 1,000 of them, every one cached): with the default cache bounds, and with a cache too
    small for them all (then every read is a miss, and what a miss costs shows)."""
    data_dir = workdir / "crawl-data"
    create_portfolio_database(data_dir / "folionaut.db", items)
    crawler = _crawler(wrk, workdir, "crawl", items)
    small = _crawler(wrk, workdir, "crawl-small", min(1000, items))
    bench = b.Bench(workdir, data_dir, admin_key)
    try:
        default = _crawl_runs(crawler, small, bench, items, seconds)
        too_small = _crawl_runs(crawler, small, bench, items, seconds,
                                CONTENT_CACHE_MAX_ENTRIES=str(max(16, items * 5 // 6)))
    finally:
        bench.stop_all()
    return {"items": items, "default_bounds": default, "bound_below_the_crawl": too_small,
            "ratio": default["ratio"]}


# --- cold start ----------------------------------------------------------------------


def cold_start(bench: b.Bench, runs: int) -> dict[str, Any]:
    """Process start to the first 200, ours and a bare aiohttp app (uvloop) taking turns; also the CPU
    time each spent until then, which a busy machine disturbs far less than the wall clock."""
    ours, bare, ours_cpu, bare_cpu = [], [], [], []
    bench.compile_package()
    spec = [{"path": "/api/health/live", "template": "/api/health/live", "etag": '"-"',
             "body": base64.b64encode(b'{"status":"ok"}').decode(), "cache_control": "no-store"}]
    for _ in range(runs):
        process = bench.start_service("cold")
        ours.append(time.perf_counter() - process.started)
        ours_cpu.append(b.cpu_seconds(process.pid))
        bench.stop(process)
        ceiling = bench.start_ceiling(spec)
        bare.append(time.perf_counter() - ceiling.started)
        bare_cpu.append(b.cpu_seconds(ceiling.pid))
        bench.stop(ceiling)

    def ms(values: list[float]) -> float:
        return round(statistics.median(values) * 1000, 1)

    return {"ours_ms": ms(ours), "bare_aiohttp_ms": ms(bare),
            "ratio": round(statistics.median(ours) / statistics.median(bare), 3),
            "ours_cpu_ms": ms(ours_cpu), "bare_aiohttp_cpu_ms": ms(bare_cpu),
            "cpu_ratio": round(statistics.median(ours_cpu) / statistics.median(bare_cpu), 3)
            if statistics.median(bare_cpu) else None,
            # The fastest of each: on a shared machine the others carry its neighbours' noise.
            "fastest_ratio": round(min(ours) / min(bare), 3),
            "runs": [round(t * 1000, 1) for t in ours], "bare_runs": [round(t * 1000, 1) for t in bare]}


# --- the whole run ---------------------------------------------------------------------


def run_scale(args: Any) -> dict[str, Any]:
    wrk_binary = b.ensure_wrk()
    quick = args.quick
    seconds, rounds = (1.0, 1) if quick else (args.duration, args.rounds)
    items = args.items
    crawl_items = args.crawl_items if args.crawl_items is not None else (300 if quick else 12_000)
    workdir = Path(tempfile.mkdtemp(prefix="folionaut-bench-scale-"))
    bench = b.Bench(workdir, workdir / "data", "bench-" + os.urandom(20).hex())
    wrk = b.Wrk(wrk_binary, args.threads, args.connections, workdir)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"cpus": os.cpu_count(), "platform": b.platform.platform(), "python": b.platform.python_version(),
                    "load_average": [round(x, 2) for x in os.getloadavg()]},
        "command": " ".join(["python", "scripts/bench.py", *sys.argv[1:]]),
        "wrk": {"threads": args.threads, "connections": args.connections, "seconds": seconds, "rounds": rounds},
        "items": items,
    }
    try:
        b.log(f"writing {items} items into {bench.data_dir}")
        started = time.perf_counter()
        create_portfolio_database(bench.data_dir / "folionaut.db", items)
        report["generate_s"] = round(time.perf_counter() - started, 2)
        if getattr(args, "dump_only", False):  # only dump and restore against the shell (issue 22)
            report["dump_restore"] = dump_restore(bench, 1 if quick else 3)
            return report
        service = bench.start_service("service")
        captured = capture(service.port)
        identity = captured["bundle"][0]
        report["bundle_bytes"] = {"identity": len(identity), "gzip": len(captured["bundle_gzip"][0])}
        _, headers, body = _get(service.port, BUNDLE, {"Accept-Encoding": "zstd"})
        if headers.get("content-encoding") == "zstd":
            report["bundle_bytes"]["zstd"] = len(body)
        if gzip.decompress(captured["bundle_gzip"][0]) != identity:
            raise b.BenchError("the gzip bundle does not decode to the plain one")
        ceiling = bench.start_ceiling(ceiling_routes(captured))
        report["rss_mb"] = {"idle": round(b.rss_mb(service.pid), 1)}
        b.log(f"reads: {len(SCENARIOS)} scenarios x {rounds} round(s) x {seconds:.0f} s, service and ceiling")
        with b.RssSampler(service.pid) as sampler:
            results = drive(wrk, {"service": service, "ceiling": ceiling}, captured, seconds, rounds)
        report["rss_mb"]["under_32_readers"] = round(sampler.peak, 1)
        report["reads"] = b.reads_report(results)
        bench.stop(ceiling)

        writes = 3 if quick else 10
        b.log(f"right after a write: {writes} writes, 1 then 32 readers of the bundle")
        written = item_id(service.port, "post", "post-5")
        report["after_write"] = asyncio.run(_after_writes(service.port, bench.admin_key, written, writes, 32, {}))
        report["after_write_gzip"] = asyncio.run(
            _after_writes(service.port, bench.admin_key, written, writes, 32, GZIP))
        b.log("a cached item with and without one write a second")
        report["writes_and_reads"] = writes_and_reads(wrk, service, bench.admin_key, written,
                                                      max(seconds, 2.0 if quick else 10.0), rounds)
        b.log("the whole admin listing")
        report["admin_listing"] = admin_listing(service.port, bench.admin_key, items)
        bench.stop(service)

        b.log("dump and restore vs the sqlite3 shell")
        report["dump_restore"] = dump_restore(bench, 1 if quick else 3)
        b.log(f"crawl over {crawl_items} items")
        report["crawl"] = crawl(wrk, workdir, bench.admin_key, crawl_items, max(seconds, 2.0 if quick else 10.0))
        b.log("cold start vs a bare aiohttp app")
        report["cold_start"] = cold_start(bench, 2 if quick else 5)
        report["targets"] = targets(report)
    finally:
        bench.stop_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            b.log(f"kept {workdir}")
    return report


def _check(value: float | None, target: float, at_most: bool, applies: bool = True) -> dict[str, Any]:
    met = value is not None and (value <= target if at_most else value >= target)
    return {"value": value, "target": f"{'<=' if at_most else '>='} {target}", "met": met,
            "applies": applies}


def targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each figure against its target; ``applies`` says whether issue 23 sets it at this scale."""
    items = report["items"]
    checks = {
        "gzip_bundle_ratio": _check(report["reads"]["bundle_gzip"]["ratio"], TARGETS["gzip_bundle_ratio"], False,
                                    items == 1000),
        # Where a rebuild costs less than answering 32 readers at all (40 items: under a millisecond),
        # the ratio measures the answering, not rebuilds: the target is for the scales the issue measured.
        "after_write_median_per_rebuild": _check(report["after_write"]["median_per_rebuild"],
                                                 TARGETS["after_write_median_per_rebuild"], True, items >= 1000),
        "after_write_gzip_median_per_rebuild": _check(report["after_write_gzip"]["median_per_rebuild"],
                                                      TARGETS["after_write_median_per_rebuild"], True, items >= 1000),
        "write_p99_ratio": _check(report["writes_and_reads"]["p99_ratio"], TARGETS["write_p99_ratio"], True),
        "crawl_ratio": _check(report["crawl"]["ratio"], TARGETS["crawl_ratio"], False),
        "admin_listing_s": _check(report["admin_listing"]["cursor_s"], TARGETS["admin_listing_s"], True,
                                  items == 10_000),
        "rss_mb": _check(report["rss_mb"]["under_32_readers"], TARGETS["rss_mb"], True, items == 10_000),
        "cold_start_ratio": _check(report["cold_start"]["ratio"], TARGETS["cold_start_ratio"], True),
    }
    dump_restore = report["dump_restore"]
    if "dump" in dump_restore:
        for name in ("dump", "restore"):
            checks[f"{name}_ratio"] = _check(dump_restore[name]["ratio"], TARGETS[f"{name}_ratio"], True,
                                             items == 10_000)
    return checks


def print_scale(report: dict[str, Any]) -> None:
    if "reads" not in report:  # --dump-only
        dr = report["dump_restore"]
        print(f"Folionaut dump/restore at {report['items']} items, {report['date']}, load average "
              f"{report['machine']['load_average']}: dump {dr['dump']['ours_s']:.2f} s vs sqlite3 .dump "
              f"{dr['dump']['shell_s']:.2f} s = {dr['dump']['ratio']:.2f}; restore {dr['restore']['ours_s']:.2f} s vs "
              f"sqlite3 < file {dr['restore']['shell_s']:.2f} s = {dr['restore']['ratio']:.2f} "
              f"(dump {dr['dump_bytes']:,} bytes, shell's {dr['shell_dump_bytes']:,})")
        return
    w, sizes = report["wrk"], report["bundle_bytes"]
    out = [f"Folionaut benchmark at {report['items']} items, {report['date']}, {report['machine']['cpus']} CPUs, "
           f"Python {report['machine']['python']}, load average {report['machine']['load_average']}",
           f"wrk -t{w['threads']} -c{w['connections']} -d{w['seconds']:.0f}s, {w['rounds']} round(s), medians; "
           f"bundle {sizes['identity']:,} bytes, gzip {sizes['gzip']:,}"
           + (f", zstd {sizes['zstd']:,}" if "zstd" in sizes else ""), "",
           "Reads, service vs bare aiohttp ceiling serving the same bytes:",
           f"  {'scenario':<13}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}  |{'ceiling':>9}{'p99 ms':>9}  |{'ratio':>7}"]
    for name, entry in report["reads"].items():
        s, c = entry["service"], entry["ceiling"]
        out.append(f"  {name:<13}{s['rps']:>9.0f}{s['p50_ms']:>9.2f}{s['p99_ms']:>9.2f}  |{c['rps']:>9.0f}"
                   f"{c['p99_ms']:>9.2f}  |{entry['ratio']:>7.2f}")
    rss = report["rss_mb"]
    out.append(f"  service RSS: {rss['idle']:.1f} MB idle, {rss['under_32_readers']:.1f} MB peak under 32 readers")
    out.append("")
    for label, after in (("plain", report["after_write"]), ("gzip", report["after_write_gzip"])):
        out.append(f"Right after a write ({after['writes']} writes, bundle {label}): one read "
                   f"{after['one_rebuild_ms']:.1f} ms; {after['readers']} concurrent reads median "
                   f"{after['concurrent_median_ms']:.1f} ms (p99 {after['concurrent_p99_ms']:.1f}) = "
                   f"{after['median_per_rebuild']:.2f} x one rebuild; the same 32 reads with nothing to rebuild: "
                   f"median {after.get('concurrent_cached_median_ms', float('nan')):.1f} ms")
    wr = report["writes_and_reads"]
    out.append(f"Cached item p99: {wr['no_writes']['p99_ms']:.2f} ms without writes, "
               f"{wr['one_write_a_second']['p99_ms']:.2f} ms with one write a second ({wr['writes']} writes) "
               f"= {wr['p99_ratio']}")
    listing = report["admin_listing"]
    out.append(f"Admin listing of {listing['items']} items in {listing['pages']} pages: "
               f"cursor {listing['cursor_s']:.3f} s, offset {listing['offset_s']:.3f} s")
    dr = report["dump_restore"]
    if "dump" in dr:
        out.append(f"dump {dr['dump']['ours_s']:.2f} s vs sqlite3 .dump {dr['dump']['shell_s']:.2f} s "
                   f"= {dr['dump']['ratio']:.2f}; restore {dr['restore']['ours_s']:.2f} s vs sqlite3 < file "
                   f"{dr['restore']['shell_s']:.2f} s = {dr['restore']['ratio']:.2f} (dump {dr['dump_bytes']:,} bytes)")
    else:
        out.append(f"dump/restore: {dr['skipped']}")
    cr = report["crawl"]
    for label, runs in (("default cache bounds", cr["default_bounds"]),
                        ("entries bound below the crawl", cr["bound_below_the_crawl"])):
        out.append(f"Crawl over {cr['items']} items, {label}: first pass {runs['first_pass']['rps']:.0f} req/s, "
                   f"steady {runs['steady']['rps']:.0f} req/s (p99 {runs['steady']['p99_ms']:.2f} ms) vs all hits "
                   f"{runs['all_hits']['rps']:.0f} req/s = {runs['ratio']}; RSS {runs['rss_mb']} MB")
    cs = report["cold_start"]
    out.append(f"Cold start to the first 200: {cs['ours_ms']:.0f} ms vs bare aiohttp {cs['bare_aiohttp_ms']:.0f} ms "
               f"= {cs['ratio']:.2f} (CPU {cs['ours_cpu_ms']:.0f} vs {cs['bare_aiohttp_cpu_ms']:.0f} ms = "
               f"{cs['cpu_ratio']}; fastest of each {min(cs['runs']):.0f} vs {min(cs['bare_runs']):.0f} ms = "
               f"{cs['fastest_ratio']:.2f})")
    out += ["", "Targets (issue 23; 'n/a' where the issue sets the target at another scale):"]
    for name, check in report["targets"].items():
        verdict = ("met" if check["met"] else "MISSED") if check["applies"] else "n/a"
        out.append(f"  {name:<32} {check['value']!s:>9}  target {check['target']:<8} {verdict}")
    print("\n".join(out))
