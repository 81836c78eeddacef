"""Sign-in to the admin web app: the admin key (or a write token) in, an HttpOnly session cookie out.

``POST /api/v1/admin/session`` checks the admin key or an API token with the
write scope (rate-limited per client, every attempt audited) and sets the
``folionaut_session`` cookie: ``HttpOnly``
(no script can read it), ``SameSite=Strict`` (never sent by another site's
page), ``Secure`` when the browser came over HTTPS (directly or through a
trusted proxy). The answer carries the session's CSRF token, which the page
sends back in ``X-CSRF-Token`` on every change (``http/auth.py`` checks it).
``GET`` says whether the cookie is signed in; ``DELETE`` signs out everywhere.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from folionaut.access.models import Scope
from folionaut.admin_sessions import AdminSessions
from folionaut.core.errors import ForbiddenError, UnauthorizedError, ValidationError
from folionaut.http import openapi as oa
from folionaut.http.auth import SESSION_COOKIE, audit, check_same_origin, current_session
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.forwarded import is_https
from folionaut.http.responses import data_response, read_json, success_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME

__all__ = ["ROUTES"]

_NO_STORE = {"Cache-Control": "no-store"}


def _sessions(request: web.Request) -> AdminSessions:
    sessions = request.app[RUNTIME].admin_sessions
    assert sessions is not None, "session routes are only registered with FEATURE_ADMIN_UI on"
    return sessions


def _key_of(body: object) -> str:
    if not isinstance(body, dict):
        raise ValidationError({"body": ["Expected a JSON object"]})
    key = body.get("key")
    if not isinstance(key, str) or not key:
        raise ValidationError.single("key", "Required: the admin key (ADMIN_API_KEY) or an API token with the "
                                            "write scope")
    return key


async def sign_in(request: web.Request) -> web.Response:
    if "Origin" in request.headers:  # a browser: only this server's own pages may sign in
        check_same_origin(request)
    key = _key_of(await read_json(request))
    runtime = request.app[RUNTIME]
    sessions = _sessions(request)
    expected = runtime.settings.admin_api_key
    if expected and hmac.compare_digest(key.encode(), expected.encode()):
        started = await sessions.start_for_admin_key()
    else:
        token = await runtime.tokens.valid(key)
        if token is None:
            audit.warning("admin sign-in refused: wrong admin key or token", extra={"ipHash": client_ip_hash(request)})
            raise UnauthorizedError("Wrong admin key or token", invalid_token=True)
        if not token.principal().allows(Scope.WRITE):
            audit.warning("admin sign-in refused: token %s has the %s scope", token.name, token.scope,
                          extra={"ipHash": client_ip_hash(request)})
            raise ForbiddenError(f"The token {token.name!r} has the {token.scope} scope; signing in to the admin "
                                 "web app needs the admin key or a token with the write scope",
                                 required_scope=Scope.WRITE.value)
        started = await sessions.start_for_token(token)
    audit.info("signed in to the admin web app (%s)", started.session.principal.label,
               extra={"ipHash": client_ip_hash(request), "principal": started.session.principal.label})
    response = data_response(started.session.to_wire(), headers=_NO_STORE)
    response.set_cookie(SESSION_COOKIE, started.secret, path="/", httponly=True, samesite="Strict",
                        secure=is_https(request), max_age=sessions.ttl_seconds)
    return response


async def session_state(request: web.Request) -> web.Response:
    session = await current_session(request)
    return data_response(session.to_wire() if session is not None else None, headers=_NO_STORE)


async def sign_out(request: web.Request) -> web.Response:
    # A live session must pass the CSRF checks to be ended (current_session raises 403 otherwise).
    session = await current_session(request)
    if session is not None:
        await _sessions(request).end(request.cookies[SESSION_COOKIE])
        audit.info("signed out of the admin web app (%s)", session.principal.label,
                   extra={"ipHash": client_ip_hash(request), "principal": session.principal.label})
    response = success_response()
    response.headers.update(_NO_STORE)
    if SESSION_COOKIE in request.cookies:
        response.del_cookie(SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="Strict")
    return response


_UI = ("feature_admin_api", "feature_admin_ui")
_SESSION = oa.schema("AdminSession")

ROUTES = (
    Route("POST", "/api/v1/admin/session", sign_in, Access.PUBLIC, limiter="sign_in", features=_UI, operation={
        "tags": ["admin web app"],
        "summary": "Sign in with the admin key or a write token: sets the HttpOnly session cookie",
        "operationId": "adminSignIn",
        "description": "Rate-limited per client and audited. With an Origin header, it must be this server's. "
                       "Send the answer's csrfToken in X-CSRF-Token on every cookie request that changes something.",
        "requestBody": oa.body({"type": "object", "required": ["key"], "properties": {"key": {
            "type": "string", "description": "ADMIN_API_KEY, or an API token with the write scope"}}}),
        "responses": {"200": oa.json_content(oa.data(_SESSION), "Signed in; Set-Cookie: folionaut_session"),
                      **oa.errors(400, 401, 403, 413, 429)},
    }),
    Route("GET", "/api/v1/admin/session", session_state, Access.PUBLIC, features=_UI, operation={
        "tags": ["admin web app"], "summary": "The session cookie's sign-in (data is null when signed out)",
        "operationId": "adminCurrentSession",
        "responses": {"200": oa.json_content(oa.data({"oneOf": [_SESSION, {"type": "null"}]}))},
    }),
    Route("DELETE", "/api/v1/admin/session", sign_out, Access.PUBLIC, features=_UI, operation={
        "tags": ["admin web app"], "summary": "Sign out: ends the session on every instance and clears the cookie",
        "operationId": "adminSignOut",
        "description": "A live session must pass the CSRF checks (same Origin, X-CSRF-Token).",
        "responses": {"200": oa.json_content(oa.schema("Success")), **oa.errors(403)},
    }),
)
