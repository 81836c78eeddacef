"""The edge middleware: request ids, timeouts, rate limits, the error envelope, headers, metrics.

This is the one place where an ``AppError`` (or anything unexpected) becomes
an HTTP error response. It is a single middleware on purpose: the read path is
hot, and one function doing each step once is cheaper than a stack of them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.abc import AbstractMatchInfo
from aiohttp.web_urldispatcher import AbstractRoute

from folionaut.core import jsonutil
from folionaut.core.errors import (
    AppError,
    DatabaseUnavailableError,
    InternalError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    RequestTimeoutError,
    ValidationError,
)
from folionaut.core.logging import get_logger, request_id_var
from folionaut.http.headers import ALLOWED_REQUEST_HEADERS, EXPOSED_HEADERS, SECURITY_HEADERS
from folionaut.http.inflight import InFlightRequests
from folionaut.http.prepared import PreparedResponse
from folionaut.http.resilience import RATE_LIMIT_ATTRIBUTE, take_rate_limit_token
from folionaut.http.responses import JSON_HEADERS, MAX_BODY_BYTES
from folionaut.observability.metrics import Metrics
from folionaut.resilience.ratelimit import RateLimitDecision
from folionaut.settings import Settings

log = get_logger("http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

#: Handler attribute naming the timeout that applies: "chat", or "none" for streams.
TIMEOUT_ATTRIBUTE = "folionaut_timeout"


def route_timeout(kind: str) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        setattr(handler, TIMEOUT_ATTRIBUTE, kind)
        return handler

    return mark


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
    if isinstance(error, RateLimitedError):
        response.headers["Retry-After"] = str(error.retry_after)
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


Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


def make_edge_middleware(settings: Settings, metrics: Metrics, in_flight: InFlightRequests) -> Middleware:
    allowed_origins = set(settings.cors_origins)
    allow_any_origin = "*" in allowed_origins
    default_timeout = settings.request_timeout_ms / 1000
    timeouts = {"chat": settings.chat_request_timeout_ms / 1000, "none": None}
    # Generated request ids: 32 hex chars, unique without a urandom syscall per request (as uuid4 makes).
    id_prefix = secrets.token_hex(8)
    id_counter = itertools.count(1)
    observe = metrics.http.record
    limiting = settings.feature_rate_limiting
    # Per route, worked out once: its deadline (None for long-lived streams), its rate
    # limiter (None: not limited) and its metrics label.
    route_facts: dict[AbstractRoute, tuple[float | None, str | None, str]] = {}

    def work_out_facts(match_info: AbstractMatchInfo) -> tuple[float | None, str | None, str]:
        route, handler = match_info.route, match_info.handler
        kind = getattr(handler, TIMEOUT_ATTRIBUTE, None)
        resource = route.resource
        facts = (timeouts[kind] if kind in timeouts else default_timeout,
                 getattr(handler, RATE_LIMIT_ATTRIBUTE, None) if limiting else None,
                 resource.canonical if resource is not None else "unmatched")
        if resource is not None:  # unmatched requests get a new route object each time
            route_facts[route] = facts
        return facts

    def cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin and (allow_any_origin or origin.rstrip("/") in allowed_origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if allow_any_origin else origin
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            if not allow_any_origin:
                response.headers.add("Vary", "Origin")

    @web.middleware
    async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id")
        if incoming and _SANE_REQUEST_ID.match(incoming):
            request_id = incoming
        else:
            request_id = f"{id_prefix}{next(id_counter):016x}"
        token = request_id_var.set(request_id)
        match_info = request.match_info
        limit, limiter, route_label = route_facts.get(match_info.route) or work_out_facts(match_info)
        decision: RateLimitDecision | None = None
        try:
            try:
                if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
                    response: web.StreamResponse = web.Response(status=204)
                    origin = request.headers.get("Origin", "")
                    if allow_any_origin or origin.rstrip("/") in allowed_origins:
                        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
                        response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
                        response.headers["Access-Control-Max-Age"] = "600"
                elif (length := request.content_length) is not None and length > MAX_BODY_BYTES:
                    raise PayloadTooLargeError(f"Request body exceeds {MAX_BODY_BYTES // 1024} KiB")
                else:
                    task = request.task
                    # Long-lived streams (no limit) have no deadline, and shutdown does not wait for them.
                    deadline = in_flight.enter(task, limit) if limit is not None else None
                    try:
                        if limiter is not None:  # inside the deadline: a shared limiter is a Redis call
                            decision = await take_rate_limit_token(request, limiter)
                            if not decision.allowed:
                                raise RateLimitedError(decision.retry_after, "Too many requests, please retry later")
                        response = await handler(request)
                    except BaseException as exc:  # as asyncio.timeout: our cancellation becomes the timeout
                        if deadline is not None and (expiry := in_flight.leave(task, deadline)) is not None and (
                                isinstance(exc, TimeoutError) or (expiry and isinstance(exc, asyncio.CancelledError))):
                            raise RequestTimeoutError(f"Request exceeded {int(limit * 1000)} ms") from None
                        raise
                    if deadline is not None:
                        in_flight.leave(task, deadline)
            except AppError as exc:
                if isinstance(exc, InternalError):
                    if isinstance(exc, DatabaseUnavailableError):
                        metrics.database_connection_errors.inc()
                    log.error("request failed: %s", exc.message, extra={"path": request.path})
                    # The cause is logged; clients only ever see the generic message (no SQL, no trace).
                    response = error_response(InternalError(), request_id)
                else:
                    response = error_response(exc, request_id)
            except web.HTTPException as exc:
                if exc.status < 400:  # redirects and the like pass through
                    raise
                response = error_response(_from_http_exception(exc, request), request_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("unexpected error handling %s %s", request.method, request.path)
                response = error_response(InternalError(), request_id)
            if type(response) is PreparedResponse:  # its head has the security headers already
                response.request_id = request_id
            else:
                response.headers["X-Request-Id"] = request_id
                response.headers.update(SECURITY_HEADERS)
            if decision is not None:
                response.headers.update(decision.headers())
            if allowed_origins:
                cors_headers(request, response)
            observe(request.method, route_label, response.status, time.perf_counter() - started)
            return response
        finally:
            request_id_var.reset(token)

    return edge
