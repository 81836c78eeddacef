"""Headers every response carries, and the CORS header lists: one definition for both
the ordinary responses (the edge middleware adds them) and the pre-serialised ones."""

from __future__ import annotations

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Cross-Origin-Resource-Policy": "same-site",
    "Server": "folionaut",
}
#: Pages and assets of the admin web app and the API reference: scripts, styles, images and
#: fetches from this origin only, no inline script or style, never framed.
PAGE_SECURITY_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
EXPOSED_HEADERS = ", ".join([
    "X-Request-Id", "ETag", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
    "X-Idempotent-Replayed", "Mcp-Session-Id", "WWW-Authenticate",
])
ALLOWED_REQUEST_HEADERS = ("Content-Type, X-Admin-Key, Authorization, If-None-Match, If-Match, Idempotency-Key, "
                           "X-Request-Id, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID")
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
