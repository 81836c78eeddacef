"""The access log: one line per HTTP request, written after its response went out.

aiohttp calls ``AccessLog.log`` once the response is written (so ``bytes`` is what
was sent and the duration covers writing it), for every request the server
answered, including those the edge never saw (a malformed request line). A line
holds the method, the route *template* (``/api/v1/content/{type}``, never the
path: paths can carry slugs and query strings can carry tokens), status,
duration in milliseconds, bytes sent (head and body, as aiohttp counts them),
request id and the client's salted hash (``ClientHashes``, as rate limits and
metrics use it): never a raw address, key or token. ``ACCESS_LOG=off`` leaves aiohttp's logging hook off entirely.
"""

from __future__ import annotations

import logging
import time as clock

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from folionaut.core.logging import write_access
from folionaut.http.client_ip import client_hash
from folionaut.http.edge import STARTED
from folionaut.runtime import Runtime

__all__ = ["ACCESS_LOGGER", "AccessLog", "route_template"]

#: Handed to aiohttp to switch its access-log hook on; lines bypass it (``write_access``).
ACCESS_LOGGER = logging.getLogger("folionaut.access")


def route_template(request: web.BaseRequest) -> str:
    """The matched route's template, or ``unmatched`` (never the raw path)."""
    if not isinstance(request, web.Request):
        return "unmatched"
    try:
        match_info = request.match_info
    except AssertionError:  # answered before routing (a malformed request): aiohttp asserts it is set
        return "unmatched"
    if match_info is None:  # the same, under python -O
        return "unmatched"
    resource = match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


class AccessLog(AbstractAccessLogger):
    """aiohttp makes one per server from ``(logger, format)``; ``for_runtime`` binds the runtime
    whose client hashes it uses (``request.app`` is out of reach before routing)."""

    __slots__ = ()
    runtime: Runtime

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> type[AccessLog]:
        return type("AccessLog", (cls,), {"__slots__": (), "runtime": runtime})

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        request_id = getattr(response, "request_id", None) or response.headers.get("X-Request-Id", "")
        client = ""
        # aiohttp's ``time`` comes from the loop's clock, which uvloop keeps in whole milliseconds;
        # the edge's perf_counter reading is finer (``time`` stays for requests it never saw).
        started = request.get(STARTED) if isinstance(request, web.Request) else None
        if started is not None:
            time = clock.perf_counter() - started
        try:
            client = client_hash(self.runtime, request)
        except AttributeError:  # the runtime's shared state is not open (yet)
            pass
        write_access(request.method, route_template(request), response.status, round(time * 1000, 3),
                     response.body_length, request_id, client)

    @property
    def enabled(self) -> bool:
        return True
