"""A reusable async circuit breaker.

closed --N consecutive failures--> open --reset timeout--> half_open
half_open: exactly one call (the probe) runs at a time; concurrent callers are
rejected at once. M successful probes close the circuit; a failed one opens it
again (and restarts the timeout).

Rejections raise ``CircuitOpenError`` (a plain ``Exception``, so this module
knows nothing about HTTP). A caller that wants its own error passes
``open_error``, e.g. chat: ``open_error=lambda b: LLMError("LLM temporarily unavailable")``
so an open breaker answers 502 LLM_ERROR like any other LLM failure.

Which exceptions count as failures is configurable (``is_failure``); others
(e.g. a 400 caused by the request itself, or cancellation) pass through
without touching the failure count, and release the half-open probe slot.
The state gauge ``circuit_breaker_state{name}`` (0 closed, 1 half_open, 2 open)
reads ``state`` when scraped, so once the reset timeout has passed it shows 1
(half_open) even before the next call arrives, as the runbook tells operators
to expect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from folionaut.core.clock import Clock
from folionaut.observability.metrics import BREAKER_STATES, Metrics

T = TypeVar("T")

CLOSED = "closed"
HALF_OPEN = "half_open"
OPEN = "open"


class CircuitOpenError(Exception):
    """Raised instead of calling through while the circuit is open (or its probe is busy)."""

    def __init__(self, name: str, retry_in_seconds: float) -> None:
        super().__init__(f"circuit breaker {name!r} is open")
        self.name = name
        self.retry_in_seconds = retry_in_seconds


def _any_exception(error: BaseException) -> bool:
    return isinstance(error, Exception)


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        clock: Clock,
        metrics: Metrics,
        *,
        failure_threshold: int = 5,
        reset_timeout_seconds: float = 30.0,
        success_threshold: int = 2,
        is_failure: Callable[[BaseException], bool] = _any_exception,
        open_error: Callable[[CircuitOpenError], BaseException] | None = None,
    ) -> None:
        if failure_threshold < 1 or success_threshold < 1 or reset_timeout_seconds < 0:
            raise ValueError("thresholds must be >= 1 and the reset timeout >= 0")
        self.name = name
        self._clock = clock
        self._gauge = metrics.circuit_breaker_state.labels(name)
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout_seconds
        self.success_threshold = success_threshold
        self._is_failure = is_failure
        self._open_error = open_error
        self._state = CLOSED
        self._failures = 0  # consecutive, while closed
        self._successes = 0  # while half_open
        self._opened_at = 0.0
        self._probe_running = False
        self._gauge.set_function(lambda: BREAKER_STATES[self.state])

    @property
    def state(self) -> str:
        """Current state; an open circuit whose timeout has passed reads as half_open."""
        if self._state == OPEN and self._clock.monotonic() - self._opened_at >= self.reset_timeout:
            return HALF_OPEN
        return self._state

    def _transition(self, state: str) -> None:
        self._state = state
        if state == OPEN:
            self._opened_at = self._clock.monotonic()
        if state != HALF_OPEN:
            self._successes = 0
        if state != CLOSED:
            self._failures = 0

    def _reject(self) -> BaseException:
        waited = self._clock.monotonic() - self._opened_at
        error = CircuitOpenError(self.name, max(0.0, self.reset_timeout - waited) if self._state == OPEN else 0.0)
        return self._open_error(error) if self._open_error else error

    def _admit(self) -> bool:
        """Decide whether a call may run now; returns True when it is the half-open probe."""
        if self._state == OPEN:
            if self._clock.monotonic() - self._opened_at < self.reset_timeout:
                raise self._reject()
            self._transition(HALF_OPEN)
        if self._state == HALF_OPEN:
            if self._probe_running:
                raise self._reject()
            self._probe_running = True
            return True
        return False

    def _on_success(self, probe: bool) -> None:
        if probe:
            self._probe_running = False
            if self._state == HALF_OPEN:
                self._successes += 1
                if self._successes >= self.success_threshold:
                    self._transition(CLOSED)
        elif self._state == CLOSED:
            self._failures = 0

    def _on_failure(self, probe: bool) -> None:
        if probe:
            self._probe_running = False
            if self._state == HALF_OPEN:
                self._transition(OPEN)
        elif self._state == CLOSED:
            self._failures += 1
            if self._failures >= self.failure_threshold:
                self._transition(OPEN)

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """``async with breaker.call(): ...`` — raises the open error instead of entering."""
        probe = self._admit()
        try:
            yield
        except BaseException as error:
            if self._is_failure(error):
                self._on_failure(probe)
            elif probe:
                self._probe_running = False  # neutral outcome: free the slot, keep the state
            raise
        else:
            self._on_success(probe)

    async def run(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``await breaker.run(lambda: client.complete(...))``."""
        async with self.call():
            return await fn()
