"""What the browser sees of this server: its scheme and origin, honouring proxies as TRUST_PROXY says.

Behind a TLS-terminating reverse proxy the socket is plain HTTP; the proxy says
what the browser used in ``X-Forwarded-Proto`` (and ``X-Forwarded-Host`` when it
rewrites ``Host``). Those headers are believed only with ``TRUST_PROXY`` > 0,
as ``X-Forwarded-For`` is (``http/client_ip.py``).
"""

from __future__ import annotations

from aiohttp import web

from folionaut.http.state import RUNTIME

__all__ = ["is_https", "own_origin"]


def _forwarded(request: web.Request, name: str) -> str | None:
    if not request.app[RUNTIME].settings.trust_proxy:
        return None
    value = request.headers.get(name)
    # A chain of proxies appends; the last entry is the one our own (trusted) proxy wrote.
    return value.rpartition(",")[2].strip() if value else None


def is_https(request: web.Request) -> bool:
    """Did the browser reach us over HTTPS (directly, or through a trusted proxy)?"""
    forwarded = _forwarded(request, "X-Forwarded-Proto")
    if forwarded is not None:
        return forwarded.lower() == "https"
    return request.secure


def own_origin(request: web.Request) -> str:
    """This server's origin as the browser sees it: ``https://admin.example.com``."""
    host = _forwarded(request, "X-Forwarded-Host") or request.host
    return f"{'https' if is_https(request) else 'http'}://{host}".lower()
