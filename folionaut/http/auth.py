"""Who may call a route: constant-time credential checks, and the audit trail.

The edge calls ``authorize`` for every route whose declared access is not
public, before the handler runs. Every refused admin request and every admin
change leaves one ``audit`` log line (method, path, status, hashed client IP,
request id), so an operator who suspects a leaked key can see what was done
with it.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from folionaut.core.errors import UnauthorizedError
from folionaut.core.logging import get_logger
from folionaut.http.client_ip import client_ip_hash
from folionaut.http.routing import Access
from folionaut.http.state import RUNTIME

__all__ = ["audit_change", "authorize"]

audit = get_logger("audit")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _matches(given: str | None, expected: str) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.startswith("Bearer ") else None


def _allowed(request: web.Request, access: Access) -> bool:
    settings = request.app[RUNTIME].settings
    if access is Access.METRICS and settings.metrics_public:
        return True
    if _matches(request.headers.get("X-Admin-Key"), settings.admin_api_key):
        return True
    return access is Access.METRICS and bool(settings.metrics_token) and _matches(
        _bearer(request), settings.metrics_token)


def authorize(request: web.Request, access: Access) -> None:
    """Raise ``UnauthorizedError`` (401) unless the request may call a route of this access."""
    if access is Access.PUBLIC or _allowed(request, access):
        return
    if access is Access.ADMIN:
        audit.warning("admin request refused: missing or wrong X-Admin-Key",
                      extra={"method": request.method, "path": request.path, "ipHash": client_ip_hash(request)})
    raise UnauthorizedError()


def audit_change(request: web.Request, status: int) -> None:
    """One audit line for an admin request that may have changed something."""
    if request.method not in _READS:
        audit.info("admin %s %s answered %d", request.method, request.path, status,
                   extra={"ipHash": client_ip_hash(request)})
