"""Visitor chat (POST /api/v1/chat) and the admin view of chat sessions."""

from __future__ import annotations

from aiohttp import web

from folionaut.chat.llm import SleepFn
from folionaut.chat.models import SESSION_STATUSES
from folionaut.chat.service import ChatService
from folionaut.core.errors import ValidationError
from folionaut.http.auth import admin_only
from folionaut.http.middlewares import route_timeout
from folionaut.http.params import query_bool, query_int, query_str
from folionaut.http.resilience import rate_limited, request_ip_hash
from folionaut.http.responses import data_response, json_response, read_json, success_response

CHAT = web.AppKey("chat_service", ChatService)
#: Optional: the sleep the LLM client waits its retry backoff with (default ``asyncio.sleep``).
#: Set it on the app before it starts, e.g. ``app[LLM_SLEEP] = RecordingSleep()`` in tests,
#: so retries run without real waits.
LLM_SLEEP = web.AppKey("llm_sleep", SleepFn)

MAX_MESSAGE_CHARS = 2000
MAX_VISITOR_ID_CHARS = 100


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


@route_timeout("chat")
@rate_limited("chat")
async def chat(request: web.Request) -> web.Response:
    include_tool_calls = query_bool(request, "includeToolCalls")
    message, visitor_id = _parse_chat(await read_json(request))
    reply = await request.app[CHAT].chat(
        message, visitor_id, ip_hash=request_ip_hash(request), user_agent=request.headers.get("User-Agent"),
    )
    return json_response(reply.to_wire(include_tool_calls))


def _session_id(request: web.Request) -> str:
    session_id = request.match_info["id"]
    if not session_id.startswith("sess_") or len(session_id) > 100:
        raise ValidationError.single("id", "Must be a chat session id starting with 'sess_'")
    return session_id


@admin_only
async def list_sessions(request: web.Request) -> web.Response:
    status = query_str(request, "status")
    if status is not None and status not in SESSION_STATUSES:
        raise ValidationError.single("status", "Expected one of: " + ", ".join(SESSION_STATUSES))
    sessions = await request.app[CHAT].list_sessions(
        status, limit=query_int(request, "limit", 50, 1, 100), offset=query_int(request, "offset", 0, 0, 2**31)
    )
    return data_response([session.to_wire() for session in sessions])


@admin_only
async def get_session(request: web.Request) -> web.Response:
    session, messages = await request.app[CHAT].get_session(_session_id(request))
    return data_response({**session.to_wire(), "messages": [message.to_wire() for message in messages]})


@admin_only
async def end_session(request: web.Request) -> web.Response:
    await request.app[CHAT].end_session(_session_id(request))
    return success_response()


def register(app: web.Application, admin: bool) -> None:
    app.router.add_post("/api/v1/chat", chat)
    if admin:
        app.router.add_get("/api/v1/admin/chat/sessions", list_sessions)
        app.router.add_get("/api/v1/admin/chat/sessions/{id}", get_session)
        app.router.add_delete("/api/v1/admin/chat/sessions/{id}", end_session)
