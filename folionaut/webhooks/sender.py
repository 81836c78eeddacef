"""One HTTP attempt of a webhook delivery, on aiohttp's client.

- ``POST`` of the stored JSON body with the Standard Webhooks headers
  (``signing.py``), ``Content-Type: application/json`` and a
  ``User-Agent: Folionaut-Webhooks/<version>``; a bare build hook (Netlify,
  Vercel, Cloudflare Pages) ignores all that and builds.
- The whole attempt — DNS, connecting, sending, the response's status line —
  is bounded by ``WEBHOOK_TIMEOUT_SECONDS`` (10 s by default).
- Redirects are not followed (a 3xx is a failed attempt: following one would
  go to an address nobody vetted); no cookies, no proxy from the environment.
- Names resolve through the ``UrlGuard`` (``url_guard.py``) at every attempt,
  and aiohttp connects to exactly the addresses it vetted; a host written as an
  IP address is vetted before the request. Connections are not kept alive, so
  every attempt is vetted afresh.
- The outcome comes back as a ``SendResult`` whose ``error`` is written for the
  delivery log: it never holds the URL's path or query (a build hook's URL is
  its secret) nor the response body.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from folionaut import __version__
from folionaut.core.clock import Clock
from folionaut.webhooks.signing import signed_headers
from folionaut.webhooks.url_guard import UrlGuard, UrlRefused

__all__ = ["MAX_RETRY_AFTER_SECONDS", "SendResult", "WebhookSender"]

USER_AGENT = f"Folionaut-Webhooks/{__version__}"
#: A receiver's Retry-After (429, 503) is honoured up to this long.
MAX_RETRY_AFTER_SECONDS = 3600.0
_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None
    error: str | None  # None when delivered
    duration_ms: int
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503)

    @property
    def delivered(self) -> bool:
        return self.error is None

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver says this URL will never take deliveries again."""
        return self.status_code == 410


class _GuardedResolver(AbstractResolver):
    """aiohttp's resolver hook: every name resolved through the guard, which refuses what it must."""

    def __init__(self, guard: UrlGuard) -> None:
        self._guard = guard

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET,
                      ) -> list[ResolveResult]:
        found = await self._guard.resolve(host, port, family)
        return [ResolveResult(hostname=host, host=address.host, port=port, family=address.family, proto=0,
                              flags=_NUMERIC) for address in found]

    async def close(self) -> None:
        return None


class WebhookSender:
    def __init__(self, guard: UrlGuard, clock: Clock, timeout_seconds: float = 10.0) -> None:
        self.guard = guard
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self.guard), use_dns_cache=False,
                                         force_close=True, limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.timeout_seconds), headers={"User-Agent": USER_AGENT})

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, url: str, secret: str, message_id: str, body: bytes) -> SendResult:
        """One signed POST; never raises for anything the receiver or the network does."""
        if self._session is None:
            raise RuntimeError("the webhook sender is not started")
        headers = {"Content-Type": "application/json",
                   **signed_headers(secret, message_id, int(self.clock.time()), body)}
        started = time.perf_counter()
        status: int | None = None
        retry_after: float | None = None
        try:
            self.guard.vet_literal(urlsplit(url).hostname or "")
            async with asyncio.timeout(self.timeout_seconds):
                async with self._session.post(url, data=body, headers=headers, allow_redirects=False) as response:
                    status = response.status
                    retry_after = _retry_after(response.headers.get("Retry-After"), status)
            error = None if 200 <= status < 300 else _status_error(status)
        except Exception as exc:  # every way an attempt can fail is an outcome to record, not a crash
            error = self._describe(exc)
        return SendResult(status, error, round((time.perf_counter() - started) * 1000), retry_after)

    def _describe(self, exc: BaseException) -> str:
        """A log line's error: what happened, without the URL's path, query or credentials."""
        if isinstance(exc, UrlRefused):
            return f"refused: {exc.message}"
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.timeout_seconds:g} s"
        if isinstance(exc, aiohttp.ClientConnectorDNSError):
            cause = exc.os_error
            if isinstance(cause, UrlRefused):
                return f"refused: {cause.message}"
            return f"could not resolve {exc.host}"
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return f"TLS certificate not accepted for {exc.host}"
        if isinstance(exc, aiohttp.ClientSSLError):
            return f"TLS handshake with {exc.host} failed"
        if isinstance(exc, aiohttp.ClientConnectorError):
            reason = os.strerror(exc.errno) if exc.errno else type(exc.os_error).__name__
            return f"could not connect to {exc.host}:{exc.port} ({reason.lower()})"
        if isinstance(exc, aiohttp.ServerDisconnectedError):
            return "the receiver closed the connection without answering"
        if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
            return "the receiver's answer was not valid HTTP"
        if isinstance(exc, aiohttp.InvalidURL):
            return "the URL is not valid"
        if isinstance(exc, aiohttp.ClientError | OSError):
            return f"connection failed ({type(exc).__name__})"
        return f"unexpected failure ({type(exc).__name__})"


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed (point the webhook at the final URL)"
    return f"HTTP {status}"


def _retry_after(header: str | None, status: int) -> float | None:
    if header is None or status not in (429, 503):
        return None
    with contextlib.suppress(ValueError):
        seconds = float(header.strip())
        if seconds >= 0:
            return min(seconds, MAX_RETRY_AFTER_SECONDS)
    return None  # an HTTP-date is rare from receivers; the backoff stands
