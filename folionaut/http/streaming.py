"""Streamed responses (server-sent events): what a handler that streams gets from the edge.

A route declared with ``streams=True`` (``http/routing.py``) finds a
``StreamEdge`` at ``request[STREAM_EDGE]``. A streamed response sends its head
before the handler returns, so the edge cannot add its headers afterwards as it
does for every other response: ``prepare_headers`` adds them (request id,
security, rate limit, CORS) before ``prepare``. And once the head is out, a
deadline that cancels the handler can no longer become a 504:
``take_deadline`` hands the route's deadline over to the handler (which ends its
stream with an error event instead) and returns the seconds left. A failure
after the head went out ends the stream that was sent (see ``http/edge.py``).

Routes that do not stream get no ``StreamEdge``: the cached read path pays
nothing for this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from folionaut.core import jsonutil

__all__ = ["EVENT_STREAM", "STREAM_EDGE", "StreamEdge", "accepts_event_stream", "sse_event"]

EVENT_STREAM = "text/event-stream"


class StreamEdge:
    """The edge's part in one streamed response (see the module docstring)."""

    __slots__ = ("_apply", "_release", "response")

    def __init__(self, apply: Callable[[web.StreamResponse], None], release: Callable[[], float | None]) -> None:
        self._apply = apply
        self._release = release
        #: The response whose headers the edge prepared: once it is prepared, its head is out.
        self.response: web.StreamResponse | None = None

    def prepare_headers(self, response: web.StreamResponse) -> None:
        """Add the edge's headers to ``response``; call it before ``response.prepare``."""
        self._apply(response)
        self.response = response

    def take_deadline(self) -> float | None:
        """Stop the edge enforcing the route's deadline; the seconds left (None: no deadline applies)."""
        return self._release()

    @property
    def started(self) -> bool:
        """Whether the stream's head has gone out (the edge can no longer answer with an error)."""
        return self.response is not None and self.response.prepared


STREAM_EDGE = web.RequestKey("folionaut_stream_edge", StreamEdge)


def accepts_event_stream(request: web.Request) -> bool:
    """Whether the Accept header names ``text/event-stream``."""
    return any(part.split(";")[0].strip().lower() == EVENT_STREAM
               for part in request.headers.get("Accept", "").split(","))


def sse_event(event: str, data: Any) -> bytes:
    """One server-sent event with a JSON payload."""
    return b"event: " + event.encode() + b"\ndata: " + jsonutil.dumps(data) + b"\n\n"
