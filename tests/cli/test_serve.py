"""`python folionaut.py serve` for real: first run, precedence of flags, logs, graceful shutdown."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import ServeProcess, clean_env

ADMIN_KEY = "serve-test-admin-key-0123456789abcdefgh"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def json_lines(process: ServeProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in process.lines]


def test_first_run_in_an_empty_directory(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    server = start_serve()
    status, _headers, body = server.get("/api/health/live")
    assert (status, body) == (200, {"status": "ok"})
    assert server.host == "127.0.0.1"
    assert server.get("/api/health/ready")[2] == {"status": "ready", "checks": {"database": "ok"}}
    assert (workdir / "data" / "folionaut.db").is_file()

    key_file = workdir / "data" / "admin_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    announcements = [line for line in server.lines if "admin_key" in line]
    assert len(announcements) == 1 and "cat data/admin_key" in announcements[0]
    assert server.get("/api/v1/admin/content", {"X-Admin-Key": key})[0] == 200  # the stored key is the key
    assert server.stop() == 0
    assert key not in server.stderr

    again = start_serve()
    assert again.get("/api/v1/admin/content", {"X-Admin-Key": key})[0] == 200  # reused, not regenerated
    assert again.stop() == 0
    assert not [line for line in again.lines if "admin_key" in line or "generated" in line]
    assert key_file.read_text().strip() == key and key not in again.stderr


def test_data_dir_from_environment(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    server = start_serve(env=clean_env(workdir, FOLIONAUT_DATA_DIR="elsewhere"))
    assert server.stop() == 0
    assert (workdir / "elsewhere" / "folionaut.db").is_file() and (workdir / "elsewhere" / "admin_key").is_file()
    assert not (workdir / "data").exists()


def test_precedence_config_file_then_env_then_flags(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    from_file, from_env, from_flag = free_port(), free_port(), free_port()
    (workdir / "folionaut.toml").write_text(f'port = {from_file}\nhost = "localhost"\n')
    env = clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY)

    by_file = start_serve(["--config", "folionaut.toml"], env=env)
    assert (by_file.host, by_file.port) == ("localhost", from_file)
    assert by_file.stop() == 0

    by_env_config = start_serve([], env={**env, "FOLIONAUT_CONFIG": "folionaut.toml", "PORT": str(from_env)})
    assert (by_env_config.host, by_env_config.port) == ("localhost", from_env)
    assert by_env_config.stop() == 0

    by_flag = start_serve(["--config", "folionaut.toml", "--host", "127.0.0.1", "--port", str(from_flag)],
                          env={**env, "PORT": str(from_env), "HOST": "localhost"})
    assert (by_flag.host, by_flag.port) == ("127.0.0.1", from_flag)
    assert by_flag.get("/api/health/live")[0] == 200
    assert by_flag.stop() == 0


def test_structured_logs_carry_request_ids_and_never_the_admin_key(
    workdir: Path, start_serve: Callable[..., ServeProcess]
) -> None:
    server = start_serve(env=clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY))
    assert server.get("/api/v1/admin/content", {"X-Admin-Key": ADMIN_KEY})[0] == 200
    assert server.get("/api/v1/admin/content", {"X-Admin-Key": ADMIN_KEY[:-1] + "!"})[0] == 401
    # Take the database away under the running server: ready must say so, and log it for this request.
    (workdir / "data" / "folionaut.db").unlink()
    status, headers, body = server.get("/api/health/ready", {"X-Request-Id": "probe-after-outage"})
    assert status == 503 and body == {"status": "unhealthy", "checks": {"database": "error"}}
    assert headers["X-Request-Id"] == "probe-after-outage"
    server.wait_for_line("probe-after-outage")
    assert server.stop() == 0

    entries = json_lines(server)  # every stderr line is one JSON object
    assert all({"level", "context", "message"} <= set(entry) for entry in entries)
    failure = next(entry for entry in entries if entry.get("requestId") == "probe-after-outage")
    assert failure["level"] == "warning" and failure["context"] == "health" and "database" in str(failure["message"])
    assert any(entry["message"] == "stopped" for entry in entries)
    assert ADMIN_KEY not in server.stderr and ADMIN_KEY[:-1] not in server.stderr


def test_sigterm_lets_an_in_flight_request_finish(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    """A client is mid-upload when SIGTERM arrives: its request completes with 201, then the process exits 0.

    `Expect: 100-continue` makes this deterministic without a debug route: the server
    answers "100 Continue" only once it has routed the request and is running it, and
    the body is sent only after the server has logged that it is stopping.
    """
    server = start_serve(env=clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY))
    body = json.dumps({"type": "project", "slug": "in-flight", "status": "published",
                       "data": {"title": "In flight", "text": "x" * 20_000}}).encode()
    head = (f"POST /api/v1/admin/content HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"X-Admin-Key: {ADMIN_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn:
        conn.sendall(head)
        interim = conn.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
        conn.sendall(body[:1000])  # part of the body: the handler is now waiting mid-read

        server.proc.send_signal(signal.SIGTERM)
        server.wait_for_line("stopping: finishing in-flight requests")

        conn.sendall(body[1000:])
        response = b""
        while chunk := conn.recv(65536):  # Connection: close, so the server ends the stream
            response += chunk
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 201 Created", response[:300]
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["data"]["slug"] == "in-flight"
    assert server.stop() == 0
    assert server.lines[-1].endswith('"message":"stopped"}')


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_idle_server_stops_cleanly_on_signal(start_serve: Callable[..., ServeProcess], signum: int) -> None:
    server = start_serve()
    assert server.stop(signum) == 0
    assert "Traceback" not in server.stderr


def test_port_in_use_is_one_line_and_exit_1(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_serve(["--port", str(port)], wait=False)
        server.proc.wait(timeout=30)
        code = server.stop()
    assert code == 1
    last = server.lines[-1]
    assert last.startswith("folionaut: cannot start:") and "Traceback" not in server.stderr


def test_data_dir_is_not_writable(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    (workdir / "blocker").write_text("a file where the data directory should be")
    server = start_serve(env=clean_env(workdir, FOLIONAUT_DATA_DIR="blocker/data"), wait=False)
    server.proc.wait(timeout=30)
    assert server.stop() == 1
    assert len(server.lines) == 1 and server.lines[0].startswith("folionaut: cannot start:"), server.stderr
    assert os.path.isfile(workdir / "blocker")


IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(?P<module>\S+)$")
ON_FIRST_USE = ("redis", "libsql_client", "prometheus_client", "folionaut.chat", "folionaut.mcp.protocol")


def test_a_start_loads_what_it_serves_and_the_rest_on_first_use(
    workdir: Path, start_serve: Callable[..., ServeProcess]
) -> None:
    """Redis, libSQL and Prometheus code load only when configured or used, the chat on its first
    question and the MCP server on its first request (issue 23: cold start); both answer all the same."""
    server = start_serve(env=clean_env(workdir, PYTHONPROFILEIMPORTTIME="1"))
    assert server.get("/api/v1/content", {"X-Request-Id": "first-read"})[0] == 200
    server.wait_for_line("first-read")

    def loaded() -> set[str]:
        return {match["module"] for line in server.lines if (match := IMPORTED.match(line))}

    assert "aiohttp.web" in loaded()  # the check sees imports at all
    assert not {name for name in loaded() if name.startswith(ON_FIRST_USE)}

    question = json.dumps({"message": "What have you built?", "visitorId": "visitor-1"}).encode()
    request = urllib.request.Request(f"{server.base_url}/api/v1/chat", data=question,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = json.loads(response.read())
    assert response.status == 200 and reply["sessionId"].startswith("sess_")
    server.wait_for_line(r"\bfolionaut\.chat\.service$")

    key = (workdir / "data" / "admin_key").read_text().strip()
    initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}).encode()
    request = urllib.request.Request(f"{server.base_url}/api/mcp", data=initialize, headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", "X-Admin-Key": key})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["result"]["protocolVersion"] == "2025-06-18"
    server.wait_for_line(r"\bfolionaut\.mcp\.protocol$")
    assert server.stop() == 0
