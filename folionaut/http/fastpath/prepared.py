"""Responses serialised ahead of time, for content answered thousands of times a second.

A cached read answers with the same status line, headers and body until the
content changes. Building an aiohttp ``Response`` per hit (a header multidict,
then serialising it) cost as much as the rest of the request, so the fixed part
is serialised once (``serialise_head``) and a ``PreparedResponse`` writes per
response only what differs: the HTTP version, ``Date``, ``Connection`` where
keep-alive has to be said, the request id, and the headers added to
``.headers`` after it was made (CORS, rate limits). Status, headers and framing come out
as aiohttp's own ``Response`` would write them (``tests/http/test_prepared.py``
compares the two on the wire).

A body larger than ``LARGE_BODY`` is not joined to the head (a copy of the whole
body per response: 32 readers of a 20 MB bundle held 32 copies): the head goes
out with the body's first ``BODY_CHUNK`` bytes, then the rest in slices of the
cached bytes (``memoryview``, no copy), waiting for the socket to drain between
them. So a response holds at most about one chunk plus the transport's
high-water mark of memory of its own, whatever the body's size.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from email.utils import formatdate
from http import HTTPStatus

from aiohttp import HttpVersion10, HttpVersion11, web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict, CIMultiDictProxy

from folionaut.http.headers import SECURITY_HEADERS

__all__ = ["PreparedResponse", "http_date", "serialise_head"]

_VERSIONS = {HttpVersion11: b"HTTP/1.1 ", HttpVersion10: b"HTTP/1.0 "}
_NO_HEADERS: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
_NO_BODY_STATUSES = frozenset({204, 304})
#: Bodies above this go out in chunks after the head instead of in one write with it.
LARGE_BODY = 256 * 1024
BODY_CHUNK = 256 * 1024


_date_second = -1
_date_bytes = b""


def http_date() -> bytes:
    """The ``Date`` header value (RFC 9110 IMF-fixdate), formatted at most once a second."""
    global _date_second, _date_bytes
    now = int(time.time())
    if now != _date_second:
        _date_second, _date_bytes = now, formatdate(now, usegmt=True).encode()
    return _date_bytes


def _header_lines(headers: Mapping[str, str]) -> str:
    text = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if text.count("\n") != len(headers) or text.count("\r") != len(headers):  # no header injection
        raise ValueError("newline or carriage return in a header name or value")
    return text


@functools.cache
def _reason(status: int) -> str:
    return HTTPStatus(status).phrase


def serialise_head(status: int, headers: Mapping[str, str]) -> bytes:
    """The status code, reason and header lines of a response (the security headers
    included), each line ending in CRLF; the HTTP version is added per request."""
    return f"{status} {_reason(status)}\r\n{_header_lines({**headers, **SECURITY_HEADERS})}".encode()


class PreparedResponse(web.StreamResponse):
    """A whole response from a serialised head (``serialise_head``) and a body.

    The fast path's one use of aiohttp internals (see ``fastpath/__init__.py``):
    it skips ``StreamResponse.__init__`` and sets the private fields aiohttp's
    own ``Response`` sets (``_state``, ``_status``, ``_reason``, ``_headers``,
    ``_req``, ``_payload_writer``, ``_keep_alive``, ``_eof_sent``,
    ``_body_length``), guarded by tests/http/test_prepared.py.

    The body goes out with the head in one write. ``write`` is not supported: the
    body is fixed when the response is made. ``request_id`` is written as
    ``X-Request-Id`` (the edge sets it; it is not in ``.headers``).
    """

    request_id: str | None = None
    #: The serialised head says ``Vary: Origin`` already (the edge adds it to the others when CORS is on).
    varies_on_origin = False
    _headers = _NO_HEADERS  # until something adds a header: most never do

    def __init__(self, status: int, head: bytes, body: bytes = b"") -> None:
        # Not StreamResponse.__init__: it makes a header multidict that most of these never use.
        self._state = {}
        self._status = status
        self._reason = _reason(status)
        self._head = head
        self._fixed_body = body

    @property
    def headers(self) -> CIMultiDict[str]:
        if self._headers is _NO_HEADERS:
            self._headers = CIMultiDict()
        return self._headers

    @property
    def body(self) -> bytes:
        return self._fixed_body

    def set_status(self, status: int, reason: str | None = None) -> None:
        raise RuntimeError("a PreparedResponse's status is part of its serialised head")

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        if self._payload_writer is not None:
            return self._payload_writer
        self._req = request
        if self._keep_alive is None:
            self._keep_alive = request.keep_alive
        # on_response_prepare handlers see and change .headers, as with any aiohttp response
        for app in request.match_info.apps:
            if app.on_response_prepare:
                await app.on_response_prepare.send(request, self)
        self._payload_writer = request.writer
        return self._payload_writer

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("PreparedResponse sends the body it was made with; use web.StreamResponse to stream")

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        request, writer = self._req, self._payload_writer
        assert request is not None and writer is not None, "write_eof() before prepare()"
        assert not data, "PreparedResponse sends the body it was made with"
        version = request.version
        status_prefix = _VERSIONS.get(version) or f"HTTP/{version.major}.{version.minor} ".encode()
        if version == HttpVersion11:
            connection = b"" if self._keep_alive else b"Connection: close\r\n"
        else:
            connection = b"Connection: keep-alive\r\n" if self._keep_alive else b""
        body = self._fixed_body
        if request.method == "HEAD" or self.status in _NO_BODY_STATUSES:
            body = b""
        added = _header_lines(self._headers).encode() if self._headers else b""
        request_id = b"X-Request-Id: %s\r\n" % self.request_id.encode() if self.request_id else b""
        date = http_date()
        head = (status_prefix, self._head, request_id, added, connection, b"Date: ", date, b"\r\n\r\n")
        if len(body) <= LARGE_BODY:
            await writer.write_eof(b"".join((*head, body)))
        else:
            view = memoryview(body)
            await writer.write(b"".join((*head, view[:BODY_CHUNK])))
            for start in range(BODY_CHUNK, len(body), BODY_CHUNK):
                await writer.write(view[start:start + BODY_CHUNK])  # drains when the socket is behind
            await writer.write_eof()
        self._eof_sent = True
        self._body_length = writer.output_size
        self._req = None
        self._payload_writer = None
