"""Structured logs on stderr: one JSON object per line, or readable text on a TTY.

Every line carries ``level``, ``context`` (the logger's short name), ``message``
and the current request id when there is one.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from typing import Any

from folionaut.core import jsonutil

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


def configure_logging(level: str = "info", stream: Any = None) -> None:
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(HumanFormatter() if getattr(stream, "isatty", lambda: False)() else JsonFormatter())
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
