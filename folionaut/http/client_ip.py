"""Who is asking: the salted hash of a request's client address (never the raw address)."""

from __future__ import annotations

from aiohttp import web

from folionaut.http.state import RUNTIME
from folionaut.runtime import Runtime

__all__ = ["client_hash", "client_ip_hash"]


def client_ip_hash(request: web.Request) -> str:
    """Salted hash of the client's address (socket, or X-Forwarded-For per TRUST_PROXY)."""
    return client_hash(request.app[RUNTIME], request)


def client_hash(runtime: Runtime, request: web.BaseRequest) -> str:
    """``client_ip_hash`` for any request, routed or not (the access log's, for a malformed one too)."""
    forwarded = None
    if runtime.settings.trust_proxy and (entries := request.headers.getall("X-Forwarded-For", None)):
        forwarded = ",".join(entries)
    return runtime.client_hashes.of(request.remote, forwarded)
