"""Requests being handled, so a graceful shutdown can wait for them."""

from __future__ import annotations

import asyncio


class InFlightRequests:
    """Counts requests being handled, so shutdown can wait for them before closing connections.

    aiohttp's own graceful shutdown stops reading from every connection first, so a
    request still receiving its body (a slow upload) would hang until the timeout and
    be cancelled. Draining while connections still read lets such requests finish.
    Long-lived streams (routes marked ``route_timeout("none")``) are not waited for.
    """

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self.count += 1
        self._idle.clear()

    def leave(self) -> None:
        self.count -= 1
        if self.count == 0:
            self._idle.set()

    async def drained(self, grace_seconds: float) -> bool:
        try:
            async with asyncio.timeout(grace_seconds):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
