"""The token buckets the workers of one server share (a table in a mapped file), as two openers see them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from folionaut.core.clock import ManualClock
from folionaut.resilience.ratelimit_shared import (
    HOLD_LIMIT_SECONDS,
    PROBE,
    STRIPE,
    SharedTableRateLimiter,
    create_table,
)


def limiter(table: Path, clock: ManualClock, capacity: int = 3, rate: float = 1.0) -> SharedTableRateLimiter:
    return SharedTableRateLimiter("content", capacity, rate, clock, table)


def test_two_openers_share_every_bucket(tmp_path: Path) -> None:
    table, clock = tmp_path / "t", ManualClock()
    create_table(table)
    first, second = limiter(table, clock), limiter(table, clock)
    client = "0123456789abcdef"
    allowed = [(first if n % 2 else second).take_now(client).allowed for n in range(6)]
    assert allowed == [True, True, True, False, False, False]  # capacity 3, whoever takes
    refused = second.take_now(client)
    assert refused.retry_after == 1 and refused.headers()["X-RateLimit-Remaining"] == "0"
    clock.advance(2.0)  # two tokens back, seen by both
    assert first.take_now(client).remaining == 1 and second.take_now(client).remaining == 0
    assert first.take_now("fedcba9876543210").remaining == 2  # another client, its own bucket
    first.close()
    second.close()


def test_full_probe_window_gives_the_longest_idle_slot_away(tmp_path: Path) -> None:
    table, clock = tmp_path / "t", ManualClock()
    create_table(table, slots=STRIPE)
    shared = limiter(table, clock, capacity=2, rate=0.001)
    # Keys whose hashes all have the same home slot: one probe window holds PROBE of them.
    keys = [f"{n * STRIPE:016x}" for n in range(1, PROBE + 2)]
    for key in keys[:PROBE]:
        shared.take_now(key)
        shared.take_now(key)  # each bucket is now empty
        clock.advance(1.0)
    assert not shared.take_now(keys[1]).allowed  # still remembered
    shared.take_now(keys[PROBE])  # one key too many: it takes the slot idle longest (keys[0]'s)
    assert not shared.take_now(keys[3]).allowed  # the others are still remembered
    assert shared.take_now(keys[0]).remaining == 1  # forgotten: a fresh bucket (in the next idlest slot)
    shared.close()


class StuckClock(ManualClock):
    """A clock whose reading never returns: a take that reads it stops inside its lock, as a worker
    killed mid-take would."""

    def __init__(self, ready_fd: int) -> None:
        super().__init__()
        self._ready_fd = ready_fd

    def monotonic(self) -> float:
        os.write(self._ready_fd, b"x")
        signal.pause()
        return super().monotonic()


def test_a_worker_killed_holding_a_lock_does_not_wedge_the_others(tmp_path: Path) -> None:
    table, clock = tmp_path / "t", ManualClock()
    create_table(table)  # made before the fork: the locks are shared, as with the supervisor's workers
    client = "0123456789abcdef"
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the doomed worker: stops inside its take, holding the lock
        try:
            limiter(table, StuckClock(ready_write)).take_now(client)
        finally:
            os._exit(0)
    assert os.read(ready_read, 1) == b"x"
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    # Another worker's takes: in a process of its own, so a wedged lock fails the test instead of hanging it.
    survivor_pid = os.fork()
    if survivor_pid == 0:
        survivor = limiter(table, clock)
        ok = survivor.take_now(client).allowed and survivor.take_now(client).allowed
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 20 * HOLD_LIMIT_SECONDS  # a bound on waiting, not a measurement
    while (done := os.waitpid(survivor_pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    if done[0] == 0:
        os.kill(survivor_pid, signal.SIGKILL)
        os.waitpid(survivor_pid, 0)
        raise AssertionError("the dead worker's lock was never given back")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    os.close(ready_read)
    os.close(ready_write)
