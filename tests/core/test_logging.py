"""Log lines: one JSON object per line with level/context/message/requestId; readable text on a TTY."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from folionaut.core import jsonutil
from folionaut.core.logging import configure_logging, get_logger, request_id_var


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    yield
    for name in ("folionaut", "aiohttp", "asyncio"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


def test_json_lines_with_request_id_and_extras() -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    log = get_logger("content")
    log.debug("hidden below the level")
    token = request_id_var.set("req-1")
    try:
        log.warning("cache %s", "miss", extra={"key": "content:list"})
    finally:
        request_id_var.reset(token)
    log.info("no request here")
    lines = [jsonutil.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 2
    first, second = lines
    assert first["level"] == "warning" and first["context"] == "content" and first["message"] == "cache miss"
    assert first["requestId"] == "req-1" and first["key"] == "content:list" and first["time"].endswith("Z")
    assert "requestId" not in second


def test_exceptions_stay_on_one_line() -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger("http").exception("failed")
    (line,) = stream.getvalue().splitlines()
    entry = jsonutil.loads(line)
    assert "Traceback" in entry["error"] and "ValueError: boom" in entry["error"]


def test_human_format_on_a_tty() -> None:
    stream = FakeTTY()
    configure_logging("info", stream=stream)
    token = request_id_var.set("req-2")
    try:
        get_logger("server").info("listening on %s", "http://127.0.0.1:3000")
    finally:
        request_id_var.reset(token)
    text = stream.getvalue()
    assert not text.startswith("{")
    assert "INFO" in text and "[server] listening on http://127.0.0.1:3000 (request req-2)" in text


def test_library_warnings_are_json_without_client_addresses() -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    logging.getLogger("aiohttp.server").error("Error handling request from %s", "203.0.113.9")
    logging.getLogger("aiohttp.access").warning("access lines are off")
    (line,) = stream.getvalue().splitlines()
    entry = jsonutil.loads(line)
    assert entry["context"] == "aiohttp.server" and entry["message"] == "Error handling request from a client"
    assert "203.0.113.9" not in line
