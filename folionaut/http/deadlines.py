"""Request timeouts without a timer per request.

``asyncio.timeout`` schedules (and cancels) one event-loop timer per request;
under uvloop that costs about 8 µs, a large share of a cached read. Here
requests whose deadlines fall in the same 10 ms slot share one timer, created
by the first of them, so at most 100 timers a second are made however many
requests arrive. A timer is left to fire even when its requests are done (an
empty slot costs nothing; cancelling would cost as much as the timer). A
timeout fires at most 10 ms late.

Semantics are ``asyncio.timeout``'s: on expiry the request's task is
cancelled, and ``finish`` says whether the resulting ``CancelledError`` is
ours (to become a timeout) or someone else's (to propagate).
"""

from __future__ import annotations

import asyncio
import math

RESOLUTION_SECONDS = 0.01


class Deadline:
    __slots__ = ("cancelling", "expired", "slot", "task")

    def __init__(self, task: asyncio.Task[object], slot: int) -> None:
        self.task = task
        self.slot = slot
        self.cancelling = task.cancelling()
        self.expired = False


class DeadlineTimers:
    def __init__(self, resolution: float = RESOLUTION_SECONDS) -> None:
        self._resolution = resolution
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: dict[int, tuple[asyncio.TimerHandle, set[Deadline]]] = {}

    def start(self, seconds: float, task: asyncio.Task[object]) -> Deadline:
        """Arm a deadline ``seconds`` from now for ``task`` (the request's handler task).

        The task is passed in rather than looked up: ``asyncio.current_task()`` and
        ``get_running_loop()`` each make a ``getpid`` system call on CPython 3.11.
        """
        loop = task.get_loop()
        if loop is not self._loop:  # an app served by a new loop (tests): old timers are gone with it
            self._loop, self._slots = loop, {}
        slot = math.ceil((loop.time() + seconds) / self._resolution)
        deadline = Deadline(task, slot)
        entry = self._slots.get(slot)
        if entry is None:
            entry = (loop.call_at(slot * self._resolution, self._expire, slot), set())
            self._slots[slot] = entry
        entry[1].add(deadline)
        return deadline

    def _expire(self, slot: int) -> None:
        entry = self._slots.pop(slot, None)
        if entry is None:
            return
        for deadline in entry[1]:
            deadline.expired = True
            deadline.task.cancel()

    def finish(self, deadline: Deadline) -> bool:
        """Disarm; True when this deadline cancelled the task (and nobody else did), as
        ``asyncio.Timeout.__aexit__`` decides whether to raise ``TimeoutError``."""
        entry = self._slots.get(deadline.slot)
        if entry is not None:
            entry[1].discard(deadline)
        if deadline.expired:
            return deadline.task.uncancel() <= deadline.cancelling
        return False

    def __len__(self) -> int:
        """Armed deadlines (for tests)."""
        return sum(len(members) for _, members in self._slots.values())
