"""The OpenAPI 3.1 description of every route the app can register.

TO DOCUMENT A NEW ROUTE, add one entry to ``OPERATIONS`` below, keyed by
``(METHOD, path template)`` exactly as registered with ``app.router`` (path
parameters as ``{name}``). Reuse the helpers (``_json``, ``_data``, ``_errors``)
and the shared ``COMPONENTS``. ``tests/http/test_openapi.py`` walks the router
of a fully-featured app and fails, naming the route, when one is missing.

The served document (``GET /api/openapi.json``) only lists the operations the
running app actually registered, so a feature switched off is not advertised.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from aiohttp import web

from folionaut.content.models import CHANGE_TYPES, STATUSES
from folionaut.content.validation import MAX_SORT_ORDER, MAX_VERSION

Operation = dict[str, Any]
Route = tuple[str, str]  # (METHOD, path template)

OPENAPI_VERSION = "3.1.0"
#: Methods aiohttp adds on its own (HEAD with every GET) that need no separate entry.
IMPLICIT_METHODS = frozenset({"HEAD"})

ERROR_CODES = (
    "VALIDATION_ERROR", "BAD_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE",
    "RATE_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "LLM_ERROR", "REQUEST_TIMEOUT",
)
NAME_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[a-z0-9-]{1,100}$", "minLength": 1, "maxLength": 100}
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time", "examples": ["2025-01-25T10:00:00.000Z"]}


# --- helpers -------------------------------------------------------------------------

def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _json(schema: dict[str, Any], description: str = "OK", headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    """The success envelope ``{"data": …}``."""
    return {"type": "object", "required": ["data"], "properties": {"data": schema}}


def _array(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


def _errors(*statuses: int) -> dict[str, Any]:
    """Shared error responses; 500 and 504 can happen on every route."""
    return {str(status): {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status]}"}
            for status in (*statuses, 500, 504)}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ERROR_RESPONSES = {
    400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 409: "Conflict", 413: "PayloadTooLarge",
    429: "RateLimited", 500: "InternalError", 502: "LLMError", 504: "RequestTimeout",
}
_ADMIN: list[dict[str, list[str]]] = [{"AdminKey": []}]
_ETAG_HEADER = {"ETag": {"$ref": "#/components/headers/ETag"}}
_CONDITIONAL_HEADERS = {**_ETAG_HEADER, "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}
_RATE_HEADERS = {name: {"$ref": f"#/components/headers/{name.replace('-', '')}"}
                 for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")}
_NOT_MODIFIED = {"$ref": "#/components/responses/NotModified"}
_REPLAYED = {"X-Idempotent-Replayed": {"$ref": "#/components/headers/XIdempotentReplayed"}}


# --- shared components ------------------------------------------------------------

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "AdminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key",
                     "description": "The ADMIN_API_KEY, compared in constant time."},
        "MetricsToken": {"type": "http", "scheme": "bearer",
                         "description": "METRICS_TOKEN: read-only access to /api/metrics for scrapers."},
    },
    "schemas": {
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["code", "message", "requestId"],
                "properties": {
                    "code": {"type": "string", "enum": list(ERROR_CODES)},
                    "message": {"type": "string"},
                    "requestId": {"type": "string"},
                    "fields": {"type": "object", "description": "Only on VALIDATION_ERROR: field → problems.",
                               "additionalProperties": _array({"type": "string"})},
                    "retryAfter": {"type": "integer", "description": "Only on RATE_LIMIT_EXCEEDED: seconds."},
                },
            }},
        },
        "ContentItem": {
            "type": "object",
            "required": ["id", "type", "slug", "data", "status", "version", "sortOrder", "createdAt", "updatedAt",
                         "deletedAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^content_"},
                "type": NAME_SCHEMA, "slug": NAME_SCHEMA,
                "data": {"type": "object", "minProperties": 1},
                "status": {"type": "string", "enum": list(STATUSES)},
                "version": {"type": "integer", "minimum": 1},
                "sortOrder": {"type": "integer"},
                "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
                "deletedAt": {"oneOf": [TIMESTAMP, {"type": "null"}]},
            },
        },
        "HistoryEntry": {
            "type": "object",
            "required": ["id", "contentId", "version", "data", "changeType", "changedBy", "changeSummary", "createdAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^hist_"},
                "contentId": {"type": "string", "pattern": "^content_"},
                "version": {"type": "integer", "minimum": 1},
                "data": {"type": "object", "description": "The item's data as it was after this change."},
                "changeType": {"type": "string", "enum": list(CHANGE_TYPES)},
                "changedBy": {"type": ["string", "null"], "examples": ["admin", "mcp"]},
                "changeSummary": {"type": ["string", "null"], "examples": ["Updated data, status"]},
                "createdAt": TIMESTAMP,
            },
        },
        "ContentCreate": {
            "type": "object", "required": ["type", "data"],
            "properties": {
                "type": NAME_SCHEMA,
                "slug": {**NAME_SCHEMA, "description": "Default: slugified data.title, made unique with -2, -3…"},
                "data": {"type": "object", "minProperties": 1},
                "status": {"type": "string", "enum": list(STATUSES), "default": "draft"},
                "sortOrder": {"type": "integer", "minimum": -MAX_SORT_ORDER, "maximum": MAX_SORT_ORDER, "default": 0},
            },
        },
        "ContentUpdate": {
            "type": "object", "minProperties": 1,
            "description": "Partial update; at least one of slug, data, status, sortOrder.",
            "properties": {
                "slug": NAME_SCHEMA,
                "data": {"type": "object", "minProperties": 1},
                "status": {"type": "string", "enum": list(STATUSES)},
                "sortOrder": {"type": "integer", "minimum": -MAX_SORT_ORDER, "maximum": MAX_SORT_ORDER},
                "version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION,
                            "description": "Optimistic concurrency: the version you read; 409 if stale."},
            },
        },
        "RestoreRequest": {
            "type": "object", "required": ["version"],
            "properties": {"version": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}},
        },
        "Success": {"type": "object", "required": ["success"], "properties": {"success": {"const": True}}},
        "ChatRequest": {
            "type": "object", "required": ["message", "visitorId"],
            "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 2000},
                           "visitorId": {"type": "string", "minLength": 1, "maxLength": 100}},
        },
        "ChatResponse": {
            "type": "object", "description": "Not wrapped in {\"data\": …}.",
            "required": ["sessionId", "message", "tokensUsed"],
            "properties": {
                "sessionId": {"type": "string", "pattern": "^sess_"},
                "message": {"type": "object", "required": ["id", "role", "content", "createdAt"],
                            "properties": {"id": {"type": "string", "pattern": "^msg_"},
                                           "role": {"const": "assistant"}, "content": {"type": "string"},
                                           "createdAt": TIMESTAMP}},
                "tokensUsed": {"type": "integer"},
                "model": {"type": "string", "description": "Model that answered; \"local\" for the offline "
                          "responder (no LLM_API_KEY) and for blank input."},
                "toolCalls": _array({"type": "object", "required": ["id", "name", "arguments", "result"],
                                     "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                    "arguments": {}, "result": {}}}),
            },
        },
        "ChatSession": {
            "type": "object",
            "required": ["id", "visitorId", "ipHash", "userAgent", "messageCount", "status", "createdAt",
                         "lastActiveAt", "expiresAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^sess_"}, "visitorId": {"type": "string"},
                "ipHash": {"type": ["string", "null"], "description": "Salted hash, never the raw address."},
                "userAgent": {"type": ["string", "null"]}, "messageCount": {"type": "integer"},
                "status": {"type": "string", "enum": ["active", "ended", "expired"]},
                "createdAt": TIMESTAMP, "lastActiveAt": TIMESTAMP, "expiresAt": TIMESTAMP,
            },
        },
        "ChatMessage": {
            "type": "object", "required": ["id", "sessionId", "role", "content", "createdAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^msg_"}, "sessionId": {"type": "string"},
                "role": {"type": "string", "enum": ["user", "assistant"]}, "content": {"type": "string"},
                "tokensUsed": {"type": ["integer", "null"]}, "model": {"type": ["string", "null"]},
                "createdAt": TIMESTAMP,
            },
        },
        "Live": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
        "Ready": {
            "type": "object", "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "degraded", "unhealthy"]},
                "checks": {"type": "object", "additionalProperties": {"type": "string", "enum": ["ok", "error"]}},
            },
        },
        "Startup": {
            "type": "object", "required": ["status", "uptime", "version", "environment"],
            "properties": {
                "status": {"const": "started"}, "uptime": {"type": "integer", "description": "milliseconds"},
                "version": {"type": "string"}, "environment": {"type": "string"},
            },
        },
    },
    "parameters": {
        "McpSessionId": {"name": "Mcp-Session-Id", "in": "header", "schema": {"type": "string"},
                         "description": "The session id returned by initialize (session revisions)."},
        "McpProtocolVersion": {"name": "MCP-Protocol-Version", "in": "header", "schema": {"type": "string"}},
        "SessionId": {"name": "id", "in": "path", "required": True,
                      "schema": {"type": "string", "pattern": "^sess_", "maxLength": 100}},
        "ContentId": {"name": "id", "in": "path", "required": True,
                      "schema": {"type": "string", "pattern": "^content_", "maxLength": 100}},
        "Type": {"name": "type", "in": "path", "required": True, "schema": NAME_SCHEMA},
        "Slug": {"name": "slug", "in": "path", "required": True, "schema": NAME_SCHEMA},
        "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100,
                                                            "default": 50}},
        "Offset": {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
        "IfNoneMatch": {"name": "If-None-Match", "in": "header",
                        "description": "ETags the client has (RFC 9110 list, `*`, weak comparison) → 304.",
                        "schema": {"type": "string"}},
        "IdempotencyKey": {
            "name": "Idempotency-Key", "in": "header",
            "description": "Repeating a key on the same method and path within 24 h replays the stored 2xx "
                           "response (with X-Idempotent-Replayed: true); the same key with a different body "
                           "is 409 CONFLICT.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
        },
    },
    "headers": {
        "ETag": {"description": 'Weak entity tag, W/"…".', "schema": {"type": "string"}},
        "CacheControl": {"description": "public, max-age=60 (lists) or 300 (bundle, items).",
                         "schema": {"type": "string"}},
        "XRateLimitLimit": {"schema": {"type": "integer"}},
        "XRateLimitRemaining": {"schema": {"type": "integer"}},
        "XRateLimitReset": {"schema": {"type": "integer"}},
        "RetryAfter": {"description": "Whole seconds.", "schema": {"type": "integer"}},
        "XIdempotentReplayed": {"description": "`true` when this is a stored response replayed for an "
                                               "Idempotency-Key.", "schema": {"type": "string", "const": "true"}},
    },
    "responses": {
        "NotModified": {"description": "The client's copy (If-None-Match) is current; no body.",
                        "headers": _CONDITIONAL_HEADERS},
        "BadRequest": _json(_schema("Error"), "VALIDATION_ERROR (with fields) or BAD_REQUEST (malformed JSON, "
                                              "wrong content type)"),
        "Unauthorized": _json(_schema("Error"), "UNAUTHORIZED: missing or wrong credentials"),
        "NotFound": _json(_schema("Error"), "NOT_FOUND"),
        "Conflict": _json(_schema("Error"), "CONFLICT: duplicate (type, slug), stale version, or an "
                                            "Idempotency-Key reused with a different body"),
        "PayloadTooLarge": _json(_schema("Error"), "PAYLOAD_TOO_LARGE: body over 100 KiB"),
        "RateLimited": _json(_schema("Error"), "RATE_LIMIT_EXCEEDED",
                             headers={"Retry-After": {"$ref": "#/components/headers/RetryAfter"}, **_RATE_HEADERS}),
        "InternalError": _json(_schema("Error"), "INTERNAL_SERVER_ERROR"),
        "LLMError": _json(_schema("Error"), "LLM_ERROR: the LLM provider failed or its circuit breaker is open"),
        "RequestTimeout": _json(_schema("Error"), "REQUEST_TIMEOUT"),
    },
}


# --- operations: ONE entry per registered (method, path) ---------------------------

_ITEM = _data(_schema("ContentItem"))
_ADMIN_WRITE_PARAMS = [_param("IdempotencyKey")]

OPERATIONS: dict[Route, Operation] = {
    # Health (folionaut/http/routes/health.py)
    ("GET", "/"): {
        "tags": ["health"], "summary": "Liveness (root)", "operationId": "root",
        "responses": {"200": _json(_schema("Live"))},
    },
    ("GET", "/api/health/live"): {
        "tags": ["health"], "summary": "Liveness", "operationId": "healthLive",
        "responses": {"200": _json(_schema("Live"))},
    },
    ("GET", "/api/health/ready"): {
        "tags": ["health"], "summary": "Readiness: database (critical) and Redis (degrades only)",
        "operationId": "healthReady",
        "responses": {"200": _json(_schema("Ready"), "ready or degraded"),
                      "503": _json(_schema("Ready"), "unhealthy: the database is down")},
    },
    ("GET", "/api/health/startup"): {
        "tags": ["health"], "summary": "Startup probe", "operationId": "healthStartup",
        "responses": {"200": _json(_schema("Startup"))},
    },
    # Metrics (folionaut/http/routes/metrics.py)
    ("GET", "/api/metrics"): {
        "tags": ["operations"], "summary": "Prometheus metrics (text format)", "operationId": "metrics",
        "security": [{"AdminKey": []}, {"MetricsToken": []}],
        "responses": {
            "200": {"description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            **_errors(401),
        },
    },
    # This document (folionaut/http/routes/openapi.py)
    ("GET", "/api/openapi.json"): {
        "tags": ["operations"], "summary": "This OpenAPI 3.1 document", "operationId": "openapi",
        "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1 document")},
    },
    # Public content (folionaut/http/routes/content.py)
    ("GET", "/api/v1/content"): {
        "tags": ["content"], "summary": "Published items, by sortOrder then newest first",
        "operationId": "listContent",
        "parameters": [{"name": "type", "in": "query", "schema": NAME_SCHEMA}, _param("IfNoneMatch")],
        "responses": {"200": _json(_data(_array(_schema("ContentItem"))), headers={**_CONDITIONAL_HEADERS,
                                                                                    **_RATE_HEADERS}),
                      "304": _NOT_MODIFIED, **_errors(400, 429)},
    },
    ("GET", "/api/v1/content/bundle"): {
        "tags": ["content"], "summary": "All published items grouped by type", "operationId": "contentBundle",
        "parameters": [_param("IfNoneMatch")],
        "responses": {"200": _json(_data({"type": "object", "additionalProperties": _array(_schema("ContentItem"))}),
                                   headers={**_CONDITIONAL_HEADERS, **_RATE_HEADERS}),
                      "304": _NOT_MODIFIED, **_errors(429)},
    },
    ("GET", "/api/v1/content/{type}/{slug}"): {
        "tags": ["content"], "summary": "One published item", "operationId": "getContent",
        "parameters": [_param("Type"), _param("Slug"), _param("IfNoneMatch")],
        "responses": {"200": _json(_ITEM, headers={**_CONDITIONAL_HEADERS, **_RATE_HEADERS}),
                      "304": _NOT_MODIFIED, **_errors(400, 404, 429)},
    },
    # Admin content (folionaut/http/routes/admin_content.py)
    ("GET", "/api/v1/admin/content"): {
        "tags": ["admin"], "summary": "Items of any status", "operationId": "adminListContent", "security": _ADMIN,
        "parameters": [
            {"name": "type", "in": "query", "schema": NAME_SCHEMA},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
            {"name": "includeDeleted", "in": "query", "description": "true/false/1/0",
             "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}},
            _param("Limit"), _param("Offset"),
        ],
        "responses": {"200": _json(_data(_array(_schema("ContentItem")))), **_errors(400, 401)},
    },
    ("POST", "/api/v1/admin/content"): {
        "tags": ["admin"], "summary": "Create an item", "operationId": "adminCreateContent", "security": _ADMIN,
        "parameters": _ADMIN_WRITE_PARAMS, "requestBody": _body(_schema("ContentCreate")),
        "responses": {"201": _json(_ITEM, "Created", headers={**_ETAG_HEADER, **_REPLAYED}),
                      **_errors(400, 401, 409, 413)},
    },
    ("GET", "/api/v1/admin/content/{id}"): {
        "tags": ["admin"], "summary": "One item, soft-deleted ones included", "operationId": "adminGetContent",
        "security": _ADMIN, "parameters": [_param("ContentId")],
        "responses": {"200": _json(_ITEM, headers={"ETag": {"description": 'W/"v<version>": send it back in '
                                                                          "If-Match on PUT.",
                                                           "schema": {"type": "string"}}}),
                      **_errors(400, 401, 404)},
    },
    ("PUT", "/api/v1/admin/content/{id}"): {
        "tags": ["admin"], "summary": "Partial update (version +1)", "operationId": "adminUpdateContent",
        "security": _ADMIN,
        "parameters": [_param("ContentId"), *_ADMIN_WRITE_PARAMS,
                       {"name": "If-Match", "in": "header", "schema": {"type": "string"},
                        "description": 'The item\'s admin ETag (W/"v3") or version number; 409 if stale.'}],
        "requestBody": _body(_schema("ContentUpdate")),
        "responses": {"200": _json(_ITEM, headers={**_ETAG_HEADER, **_REPLAYED}),
                      **_errors(400, 401, 404, 409, 413)},
    },
    ("DELETE", "/api/v1/admin/content/{id}"): {
        "tags": ["admin"], "summary": "Soft delete, or permanent with hard=true (history too)",
        "operationId": "adminDeleteContent", "security": _ADMIN,
        "parameters": [_param("ContentId"), *_ADMIN_WRITE_PARAMS,
                       {"name": "hard", "in": "query", "description": "true/false/1/0",
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}}],
        "responses": {"200": _json(_schema("Success"), headers=_REPLAYED), **_errors(400, 401, 404, 409)},
    },
    ("GET", "/api/v1/admin/content/{id}/history"): {
        "tags": ["admin"], "summary": "Version history, newest first", "operationId": "adminContentHistory",
        "security": _ADMIN, "parameters": [_param("ContentId"), _param("Limit"), _param("Offset")],
        "responses": {"200": _json(_data(_array(_schema("HistoryEntry")))), **_errors(400, 401, 404)},
    },
    ("POST", "/api/v1/admin/content/{id}/restore"): {
        "tags": ["admin"], "summary": "Copy an earlier version's data into a new version (undeletes)",
        "operationId": "adminRestoreContent", "security": _ADMIN,
        "parameters": [_param("ContentId"), *_ADMIN_WRITE_PARAMS], "requestBody": _body(_schema("RestoreRequest")),
        "responses": {"200": _json(_ITEM, headers={**_ETAG_HEADER, **_REPLAYED}),
                      **_errors(400, 401, 404, 409, 413)},
    },
    # Chat (folionaut/http/routes/chat.py)
    ("POST", "/api/v1/chat"): {
        "tags": ["chat"], "summary": "Ask the portfolio's AI assistant", "operationId": "chat",
        "parameters": [{"name": "includeToolCalls", "in": "query", "description": "true/false/1/0",
                        "schema": {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}}],
        "requestBody": _body(_schema("ChatRequest")),
        "responses": {"200": _json(_schema("ChatResponse"), headers=_RATE_HEADERS),
                      **_errors(400, 413, 429, 502)},
    },
    ("GET", "/api/v1/admin/chat/sessions"): {
        "tags": ["admin"], "summary": "Chat sessions", "operationId": "adminListChatSessions", "security": _ADMIN,
        "parameters": [{"name": "status", "in": "query",
                        "schema": {"type": "string", "enum": ["active", "ended", "expired"]}},
                       _param("Limit"), _param("Offset")],
        "responses": {"200": _json(_data(_array(_schema("ChatSession")))), **_errors(400, 401)},
    },
    ("GET", "/api/v1/admin/chat/sessions/{id}"): {
        "tags": ["admin"], "summary": "One chat session with its messages", "operationId": "adminGetChatSession",
        "security": _ADMIN, "parameters": [_param("SessionId")],
        "responses": {"200": _json(_data({"allOf": [_schema("ChatSession"), {
            "type": "object", "required": ["messages"],
            "properties": {"messages": _array(_schema("ChatMessage"))}}]})), **_errors(400, 401, 404)},
    },
    ("DELETE", "/api/v1/admin/chat/sessions/{id}"): {
        "tags": ["admin"], "summary": "End a chat session", "operationId": "adminEndChatSession", "security": _ADMIN,
        "parameters": [_param("SessionId")],
        "responses": {"200": _json(_schema("Success")), **_errors(400, 401, 404)},
    },
    # MCP over Streamable HTTP (folionaut/mcp/http.py): JSON-RPC 2.0 bodies, described by the MCP spec.
    ("POST", "/api/mcp"): {
        "tags": ["mcp"], "summary": "MCP JSON-RPC message (Streamable HTTP)", "operationId": "mcpPost",
        "security": _ADMIN, "parameters": [_param("McpSessionId"), _param("McpProtocolVersion")],
        "requestBody": _body({"type": "object", "description": "A JSON-RPC 2.0 request or notification."}),
        "responses": {
            "200": {"description": "JSON-RPC response, as JSON or one SSE event (per Accept); "
                                   "initialize answers with Mcp-Session-Id",
                    "headers": {"Mcp-Session-Id": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "text/event-stream": {"schema": {"type": "string"}}}},
            "202": {"description": "Notification accepted"},
            "400": {"description": "JSON-RPC error: bad request or missing session id",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            "404": {"description": "Unknown or ended session, or unknown method (stateless revision)",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            **_errors(401, 413),
        },
    },
    ("GET", "/api/mcp"): {
        "tags": ["mcp"], "summary": "The session's server-to-client SSE stream", "operationId": "mcpStream",
        "security": _ADMIN, "parameters": [_param("McpSessionId"), _param("McpProtocolVersion")],
        "responses": {
            "200": {"description": "SSE stream (keep-alive comments)",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "400": {"description": "Missing session id"}, "404": {"description": "Unknown or ended session"},
            "405": {"description": "The stateless revision has no GET stream"},
            **_errors(401),
        },
    },
    ("DELETE", "/api/mcp"): {
        "tags": ["mcp"], "summary": "End an MCP session", "operationId": "mcpEndSession", "security": _ADMIN,
        "parameters": [_param("McpSessionId")],
        "responses": {"204": {"description": "Session ended"}, "400": {"description": "Missing session id"},
                      "404": {"description": "Unknown or ended session"}, **_errors(401)},
    },
}


# --- building -------------------------------------------------------------------------

def registered_routes(app: web.Application) -> list[Route]:
    """Every (METHOD, path template) the app's router serves, sub-applications included."""
    routes: list[Route] = []
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in IMPLICIT_METHODS:
            continue
        route_key = (route.method, resource.canonical)
        if route_key not in routes:
            routes.append(route_key)
    return routes


def build_document(routes: Iterable[Route], version: str) -> dict[str, Any]:
    """The OpenAPI document for exactly these routes (those without an entry are left out)."""
    served: Collection[Route] = set(routes)
    paths: dict[str, dict[str, Operation]] = {}
    for (method, path), operation in OPERATIONS.items():
        if (method, path) in served:
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Folionaut API",
            "version": version,
            "description": "Self-hosted portfolio content API. Success bodies are {\"data\": …}; every error is "
                           "the Error envelope. Every response carries X-Request-Id.",
        },
        "tags": [{"name": name} for name in dict.fromkeys(
            tag for methods in paths.values() for operation in methods.values() for tag in operation.get("tags", ()))],
        "paths": paths,
        "components": COMPONENTS,
    }
