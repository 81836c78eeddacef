"""Circuit breaker transitions with an injected clock, including the single half-open probe."""

from __future__ import annotations

import asyncio

import pytest

from folionaut.core.clock import ManualClock
from folionaut.core.errors import LLMError
from folionaut.observability.metrics import Metrics
from folionaut.resilience.breaker import CircuitBreaker, CircuitOpenError


class ProviderDown(Exception):
    pass


class BadInput(Exception):
    pass


def gauge(metrics: Metrics, name: str = "llm") -> float | None:
    return metrics.registry.get_sample_value("circuit_breaker_state", {"name": name})


async def fail() -> None:
    raise ProviderDown


async def succeed() -> str:
    return "ok"


def make(clock: ManualClock, metrics: Metrics, **options: object) -> CircuitBreaker:
    return CircuitBreaker("llm", clock, metrics, **options)  # type: ignore[arg-type]


async def open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(ProviderDown):
            await breaker.run(fail)


async def test_opens_after_consecutive_failures_and_rejects_fast() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = make(clock, metrics)
    assert breaker.state == "closed" and gauge(metrics) == 0

    for _ in range(4):
        with pytest.raises(ProviderDown):
            await breaker.run(fail)
    assert breaker.state == "closed"
    await breaker.run(succeed)  # a success resets the consecutive count
    await open_breaker(breaker)
    assert breaker.state == "open" and gauge(metrics) == 2

    calls = 0

    async def counted() -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(CircuitOpenError) as info:
        await breaker.run(counted)
    assert calls == 0
    assert info.value.name == "llm"
    assert info.value.retry_in_seconds == pytest.approx(30)


async def test_half_open_after_timeout_then_closes_after_two_successes() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = make(clock, metrics)
    await open_breaker(breaker)

    clock.advance(29.9)
    with pytest.raises(CircuitOpenError):
        await breaker.run(succeed)
    clock.advance(0.1)
    assert breaker.state == "half_open"

    assert await breaker.run(succeed) == "ok"
    assert breaker.state == "half_open" and gauge(metrics) == 1
    assert await breaker.run(succeed) == "ok"
    assert breaker.state == "closed" and gauge(metrics) == 0


async def test_failed_probe_reopens_and_restarts_the_timeout() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = make(clock, metrics)
    await open_breaker(breaker)
    clock.advance(30)
    await breaker.run(succeed)
    with pytest.raises(ProviderDown):
        await breaker.run(fail)
    assert breaker.state == "open" and gauge(metrics) == 2
    clock.advance(29)
    with pytest.raises(CircuitOpenError):
        await breaker.run(succeed)
    clock.advance(1)
    await breaker.run(succeed)
    await breaker.run(succeed)
    assert breaker.state == "closed"


async def test_exactly_one_probe_runs_while_half_open() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = make(clock, metrics)
    await open_breaker(breaker)
    clock.advance(30)

    release = asyncio.Event()
    started = 0

    async def slow_probe() -> str:
        nonlocal started
        started += 1
        await release.wait()
        return "probed"

    async def caller(index: int) -> str:
        if index == 0:
            return await breaker.run(slow_probe)
        await asyncio.sleep(0)  # let the probe start first
        try:
            return await breaker.run(slow_probe)
        except CircuitOpenError:
            return "rejected"
        finally:
            if index == 9:
                release.set()

    outcomes = await asyncio.wait_for(asyncio.gather(*(caller(i) for i in range(10))), timeout=5)
    assert outcomes.count("probed") == 1
    assert outcomes.count("rejected") == 9
    assert started == 1
    assert breaker.state == "half_open"  # one success of the two needed


async def test_only_configured_exceptions_count_as_failures() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = make(clock, metrics, is_failure=lambda error: isinstance(error, ProviderDown), failure_threshold=2)

    async def bad_input() -> None:
        raise BadInput

    for _ in range(5):
        with pytest.raises(BadInput):
            await breaker.run(bad_input)
    assert breaker.state == "closed"

    await open_breaker(breaker)
    clock.advance(30)
    with pytest.raises(BadInput):
        await breaker.run(bad_input)  # neutral probe: frees the slot, state unchanged
    assert breaker.state == "half_open"
    await breaker.run(succeed)
    await breaker.run(succeed)
    assert breaker.state == "closed"


async def test_custom_open_error_and_context_manager_form() -> None:
    clock, metrics = ManualClock(), Metrics()
    breaker = CircuitBreaker(
        "search", clock, metrics, failure_threshold=1, reset_timeout_seconds=5, success_threshold=1,
        open_error=lambda error: LLMError(f"LLM temporarily unavailable ({error.name})"),
    )
    assert gauge(metrics, "search") == 0
    with pytest.raises(ProviderDown):
        async with breaker.call():
            raise ProviderDown
    with pytest.raises(LLMError):
        async with breaker.call():
            pass
    clock.advance(5)
    async with breaker.call():
        pass
    assert breaker.state == "closed" and gauge(metrics, "search") == 0
