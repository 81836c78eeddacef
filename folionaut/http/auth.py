"""Admin authentication: constant-time comparison of X-Admin-Key."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from folionaut.core.errors import UnauthorizedError
from folionaut.http.keys import SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def check_admin(request: web.Request, allow_metrics_token: bool = False) -> None:
    settings = request.app[SETTINGS]
    if _matches(request.headers.get("X-Admin-Key"), settings.admin_api_key):
        return
    if allow_metrics_token and settings.metrics_token:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and _matches(auth[7:].strip(), settings.metrics_token):
            return
    raise UnauthorizedError()


def admin_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        check_admin(request)
        return await handler(request)

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded
