"""The edge: the one middleware around every request, in named steps.

For each request, in order:

1. ``request_id``: the client's sane ``X-Request-Id``, or a new one; set for logging.
2. ``facts``: the matched route's declared facts (``http/routing.py``), worked out
   once per route: deadline, rate limiter, access, idempotency, metrics label.
3. ``answer_preflight`` / ``check_body_size``: CORS preflights and oversized
   bodies are answered before any handler runs.
4. ``call_handler``, inside the route's deadline: the rate limiter's token,
   then (routes that stream only) ``hand_over_stream``, then ``authorize``
   (the credential's principal and its scope), then the handler (through
   ``respond_idempotently`` for idempotent routes), then the audit line of an
   admin change.
5. ``error_response``: this is the one place where an ``AppError`` (or anything
   unexpected) becomes an HTTP error envelope, with ``Retry-After`` when trying
   again later makes sense (429, 502, 504). A stream whose head went out cannot
   get one any more: ``answer_failure`` ends it as it is.
6. ``finish``: request id, security, rate-limit and CORS headers; then the
   request metrics. A stream got the same headers before its head went out
   (``http/streaming.py``).

It is one aiohttp middleware (not a stack of them) because the read path is hot:
each aiohttp middleware layer costs about 0.8 µs, a large share of a cached read
(``http/fastpath/__init__.py`` lists what is measured).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.abc import AbstractMatchInfo

from folionaut.core import jsonutil
from folionaut.core.errors import (
    AppError,
    BadRequestError,
    DatabaseUnavailableError,
    HttpVersionNotSupportedError,
    InternalError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeoutError,
    ValidationError,
)
from folionaut.core.logging import get_logger, request_id_var
from folionaut.http.auth import AUDITED, audit_change, authorize, challenge
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.fastpath.deadlines import InFlightRequests
from folionaut.http.fastpath.prepared import PreparedResponse
from folionaut.http.headers import ALLOWED_REQUEST_HEADERS, EXPOSED_HEADERS, PAGE_SECURITY_HEADERS, SECURITY_HEADERS
from folionaut.http.idempotency import respond_idempotently
from folionaut.http.responses import JSON_HEADERS, MAX_BODY_BYTES
from folionaut.http.routing import UNDECLARED, Access, Deadline, Handler, RouteFacts
from folionaut.http.streaming import STREAM_EDGE, StreamEdge
from folionaut.resilience.ratelimit import RateLimitDecision, RateLimiter
from folionaut.runtime import Runtime

__all__ = ["STARTED", "Middleware", "error_body", "error_response", "make_edge", "protocol_error_response"]

log = get_logger("http")

Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

#: When the edge took the request (``time.perf_counter()``), kept on it for the access log.
STARTED = web.RequestKey("folionaut.started", float)

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def error_body(error: AppError, request_id: str) -> dict[str, object]:
    payload: dict[str, object] = {"code": error.code, "message": error.message, "requestId": request_id}
    if isinstance(error, ValidationError):
        payload["fields"] = error.fields
    if isinstance(error, RateLimitedError):
        payload["retryAfter"] = error.retry_after
    return {"error": payload}


def error_response(error: AppError, request_id: str) -> web.Response:
    response = web.Response(
        body=jsonutil.dumps(error_body(error, request_id)), status=error.status, headers=JSON_HEADERS
    )
    if error.retry_after is not None:  # 429, and 502/504: when trying again makes sense
        response.headers["Retry-After"] = str(error.retry_after)
    if (authenticate := challenge(error)) is not None:  # 401, and 403 (the scope that was needed)
        response.headers["WWW-Authenticate"] = authenticate
    return response


def _protocol_error(status: int) -> AppError:
    if status == 505:
        return HttpVersionNotSupportedError("HTTP version not supported: send HTTP/1.1 (or HTTP/1.0)")
    if status == 504:
        return RequestTimeoutError("Request timed out")
    if 400 <= status < 500:
        return BadRequestError("Malformed HTTP request")
    return InternalError()


def protocol_error_response(status: int, problem: str) -> web.Response:
    """The answer to a request that never reached the edge middleware: one aiohttp's parser refused
    (``http/fastpath/server_protocol.py``). The same envelope and headers as every other error, and a
    log line naming the problem (a class of error, never the request's bytes) with a new request id."""
    rid = secrets.token_hex(16)  # rare: no need for the edge's counter (nor its per-process prefix)
    token = request_id_var.set(rid)
    try:
        log.warning("malformed request: %s", problem, extra={"status": status})
    finally:
        request_id_var.reset(token)
    response = error_response(_protocol_error(status), rid)
    response.headers["X-Request-Id"] = rid
    response.headers.update(SECURITY_HEADERS)
    return response


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> AppError:
    if exc.status == 413:
        return PayloadTooLargeError(f"Request body exceeds {MAX_BODY_BYTES // 1024} KiB")
    if exc.status in (404, 405):
        return NotFoundError(f"Route not found: {request.method} {request.path}")
    error = AppError(exc.reason or "HTTP error")
    error.status = exc.status  # type: ignore[misc]  # keep the status aiohttp chose
    error.code = "BAD_REQUEST" if 400 <= exc.status < 500 else "INTERNAL_SERVER_ERROR"  # type: ignore[misc]
    return error


class _Limited(Exception):
    """No token: carries the decision so the 429 gets its rate-limit headers."""

    def __init__(self, decision: RateLimitDecision) -> None:
        self.decision = decision


class _EdgeFacts:
    """A route's facts with its deadline in seconds and its limiter object resolved."""

    __slots__ = ("access", "audited", "deadline", "direct", "idempotent", "label", "limiter", "security_headers",
                 "streams")

    def __init__(self, facts: RouteFacts, deadline: float | None, limiter: RateLimiter | None) -> None:
        self.deadline = deadline
        self.limiter = limiter
        self.access = facts.access
        self.audited = facts.access in AUDITED  # worked out once: enum hashing costs on the hot path
        self.idempotent = facts.idempotent
        self.streams = facts.streams
        self.label = facts.label
        # Public, not idempotent: the handler is called as it is (one coroutine frame fewer on every read).
        self.direct = facts.access is Access.PUBLIC and not facts.idempotent
        self.security_headers = PAGE_SECURITY_HEADERS if facts.page else SECURITY_HEADERS


def make_edge(runtime: Runtime, in_flight: InFlightRequests,
              declared: Mapping[tuple[str, str], RouteFacts]) -> Middleware:
    settings, metrics = runtime.settings, runtime.metrics
    allowed_origins = set(settings.cors_origins)
    allow_any_origin = "*" in allowed_origins
    deadlines = {Deadline.REQUEST: settings.request_timeout_ms / 1000,
                 Deadline.CHAT: settings.chat_request_timeout_ms / 1000, Deadline.STREAM: None}
    # Generated request ids: 32 hex chars, unique without a urandom syscall per request (as uuid4 makes).
    id_prefix = secrets.token_hex(8)
    id_counter = itertools.count(1)
    observe = metrics.http.record
    limiting = settings.feature_rate_limiting
    by_route: dict[web.AbstractRoute, _EdgeFacts] = {}

    def request_id(request: web.Request) -> str:
        incoming = request.headers.get("X-Request-Id")
        if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
            return incoming
        return f"{id_prefix}{next(id_counter):016x}"

    def facts(match_info: AbstractMatchInfo) -> _EdgeFacts:
        # First request of a route (the runtime is open by then, so its limiters exist).
        route = match_info.route
        resource = route.resource
        method = "GET" if route.method == "HEAD" else route.method
        route_facts = declared.get((method, resource.canonical), UNDECLARED) if resource is not None else UNDECLARED
        resolved = _EdgeFacts(
            route_facts, deadlines[route_facts.deadline],
            runtime.rate_limiters[route_facts.limiter] if limiting and route_facts.limiter else None,
        )
        if resource is not None:  # unmatched requests get a new route object each time
            by_route[route] = resolved
        elif route_facts is UNDECLARED:
            resolved.label = "unmatched"
        return resolved

    def answer_preflight(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=204)
        origin = request.headers.get("Origin", "")
        if allow_any_origin or origin.rstrip("/") in allowed_origins:
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    def check_body_size(request: web.Request) -> None:
        if (length := request.content_length) is not None and length > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"Request body exceeds {MAX_BODY_BYTES // 1024} KiB")

    async def take_token(request: web.Request, limiter: RateLimiter) -> RateLimitDecision:
        decision = await limiter.take(client_ip_hash(request))
        if not decision.allowed:
            raise _Limited(decision)
        return decision

    def hand_over_stream(request: web.Request, rid: str, decision: RateLimitDecision | None,
                         task: asyncio.Task[object], deadline: int | None) -> None:
        """What a route that streams needs from the edge before its head goes out (``http/streaming.py``)."""
        request[STREAM_EDGE] = StreamEdge(
            functools.partial(finish, request, rid=rid, decision=decision),
            functools.partial(in_flight.release, task, deadline) if deadline is not None else _no_deadline)

    async def call_handler(request: web.Request, handler: Handler, route: _EdgeFacts) -> web.StreamResponse:
        """Access and idempotency, then the handler, then the audit line of an admin change."""
        if route.access is not Access.PUBLIC:
            await authorize(request, route.access)
        if route.idempotent:
            response = await respond_idempotently(request, handler)
        else:
            response = await handler(request)
        if route.audited:
            audit_change(request, response.status)
        if route.access is not Access.PUBLIC and "Cache-Control" not in response.headers:
            # Drafts, history, transcripts and tokens' lists are for the key holder: never kept by a browser
            # or a proxy cache (a route that says otherwise, e.g. an SSE stream, keeps its own).
            response.headers["Cache-Control"] = "no-store"
        return response

    def failure_response(exc: Exception, request: web.Request, request_id: str) -> web.StreamResponse:
        if isinstance(exc, AppError):
            if isinstance(exc, InternalError):
                if isinstance(exc, DatabaseUnavailableError):
                    metrics.database_connection_errors.inc()
                log.error("request failed: %s", exc.message, extra={"path": request.path})
                # The cause is logged; clients only ever see the generic message (no SQL, no trace).
                return error_response(InternalError(), request_id)
            return error_response(exc, request_id)
        if isinstance(exc, web.HTTPException):
            return error_response(_from_http_exception(exc, request), request_id)
        log.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(InternalError(), request_id)

    def answer_failure(exc: Exception, request: web.Request, request_id: str,
                       route: _EdgeFacts) -> web.StreamResponse:
        if route.streams and (stream := request.get(STREAM_EDGE)) is not None and stream.started:
            # The head went out: there is no error response to give any more, only the stream to end.
            if isinstance(exc, AppError):
                log.warning("stream ended early: %s", exc.message, extra={"path": request.path})
            else:
                log.exception("unexpected error in a stream of %s %s", request.method, request.path)
            assert stream.response is not None
            return stream.response
        return failure_response(exc, request, request_id)

    def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin and (allow_any_origin or origin.rstrip("/") in allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if allow_any_origin else origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        # Every answer, for any Origin or none: the CORS headers depend on it, so a shared cache must not
        # hand one origin's answer to another (a cached read's head says so already: PublishedResponses).
        if type(response) is not PreparedResponse or not response.varies_on_origin:
            response.headers.add("Vary", "Origin")

    def finish(request: web.Request, response: web.StreamResponse, rid: str,
               decision: RateLimitDecision | None,
               security_headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        # Also what a stream's head gets before it goes out (hand_over_stream); run again after the
        # handler, it only sets the same values on a head already sent, which no client sees.
        if type(response) is PreparedResponse:  # its head has the security headers already
            response.request_id = rid
        else:
            response.headers["X-Request-Id"] = rid
            response.headers.update(security_headers)
        if decision is not None:
            response.headers.update(decision.headers())
        if allowed_origins:
            add_cors_headers(request, response)

    @web.middleware  # aiohttp 3's marker of a new-style middleware (unmarked ones are the deprecated kind)
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = request[STARTED] = time.perf_counter()  # the access log's clock too (http/access_log.py)
        rid = request_id(request)
        token = request_id_var.set(rid)
        match_info = request.match_info
        route = by_route.get(match_info.route) or facts(match_info)
        decision: RateLimitDecision | None = None
        try:
            try:
                if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                    response = answer_preflight(request)
                else:
                    check_body_size(request)
                    limit = route.deadline
                    task = request.task
                    # Long-lived streams have no deadline, and shutdown does not wait for them.
                    deadline = in_flight.enter(task, limit) if limit is not None else None
                    try:
                        if route.limiter is not None:  # inside the deadline: a shared limiter is a Redis call
                            decision = await take_token(request, route.limiter)
                        if route.streams:
                            hand_over_stream(request, rid, decision, task, deadline)
                        if route.direct:
                            response = await handler(request)
                        else:
                            response = await call_handler(request, handler, route)
                    except BaseException as exc:
                        expiry = in_flight.leave(task, deadline) if deadline is not None else None
                        if isinstance(exc, _Limited):
                            decision = exc.decision
                            raise RateLimitedError(decision.retry_after, "Too many requests, please retry later") \
                                from None
                        # As asyncio.timeout: our cancellation becomes the timeout.
                        if expiry is not None and (
                                isinstance(exc, TimeoutError) or (expiry and isinstance(exc, asyncio.CancelledError))):
                            raise RequestTimeoutError(f"Request exceeded {int(limit * 1000)} ms") from None
                        raise
                    if deadline is not None:
                        in_flight.leave(task, deadline)
            except web.HTTPException as exc:
                if exc.status < 400:  # redirects and the like pass through
                    raise
                response = answer_failure(exc, request, rid, route)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                response = answer_failure(exc, request, rid, route)
            finish(request, response, rid, decision, route.security_headers)
            observe(request.method, route.label, response.status, time.perf_counter() - started)
            return response
        finally:
            request_id_var.reset(token)

    return edge


def _no_deadline() -> float | None:
    return None
