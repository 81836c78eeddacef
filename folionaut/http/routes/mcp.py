"""MCP over HTTP: Streamable HTTP at ``POST|GET|DELETE /api/mcp``, and the HTTP+SSE transport of
protocol 2024-11-05 at ``GET /api/mcp/sse`` + ``POST /api/mcp/messages``.

Every request needs a credential with the read scope (the admin key, a read or
write token: ``X-Admin-Key`` or ``Authorization: Bearer``; else 401 with
``WWW-Authenticate``); write tools need the write scope. A request whose
``Origin`` header is present and not in ``CORS_ORIGINS`` is refused with 403
(the transport's defence against DNS rebinding). A session belongs to the
credential that opened it: another credential gets 404 for it.

Handshake revisions (no ``MCP-Protocol-Version`` header, or a 2025-* one):
``initialize`` opens a session and its answer carries ``Mcp-Session-Id``;
every later request must carry that id (missing → 400, unknown or ended →
404); ``DELETE`` ends the session; ``GET`` opens the session's SSE stream
(keep-alive comments only: this server never sends requests or
notifications of its own).

The stateless revision (``MCP-Protocol-Version: 2026-07-28``): each POST is
one self-contained request; its ``_meta`` envelope must agree with the
``MCP-Protocol-Version``, ``Mcp-Method`` and ``Mcp-Name`` headers; no
sessions, no GET stream; JSON-RPC errors get the HTTP status the revision
maps them to (404 for an unknown method, 400 for bad input).

Answers are JSON, or one SSE event per message when the client accepts only
``text/event-stream``. Sessions live in the runtime's key-value store (Redis
when configured), so any instance or worker answers any session
(``mcp/sessions.py``); idle ones expire.

HTTP+SSE (for clients that speak only 2024-11-05, such as the mcp SDK before
1.8): ``GET /api/mcp/sse`` opens a session's stream, whose first event,
``endpoint``, names where to POST messages (``messages?sessionId=…``, relative
to the stream's URL); each POST is answered 202 and its JSON-RPC answer is a
``message`` event on the stream. The session ends with its stream.

The routes that may stream (``POST|GET /api/mcp``, ``GET /api/mcp/sse``) are
declared so (``streams=True``): an SSE answer or stream carries the edge's
headers (request id, security, CORS) like any other response.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from folionaut.core import jsonutil
from folionaut.core.logging import get_logger
from folionaut.http import openapi as oa
from folionaut.http.auth import principal_of
from folionaut.http.responses import JSON_HEADERS
from folionaut.http.routing import Access, Deadline, Route
from folionaut.http.state import HTTP, RUNTIME
from folionaut.http.streaming import STREAM_EDGE
from folionaut.mcp.errors import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    UNSUPPORTED_PROTOCOL_VERSION,
    error_response,
)
from folionaut.mcp.revisions import (
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
    ConnectionState,
    modern_version_of,
    unsupported_version_error,
)
from folionaut.mcp.sessions import HttpSession, SessionStore

if TYPE_CHECKING:  # the server (tools, catalog) loads with the first MCP request: Runtime.mcp_server
    from folionaut.mcp.protocol import McpServer

__all__ = ["MCP_PATH", "ROUTES", "SESSION_HEADER", "SSE_MESSAGES_PATH", "SSE_PATH", "SSE_RELAY", "VERSION_HEADER",
           "sse_relay"]

log = get_logger("mcp.http")

MCP_PATH = "/api/mcp"
SSE_PATH = "/api/mcp/sse"
SSE_MESSAGES_PATH = "/api/mcp/messages"
#: Answers an HTTP+SSE session may have waiting for its stream.
SSE_OUTBOX = 64
#: What a worker tells the sibling holding an HTTP+SSE session's stream: here is a message for it.
SSE_RELAY = "mcp-sse-message"
SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
KEEPALIVE_SECONDS = 15.0
#: How long a GET stream's claim outlives its last keep-alive (a crashed process's claim lapses).
STREAM_CLAIM_SECONDS = 2 * KEEPALIVE_SECONDS + 5
#: Params field mirrored in the ``Mcp-Name`` header, per method (2026-07-28).
NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
#: HTTP status of a JSON-RPC error on the stateless revision.
MODERN_ERROR_STATUS = {PARSE_ERROR: 400, INVALID_REQUEST: 400, INVALID_PARAMS: 400, HEADER_MISMATCH: 400,
                       -32021: 400, UNSUPPORTED_PROTOCOL_VERSION: 400, METHOD_NOT_FOUND: 404}
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform",
               "X-Accel-Buffering": "no"}
_BASE64_SENTINEL = re.compile(r"^=\?base64\?(.*)\?=$")




# --- responses ---------------------------------------------------------------------------------

def _rpc(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    response = web.Response(body=jsonutil.dumps(payload), status=status, headers=JSON_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


def _rpc_error(status: int, code: int, message: str, request_id: Any = None, data: Any = None) -> web.Response:
    return _rpc(error_response(request_id, code, message, data), status)


async def _reply(request: web.Request, payload: Any, status: int, sse: bool,
                 headers: dict[str, str] | None = None) -> web.StreamResponse:
    """JSON, or (when the client accepts only SSE) one SSE event per message."""
    if not sse:
        return _rpc(payload, status, headers)
    response = web.StreamResponse(status=status, headers={**SSE_HEADERS, **(headers or {})})
    # The edge keeps the deadline: the answer is ready, only its few writes are left.
    request[STREAM_EDGE].prepare_headers(response)
    await response.prepare(request)
    for message in payload if isinstance(payload, list) else [payload]:
        await response.write(b"event: message\ndata: " + jsonutil.dumps(message) + b"\n\n")
    await response.write_eof()
    return response


def _accepts(request: web.Request) -> tuple[bool, bool]:
    """(JSON acceptable, SSE acceptable) from the Accept header; no header accepts JSON."""
    header = request.headers.get("Accept")
    if not header:
        return True, False
    types = {part.split(";")[0].strip().lower() for part in header.split(",")}
    json_ok = bool(types & {"application/json", "application/*", "*/*"})
    return json_ok, "text/event-stream" in types


def _decode_header(value: str | None) -> str | None:
    """The ``=?base64?…?=`` form clients use for header values that are not plain ASCII."""
    if value is None:
        return None
    match = _BASE64_SENTINEL.match(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def _error_code(reply: Any) -> int | None:
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        return reply["error"].get("code")
    return None


def _foreign_origin(request: web.Request) -> web.Response | None:
    """403 when the request names an Origin that CORS_ORIGINS does not allow (absent: allowed)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    allowed = request.app[RUNTIME].settings.cors_origins
    if "*" in allowed or origin.rstrip("/") in allowed:
        return None
    log.warning("MCP request refused: Origin not allowed", extra={"origin": origin[:200]})
    return _rpc_error(403, INVALID_REQUEST, f"Forbidden: Origin {origin[:200]} is not allowed (CORS_ORIGINS)")


async def _session_of(request: web.Request, session_id: str, *, legacy_sse: bool = False) -> HttpSession | None:
    """The session, if it exists, is of this transport and belongs to this request's credential."""
    session = await _sessions(request).get(session_id)
    if session is None or session.legacy_sse != legacy_sse or session.state.principal != principal_of(request):
        return None
    return session


# --- handlers ----------------------------------------------------------------------------------

async def post(request: web.Request) -> web.StreamResponse:
    if (refused := _foreign_origin(request)) is not None:
        return refused
    json_ok, sse_ok = _accepts(request)
    if not (json_ok or sse_ok):
        return _rpc_error(406, INVALID_REQUEST, "Not Acceptable: accept application/json or text/event-stream")
    sse = sse_ok and not json_ok
    if request.content_type != "application/json":
        return _rpc_error(415, INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json")
    version = request.headers.get(VERSION_HEADER)
    if version is not None and version not in SUPPORTED_VERSIONS:
        return _rpc(unsupported_version_error(version), 400)
    try:
        message = jsonutil.loads_input(await request.read())
    except (jsonutil.JSONDecodeError, ValueError, RecursionError):
        return _rpc_error(400, PARSE_ERROR, "Parse error: the body is not valid JSON")
    if version in MODERN_VERSIONS:
        return await _post_stateless(request, message, version, sse)
    return await _post_session(request, message, version, sse)


async def _post_stateless(request: web.Request, message: Any, version: str, sse: bool) -> web.StreamResponse:
    if not isinstance(message, dict):
        return _rpc_error(400, INVALID_REQUEST,
                          "Invalid Request: the body must be one JSON-RPC request or notification (no batches)")
    if "id" not in message:
        return web.Response(status=202)  # 2026-07-28 defines no client notifications over HTTP: accept, drop
    request_id = message.get("id")
    envelope_version = modern_version_of(message)
    if envelope_version is None:
        return _rpc_error(400, INVALID_PARAMS, "Invalid params: a 2026-07-28 request carries params._meta with "
                                               "io.modelcontextprotocol/protocolVersion and clientCapabilities",
                          request_id)
    if envelope_version != version:
        return _rpc_error(400, HEADER_MISMATCH,
                          f"{VERSION_HEADER} header does not match the protocol version in params._meta", request_id)
    method = message.get("method")
    if request.headers.get(METHOD_HEADER) != method:
        return _rpc_error(400, HEADER_MISMATCH, f"{METHOD_HEADER} header does not match the method", request_id)
    name_field = NAME_BEARING.get(method) if isinstance(method, str) else None
    params = message.get("params")
    if name_field and isinstance(params, dict) and params.get(name_field) is not None:
        if _decode_header(request.headers.get(NAME_HEADER)) != params[name_field]:
            return _rpc_error(400, HEADER_MISMATCH,
                              f"{NAME_HEADER} header does not match params.{name_field}", request_id)
    reply = await _server(request).handle(message, ConnectionState(principal_of(request)))
    status = MODERN_ERROR_STATUS.get(_error_code(reply) or 0, 200)
    return await _reply(request, reply, status, sse)


async def _post_session(request: web.Request, message: Any, version: str | None, sse: bool) -> web.StreamResponse:
    server, sessions = _server(request), _sessions(request)
    if isinstance(message, dict) and message.get("method") == "initialize" and "id" in message:
        state = ConnectionState(principal_of(request))
        reply = await server.handle(message, state)
        if "result" not in reply:
            return await _reply(request, reply, 400 if reply.get("id") is None else 200, sse)
        session = await sessions.create(state)
        log.info("MCP session opened", extra={"protocolVersion": state.protocol_version})
        return await _reply(request, reply, 200, sse, {SESSION_HEADER: session.id})
    session_id = request.headers.get(SESSION_HEADER)
    if not session_id:
        return _rpc_error(400, INVALID_REQUEST, f"Bad Request: the {SESSION_HEADER} header is required "
                                                f"(send initialize first, or use {VERSION_HEADER}: "
                                                f"{MODERN_VERSIONS[-1]})")
    session = await _session_of(request, session_id)
    if session is None:
        return _rpc_error(404, INVALID_REQUEST, "Session not found: it ended or never existed; initialize again")
    if version is not None and version != session.state.protocol_version:
        return _rpc_error(400, INVALID_REQUEST, f"Bad Request: {VERSION_HEADER} {version} is not the version "
                                                f"negotiated for this session ({session.state.protocol_version})")
    reply = await server.handle(message, session.state)
    await sessions.save(session)  # what the message changed (initialized), and the renewed idle timer
    if reply is None:
        return web.Response(status=202)
    status = 400 if isinstance(reply, dict) and "error" in reply and reply.get("id") is None else 200
    return await _reply(request, reply, status, sse)


async def get(request: web.Request) -> web.StreamResponse:
    """The session's server-to-client SSE stream: open until the session ends or the server stops."""
    if (refused := _foreign_origin(request)) is not None:
        return refused
    if request.headers.get(VERSION_HEADER) in MODERN_VERSIONS:
        return web.Response(status=405, headers={"Allow": "POST"})  # 2026-07-28 has no GET stream
    if not _accepts(request)[1]:
        return _rpc_error(406, INVALID_REQUEST, "Not Acceptable: the GET stream is text/event-stream")
    session_id = request.headers.get(SESSION_HEADER)
    if not session_id:
        return _rpc_error(400, INVALID_REQUEST, f"Bad Request: the {SESSION_HEADER} header is required")
    sessions = _sessions(request)
    session = await _session_of(request, session_id)
    if session is None:
        return _rpc_error(404, INVALID_REQUEST, "Session not found: it ended or never existed; initialize again")
    if not await sessions.claim_stream(session, STREAM_CLAIM_SECONDS):
        return _rpc_error(409, INVALID_REQUEST, "Conflict: this session already has an open GET stream")
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    request[STREAM_EDGE].prepare_headers(response)  # no deadline to take: the route has none
    try:
        await response.prepare(request)
        await response.write(b": stream open\n\n")
        while not session.ended.is_set():
            try:
                await asyncio.wait_for(session.ended.wait(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if not await sessions.exists(session_id):  # ended on another instance
                    break
                await response.write(b": keep-alive\n\n")  # proxies close silent connections
                await sessions.renew_stream(session, STREAM_CLAIM_SECONDS)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away; nothing to clean up but the claim
    finally:
        await asyncio.shield(sessions.release_stream(session))
    return response


async def delete(request: web.Request) -> web.StreamResponse:
    if (refused := _foreign_origin(request)) is not None:
        return refused
    session_id = request.headers.get(SESSION_HEADER)
    if not session_id:
        return _rpc_error(400, INVALID_REQUEST, f"Bad Request: the {SESSION_HEADER} header is required")
    if await _session_of(request, session_id) is None or not await _sessions(request).end(session_id):
        return _rpc_error(404, INVALID_REQUEST, "Session not found: it ended or never existed")
    return web.Response(status=204)


async def open_sse_stream(request: web.Request) -> web.StreamResponse:
    """HTTP+SSE (2024-11-05): a new session and its stream; first event ``endpoint``, then its answers."""
    if (refused := _foreign_origin(request)) is not None:
        return refused
    if not _accepts(request)[1]:
        return _rpc_error(406, INVALID_REQUEST, "Not Acceptable: the stream is text/event-stream")
    sessions = _sessions(request)
    session = await sessions.create(ConnectionState(principal_of(request)), outbox_size=SSE_OUTBOX)
    assert session.outbox is not None
    log.info("MCP HTTP+SSE session opened")
    response = web.StreamResponse(status=200, headers=SSE_HEADERS)
    request[STREAM_EDGE].prepare_headers(response)  # no deadline to take: the route has none
    try:
        await response.prepare(request)
        endpoint = f"{SSE_MESSAGES_PATH.rsplit('/', 1)[1]}?sessionId={session.id}"  # relative: proxies' prefixes
        await response.write(f"event: endpoint\ndata: {endpoint}\n\n".encode())
        while not session.ended.is_set():
            try:
                message = await asyncio.wait_for(session.outbox.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                await sessions.renew_stream(session, STREAM_CLAIM_SECONDS)  # an open stream keeps it alive
                continue
            if message is not None:
                await response.write(b"event: message\ndata: " + message + b"\n\n")
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client went away
    finally:
        await asyncio.shield(sessions.end(session.id))
    return response


async def post_sse_message(request: web.Request) -> web.StreamResponse:
    """HTTP+SSE (2024-11-05): one client message; 202, and its answer goes out on the session's stream."""
    if (refused := _foreign_origin(request)) is not None:
        return refused
    session_id = request.query.get("sessionId")
    if not session_id:
        return _rpc_error(400, INVALID_REQUEST, "Bad Request: the sessionId query parameter is required")
    session = await _session_of(request, session_id, legacy_sse=True)
    if session is None or session.ended.is_set():
        return _rpc_error(404, INVALID_REQUEST, "Session not found: its stream ended or never existed")
    if request.content_type != "application/json":
        return _rpc_error(415, INVALID_REQUEST, "Unsupported Media Type: Content-Type must be application/json")
    if session.outbox is None:  # its stream is held by another worker: that one answers on it
        if not await _hand_to_stream_holder(request, session, await request.read()):
            return _rpc_error(404, INVALID_REQUEST, "Session not found: its stream ended or never existed")
        return web.Response(status=202, text="Accepted")
    if session.outbox.full():
        return _rpc_error(429, INVALID_REQUEST, "Too Many Requests: read the stream before sending more")
    reply = await _server(request).handle_text(await request.read(), session.state)
    await _sessions(request).save(session)
    if reply is not None:
        session.outbox.put_nowait(jsonutil.dumps(reply))
    return web.Response(status=202, text="Accepted")


async def _hand_to_stream_holder(request: web.Request, session: HttpSession, message: bytes) -> bool:
    """Pass an HTTP+SSE message to the process holding the session's stream (a sibling worker, or
    through Redis another instance); True once it has it."""
    runtime = request.app[RUNTIME]
    body = {"session": session.id, "message": message.decode("utf-8", "replace")}
    group, _, index = session.owner.rpartition(":")
    siblings = runtime.siblings
    if siblings is not None and group == siblings.group.directory.name and index.isascii() and index.isdigit():
        return await siblings.tell_one(int(index), SSE_RELAY, body)
    return runtime.bus is not None and await runtime.bus.send(session.owner, SSE_RELAY, body)


def sse_relay(sessions: SessionStore, server: Callable[[], McpServer]) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """What a worker does with an HTTP+SSE message a sibling received for a stream held here."""

    async def relay(body: dict[str, Any]) -> None:
        session = sessions.local(str(body.get("session")))
        if session is None or session.outbox is None or session.ended.is_set():
            return
        if session.outbox.full():
            log.warning("MCP HTTP+SSE message dropped: the stream's outbox is full")
            return
        reply = await server().handle_text(str(body.get("message", "")).encode(), session.state)
        await sessions.save(session)
        if reply is not None:
            session.outbox.put_nowait(jsonutil.dumps(reply))

    return relay


# --- wiring ------------------------------------------------------------------------------------

def _server(request: web.Request) -> McpServer:
    # MCP routes are only registered with FEATURE_MCP_SERVER on; the first request makes the server.
    return request.app[RUNTIME].mcp_server()


def _sessions(request: web.Request) -> SessionStore:
    sessions = request.app[HTTP].mcp_sessions
    assert sessions is not None, "MCP routes are only registered with FEATURE_MCP_SERVER on"
    return sessions


_MCP = ("feature_mcp_server",)
_JSON_RPC = {"application/json": {"schema": {"type": "object"}}}

ROUTES = (
    Route("POST", MCP_PATH, post, Access.READ, streams=True, features=_MCP, operation={
        "tags": ["mcp"], "summary": "MCP JSON-RPC message (Streamable HTTP)", "operationId": "mcpPost",
        "parameters": [oa.param("McpSessionId"), oa.param("McpProtocolVersion")],
        "requestBody": oa.body({"type": "object", "description": "A JSON-RPC 2.0 request or notification."}),
        "responses": {
            "200": {"description": "JSON-RPC response, as JSON or one SSE event (per Accept); "
                                   "initialize answers with Mcp-Session-Id",
                    "headers": {"Mcp-Session-Id": {"schema": {"type": "string"}}},
                    "content": {**_JSON_RPC, "text/event-stream": {"schema": {"type": "string"}}}},
            "202": {"description": "Notification accepted"},
            "400": {"description": "JSON-RPC error: bad request or missing session id", "content": _JSON_RPC},
            "404": {"description": "Unknown or ended session, or unknown method (stateless revision)",
                    "content": _JSON_RPC},
            **oa.errors(401, 413),
        },
    }),
    Route("GET", MCP_PATH, get, Access.READ, deadline=Deadline.STREAM, streams=True, features=_MCP,
          allow_head=False, operation={
        "tags": ["mcp"], "summary": "The session's server-to-client SSE stream", "operationId": "mcpStream",
        "parameters": [oa.param("McpSessionId"), oa.param("McpProtocolVersion")],
        "responses": {
            "200": {"description": "SSE stream (keep-alive comments)",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": {"description": "Missing session id"}, "404": {"description": "Unknown or ended session"},
            "405": {"description": "The stateless revision has no GET stream"},
            **oa.errors(401),
        },
    }),
    Route("GET", SSE_PATH, open_sse_stream, Access.READ, deadline=Deadline.STREAM, streams=True, features=_MCP,
          allow_head=False, operation={
        "tags": ["mcp"], "summary": "HTTP+SSE transport (protocol 2024-11-05): open a session's stream",
        "operationId": "mcpSseStream",
        "responses": {
            "200": {"description": "SSE stream: first an `endpoint` event (where to POST messages), then one "
                                   "`message` event per answer",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "406": {"description": "The client does not accept text/event-stream", "content": _JSON_RPC},
            **oa.errors(401),
        },
    }),
    Route("POST", SSE_MESSAGES_PATH, post_sse_message, Access.READ, features=_MCP, operation={
        "tags": ["mcp"], "summary": "HTTP+SSE transport (protocol 2024-11-05): send a message",
        "operationId": "mcpSseMessage",
        "parameters": [{"name": "sessionId", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "From the stream's endpoint event"}],
        "requestBody": oa.body({"type": "object", "description": "A JSON-RPC 2.0 message (or batch)."}),
        "responses": {
            "202": {"description": "Accepted: the answer is a `message` event on the session's stream"},
            "400": {"description": "Missing sessionId", "content": _JSON_RPC},
            "404": {"description": "Unknown session, or its stream has ended", "content": _JSON_RPC},
            "415": {"description": "Content-Type is not application/json", "content": _JSON_RPC},
            "429": {"description": "Too many answers waiting on the stream", "content": _JSON_RPC},
            **oa.errors(401, 413),
        },
    }),
    Route("DELETE", MCP_PATH, delete, Access.READ, features=_MCP, operation={
        "tags": ["mcp"], "summary": "End an MCP session", "operationId": "mcpEndSession",
        "parameters": [oa.param("McpSessionId")],
        "responses": {"204": {"description": "Session ended"}, "400": {"description": "Missing session id"},
                      "404": {"description": "Unknown or ended session"}, **oa.errors(401)},
    }),
)
