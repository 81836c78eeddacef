"""Who may call a route: credentials resolved to a principal, scopes checked, and the audit trail.

The edge calls ``authorize`` for every route whose declared access is not
public, before the handler runs. It resolves the request's credential to a
``Principal`` (``resolve_principal``: one resolver per kind of credential, in
``CREDENTIALS``), checks that the principal holds the scope the route's access
needs (``REQUIRED_SCOPE``, the one place that maps the two) and leaves it on
the request (``principal_of``) for handlers, history rows and the audit line.

- No credential, or one that is not valid (wrong, expired, revoked): 401
  ``UNAUTHORIZED`` with ``WWW-Authenticate: Bearer realm="folionaut"``.
- A valid credential without the scope: 403 ``FORBIDDEN``.

The admin web app's session cookie (``session_cookie``, tried last) is a
credential too: a live session in the database acting as what signed in (the
admin key, or a write token). A cookie request that may change something must
also come from this server's origin (``Origin``) and carry the session's CSRF
token (``X-CSRF-Token``), or it is refused with 403.

Every refused admin request and every admin change leaves one ``audit`` log
line (method, path, status, the credential's name — never its secret —, hashed
client IP, request id), so an operator who suspects a leaked key or token can
see what was done with it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from folionaut.access.models import ADMIN_KEY, Principal, PrincipalKind, Scope
from folionaut.admin_sessions import AdminSession
from folionaut.core.errors import AppError, ForbiddenError, UnauthorizedError
from folionaut.core.logging import get_logger
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.forwarded import own_origin
from folionaut.http.routing import Access
from folionaut.http.state import RUNTIME

__all__ = [
    "AUDITED", "CREDENTIALS", "CSRF_HEADER", "REALM", "REQUIRED_SCOPE", "SESSION_COOKIE", "CredentialResolver",
    "audit", "audit_change", "authorize", "challenge", "check_same_origin", "current_session", "principal_of",
    "resolve_principal", "session_cookie",
]

audit = get_logger("audit")
REALM = "folionaut"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The scope each access needs: the one place where routes' access meets credentials' scopes.
REQUIRED_SCOPE: dict[Access, Scope] = {
    Access.READ: Scope.READ, Access.WRITE: Scope.WRITE, Access.ROOT: Scope.ROOT, Access.METRICS: Scope.METRICS,
}
#: Routes whose refusals and changes leave an audit line.
AUDITED = frozenset({Access.READ, Access.WRITE, Access.ROOT})

_PRINCIPAL = web.RequestKey("principal", Principal)
_METRICS_TOKEN = Principal(PrincipalKind.METRICS_TOKEN, "METRICS_TOKEN", frozenset({Scope.METRICS}))

#: Reads one kind of credential: its principal; None when the request carries none of that kind;
#: raises ``UnauthorizedError`` when it carries one that is not valid.
CredentialResolver = Callable[[web.Request], Awaitable[Principal | None]]


def _matches(given: str, expected: str) -> bool:
    # Header values are the request's bytes decoded with surrogateescape: bytes that are not UTF-8 come
    # back as they were sent (a plain encode() raised on them: a 500, issue 15), so they compare as bytes.
    return bool(given and expected) and hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                                            expected.encode())


def _invalid(what: str) -> UnauthorizedError:
    return UnauthorizedError(f"Invalid credentials: the {what} is wrong, expired or revoked", invalid_token=True)


async def admin_key_header(request: web.Request) -> Principal | None:
    """``X-Admin-Key: <admin key>`` (the original's header)."""
    given = request.headers.get("X-Admin-Key")
    if given is None:
        return None
    if _matches(given, request.app[RUNTIME].settings.admin_api_key):
        return ADMIN_KEY
    raise _invalid("X-Admin-Key")


async def bearer(request: web.Request) -> Principal | None:
    """``Authorization: Bearer <admin key | API token | METRICS_TOKEN>``."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer":
        return None  # another scheme is not ours: as if no credential was sent
    credential = credential.strip()
    runtime = request.app[RUNTIME]
    if _matches(credential, runtime.settings.admin_api_key):
        return ADMIN_KEY
    if _matches(credential, runtime.settings.metrics_token):
        return _METRICS_TOKEN
    principal = await runtime.tokens.authenticate(credential)
    if principal is None:
        raise _invalid("bearer token")
    return principal


#: The admin web app's session cookie (HttpOnly, SameSite=Strict; Secure over HTTPS).
SESSION_COOKIE = "folionaut_session"
#: The header carrying the session's CSRF token on every state-changing cookie request.
CSRF_HEADER = "X-CSRF-Token"


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


async def current_session(request: web.Request) -> AdminSession | None:
    """The admin web app's live session this request's cookie opens, if any.

    A request that may change something must also pass the CSRF checks (403
    otherwise): sent from this origin, with the session's token in ``X-CSRF-Token``.
    """
    sessions = request.app[RUNTIME].admin_sessions
    secret = request.cookies.get(SESSION_COOKIE)
    if sessions is None or not secret:
        return None
    session = await sessions.resolve(secret)
    if session is None:
        return None  # signed out, expired, or what signed in no longer holds: as if no cookie came
    if request.method not in _READS:
        check_same_origin(request)
        if not _matches(request.headers.get(CSRF_HEADER, ""), session.csrf_token):
            _refuse_cross_site(request, f"{CSRF_HEADER} is missing or wrong")
    return session


async def session_cookie(request: web.Request) -> Principal | None:
    """The admin web app's session cookie: it acts as what signed in (the admin key, a write token)."""
    session = await current_session(request)
    return session.principal if session is not None else None


#: Every kind of credential, tried in order; the first one a request carries decides.
CREDENTIALS: list[CredentialResolver] = [admin_key_header, bearer, session_cookie]


async def resolve_principal(request: web.Request) -> Principal | None:
    """The principal of the request's credential; None when it carries none (raises 401 for a bad one)."""
    for resolve in CREDENTIALS:
        principal = await resolve(request)
        if principal is not None:
            return principal
    return None


def _refused(request: web.Request, access: Access, error: AppError, who: str) -> AppError:
    if access in AUDITED:
        audit.warning("admin request refused (%d %s): %s", error.status, error.code, who,
                      extra={"method": request.method, "path": request.path, "ipHash": client_ip_hash(request)})
    return error


async def authorize(request: web.Request, access: Access) -> Principal | None:
    """The request's principal, if it holds the scope ``access`` needs; else raise 401 or 403."""
    if access is Access.PUBLIC:
        return None
    if access is Access.METRICS and request.app[RUNTIME].settings.metrics_public:
        return None
    try:
        principal = await resolve_principal(request)
    except UnauthorizedError as exc:
        raise _refused(request, access, exc, "invalid credentials") from None
    if principal is None:
        raise _refused(request, access, UnauthorizedError(), "no credentials")
    scope = REQUIRED_SCOPE[access]
    if not principal.allows(scope):
        needs = "the admin key" if scope is Scope.ROOT else f"the {scope.value} scope"
        error = ForbiddenError(f"Forbidden: this needs {needs}, which the {principal.label} does not have",
                               required_scope=scope.value)
        raise _refused(request, access, error, principal.label)
    request[_PRINCIPAL] = principal
    return principal


def principal_of(request: web.Request) -> Principal:
    """The principal ``authorize`` resolved for this request (only on routes that are not public)."""
    return request[_PRINCIPAL]


def challenge(error: AppError) -> str | None:
    """The ``WWW-Authenticate`` value for a 401 (always) or a 403 for want of a scope (RFC 6750)."""
    if isinstance(error, UnauthorizedError):
        return f'Bearer realm="{REALM}"' + (', error="invalid_token"' if error.invalid_token else "")
    if isinstance(error, ForbiddenError) and error.required_scope:
        return f'Bearer realm="{REALM}", error="insufficient_scope", scope="{error.required_scope}"'
    return None


def audit_change(request: web.Request, status: int) -> None:
    """One audit line for an admin request that may have changed something, naming the credential."""
    if request.method not in _READS:
        principal = request.get(_PRINCIPAL)
        who = principal.label if principal is not None else "unknown"
        audit.info("admin %s %s answered %d (%s)", request.method, request.path, status, who,
                   extra={"ipHash": client_ip_hash(request), "principal": who})
