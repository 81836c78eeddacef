#!/usr/bin/env python3
"""CPU instructions per cached read, counted by valgrind: a figure a busy machine cannot blur.

    python scripts/instructions_bench.py                       # this checkout
    python scripts/instructions_bench.py --tree ../other-tree  # another checkout, same venv
    python scripts/instructions_bench.py --json

``scripts/bench.py`` measures requests per second against a bare aiohttp app;
on a shared machine (other processes on the same cores) its figures swing by
tens of per cent. This script counts instructions instead (``valgrind
--tool=callgrind``), which depend on the code, not on the neighbours: it seeds
a portfolio (40 published items, as bench.py does), starts ``python
folionaut.py serve`` under callgrind twice, sends ``--requests`` and then twice
as many keep-alive requests per scenario, and reports the difference divided by
the extra requests — the instructions one request costs, start-up excluded.
Everything runs on 127.0.0.1; each run is bounded in time.

Exit codes: 0 done, 1 the measurement failed, 2 valgrind missing or bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SCENARIOS = {
    "bundle": ("/api/v1/content/bundle", {}),
    "bundle_304": ("/api/v1/content/bundle", {"If-None-Match": "<etag>"}),
    "item": ("/api/v1/content/project/project-1", {}),
    "live": ("/api/health/live", {}),
}
START_TIMEOUT_SECONDS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"instructions_bench: the server exited early ({process.returncode})")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/api/health/live")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("instructions_bench: the server did not answer in time")


def environment(data_dir: Path, admin_key: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FOLIONAUT_", "REDIS_", "TURSO_"))}
    env.update({"FOLIONAUT_ENV": "production", "ADMIN_API_KEY": admin_key, "FOLIONAUT_DATA_DIR": str(data_dir),
                "FEATURE_RATE_LIMITING": "false", "LOG_LEVEL": "warning", "PYTHONHASHSEED": "0"})
    return env


@contextlib.contextmanager
def served(tree: Path, data_dir: Path, admin_key: str) -> Iterator[http.client.HTTPConnection]:
    """The service of ``tree`` started (not under valgrind) and a connection to it; stopped after."""
    port = free_port()
    command = [sys.executable, "folionaut.py", "serve", "--host", HOST, "--port", str(port)]
    with subprocess.Popen(command, cwd=tree, env=environment(data_dir, admin_key),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            wait_ready(port, server, 60)
            yield http.client.HTTPConnection(HOST, port, timeout=30)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)


def seed(tree: Path, data_dir: Path, admin_key: str) -> None:
    with served(tree, data_dir, admin_key) as connection:
        for number in range(40):
            kind = ("project", "skill", "experience", "post", "talk", "award", "education", "link")[number % 8]
            body = json.dumps({"type": kind, "slug": f"{kind}-{number // 8 + 1}", "status": "published",
                               "data": {"title": f"{kind.title()} {number}", "summary": "x" * 300,
                                        "tags": ["python", "aiohttp", "sqlite"]}})
            connection.request("POST", "/api/v1/admin/content", body=body,
                               headers={"X-Admin-Key": admin_key, "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                raise SystemExit(f"instructions_bench: seeding answered {response.status}")


def instructions(tree: Path, data_dir: Path, admin_key: str, path: str, headers: dict[str, str],
                 requests: int, out: Path, start_timeout: float = START_TIMEOUT_SECONDS) -> int:
    """Total instructions of a server that started, answered ``requests`` requests and stopped."""
    port = free_port()
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
               sys.executable, "folionaut.py", "serve", "--host", HOST, "--port", str(port)]
    # stderr to a file, not a pipe: the access log writes a line per request, which would fill a
    # pipe nobody reads until the end (and then block the server).
    log = out.with_suffix(".stderr")
    with open(log, "wb") as log_file, subprocess.Popen(command, cwd=tree, env=environment(data_dir, admin_key),
                                                       stdout=subprocess.DEVNULL, stderr=log_file) as server:
        try:
            wait_ready(port, server, start_timeout)
            connection = http.client.HTTPConnection(HOST, port, timeout=60)
            for _ in range(requests):  # bounded: a fixed count, each with a timeout
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status not in (200, 304):
                    raise SystemExit(f"instructions_bench: {path} answered {response.status}")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
    stderr = log.read_bytes()
    match = re.search(rb"Collected : (\d+)", stderr)
    if match is None:
        raise SystemExit("instructions_bench: callgrind printed no total:\n" + stderr.decode(errors="replace")[-2000:])
    return int(match.group(1))


def etag_of(tree: Path, data_dir: Path, admin_key: str) -> str:
    with served(tree, data_dir, admin_key) as connection:
        connection.request("GET", "/api/v1/content/bundle")
        response = connection.getresponse()
        response.read()
        return response.getheader("ETag") or ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to measure (default: this one)")
    parser.add_argument("--requests", type=int, default=500, help="requests in the shorter run (default 500)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append",
                        help="measure only this scenario (repeatable; default: all)")
    parser.add_argument("--start-timeout", type=float, default=START_TIMEOUT_SECONDS,
                        help=f"seconds a server under valgrind may take to start (default {START_TIMEOUT_SECONDS:g})")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("instructions_bench: valgrind is not installed (apt-get install -y valgrind)", file=sys.stderr)
        return 2
    tree = args.tree.resolve()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="folionaut-instr-") as scratch:
        data_dir, admin_key = Path(scratch) / "data", secrets.token_urlsafe(32)
        seed(tree, data_dir, admin_key)
        etag = etag_of(tree, data_dir, admin_key)
        for name, (path, headers) in SCENARIOS.items():
            if args.only and name not in args.only:
                continue
            headers = {key: value.replace("<etag>", etag) for key, value in headers.items()}
            # The first request of each run fills the cache; both runs pay it, so it cancels out.
            short = instructions(tree, data_dir, admin_key, path, headers, args.requests, Path(scratch) / "a.out",
                                 args.start_timeout)
            long = instructions(tree, data_dir, admin_key, path, headers, 2 * args.requests, Path(scratch) / "b.out",
                                args.start_timeout)
            results[name] = (long - short) / args.requests
            if not args.json:
                print(f"{name:<12} {results[name]:>10,.0f} instructions per request", flush=True)
    if args.json:
        print(json.dumps({"tree": str(tree), "requests": args.requests, "instructions_per_request": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
