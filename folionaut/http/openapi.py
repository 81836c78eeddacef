"""The OpenAPI 3.1 document, derived from the route table.

Each ``Route`` (``http/routing.py``) carries its own operation object, written
next to its handler with the helpers here (``json_content``, ``data``,
``errors``, ``param``…) and the shared ``COMPONENTS``. ``build_document`` adds
what the route's facts already say — ``security`` from its access, the
``Idempotency-Key`` parameter when it is idempotent — so the document and the
edge cannot disagree. It lists exactly the routes the app registered, so a
feature switched off is not advertised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from folionaut.access.models import TOKEN_SCOPES
from folionaut.access.service import TOKEN_CREATE
from folionaut.content.models import CHANGE_TYPES, STATUSES
from folionaut.content.schema import CONTENT_CREATE, CONTENT_UPDATE, NAME, RESTORE
from folionaut.http.routing import Access, Route
from folionaut.webhooks.models import EVENT_TYPES, OUTCOMES, TEST_EVENT
from folionaut.webhooks.schema import EVENTS, WEBHOOK_CREATE, WEBHOOK_UPDATE

__all__ = [
    "COMPONENTS", "CONDITIONAL_HEADERS", "ETAG_HEADER", "NAME_SCHEMA", "NOT_MODIFIED", "RATE_HEADERS", "REPLAYED",
    "SECURITY", "TOKEN_NAME_SCHEMA",
    "array", "body", "build_document", "data", "errors", "json_content", "param", "schema",
]

OPENAPI_VERSION = "3.1.0"

ERROR_CODES = (
    "VALIDATION_ERROR", "BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "PAYLOAD_TOO_LARGE",
    "RATE_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "LLM_ERROR", "REQUEST_TIMEOUT",
)
NAME_SCHEMA: dict[str, Any] = NAME
TOKEN_NAME_SCHEMA: dict[str, Any] = TOKEN_CREATE["properties"]["name"]
TIMESTAMP: dict[str, Any] = {"type": "string", "format": "date-time", "examples": ["2025-01-25T10:00:00.000Z"]}


# --- helpers -------------------------------------------------------------------------

def schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def json_content(schema: dict[str, Any], description: str = "OK",
                 headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response whose body is JSON of ``schema``."""
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def data(schema: dict[str, Any]) -> dict[str, Any]:
    """The success envelope ``{"data": …}``."""
    return {"type": "object", "required": ["data"], "properties": {"data": schema}}


def array(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


def errors(*statuses: int) -> dict[str, Any]:
    """Shared error responses; 500 and 504 can happen on every route."""
    return {str(status): {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status]}"}
            for status in (*statuses, 500, 504)}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ERROR_RESPONSES = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 413: "PayloadTooLarge",
    429: "RateLimited", 500: "InternalError", 502: "LLMError", 504: "RequestTimeout",
}
ETAG_HEADER = {"ETag": {"$ref": "#/components/headers/ETag"}}
CONDITIONAL_HEADERS = {**ETAG_HEADER, "Cache-Control": {"$ref": "#/components/headers/CacheControl"}}
RATE_HEADERS = {name: {"$ref": f"#/components/headers/{name.replace('-', '')}"}
                 for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")}
RETRY_AFTER = {"$ref": "#/components/headers/RetryAfter"}
NOT_MODIFIED = {"$ref": "#/components/responses/NotModified"}
REPLAYED = {"X-Idempotent-Replayed": {"$ref": "#/components/headers/XIdempotentReplayed"}}


# --- shared components ------------------------------------------------------------

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "AdminKey": {"type": "apiKey", "in": "header", "name": "X-Admin-Key",
                     "description": "The ADMIN_API_KEY, compared in constant time: the root credential, "
                                    "every scope (token management included)."},
        "Bearer": {"type": "http", "scheme": "bearer",
                   "description": "Authorization: Bearer with an API token (folionaut_…, created with "
                                  "`folionaut token create` or POST /api/v1/admin/tokens), the admin key, or "
                                  "METRICS_TOKEN. A token holds one scope: read (every admin GET), write (read "
                                  "and content writes) or metrics (/api/metrics). The scope an operation needs "
                                  "is listed with it; root means the admin key itself."},
        "AdminSession": {"type": "apiKey", "in": "cookie", "name": "folionaut_session",
                         "description": "The admin web app's sign-in (POST /api/v1/admin/session, with the admin "
                                        "key or a write token): it holds the scopes of what signed in. Requests "
                                        "that change something must also come from this origin and carry the "
                                        "session's csrfToken in X-CSRF-Token (else 403 FORBIDDEN)."},
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
                               "additionalProperties": array({"type": "string"})},
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
        # Content input: declared once in content/schema.py (validation and MCP tools use the same).
        "ContentCreate": CONTENT_CREATE,
        "ContentUpdate": CONTENT_UPDATE,
        "RestoreRequest": RESTORE,
        "AdminSession": {
            "type": "object", "required": ["principal", "scopes", "createdAt", "expiresAt", "csrfToken"],
            "properties": {
                "principal": {"type": "string", "description": "What signed in",
                              "examples": ["admin key (web session)", "token editor"]},
                "scopes": {"type": "array", "items": {"type": "string", "enum": ["metrics", "read", "root", "write"]},
                           "description": "What the session may do (root: token management and backups)"},
                "createdAt": TIMESTAMP, "expiresAt": TIMESTAMP,
                "csrfToken": {"type": "string", "description": "Send it in X-CSRF-Token on every change."},
            },
        },
        "ApiToken": {
            "type": "object",
            "required": ["id", "name", "scope", "createdAt", "expiresAt", "lastUsedAt", "status"],
            "properties": {
                "id": {"type": "string", "pattern": "^tok_"},
                "name": TOKEN_NAME_SCHEMA,
                "scope": {"type": "string", "enum": list(TOKEN_SCOPES)},
                "createdAt": TIMESTAMP,
                "expiresAt": {"oneOf": [TIMESTAMP, {"type": "null"}], "description": "null: never expires"},
                "lastUsedAt": {"oneOf": [TIMESTAMP, {"type": "null"}],
                               "description": "Updated at most once a minute; null: never used"},
                "status": {"type": "string", "enum": ["active", "expired"]},
            },
        },
        "ApiTokenCreate": TOKEN_CREATE,
        "ApiTokenCreated": {"allOf": [{"$ref": "#/components/schemas/ApiToken"}, {
            "type": "object", "required": ["token"],
            "properties": {"token": {"type": "string", "pattern": "^folionaut_",
                                     "description": "The token itself: shown this once, only its hash is kept."}},
        }]},
        "Webhook": {
            "type": "object",
            "required": ["id", "url", "events", "active", "debounceSeconds", "description", "disabledReason",
                         "pendingDeliveries", "createdAt", "updatedAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^wh_"},
                "url": WEBHOOK_CREATE["properties"]["url"],
                "events": EVENTS,
                "active": {"type": "boolean"},
                "debounceSeconds": {"type": "integer", "minimum": 0},
                "description": {"type": ["string", "null"]},
                "disabledReason": {"type": ["string", "null"],
                                   "description": "Why it was switched off (a 410 Gone), until it is switched on"},
                "pendingDeliveries": {"type": "integer", "minimum": 0,
                                      "description": "Deliveries waiting (debounce, retry) or in flight"},
                "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
            },
        },
        # Webhook input: declared once in webhooks/schema.py (the API validates with the same).
        "WebhookCreate": WEBHOOK_CREATE,
        "WebhookUpdate": WEBHOOK_UPDATE,
        "WebhookCreated": {"allOf": [{"$ref": "#/components/schemas/Webhook"}, {
            "type": "object", "required": ["secret"],
            "properties": {"secret": {"type": "string", "pattern": "^whsec_",
                                      "description": "The signing secret: shown this once."}},
        }]},
        "WebhookAttempt": {
            "type": "object",
            "required": ["id", "deliveryId", "event", "attempt", "attemptedAt", "status", "statusCode", "durationMs",
                         "error", "nextAttemptAt"],
            "properties": {
                "id": {"type": "string", "pattern": "^att_"},
                "deliveryId": {"type": "string", "pattern": "^msg_",
                               "description": "The webhook-id header: the same on every attempt of a delivery"},
                "event": {"type": "string", "enum": [*EVENT_TYPES, TEST_EVENT]},
                "attempt": {"type": "integer", "minimum": 1},
                "attemptedAt": TIMESTAMP,
                "status": {"type": "string", "enum": list(OUTCOMES),
                           "description": "delivered (2xx); retrying (at nextAttemptAt); failed (gave up); "
                                          "disabled (410 Gone switched the webhook off)"},
                "statusCode": {"type": ["integer", "null"], "description": "null: no HTTP answer"},
                "durationMs": {"type": "integer", "minimum": 0},
                "error": {"type": ["string", "null"]},
                "nextAttemptAt": {"oneOf": [TIMESTAMP, {"type": "null"}]},
            },
        },
        "WebhookTestResult": {"allOf": [{"$ref": "#/components/schemas/WebhookAttempt"}, {
            "type": "object", "required": ["delivered"], "properties": {"delivered": {"type": "boolean"}},
        }]},
        "WebhookEvent": {
            "type": "object", "required": ["type", "timestamp", "data"],
            "properties": {
                "type": {"type": "string", "enum": list(EVENT_TYPES)},
                "timestamp": {**TIMESTAMP, "description": "When the change was made"},
                "data": {
                    "type": "object", "required": ["id", "type", "slug", "status", "version"],
                    "properties": {
                        "id": {"type": "string", "pattern": "^content_"}, "type": NAME_SCHEMA, "slug": NAME_SCHEMA,
                        "status": {"type": "string", "enum": list(STATUSES)},
                        "version": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
        "Success": {"type": "object", "required": ["success"], "properties": {"success": {"const": True}}},
        "ChatRequest": {
            "type": "object", "required": ["message", "visitorId"],
            "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 2000},
                           "visitorId": {"type": "string", "minLength": 1, "maxLength": 100},
                           "stream": {"type": "boolean", "default": False,
                                      "description": "Answer as server-sent events (as Accept: text/event-stream "
                                                     "does)."}},
        },
        "ChatSource": {
            "type": "object", "required": ["type", "slug", "title"],
            "properties": {"type": NAME_SCHEMA, "slug": NAME_SCHEMA, "title": {"type": "string"}},
        },
        "ChatUsage": {
            "type": "object", "required": ["promptTokens", "completionTokens", "totalTokens"],
            "properties": {"promptTokens": {"type": "integer"}, "completionTokens": {"type": "integer"},
                           "totalTokens": {"type": "integer"}},
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
                "toolCalls": array({"type": "object", "required": ["id", "name", "arguments", "result"],
                                     "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                                                    "arguments": {}, "result": {}}}),
                "sources": {**array(schema("ChatSource")), "description": "Published items the reply used."},
                "usage": schema("ChatUsage"),
                "degraded": {"type": "boolean",
                             "description": "True when the offline responder answered because the LLM failed "
                                            "(CHAT_FALLBACK=offline)."},
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
                        "headers": CONDITIONAL_HEADERS},
        "BadRequest": json_content(schema("Error"), "VALIDATION_ERROR (with fields) or BAD_REQUEST (malformed JSON, "
                                              "wrong content type)"),
        "Unauthorized": json_content(schema("Error"), "UNAUTHORIZED: no credentials, or wrong, expired or revoked "
                                               "ones", headers={"WWW-Authenticate": {
                                                   "description": 'Bearer realm="folionaut" (with '
                                                                  'error="invalid_token" for a bad credential)',
                                                   "schema": {"type": "string"}}}),
        "Forbidden": json_content(schema("Error"), "FORBIDDEN: the credential is valid but its scope does not "
                                            "cover this operation (or, on MCP, the Origin is not allowed; or, with the "
                                            "web app's session cookie, the request came from another origin or "
                                            "without its CSRF token)"),
        "NotFound": json_content(schema("Error"), "NOT_FOUND"),
        "Conflict": json_content(schema("Error"), "CONFLICT: duplicate (type, slug), stale version, or an "
                                            "Idempotency-Key reused with a different body"),
        "PayloadTooLarge": json_content(schema("Error"), "PAYLOAD_TOO_LARGE: body over 100 KiB"),
        "RateLimited": json_content(schema("Error"), "RATE_LIMIT_EXCEEDED: the token bucket is empty, or (chat) "
                                                     "a message or token budget is used up",
                                    headers={"Retry-After": RETRY_AFTER, **RATE_HEADERS}),
        "InternalError": json_content(schema("Error"), "INTERNAL_SERVER_ERROR"),
        "LLMError": json_content(schema("Error"), "LLM_ERROR: the LLM provider failed or its circuit breaker is open",
                                 headers={"Retry-After": RETRY_AFTER}),
        "RequestTimeout": json_content(schema("Error"), "REQUEST_TIMEOUT", headers={"Retry-After": RETRY_AFTER}),
    },
}


# --- building -------------------------------------------------------------------------

def _security(scope: str) -> list[dict[str, list[str]]]:
    # OpenAPI 3.1 lets non-OAuth schemes list the roles they need: here, the scope.
    return [{"AdminKey": []}, {"Bearer": [scope]}, {"AdminSession": [scope]}]


#: Derived from access (as the edge checks it); METRICS_PUBLIC=true additionally serves /api/metrics to anyone.
SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    Access.READ: _security("read"),
    Access.WRITE: _security("write"),
    Access.ROOT: _security("root"),
    Access.METRICS: _security("metrics"),
}


def operation_of(route: Route) -> dict[str, Any]:
    """The route's operation with what its facts say added: security (and its 401/403), Idempotency-Key."""
    operation = dict(route.operation)
    if route.access in SECURITY:
        operation["security"] = SECURITY[route.access]
        operation["responses"] = {**operation["responses"], **errors(401, 403), **operation["responses"]}
    if route.idempotent:
        operation["parameters"] = [*operation.get("parameters", []), param("IdempotencyKey")]
    return operation


#: What Folionaut sends to a webhook (OpenAPI 3.1 ``webhooks``): documented with the routes that manage them.
OUTGOING_WEBHOOKS: dict[str, Any] = {"contentEvent": {"post": {
    "summary": "A content change, POSTed to every webhook that subscribes to its type",
    "description": "Standard Webhooks: webhook-id (the same on every attempt: deduplicate by it), "
                   "webhook-timestamp (Unix seconds of the attempt) and webhook-signature (v1,<base64 HMAC-SHA256 "
                   "of \"{webhook-id}.{webhook-timestamp}.{body}\" keyed with the base64-decoded secret after "
                   "whsec_>). Any 2xx is delivered; 410 switches the webhook off; anything else is retried.",
    "operationId": "webhookContentEvent",
    "parameters": [{"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
                   for name in ("webhook-id", "webhook-timestamp", "webhook-signature")],
    "requestBody": body(schema("WebhookEvent")),
    "responses": {"200": {"description": "Any 2xx: delivered"}, "410": {"description": "Gone: switch it off"}},
}}}


def build_document(routes: Iterable[Route], version: str) -> dict[str, Any]:
    """The OpenAPI document of exactly these routes."""
    paths: dict[str, dict[str, Any]] = {}
    sends_webhooks = False
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = operation_of(route)
        sends_webhooks = sends_webhooks or "webhooks" in route.operation.get("tags", ())
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
        **({"webhooks": OUTGOING_WEBHOOKS} if sends_webhooks else {}),
        "components": COMPONENTS,
    }
