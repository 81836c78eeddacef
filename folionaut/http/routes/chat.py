"""Visitor chat (POST /api/v1/chat) and the admin view of chat sessions."""

from __future__ import annotations

from aiohttp import web

from folionaut.chat.models import SESSION_STATUSES
from folionaut.chat.service import ChatService
from folionaut.core.errors import ValidationError
from folionaut.http import openapi as oa
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.params import query_bool, query_int, query_str
from folionaut.http.responses import data_response, json_response, read_json, success_response
from folionaut.http.routing import Access, Deadline, Route
from folionaut.http.state import RUNTIME

__all__ = ["ROUTES"]

MAX_MESSAGE_CHARS = 2000
MAX_VISITOR_ID_CHARS = 100


def _chat(request: web.Request) -> ChatService:
    chat = request.app[RUNTIME].chat
    assert chat is not None, "chat routes are only registered with FEATURE_AI_CHAT on"
    return chat


def _parse_chat(body: object) -> tuple[str, str]:
    if not isinstance(body, dict):
        raise ValidationError({"body": ["Expected a JSON object"]})
    fields: dict[str, list[str]] = {}
    message, visitor_id = body.get("message"), body.get("visitorId")
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
    assert isinstance(message, str) and isinstance(visitor_id, str)
    return message, visitor_id


async def chat(request: web.Request) -> web.Response:
    include_tool_calls = query_bool(request, "includeToolCalls")
    message, visitor_id = _parse_chat(await read_json(request))
    reply = await _chat(request).chat(
        message, visitor_id, ip_hash=client_ip_hash(request), user_agent=request.headers.get("User-Agent"),
    )
    return json_response(reply.to_wire(include_tool_calls))


def _session_id(request: web.Request) -> str:
    session_id = request.match_info["id"]
    if not session_id.startswith("sess_") or len(session_id) > 100:
        raise ValidationError.single("id", "Must be a chat session id starting with 'sess_'")
    return session_id


async def list_sessions(request: web.Request) -> web.Response:
    status = query_str(request, "status")
    if status is not None and status not in SESSION_STATUSES:
        raise ValidationError.single("status", "Expected one of: " + ", ".join(SESSION_STATUSES))
    sessions = await _chat(request).list_sessions(
        status, limit=query_int(request, "limit", 50, 1, 100), offset=query_int(request, "offset", 0, 0, 2**31)
    )
    return data_response([session.to_wire() for session in sessions])


async def get_session(request: web.Request) -> web.Response:
    session, messages = await _chat(request).get_session(_session_id(request))
    return data_response({**session.to_wire(), "messages": [message.to_wire() for message in messages]})


async def end_session(request: web.Request) -> web.Response:
    await _chat(request).end_session(_session_id(request))
    return success_response()


_CHAT = ("feature_ai_chat",)
_CHAT_ADMIN = ("feature_ai_chat", "feature_admin_api")

ROUTES = (
    Route("POST", "/api/v1/chat", chat, Access.PUBLIC, limiter="chat", deadline=Deadline.CHAT, features=_CHAT,
          operation={
        "tags": ["chat"], "summary": "Ask the portfolio's AI assistant", "operationId": "chat",
        "parameters": [{"name": "includeToolCalls", "in": "query", "description": "true/false/1/0",
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}}],
        "requestBody": oa.body(oa.schema("ChatRequest")),
        "responses": {"200": oa.json_content(oa.schema("ChatResponse"), headers=oa.RATE_HEADERS),
                      **oa.errors(400, 413, 429, 502)},
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
