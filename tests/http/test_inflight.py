"""In-flight requests: shared deadlines behave as asyncio.timeout does (one timer per
10 ms slot), and shutdown can wait for the requests still running."""

from __future__ import annotations

import asyncio

import pytest

from folionaut.http.fastpath.deadlines import InFlightRequests


def current_task() -> asyncio.Task[object]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def test_an_expired_deadline_cancels_the_task_and_claims_the_cancellation() -> None:
    requests = InFlightRequests()
    token = requests.enter(current_task(), 0.05)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(5)
    assert requests.leave(current_task(), token) is True  # ours: the edge turns it into a 504
    assert current_task().cancelling() == 0
    assert requests.count == 0


async def test_a_request_that_left_in_time_is_never_cancelled() -> None:
    requests = InFlightRequests()
    token = requests.enter(current_task(), 0.02)
    assert requests.leave(current_task(), token) is None
    await asyncio.sleep(0.06)  # past the deadline: the task must not have been cancelled
    assert current_task().cancelling() == 0


async def test_someone_elses_cancellation_is_not_claimed() -> None:
    requests = InFlightRequests()

    async def request() -> bool | None:
        token = requests.enter(current_task(), 10)
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return requests.leave(current_task(), token)
        return True

    task = asyncio.create_task(request())
    await asyncio.sleep(0)
    task.cancel()
    assert await task is None  # a client disconnect or shutdown propagates as a cancellation


async def test_a_cancellation_on_top_of_an_expired_deadline_is_not_claimed() -> None:
    requests = InFlightRequests()
    task = current_task()
    token = requests.enter(task, 0.02)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(5)  # the deadline fires
    task.cancel()  # and shutdown (or a client disconnect) cancels as well
    assert requests.leave(task, token) is False  # expired, but the other cancellation must propagate
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(0)  # (the other cancellation, delivered)
    task.uncancel()


async def test_concurrent_requests_share_timers() -> None:
    requests = InFlightRequests()
    started = asyncio.Event()
    release = asyncio.Event()

    async def request() -> None:
        token = requests.enter(current_task(), 30)
        started.set()
        await release.wait()
        requests.leave(current_task(), token)

    tasks = [asyncio.create_task(request()) for _ in range(500)]
    await started.wait()
    await asyncio.sleep(0)
    assert len(requests) == 500 and requests.count == 500
    assert len(requests._slots) <= 3  # 500 requests started within a few ms: a timer or two, not 500
    release.set()
    await asyncio.gather(*tasks)
    assert len(requests) == 0 and requests.count == 0


async def test_drained_waits_for_the_last_request() -> None:
    requests = InFlightRequests()
    release = asyncio.Event()

    async def request() -> None:
        token = requests.enter(current_task(), 30)
        await release.wait()
        requests.leave(current_task(), token)

    tasks = [asyncio.create_task(request()) for _ in range(3)]
    await asyncio.sleep(0)
    waiting = asyncio.create_task(requests.drained(5))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # three still running
    release.set()
    assert await waiting is True
    await asyncio.gather(*tasks)
    assert await requests.drained(5) is True  # nothing in flight: at once


async def test_drained_gives_up_after_the_grace_period() -> None:
    requests = InFlightRequests()
    token = requests.enter(current_task(), 30)
    assert await requests.drained(0.05) is False
    assert requests.count == 1
    assert requests.leave(current_task(), token) is None


async def test_a_released_deadline_no_longer_cancels_and_says_what_was_left() -> None:
    # What a handler that streams does once its head is out: it keeps the deadline itself.
    requests = InFlightRequests()
    task = current_task()
    token = requests.enter(task, 0.5)
    left = requests.release(task, token)
    assert left is not None and 0.3 < left <= 0.51
    assert requests.count == 1  # still in flight (shutdown waits for it) until it leaves
    assert requests.release(task, token) is None  # nothing left to hand over
    await asyncio.sleep(0.6)  # past the released deadline (its slot's timer fired): not cancelled
    assert task.cancelling() == 0
    assert requests.leave(task, token) is None and requests.count == 0
