"""The one clock. Everything that reads time takes a ``Clock`` so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime
from time import monotonic as _monotonic
from time import time as _wall_time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for durations and buckets)."""
        ...


class SystemClock:
    # The builtins themselves, not methods wrapping them: monotonic() is read on every cached read.
    time = staticmethod(_wall_time)
    monotonic = staticmethod(_monotonic)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 1000.0

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._mono += seconds


def iso_timestamp(epoch_seconds: float) -> str:
    """ISO-8601 UTC with milliseconds and ``Z``: ``2025-01-25T10:00:00.000Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso(clock: Clock) -> str:
    return iso_timestamp(clock.time())
