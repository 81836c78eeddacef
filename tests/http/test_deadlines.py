"""Shared request deadlines behave as asyncio.timeout does, with one timer per 10 ms slot."""

from __future__ import annotations

import asyncio

import pytest

from folionaut.http.deadlines import DeadlineTimers


def current_task() -> asyncio.Task[object]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def test_an_expired_deadline_cancels_the_task_and_claims_the_cancellation() -> None:
    timers = DeadlineTimers()
    deadline = timers.start(0.05, current_task())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(5)
    assert timers.finish(deadline) is True  # ours: the edge turns it into a 504
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_finished_deadline_never_fires() -> None:
    timers = DeadlineTimers()
    deadline = timers.start(0.02, current_task())
    assert timers.finish(deadline) is False
    await asyncio.sleep(0.06)  # past the deadline: the task must not have been cancelled
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_someone_elses_cancellation_is_not_claimed() -> None:
    timers = DeadlineTimers()

    async def request() -> bool:
        deadline = timers.start(10, current_task())
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return timers.finish(deadline)
        return True

    task = asyncio.create_task(request())
    await asyncio.sleep(0)
    task.cancel()
    assert await task is False  # a client disconnect or shutdown propagates as a cancellation


async def test_concurrent_requests_share_timers() -> None:
    timers = DeadlineTimers()
    started = asyncio.Event()
    release = asyncio.Event()

    async def request() -> None:
        deadline = timers.start(30, current_task())
        started.set()
        await release.wait()
        timers.finish(deadline)

    tasks = [asyncio.create_task(request()) for _ in range(500)]
    await started.wait()
    await asyncio.sleep(0)
    assert len(timers) == 500
    assert len(timers._slots) <= 3  # 500 requests started within a few ms: a timer or two, not 500
    release.set()
    await asyncio.gather(*tasks)
    assert len(timers) == 0
