"""A webhook receiver on loopback: a real aiohttp server on 127.0.0.1 (port 0) that checks every request's
signature with the Standard Webhooks reference library (the ``standardwebhooks`` package), as a
receiver following the specification would.

``WebhookReceiver`` records each request (``received``), answers with the statuses queued in
``answers`` (then ``default_status``), answers 401 to a bad signature unless it is a bare build hook
(``verify=False``), can stall (``stall_seconds``) and be stopped and started again on the same port (a
receiver that was down). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook as ReferenceVerifier

from folionaut.core import jsonutil

__all__ = ["Received", "WebhookReceiver"]

WAIT_SECONDS = 15.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool  # the signature passed the reference verification
    verify_error: str | None = None
    answered: int = 0  # the status the receiver answered with

    @property
    def payload(self) -> Any:
        return jsonutil.loads(self.body)

    @property
    def message_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class WebhookReceiver:
    path: str = "/hook"
    secret: str | None = None  # set once the webhook is created (its secret is shown then)
    answers: deque[int] = field(default_factory=deque)
    default_status: int = 200
    stall_seconds: float = 0.0
    verify: bool = True  # False: a bare build hook, which takes any POST
    location: str | None = None  # sent with 3xx answers: where a redirect would lead
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post(self.path, self._receive)
        self._release = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._release.set()  # stalled answers end now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        verified, error = False, "no secret to verify with"
        if self.secret is not None:
            try:
                ReferenceVerifier(self.secret).verify(body, headers)
                verified, error = True, None
            except Exception as exc:  # the reference raises its own error types; record which
                error = f"{type(exc).__name__}: {exc}"
        received = Received(headers, body, verified, error)
        self.received.append(received)
        if self.stall_seconds:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.stall_seconds)
        if self.verify and not verified:
            received.answered = 401
            return web.Response(status=401, text=error or "")
        status = received.answered = self.answers.popleft() if self.answers else self.default_status
        headers = {"Location": self.location} if self.location and 300 <= status < 400 else None
        return web.Response(status=status, headers=headers)

    async def wait_for(self, count: int, within: float = WAIT_SECONDS) -> list[Received]:
        """Wait (bounded) until at least ``count`` requests arrived; fail with what did."""
        deadline = time.monotonic() + within
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhook requests within {within}s, got "
                                     f"{len(self.received)}: {[r.body for r in self.received]}")
            await asyncio.sleep(0.02)
        return self.received

    def types(self) -> list[str]:
        return [request.payload["type"] for request in self.received]
