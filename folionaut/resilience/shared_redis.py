"""The one Redis client every component shares, and whether Redis is answering.

The cache, the rate limiters and the key-value store all talk to the same
Redis. They share one ``SharedRedis`` so an outage is logged once (not once per
component, not once per request), requests stop paying a connect timeout while
Redis is known to be down, and the first successful call after a short
cool-down brings every component back to Redis by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from folionaut.core.clock import Clock
from folionaut.observability.metrics import Metrics

logger = logging.getLogger("folionaut.redis")

T = TypeVar("T")

# What a failing Redis raises: protocol/connection errors, socket errors, timeouts.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)


def create_redis_client(url: str, timeout_seconds: float = 1.0) -> aioredis.Redis:
    """A client tuned for fail-open use: short timeouts, one immediate retry.

    The retry lets a pooled connection that died with a restarted server
    reconnect transparently; more retries with backoff would only make requests
    wait longer before falling back to the in-process path.
    """
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_seconds,
        socket_timeout=timeout_seconds,
        retry=Retry(NoBackoff(), 1),
    )


class SharedRedis:
    """The shared client; tracks Redis up/down and decides when a down Redis is worth trying again."""

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        metrics: Metrics,
        retry_interval_seconds: float = 2.0,
    ) -> None:
        self.client = client
        self._clock = clock
        self._metrics = metrics
        self._retry_interval = retry_interval_seconds
        self._up = True
        self._next_attempt_at = 0.0

    @property
    def is_up(self) -> bool:
        return self._up

    def should_try(self) -> bool:
        """True when a caller should use Redis now.

        While down, exactly one caller per cool-down interval is told to try
        (it becomes the recovery probe); everyone else uses the fallback.
        """
        if self._up:
            return True
        now = self._clock.monotonic()
        if now >= self._next_attempt_at:
            self._next_attempt_at = now + self._retry_interval
            return True
        return False

    def mark_ok(self) -> None:
        if not self._up:
            self._up = True
            logger.warning("Redis is reachable again; shared cache and rate limits restored")

    def mark_failed(self, component: str, error: BaseException) -> None:
        """Record a failed Redis call; logs only on the transition to down."""
        self._next_attempt_at = self._clock.monotonic() + self._retry_interval
        if self._up:
            self._up = False
            # The error's class and text name the problem; the URL (may hold a password) is never logged.
            logger.warning(
                "Redis unavailable (%s: %s) in %s; serving from process memory until it answers again",
                type(error).__name__, error, component,
            )

    def count_fallback(self, component: str) -> None:
        self._metrics.redis_fallbacks.labels(component).inc()

    async def fail_open(
        self, component: str, primary: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]
    ) -> T:
        """Run ``primary`` against Redis when it is worth trying; otherwise, or when it fails, ``fallback``."""
        if self.should_try():
            try:
                result = await primary()
            except REDIS_ERRORS as exc:
                self.mark_failed(component, exc)
            else:
                self.mark_ok()
                return result
        self.count_fallback(component)
        return await fallback()

    async def ping(self) -> bool:
        """Readiness check: always asks Redis (ignores the cool-down) and updates the state."""
        try:
            await self.client.ping()
        except REDIS_ERRORS as exc:
            self.mark_failed("health", exc)
            return False
        self.mark_ok()
        return True

    async def require(self) -> None:
        """The readiness check: raise unless Redis answers PING."""
        if not await self.ping():
            raise ConnectionError("Redis did not answer PING")
