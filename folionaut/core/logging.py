"""Structured logs on stderr: one JSON object per line, or readable text for people.

Every line carries ``level``, ``context`` (the logger's short name), ``message``
and the current request id when there is one. ``LOG_FORMAT`` chooses: ``json``,
``text``, or ``auto`` (text on a terminal, else JSON).

The access log (``write_access``: one line per HTTP request, ``http/access_log.py``)
is written straight to the same stream in the same format, not through ``logging``:
a log record costs several microseconds, a large share of a cached read.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import Any, TextIO

from folionaut.core import jsonutil

__all__ = ["HumanFormatter", "JsonFormatter", "configure_logging", "get_logger", "request_id_var", "write_access"]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _context(record: logging.LogRecord) -> str:
    return record.name.removeprefix("folionaut.")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _RESERVED}


class _HidePeerAddress(logging.Filter):
    """aiohttp names the client's raw IP ("Error handling request from 1.2.3.4"); we never log raw IPs."""

    _PEER = re.compile(r"\bfrom \S+")

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiohttp"):
            return True
        message = record.getMessage()
        if " from " in message:
            record.msg, record.args = self._PEER.sub("from a client", message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "context": _context(record),
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["requestId"] = request_id
        entry.update(_extras(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return jsonutil.dumps(entry).decode()


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        request_id = request_id_var.get()
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{stamp} {record.levelname:<7} [{_context(record)}] {record.getMessage()}"
        if request_id:
            line += f" (request {request_id})"
        if extras:
            line += f" {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _uses_text(stream: Any, log_format: str) -> bool:
    if log_format == "auto":
        return bool(getattr(stream, "isatty", lambda: False)())
    return log_format == "text"


class _AccessOutput:
    """Where access lines go and how they look (set by ``configure_logging``)."""

    __slots__ = ("binary", "second", "stamp", "stream", "text")

    def __init__(self, stream: TextIO, text: bool) -> None:
        self.stream, self.text = stream, text
        # JSON lines go to the binary buffer under the text stream: orjson makes bytes, and
        # a text write would decode and encode them again.
        buffer = getattr(stream, "buffer", None)
        self.binary = buffer if buffer is not None and not text else None
        self.second, self.stamp = -1, ""


_access: _AccessOutput | None = None


def write_access(method: str, route: str, status: int, duration_ms: float, size: int | None, request_id: str,
                 client: str) -> None:
    """One access-log line: a request's method, route template, status, duration, body bytes, id and
    hashed client."""
    output = _access
    if output is None:
        return
    now = time.time()
    second = int(now)
    if second != output.second:  # formatted once a second, as the Date header is
        output.second = second
        output.stamp = time.strftime("%H:%M:%S" if output.text else "%Y-%m-%dT%H:%M:%S",
                                     time.localtime(now) if output.text else time.gmtime(now))
    try:
        if output.text:
            output.stream.write(f"{output.stamp} INFO    [access] {method} {route} {status} {duration_ms} ms "
                                f"{size} B (request {request_id}) client={client}\n")
            output.stream.flush()
            return
        line = jsonutil.dumps({
            "time": f"{output.stamp}.{int(now * 1000) % 1000:03d}Z", "level": "info", "context": "access",
            "message": "request", "method": method, "route": route, "status": status, "durationMs": duration_ms,
            "bytes": size, "requestId": request_id, "client": client}) + b"\n"
        if output.binary is not None:  # stderr's text layer is line-buffered: nothing waits in it
            output.binary.write(line)
            output.binary.flush()
        else:
            output.stream.write(line.decode())
            output.stream.flush()
    except (OSError, ValueError):  # stderr gone (closed pipe): serving goes on without it
        pass


def configure_logging(level: str = "info", stream: Any = None, log_format: str = "auto") -> None:
    global _access
    stream = stream or sys.stderr
    text = _uses_text(stream, log_format)
    _access = _AccessOutput(stream, text)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HumanFormatter() if text else JsonFormatter())
    handler.addFilter(_HidePeerAddress())  # on the handler: logger filters skip child loggers
    root = logging.getLogger("folionaut")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger("aiohttp.access").disabled = True
    # Library warnings (aiohttp's "Error handling request", asyncio's "Task exception
    # was never retrieved") go through the same formatter, so stderr stays one JSON per line.
    for name in ("aiohttp", "asyncio"):
        library = logging.getLogger(name)
        library.handlers[:] = [handler]
        library.setLevel(logging.WARNING)
        library.propagate = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"folionaut.{name}")
