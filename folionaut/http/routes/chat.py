"""Visitor chat (POST /api/v1/chat), JSON or streamed as server-sent events, and the admin view of sessions.

A visitor asks for a stream with ``"stream": true`` in the body or
``Accept: text/event-stream``. The turn's events (``ChatService.turn``) become
SSE events: ``delta`` (``{"text"}``), ``tool`` (with ``includeToolCalls=true``),
one ``done`` (``sessionId``, ``message``, ``usage``, ``sources``…) or one
``error`` (the error envelope's fields); a comment line (``: heartbeat``) goes
out whenever ``CHAT_STREAM_HEARTBEAT_MS`` pass without an event, so proxies keep
the connection. Errors found before the turn starts (validation, rate limits,
budgets) are ordinary JSON error responses. The stream takes the chat deadline
(``CHAT_REQUEST_TIMEOUT_MS``) over from the edge and ends with a
``REQUEST_TIMEOUT`` error event; a visitor who disconnects has the turn
cancelled, and with it the provider call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from aiohttp import web

from folionaut.core.errors import AppError, InternalError, RequestTimeoutError, ValidationError
from folionaut.core.logging import get_logger, request_id_var
from folionaut.http import openapi as oa
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.edge import error_body
from folionaut.http.params import query_bool, query_int, query_str
from folionaut.http.responses import data_response, json_response, read_json, success_response
from folionaut.http.routing import Access, Deadline, Route
from folionaut.http.state import RUNTIME
from folionaut.http.streaming import EVENT_STREAM, STREAM_EDGE, accepts_event_stream, sse_event

if TYPE_CHECKING:  # the chat's own modules load with the chat, on its first use (Runtime.chat_service)
    from folionaut.chat.replies import ChatEvent
    from folionaut.chat.service import ChatService

__all__ = ["ROUTES"]

log = get_logger("http.chat")

MAX_MESSAGE_CHARS = 2000
MAX_VISITOR_ID_CHARS = 100
#: How often a stream checks that the visitor is still connected while it waits.
DISCONNECT_POLL_SECONDS = 0.2


async def _chat(request: web.Request) -> ChatService:
    # Chat routes are only registered with FEATURE_AI_CHAT on; the first request opens the chat.
    return await request.app[RUNTIME].chat_service()


def _parse_chat(body: object) -> tuple[str, str, bool]:
    if not isinstance(body, dict):
        raise ValidationError({"body": ["Expected a JSON object"]})
    fields: dict[str, list[str]] = {}
    message, visitor_id, stream = body.get("message"), body.get("visitorId"), body.get("stream", False)
    if not isinstance(stream, bool):
        fields["stream"] = ["Expected boolean"]
    checks = (("message", message, MAX_MESSAGE_CHARS), ("visitorId", visitor_id, MAX_VISITOR_ID_CHARS))
    for name, value, limit in checks:
        if value is None:
            fields[name] = ["Required"]
        elif not isinstance(value, str):
            fields[name] = ["Expected string"]
        elif not 1 <= len(value) <= limit:
            fields[name] = [f"Must be 1-{limit} characters"]
    if fields:
        raise ValidationError(fields)
    assert isinstance(message, str) and isinstance(visitor_id, str) and isinstance(stream, bool)
    return message, visitor_id, stream


async def chat(request: web.Request) -> web.StreamResponse:
    include_tool_calls = query_bool(request, "includeToolCalls")
    message, visitor_id, stream = _parse_chat(await read_json(request))
    service = await _chat(request)
    ip_hash, user_agent = client_ip_hash(request), request.headers.get("User-Agent")
    if not (stream or accepts_event_stream(request)):
        reply = await service.chat(message, visitor_id, ip_hash=ip_hash, user_agent=user_agent)
        return json_response(reply.to_wire(include_tool_calls))
    return await _stream(request, service.turn(message, visitor_id, ip_hash, user_agent), include_tool_calls)


async def _stream(request: web.Request, events: AsyncIterator[ChatEvent],
                  include_tool_calls: bool) -> web.StreamResponse:
    """Run the turn in its own task and write its events as they come, with heartbeats, a deadline
    and a watch on the visitor's connection."""
    from folionaut.chat.replies import Started

    queue: asyncio.Queue[ChatEvent | AppError | None] = asyncio.Queue()

    async def produce() -> None:
        try:
            async for event in events:
                await queue.put(event)
        except AppError as exc:
            await queue.put(exc)
        except Exception:
            log.exception("chat stream failed")
            await queue.put(InternalError())
        finally:
            await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        # Until the turn has started (session, budgets) its refusals are plain JSON errors.
        first = await queue.get()
        if isinstance(first, AppError):
            raise first
        if not isinstance(first, Started):
            raise InternalError("chat turn ended before it started")
        edge = request[STREAM_EDGE]
        seconds_left = edge.take_deadline()
        response = web.StreamResponse(headers={
            "Content-Type": f"{EVENT_STREAM}; charset=utf-8", "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no"})  # nginx: pass events on at once
        edge.prepare_headers(response)
        await response.prepare(request)
        await _pump(request, response, queue, seconds_left, include_tool_calls)
        return response
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer


async def _pump(request: web.Request, response: web.StreamResponse, queue: asyncio.Queue[Any],
                seconds_left: float | None, include_tool_calls: bool) -> None:
    from folionaut.chat.replies import Delta, Done, ToolUse

    loop = asyncio.get_running_loop()
    settings = request.app[RUNTIME].settings
    heartbeat = settings.chat_stream_heartbeat_ms / 1000
    deadline = loop.time() + seconds_left if seconds_left is not None else None
    last_write = loop.time()
    try:
        while True:
            now = loop.time()
            if deadline is not None and now >= deadline:
                await _write_error(response, RequestTimeoutError(
                    f"Request exceeded {settings.chat_request_timeout_ms} ms"))
                return
            transport = request.transport
            if transport is None or transport.is_closing():
                return  # the visitor left: the finally of _stream cancels the turn (and the provider call)
            wait = min(DISCONNECT_POLL_SECONDS, max(0.0, last_write + heartbeat - now),
                       max(0.0, deadline - now) if deadline is not None else DISCONNECT_POLL_SECONDS)
            try:
                item = await asyncio.wait_for(queue.get(), timeout=wait) if wait > 0 else queue.get_nowait()
            except (TimeoutError, asyncio.QueueEmpty):
                if loop.time() - last_write >= heartbeat:
                    await response.write(b": heartbeat\n\n")
                    last_write = loop.time()
                continue
            if item is None:
                break
            if isinstance(item, AppError):
                await _write_error(response, item)
                return
            if isinstance(item, Delta):
                await response.write(sse_event("delta", {"text": item.text}))
            elif isinstance(item, ToolUse):
                if include_tool_calls:
                    await response.write(sse_event("tool", item.call.to_wire()))
            elif isinstance(item, Done):
                await response.write(sse_event("done", item.reply.to_wire(include_tool_calls=False)))
            last_write = loop.time()
        await response.write_eof()
    except ConnectionResetError:
        return  # the visitor left mid-write


async def _write_error(response: web.StreamResponse, error: AppError) -> None:
    if isinstance(error, InternalError):
        error = InternalError()  # the cause is logged; the visitor gets the generic message
    payload = error_body(error, request_id_var.get() or "")["error"]
    assert isinstance(payload, dict)
    if error.retry_after is not None:
        payload["retryAfter"] = error.retry_after
    await response.write(sse_event("error", payload))
    await response.write_eof()


def _session_id(request: web.Request) -> str:
    session_id = request.match_info["id"]
    if not session_id.startswith("sess_") or len(session_id) > 100:
        raise ValidationError.single("id", "Must be a chat session id starting with 'sess_'")
    return session_id


async def list_sessions(request: web.Request) -> web.Response:
    from folionaut.chat.models import SESSION_STATUSES

    status = query_str(request, "status")
    if status is not None and status not in SESSION_STATUSES:
        raise ValidationError.single("status", "Expected one of: " + ", ".join(SESSION_STATUSES))
    service = await _chat(request)
    sessions = await service.list_sessions(
        status, limit=query_int(request, "limit", 50, 1, 100), offset=query_int(request, "offset", 0, 0, 2**31)
    )
    return data_response([session.to_wire() for session in sessions])


async def get_session(request: web.Request) -> web.Response:
    service = await _chat(request)
    session, messages = await service.get_session(_session_id(request))
    return data_response({**session.to_wire(), "messages": [message.to_wire() for message in messages]})


async def end_session(request: web.Request) -> web.Response:
    service = await _chat(request)
    await service.end_session(_session_id(request))
    return success_response()


_CHAT = ("feature_ai_chat",)
_CHAT_ADMIN = ("feature_ai_chat", "feature_admin_api")

ROUTES = (
    Route("POST", "/api/v1/chat", chat, Access.PUBLIC, limiter="chat", deadline=Deadline.CHAT, streams=True,
          features=_CHAT, operation={
        "tags": ["chat"], "summary": "Ask the portfolio's AI assistant", "operationId": "chat",
        "parameters": [{"name": "includeToolCalls", "in": "query", "description": "true/false/1/0",
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}}],
        "requestBody": oa.body(oa.schema("ChatRequest")),
        "responses": {"200": {
            "description": "The reply as JSON, or (with \"stream\": true or Accept: text/event-stream) as "
                           "server-sent events: `delta` ({\"text\"}), `tool` (with includeToolCalls), one `done` "
                           "(a ChatResponse without toolCalls) or one `error` (the Error envelope's fields, with "
                           "retryAfter on LLM_ERROR and REQUEST_TIMEOUT); `: heartbeat` comments keep proxies "
                           "from closing a quiet stream.",
            "headers": oa.RATE_HEADERS,
            "content": {"application/json": {"schema": oa.schema("ChatResponse")},
                        EVENT_STREAM: {"schema": {"type": "string"},
                                       "example": "event: delta\ndata: {\"text\": \"Ada \"}\n\n"
                                                  "event: done\ndata: {\"sessionId\": \"sess_…\", …}\n\n"}},
        }, **oa.errors(400, 413, 429, 502, 504)},
    }),
    Route("GET", "/api/v1/admin/chat/sessions", list_sessions, Access.READ, features=_CHAT_ADMIN, operation={
        "tags": ["admin"], "summary": "Chat sessions", "operationId": "adminListChatSessions",
        "parameters": [{"name": "status", "in": "query",
                        "schema": {"type": "string", "enum": ["active", "ended", "expired"]}},
                       oa.param("Limit"), oa.param("Offset")],
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("ChatSession")))), **oa.errors(400, 401)},
    }),
    Route("GET", "/api/v1/admin/chat/sessions/{id}", get_session, Access.READ, features=_CHAT_ADMIN, operation={
        "tags": ["admin"], "summary": "One chat session with its messages", "operationId": "adminGetChatSession",
        "parameters": [oa.param("SessionId")],
        "responses": {"200": oa.json_content(oa.data({"allOf": [oa.schema("ChatSession"), {
            "type": "object", "required": ["messages"],
            "properties": {"messages": oa.array(oa.schema("ChatMessage"))}}]})), **oa.errors(400, 401, 404)},
    }),
    Route("DELETE", "/api/v1/admin/chat/sessions/{id}", end_session, Access.WRITE, features=_CHAT_ADMIN,
          operation={
        "tags": ["admin"], "summary": "End a chat session", "operationId": "adminEndChatSession",
        "parameters": [oa.param("SessionId")],
        "responses": {"200": oa.json_content(oa.schema("Success")), **oa.errors(400, 401, 404)},
    }),
)
