"""The access log of a real `folionaut serve`: one line per request, with the route template, status,
duration, bytes, request id and hashed client, never a raw address, key or token; ACCESS_LOG=off and
LOG_FORMAT switch it. Requests over real HTTP (and a raw socket for a malformed one)."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import ServeProcess, clean_env

ADMIN_KEY = "access-log-admin-key-0123456789abcdefghij"
TOKEN_IN_QUERY = "tok_SECRET_in_the_query_string"
BEARER = "fol_not_a_real_token_but_secret_all_the_same"
FORWARDED_IP = "203.0.113.77"


def send(server: ServeProcess, path: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(server.base_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def malformed_request(server: ServeProcess) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/v1/content HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
        return raw.recv(4096)


def access_lines(server: ServeProcess) -> list[dict[str, object]]:
    return [entry for entry in map(json.loads, server.lines) if entry.get("context") == "access"]


def test_one_json_line_per_request_with_no_secret(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    server = start_serve(env=clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY, TRUST_PROXY="1"))
    assert send(server, f"/api/v1/content?token={TOKEN_IN_QUERY}",
                {"X-Request-Id": "trace-1", "X-Forwarded-For": FORWARDED_IP}) == 200
    assert send(server, "/api/v1/admin/content", {"X-Admin-Key": ADMIN_KEY}) == 200
    assert send(server, "/api/v1/admin/content/content_nope", {"Authorization": f"Bearer {BEARER}"}) == 401
    assert send(server, "/no/such/page") == 404
    assert malformed_request(server).split(b"\r\n")[0].endswith(b" 400 Bad Request")  # answered before routing
    server.wait_for_count(r'"context":"access"', 5)
    assert server.stop() == 0

    lines = access_lines(server)
    assert [(e["method"], e["route"], e["status"]) for e in lines] == [
        ("GET", "/api/v1/content", 200), ("GET", "/api/v1/admin/content", 200),
        ("GET", "/api/v1/admin/content/{id}", 401), ("GET", "unmatched", 404), ("UNKNOWN", "unmatched", 400)]
    first = lines[0]
    assert set(first) == {"time", "level", "context", "message", "method", "route", "status", "durationMs", "bytes",
                          "requestId", "client"}
    assert first["requestId"] == "trace-1" and first["level"] == "info"
    assert isinstance(first["durationMs"], float) and first["durationMs"] > 0
    assert isinstance(first["bytes"], int) and first["bytes"] > 50  # the body sent
    assert re.fullmatch(r"[0-9a-f]{16}", str(first["client"]))
    assert lines[1]["client"] != first["client"]  # the forwarded client is told apart, by hash
    assert all(re.fullmatch(r"[0-9a-f]{32}", str(e["requestId"])) for e in lines[1:4])
    for secret in (ADMIN_KEY, TOKEN_IN_QUERY, BEARER, FORWARDED_IP):
        assert secret not in server.stderr, secret
    for raw in ("127.0.0.1", "content_nope", "/no/such"):  # addresses and paths: the template only
        assert raw not in json.dumps(lines), raw


def test_access_log_off_and_text_format(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    quiet = start_serve(env=clean_env(workdir, ACCESS_LOG="off"))
    assert send(quiet, "/api/v1/content") == 200
    assert quiet.stop() == 0
    assert not access_lines(quiet)
    assert any(json.loads(line).get("message") == "stopped" for line in quiet.lines)

    text = start_serve(env=clean_env(workdir, LOG_FORMAT="text"))
    assert send(text, "/api/v1/content", {"X-Request-Id": "text-1"}) == 200
    text.wait_for_line(r"\[access\] GET /api/v1/content 200 [\d.]+ ms \d+ B \(request text-1\) client=[0-9a-f]{16}$")
    assert text.stop() == 0
    assert not [line for line in text.lines if line.startswith("{")]  # every line as text, not only a TTY's
