"""`folionaut serve --workers 2` for real: one port, two processes, one server.

Requests go over fresh connections (urllib opens one each), so the kernel
spreads them over both workers (SO_REUSEPORT); what a client sees must be what
one process would give: exact rate limits, no stale reads after a write, one
metrics view. A worker that dies is replaced; SIGTERM drains both.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import ServeProcess, clean_env

ADMIN_KEY = "workers-test-admin-key-0123456789abcdef"
ADMIN = {"X-Admin-Key": ADMIN_KEY}
STARTED = re.compile(r'"message":"started worker (?P<index>\d+)","pid":(?P<pid>\d+)')


def workers_env(workdir: Path, **extra: str) -> dict[str, str]:
    return clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY, WORKERS="2", **extra)


def call(server: ServeProcess, method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.base_url + path, data=data, method=method,
                                     headers={**(headers or {}), "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            is_json = response.headers.get("Content-Type", "").startswith("application/json")
            return response.status, json.loads(raw) if is_json else raw
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def workers_of(server: ServeProcess) -> list[int]:
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def metric(text: bytes, pattern: str) -> float:
    match = re.search(rf"^{pattern} (\S+)$", text.decode(), re.MULTILINE)
    assert match, f"{pattern} not in the metrics"
    return float(match.group(1))


def test_two_workers_serve_as_one(start_serve: Callable[..., ServeProcess], workdir: Path) -> None:
    server = start_serve(["--port", "0"], env=workers_env(workdir))
    assert "with 2 workers" in server.stderr
    assert len(workers_of(server)) == 2

    # A write on whichever worker, then reads on fresh connections: no worker serves the old bytes.
    status, created = call(server, "POST", "/api/v1/admin/content", {
        "type": "project", "slug": "w", "status": "published", "data": {"title": "First"}}, ADMIN)
    assert status == 201
    for _ in range(8):  # both workers now have the bundle cached
        assert call(server, "GET", "/api/v1/content/bundle")[1]["data"]["project"][0]["data"]["title"] == "First"
    status, _ = call(server, "PUT", f"/api/v1/admin/content/{created['data']['id']}",
                     {"data": {"title": "Second"}, "version": 1}, ADMIN)
    assert status == 200
    titles = {call(server, "GET", "/api/v1/content/bundle")[1]["data"]["project"][0]["data"]["title"]
              for _ in range(8)}
    assert titles == {"Second"}

    # One metrics view: every request counted once, whichever worker served it.
    for _ in range(20):
        assert call(server, "GET", "/api/health/live")[0] == 200
    status, text = call(server, "GET", "/api/metrics", headers=ADMIN)
    assert status == 200
    assert metric(text, r'http_requests_total\{method="GET",path="/api/health/live",status="200"\}') == 20
    assert metric(text, r'circuit_breaker_state\{name="llm"\}') == 0
    assert metric(text, r'http_request_duration_seconds_count\{method="GET",path="/api/health/live"\}') == 20
    assert server.stop() == 0


def test_rate_limits_are_exact_across_workers(start_serve: Callable[..., ServeProcess], workdir: Path) -> None:
    server = start_serve(["--port", "0"], env=workers_env(
        workdir, CONTENT_RATE_LIMIT_CAPACITY="5", CONTENT_RATE_LIMIT_REFILL_RATE="0.01"))
    statuses = [call(server, "GET", "/api/v1/content")[0] for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7  # one bucket for the client, not one per worker
    status, text = call(server, "GET", "/api/metrics", headers=ADMIN)
    assert status == 200
    assert metric(text, r'rate_limit_hits_total\{limiter="content"\}') == 7
    assert server.stop() == 0


def test_a_killed_worker_is_replaced(start_serve: Callable[..., ServeProcess], workdir: Path) -> None:
    server = start_serve(["--port", "0"], env=workers_env(workdir))
    for _ in range(6):
        assert call(server, "GET", "/api/health/live")[0] == 200
    before = metric(call(server, "GET", "/api/metrics", headers=ADMIN)[1],
                    r'http_requests_total\{method="GET",path="/api/health/live",status="200"\}')
    victim = workers_of(server)[0]
    os.kill(victim, signal.SIGKILL)
    server.wait_for_line(r"exited \(signal 9\)")
    deadline = time.monotonic() + 20
    while (victim in workers_of(server) or len(workers_of(server)) < 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert victim not in workers_of(server) and len(workers_of(server)) == 2
    index = next(found["index"] for found in STARTED.finditer(server.stderr) if int(found["pid"]) == victim)
    server.wait_for_line(rf'"message":"started worker {index}","pid":(?!{victim}\b)\d+')
    # Still one server: it answers, and what the dead worker counted is still counted.
    assert all(call(server, "GET", "/api/health/live")[0] == 200 for _ in range(6))
    after = metric(call(server, "GET", "/api/metrics", headers=ADMIN)[1],
                   r'http_requests_total\{method="GET",path="/api/health/live",status="200"\}')
    assert after >= before + 6
    assert server.stop() == 0


def test_sigterm_drains_every_worker(start_serve: Callable[..., ServeProcess], workdir: Path) -> None:
    """A request is mid-upload on some worker when the supervisor gets SIGTERM: it completes, then all exit 0."""
    server = start_serve(["--port", "0"], env=workers_env(workdir))
    body = json.dumps({"type": "project", "slug": "in-flight", "data": {"title": "In flight"}}).encode()
    head = (f"POST /api/v1/admin/content HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"X-Admin-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn:
        conn.sendall(head)
        assert conn.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        conn.sendall(body[:10])
        server.proc.send_signal(signal.SIGTERM)
        server.wait_for_line("telling 2 workers to finish in-flight requests")
        server.wait_for_count("stopping: finishing in-flight requests", 2)  # both workers are draining
        conn.sendall(body[10:])
        response = b""
        while chunk := conn.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 201 Created"), response[:300]
    assert server.stop() == 0
    assert server.lines[-1].endswith('"context":"workers","message":"stopped"}')
    # New connections are refused once it has stopped.
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    assert refused


def test_an_http_sse_session_answers_whichever_worker_gets_its_messages(
    start_serve: Callable[..., ServeProcess], workdir: Path
) -> None:
    """2024-11-05 HTTP+SSE: the stream is on one worker, the POSTs land on either; every answer arrives."""
    server = start_serve(["--port", "0"], env=workers_env(workdir))
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as stream:
        stream.sendall(f"GET /api/mcp/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Admin-Key: {ADMIN_KEY}\r\n"
                       "Accept: text/event-stream\r\n\r\n".encode())
        reader = stream.makefile("rb")

        def event() -> tuple[str, str]:
            fields: dict[str, str] = {}
            while True:
                line = reader.readline().decode().rstrip("\r\n")
                if not line and "event" in fields:
                    return fields["event"], fields["data"]
                if line.startswith(("event: ", "data: ")):
                    name, _, value = line.partition(": ")
                    fields[name] = value

        kind, endpoint = event()
        assert kind == "endpoint"
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}}}
        assert call(server, "POST", "/api/mcp/" + endpoint, init, ADMIN)[0] == 202
        assert json.loads(event()[1])["result"]["protocolVersion"] == "2024-11-05"
        for number in range(1, 9):  # fresh connections: about half land on the other worker
            assert call(server, "POST", "/api/mcp/" + endpoint,
                        {"jsonrpc": "2.0", "id": number, "method": "ping"}, ADMIN)[0] == 202
            assert json.loads(event()[1]) == {"jsonrpc": "2.0", "id": number, "result": {}}
    assert server.stop() == 0
