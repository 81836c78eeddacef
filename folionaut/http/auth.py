"""Admin authentication: constant-time comparison of X-Admin-Key, and the audit trail.

Every admin change and every refused admin request leaves one ``audit`` log
line (method, path, status, hashed client IP, request id), so an operator who
suspects a leaked key can see what was done with it.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web

from folionaut.core.errors import UnauthorizedError
from folionaut.core.logging import get_logger
from folionaut.http.keys import SETTINGS
from folionaut.http.resilience import request_ip_hash

audit = get_logger("audit")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

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
        try:
            check_admin(request)
        except UnauthorizedError:
            audit.warning("admin request refused: missing or wrong X-Admin-Key",
                          extra={"method": request.method, "path": request.path, "ipHash": request_ip_hash(request)})
            raise
        response = await handler(request)
        if request.method not in _READS:
            audit.info("admin %s %s answered %d", request.method, request.path, response.status,
                       extra={"ipHash": request_ip_hash(request)})
        return response

    guarded.__name__ = handler.__name__
    guarded.__doc__ = handler.__doc__
    return guarded
