"""Who may call a route: credential checks, the admin web app's cookie session, and the audit trail.

The edge calls ``authorize`` for every route whose declared access is not
public, before the handler runs. A request is let in by the first credential
that holds (``resolve_principal``):

1. ``X-Admin-Key`` (compared in constant time) — the JSON API's credential;
2. for metrics, ``Authorization: Bearer <METRICS_TOKEN>`` (or METRICS_PUBLIC);
3. the admin web app's session cookie (``session_principal``): a live session
   in the database; a request that could change something must also come from
   this origin (``Origin``) and carry the session's CSRF token
   (``X-CSRF-Token``), or it is refused with 403.

Every refused admin request and every admin change leaves one ``audit`` log
line (method, path, status, how the caller signed in, hashed client IP, request
id), so an operator who suspects a leaked key can see what was done with it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from folionaut.admin_sessions import AdminSession
from folionaut.core.errors import ForbiddenError, UnauthorizedError
from folionaut.core.logging import get_logger
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.forwarded import own_origin
from folionaut.http.routing import Access
from folionaut.http.state import RUNTIME

__all__ = [
    "CSRF_HEADER", "PRINCIPAL", "SESSION_COOKIE", "Principal", "audit", "audit_change", "authorize",
    "check_same_origin", "resolve_principal", "session_principal",
]

audit = get_logger("audit")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The admin web app's session cookie (HttpOnly, SameSite=Strict; Secure over HTTPS).
SESSION_COOKIE = "folionaut_session"
#: The header carrying the session's CSRF token on every state-changing cookie request.
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as, and how it proved it."""

    name: str  # "admin", "metrics"
    via: str  # "key", "token", "session", "public"
    session: AdminSession | None = None


PRINCIPAL = web.RequestKey("principal", Principal)
_KEY = Principal("admin", "key")
_METRICS = Principal("metrics", "token")
_METRICS_PUBLIC = Principal("metrics", "public")


def _matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else None


def check_same_origin(request: web.Request) -> None:
    """Refuse (403) a request whose ``Origin`` is not this server's own: another site's page."""
    origin = request.headers.get("Origin")
    if origin is None or origin.rstrip("/").lower() != own_origin(request):
        _refuse_cross_site(request, "Origin is missing or not this server's")


def _refuse_cross_site(request: web.Request, why: str) -> None:
    audit.warning("admin request refused: %s", why,
                  extra={"method": request.method, "path": request.path, "via": "session",
                         "ipHash": client_ip_hash(request)})
    raise ForbiddenError(f"Cross-site request refused: {why}; reload the admin page and try again")


async def session_principal(request: web.Request) -> Principal | None:
    """The admin web app's cookie session, if the request carries a live one.

    A request that may change something must also pass the CSRF checks (403
    otherwise): sent from this origin, with the session's token in ``X-CSRF-Token``.
    """
    sessions = request.app[RUNTIME].admin_sessions
    secret = request.cookies.get(SESSION_COOKIE)
    if sessions is None or not secret:
        return None
    session = await sessions.resolve(secret)
    if session is None:
        return None
    if request.method not in _READS:
        check_same_origin(request)
        if not _matches(request.headers.get(CSRF_HEADER), session.csrf_token):
            _refuse_cross_site(request, f"{CSRF_HEADER} is missing or wrong")
    return Principal(session.principal, "session", session)


async def resolve_principal(request: web.Request, access: Access) -> Principal | None:
    """The first credential that lets this request into a route of ``access``, or None."""
    settings = request.app[RUNTIME].settings
    if _matches(request.headers.get("X-Admin-Key"), settings.admin_api_key):
        return _KEY
    if access is Access.METRICS:
        if settings.metrics_public:
            return _METRICS_PUBLIC
        if settings.metrics_token and _matches(_bearer(request), settings.metrics_token):
            return _METRICS
    return await session_principal(request)


async def authorize(request: web.Request, access: Access) -> None:
    """Raise ``UnauthorizedError`` (401) unless the request may call a route of this access
    (``ForbiddenError``, 403, for a cookie request failing its CSRF check)."""
    if access is Access.PUBLIC:
        return
    principal = await resolve_principal(request, access)
    if principal is not None:
        request[PRINCIPAL] = principal
        return
    if access is Access.ADMIN:
        audit.warning("admin request refused: missing or wrong X-Admin-Key",
                      extra={"method": request.method, "path": request.path, "ipHash": client_ip_hash(request)})
    raise UnauthorizedError()


def audit_change(request: web.Request, status: int) -> None:
    """One audit line for an admin request that may have changed something."""
    if request.method not in _READS:
        principal = request.get(PRINCIPAL)
        audit.info("admin %s %s answered %d", request.method, request.path, status,
                   extra={"ipHash": client_ip_hash(request), "via": principal.via if principal else "unknown"})
