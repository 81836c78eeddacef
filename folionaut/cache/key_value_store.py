"""A small key-value store with per-key TTLs, for idempotency records, chat sessions and counters.

Callers pass full keys (``idempotency:…``, ``session:…``) so an operator's
``redis-cli KEYS "session:*"`` finds them. Without Redis, entries live in
process memory (bounded); with Redis they are shared by every instance and
``FailOpenKeyValueStore`` keeps serving from memory while Redis is down (the
outage logged once, ``redis_fallbacks_total{component}`` counted, Redis used
again as soon as it answers). During an outage ``set_if_absent`` is only
atomic within one process — the accepted price of staying up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from cachetools import TLRUCache

from folionaut.core.clock import Clock

if TYPE_CHECKING:  # the Redis client is imported only where Redis is configured (start-up time)
    import redis.asyncio as aioredis

    from folionaut.resilience.shared_redis import SharedRedis


class KeyValueStore(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    async def set_if_absent(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        """Store only if the key is absent (SET NX); True when this call stored it."""
        ...

    async def delete(self, key: str) -> None: ...

    async def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        """Add ``amount`` to the integer at ``key`` (0 when absent, which starts its TTL); returns the new total."""
        ...

    async def close(self) -> None: ...


def _expires_at(_key: str, value: tuple[bytes, float], _now: float) -> float:
    return value[1]


class MemoryKeyValueStore:
    """In-process store. cachetools' TLRUCache (TTLCache's per-item-TTL sibling) since
    idempotency records (24 h) and sessions (30 min) need different lifetimes;
    ``max_entries`` bounds memory, dropping the least recently used first."""

    def __init__(self, clock: Clock, max_entries: int = 50_000) -> None:
        self._clock = clock
        # Values: (bytes, monotonic expiry).
        self._entries: TLRUCache[str, tuple[bytes, float]] = TLRUCache(
            maxsize=max_entries, ttu=_expires_at, timer=clock.monotonic
        )

    def _expiry(self, ttl_seconds: float) -> float:
        return self._clock.monotonic() + ttl_seconds

    async def get(self, key: str) -> bytes | None:
        item = self._entries.get(key)
        return None if item is None else item[0]

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self._entries[key] = (value, self._expiry(ttl_seconds))

    async def set_if_absent(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        # No await between the check and the write, so this is atomic in the event loop.
        if self._entries.get(key) is not None:
            return False
        self._entries[key] = (value, self._expiry(ttl_seconds))
        return True

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        # No await between the read and the write: atomic in the event loop. The TTL runs from creation.
        item = self._entries.get(key)
        total = (int(item[0]) if item is not None else 0) + amount
        self._entries[key] = (str(total).encode(), item[1] if item is not None else self._expiry(ttl_seconds))
        return total

    async def close(self) -> None:
        self._entries.clear()


def _milliseconds(ttl_seconds: float) -> int:
    return max(1, round(ttl_seconds * 1000))


class RedisKeyValueStore:
    """Plain Redis strings with PX expiry. Raises Redis errors (the fail-open wrapper handles them)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def get(self, key: str) -> bytes | None:
        value = await self._client.get(key)
        return None if value is None else bytes(value)

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        await self._client.set(key, value, px=_milliseconds(ttl_seconds))

    async def set_if_absent(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        return bool(await self._client.set(key, value, px=_milliseconds(ttl_seconds), nx=True))

    async def delete(self, key: str) -> None:
        await self._client.delete(key)

    async def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        # One MULTI: create with the TTL only if absent, then add, so every instance counts into one total.
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, px=_milliseconds(ttl_seconds), nx=True)
            pipe.incrby(key, amount)
            _, total = await pipe.execute()
        return int(total)

    async def close(self) -> None:
        """The client is shared; whoever created it closes it."""


class FailOpenKeyValueStore:
    """Redis while it answers, this host's store (process memory, or the file a server's workers
    share) while it does not.

    Writes also go to the fallback while Redis is down, so a record written during an
    outage is still found on this host during that outage.
    """

    def __init__(
        self, primary: RedisKeyValueStore, fallback: KeyValueStore, health: SharedRedis, component: str = "kv"
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._health = health
        self.component = component

    async def get(self, key: str) -> bytes | None:
        return await self._health.fail_open(
            self.component, lambda: self._primary.get(key), lambda: self._fallback.get(key))

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        await self._health.fail_open(
            self.component, lambda: self._primary.set(key, value, ttl_seconds),
            lambda: self._fallback.set(key, value, ttl_seconds))

    async def set_if_absent(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        return await self._health.fail_open(
            self.component, lambda: self._primary.set_if_absent(key, value, ttl_seconds),
            lambda: self._fallback.set_if_absent(key, value, ttl_seconds))

    async def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        return await self._health.fail_open(
            self.component, lambda: self._primary.increment(key, amount, ttl_seconds),
            lambda: self._fallback.increment(key, amount, ttl_seconds))

    async def delete(self, key: str) -> None:
        # Always clear the fallback copy too, so a record from an outage cannot resurface.
        await self._fallback.delete(key)
        await self._health.fail_open(self.component, lambda: self._primary.delete(key), _nothing)

    async def close(self) -> None:
        await self._fallback.close()


async def _nothing() -> None:
    """The fallback of a Redis-only step (the memory side was already done)."""
