"""Requests being handled: their deadlines, and a way for shutdown to wait for them.

Deadlines without a timer per request: ``asyncio.timeout`` schedules and cancels
one event-loop timer per request (about 8 µs under uvloop, a large share of a
cached read). Here requests whose deadlines fall in the same 10 ms slot share
one timer, made by the first of them, so at most 100 timers a second are made
however many requests arrive; a request costs a dict insert and a dict pop. A
timer is left to fire even when its requests are done (an empty slot costs
nothing; cancelling would cost as much as the timer). A timeout fires at most
10 ms late.

Semantics are ``asyncio.timeout``'s: on expiry the request's task is cancelled,
and ``leave`` says whether the resulting ``CancelledError`` is ours (to become a
timeout) or someone else's (to propagate).

Shutdown: aiohttp's own graceful shutdown stops reading from every connection
first, so a request still receiving its body (a slow upload) would hang until
the timeout and be cancelled. Waiting for ``drained`` while connections still
read lets such requests finish. Long-lived streams are not tracked.
"""

from __future__ import annotations

import asyncio

RESOLUTION_SECONDS = 0.01


class InFlightRequests:
    def __init__(self, resolution: float = RESOLUTION_SECONDS) -> None:
        self.count = 0
        self._resolution = resolution
        self._loop: asyncio.AbstractEventLoop | None = None
        # slot -> {task: its cancelling() count when it entered}, for tasks still in time
        self._slots: dict[int, dict[asyncio.Task[object], int]] = {}
        self._expired: dict[asyncio.Task[object], int] = {}  # tasks a deadline cancelled, same counts
        self._drained: asyncio.Future[None] | None = None

    def enter(self, task: asyncio.Task[object], seconds: float) -> int:
        """Track ``task`` (a request's handler task), cancelling it if it is still running
        ``seconds`` from now. Returns the token to give to ``leave``.

        The task is passed in rather than looked up: ``asyncio.current_task()`` and
        ``get_running_loop()`` each make a ``getpid`` system call on CPython 3.11.
        """
        loop = task.get_loop()
        if loop is not self._loop:  # an app served by a new loop (tests): old timers went with the old one
            self._loop, self._slots, self._expired = loop, {}, {}
        slot = int((loop.time() + seconds) / self._resolution) + 1
        members = self._slots.get(slot)
        if members is None:
            members = self._slots[slot] = {}
            loop.call_at(slot * self._resolution, self._expire, slot)
        members[task] = task.cancelling()
        self.count += 1
        return slot

    def _expire(self, slot: int) -> None:
        for task, cancelling in self._slots.pop(slot, {}).items():
            self._expired[task] = cancelling
            task.cancel()

    def release(self, task: asyncio.Task[object], token: int) -> float | None:
        """Stop enforcing ``task``'s deadline (it still counts as in flight until ``leave``) and return the
        seconds it had left, or None when it was not waiting on one. For a handler that streams: once it
        has sent its first byte a cancellation can no longer become a 504, so it keeps the deadline itself
        and ends its stream with an error event."""
        members = self._slots.get(token)
        if members is None or members.pop(task, None) is None:
            return None
        return max(0.0, token * self._resolution - task.get_loop().time())

    def leave(self, task: asyncio.Task[object], token: int) -> bool | None:
        """Stop tracking ``task``. ``None``: it finished in time. Otherwise its deadline
        cancelled it, and the result says whether that cancellation is the only one
        (True: a timeout) or someone else cancelled it too (False: theirs propagates),
        as ``asyncio.Timeout.__aexit__`` decides."""
        self.count -= 1
        if self.count == 0 and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        members = self._slots.get(token)
        if members is not None and members.pop(task, None) is not None:
            return None
        cancelling = self._expired.pop(task, None)
        if cancelling is None:  # left twice, or never entered: nothing of ours happened to it
            return None
        return task.uncancel() <= cancelling

    async def drained(self, grace_seconds: float) -> bool:
        """Wait until no tracked request is left; False if ``grace_seconds`` ran out first."""
        if self.count == 0:
            return True
        self._drained = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(grace_seconds):
                await self._drained
        except TimeoutError:
            return False
        finally:
            self._drained = None
        return True

    def __len__(self) -> int:
        """Requests in time and tracked (for tests)."""
        return sum(len(members) for members in self._slots.values())
