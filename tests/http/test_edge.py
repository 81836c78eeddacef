"""The edge over real HTTP: every error code in the envelope, request ids, headers, CORS."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from folionaut.core import jsonutil
from folionaut.core.logging import configure_logging
from folionaut.http.app import create_app
from folionaut.settings import Settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")


async def envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the error envelope of spec section 1 and return its inner object."""
    assert response.status == status, await response.text()
    assert response.headers["Content-Type"].startswith("application/json")
    body = await response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    assert error["requestId"] == response.headers["X-Request-Id"]
    assert ("fields" in error) == (code == "VALIDATION_ERROR")
    assert "retryAfter" not in error
    return error


def assert_edge_headers(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers.get("X-Request-Id")
    server = response.headers.get("Server", "")
    assert not re.search(r"\d|aiohttp|python", server, re.IGNORECASE), server  # no version leak


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's real JSON log output, captured; logging restored afterwards."""
    buffer = io.StringIO()
    configure_logging("info", stream=buffer)
    yield buffer
    for name in ("folionaut", "aiohttp", "asyncio"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def log_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [jsonutil.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_validation_error_names_the_fields(client: Any, admin_headers: dict[str, str]) -> None:
    response = await client.post("/api/v1/admin/content", headers=admin_headers,
                                 json={"type": "Not A Type!", "data": {}})
    error = await envelope(response, 400, "VALIDATION_ERROR")
    assert {"type", "data"} <= set(error["fields"])
    assert all(isinstance(problems, list) and problems for problems in error["fields"].values())


async def test_malformed_json_and_wrong_content_type_are_bad_request(
    client: Any, admin_headers: dict[str, str]
) -> None:
    json_headers = {**admin_headers, "Content-Type": "application/json"}
    malformed = await client.post("/api/v1/admin/content", headers=json_headers, data=b'{"type": "project",')
    await envelope(malformed, 400, "BAD_REQUEST")
    text_headers = {**admin_headers, "Content-Type": "text/plain"}
    wrong_type = await client.post("/api/v1/admin/content", headers=text_headers, data=b'{"type": "project"}')
    await envelope(wrong_type, 400, "BAD_REQUEST")


async def test_missing_and_wrong_admin_key_are_401(client: Any) -> None:
    await envelope(await client.get("/api/v1/admin/content"), 401, "UNAUTHORIZED")
    wrong = await client.get("/api/v1/admin/content", headers={"X-Admin-Key": "x" * 40})
    await envelope(wrong, 401, "UNAUTHORIZED")


async def test_unknown_route_and_method_are_404(client: Any) -> None:
    await envelope(await client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    await envelope(await client.patch("/api/health/live"), 404, "NOT_FOUND")


async def test_duplicate_type_and_slug_is_409(client: Any, admin_headers: dict[str, str]) -> None:
    item = {"type": "project", "slug": "twice", "data": {"title": "Twice"}}
    first = await client.post("/api/v1/admin/content", headers=admin_headers, json=item)
    assert first.status == 201
    second = await client.post("/api/v1/admin/content", headers=admin_headers, json=item)
    await envelope(second, 409, "CONFLICT")


async def test_body_over_100_kib_is_413_in_the_envelope(client: Any, admin_headers: dict[str, str]) -> None:
    big = b'{"type": "project", "data": {"title": "' + b"x" * (101 * 1024) + b'"}}'
    headers = {**admin_headers, "Content-Type": "application/json"}
    declared = await client.post("/api/v1/admin/content", headers=headers, data=big)
    await envelope(declared, 413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> Any:  # no Content-Length: the limit must hold while reading
        for start in range(0, len(big), 8192):
            yield big[start:start + 8192]

    streamed = await client.post("/api/v1/admin/content", headers=headers, data=chunks())
    error = await envelope(streamed, 413, "PAYLOAD_TOO_LARGE")
    assert_edge_headers(streamed)
    assert "100 KiB" in error["message"]


async def test_unexpected_exception_is_500_with_request_id_logged_not_shown(
    aiohttp_client: Any, settings: Settings, json_logs: io.StringIO
) -> None:
    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: SELECT * FROM content")

    app = create_app(settings)
    app.router.add_get("/test-only/explode", explode)  # added before the app starts
    client = await aiohttp_client(app)
    response = await client.get("/test-only/explode", headers={"X-Request-Id": "trace-me-500"})
    error = await envelope(response, 500, "INTERNAL_SERVER_ERROR")
    assert error["requestId"] == "trace-me-500"
    text = await response.text()
    assert "Traceback" not in text and "secret internals" not in text and "SELECT" not in text
    assert_edge_headers(response)
    lines = [line for line in log_lines(json_logs) if line.get("requestId") == "trace-me-500"]
    logged = [line for line in lines if line["context"] != "access"]
    assert len(logged) == 1
    assert logged[0]["level"] == "error" and logged[0]["context"] == "http"
    assert "Traceback" in logged[0]["error"] and "secret internals" in logged[0]["error"]
    # and the request's access line, with its status
    assert [(line["route"], line["status"]) for line in lines if line["context"] == "access"] == [
        ("/test-only/explode", 500)]


async def test_slow_request_is_504(aiohttp_client: Any, settings: Settings) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(30)  # cancelled by the 100 ms request timeout long before this
        return web.Response(text="too late")

    app = create_app(settings.replace(request_timeout_ms=100))
    app.router.add_get("/test-only/slow", slow)
    client = await aiohttp_client(app)
    response = await client.get("/test-only/slow")
    await envelope(response, 504, "REQUEST_TIMEOUT")
    assert_edge_headers(response)


@pytest.mark.parametrize("incoming", ["abc-123", "Req_1.2:3", "a" * 128])
async def test_sane_request_id_is_echoed(client: Any, incoming: str) -> None:
    response = await client.get("/api/health/live", headers={"X-Request-Id": incoming})
    assert response.headers["X-Request-Id"] == incoming


@pytest.mark.parametrize("incoming", ["has spaces", "a" * 129, "<script>", "new\\nline", ""])
async def test_insane_request_id_is_replaced(client: Any, incoming: str) -> None:
    response = await client.get("/api/v1/nope", headers={"X-Request-Id": incoming})
    assert GENERATED_ID.match(response.headers["X-Request-Id"])
    assert (await response.json())["error"]["requestId"] == response.headers["X-Request-Id"]


async def test_generated_request_ids_differ(client: Any) -> None:
    first = (await client.get("/api/health/live")).headers["X-Request-Id"]
    second = (await client.get("/api/health/live")).headers["X-Request-Id"]
    assert first != second and GENERATED_ID.match(first)


async def test_security_headers_on_success_errors_and_304(client: Any, admin_headers: dict[str, str]) -> None:
    created = await client.post("/api/v1/admin/content", headers=admin_headers,
                                json={"type": "project", "data": {"title": "Hi"}, "status": "published"})
    assert created.status == 201
    assert_edge_headers(created)
    first = await client.get("/api/v1/content/project/hi")
    assert first.status == 200
    assert_edge_headers(first)
    not_modified = await client.get("/api/v1/content/project/hi", headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status == 304 and await not_modified.read() == b""
    assert_edge_headers(not_modified)
    for response in (
        await client.get("/nowhere"),
        await client.get("/api/v1/admin/content"),
        await client.get("/api/health/ready"),
        await client.options("/api/v1/content", headers={"Origin": "https://x.example",
                                                         "Access-Control-Request-Method": "GET"}),
    ):
        assert_edge_headers(response)


async def test_each_header_is_sent_once_whichever_way_the_response_was_built(
        client: Any, admin_headers: dict[str, str]) -> None:
    created = await client.post("/api/v1/admin/content", headers=admin_headers,
                                json={"type": "project", "data": {"title": "Hi"}, "status": "published"})
    etag = (await client.get("/api/v1/content/bundle")).headers["ETag"]
    for response in (
        created,  # built per request
        await client.get("/api/v1/content/bundle"),  # served from pre-serialised bytes
        await client.get("/api/v1/content/bundle", headers={"If-None-Match": etag}),
        await client.get("/api/v1/content/project/hi"),
        await client.get("/api/v1/content?type=project"),
        await client.head("/api/v1/content/bundle"),
        await client.get("/api/health/live"),
        await client.get("/nowhere"),
    ):
        names = [name.decode().lower() for name, _ in response.raw_headers]
        assert len(names) == len(set(names)), (response.url, names)
        assert_edge_headers(response)


async def test_cors_allows_only_listed_origins(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(cors_origins=("https://allowed.example",)))
    allowed = await client.get("/api/v1/content", headers={"Origin": "https://allowed.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    assert "Origin" in [token.strip() for value in allowed.headers.getall("Vary", []) for token in value.split(",")]
    assert "X-Request-Id" in allowed.headers["Access-Control-Expose-Headers"]
    denied = await client.get("/api/v1/content", headers={"Origin": "https://evil.example"})
    assert denied.status == 200 and "Access-Control-Allow-Origin" not in denied.headers
    error = await client.get("/api/v1/nope", headers={"Origin": "https://allowed.example"})
    assert error.headers["Access-Control-Allow-Origin"] == "https://allowed.example"  # errors readable too


async def test_cors_preflight(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(cors_origins=("https://allowed.example",)))
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, x-admin-key"}
    allowed = await client.options("/api/v1/admin/content", headers={"Origin": "https://allowed.example",
                                                                      **preflight})
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://allowed.example"
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "X-Admin-Key" in allowed.headers["Access-Control-Allow-Headers"]
    denied = await client.options("/api/v1/admin/content", headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in denied.headers
    assert "Access-Control-Allow-Methods" not in denied.headers


async def test_no_cors_headers_when_no_origins_configured(client: Any) -> None:
    response = await client.get("/api/v1/content", headers={"Origin": "https://allowed.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_answers_behind_a_credential_are_never_stored(client: Any, admin_headers: dict[str, str]) -> None:
    created = await client.post("/api/v1/admin/content", headers=admin_headers,
                                json={"type": "note", "slug": "draft", "data": {"secret": "draft text"},
                                      "status": "draft"})
    assert created.status == 201, await created.text()
    item = (await created.json())["data"]["id"]
    for path in ("/api/v1/admin/content", f"/api/v1/admin/content/{item}", f"/api/v1/admin/content/{item}/history"):
        response = await client.get(path, headers=admin_headers)
        assert response.status == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert created.headers["Cache-Control"] == "no-store"
    # Public reads keep their own caching.
    public = await client.get("/api/v1/content")
    assert public.status == 200 and public.headers["Cache-Control"].startswith("public")
