"""L1 (in-process, short TTL) in front of L2 (Redis, shared by every instance).

Reads try L1, then L2 (filling L1 on an L2 hit). Writes and invalidations go to
both. L1's short TTL (``l1_cache_ttl_seconds``) bounds how stale one instance
can be after another instance invalidated the shared L2.

Redis failing never fails a request: the cache degrades to L1 only, counting
``redis_fallbacks_total{component="cache"}``; the shared ``SharedRedis`` logs the
outage once and lets a probe through every couple of seconds, so L2 comes back
by itself. Invalidations that could not reach Redis are remembered and applied
before L2 is read again, so an edit made during the outage is not hidden by a
stale L2 entry afterwards (bounded: past ``max_pending`` keys, all of
``content:*`` is cleared instead).
"""

from __future__ import annotations

import asyncio

from folionaut.cache.base import CacheEntry
from folionaut.cache.memory import MemoryCache
from folionaut.cache.redis import RedisCache
from folionaut.resilience.shared_redis import REDIS_ERRORS, SharedRedis

COMPONENT = "cache"


class LayeredCache:
    def __init__(self, l1: MemoryCache, l2: RedisCache, health: SharedRedis, max_pending: int = 1000) -> None:
        self.l1 = l1
        self.l2 = l2
        self._health = health
        self._max_pending = max_pending
        self._pending_keys: set[str] = set()
        self._pending_clear = False
        self._flush_lock = asyncio.Lock()

    @property
    def has_pending_invalidations(self) -> bool:
        return self._pending_clear or bool(self._pending_keys)

    def _failed(self, error: BaseException) -> None:
        self._health.mark_failed(COMPONENT, error)
        self._health.count_fallback(COMPONENT)

    async def _l2_usable(self) -> bool:
        """Whether to talk to Redis now; first replays invalidations missed during an outage."""
        if not self._health.should_try():
            self._health.count_fallback(COMPONENT)
            return False
        if not self.has_pending_invalidations:
            return True
        async with self._flush_lock:
            try:
                if self._pending_clear:
                    await self.l2.clear()
                    self._pending_clear = False
                    self._pending_keys.clear()
                elif self._pending_keys:
                    keys = list(self._pending_keys)
                    await self.l2.delete(*keys)
                    self._pending_keys.difference_update(keys)
            except REDIS_ERRORS as exc:
                self._failed(exc)
                return False
        return True

    def _remember_invalidation(self, keys: tuple[str, ...]) -> None:
        self._pending_keys.update(keys)
        if len(self._pending_keys) > self._max_pending:
            self._pending_clear = True
            self._pending_keys.clear()

    def peek(self, key: str) -> CacheEntry | None:
        """An L1 hit without an await (``MemoryCache.peek``); None means: call ``get``."""
        return self.l1.peek(key)

    def resized(self, key: str, entry: CacheEntry) -> None:
        """Encoded variants live in L1 only (each instance encodes once per version): L2 keeps the body."""
        self.l1.resized(key, entry)

    async def get(self, key: str) -> CacheEntry | None:
        entry = self.l1.get_now(key)
        if entry is not None:
            return entry
        if not await self._l2_usable():
            return None
        try:
            entry = await self.l2.get(key)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return None
        self._health.mark_ok()
        if entry is not None:
            await self.l1.set(key, entry)
        return entry

    async def set(self, key: str, entry: CacheEntry) -> None:
        await self.l1.set(key, entry)
        if not await self._l2_usable():
            return
        try:
            await self.l2.set(key, entry)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            return
        self._health.mark_ok()

    async def delete(self, *keys: str) -> None:
        await self.l1.delete(*keys)
        if not keys:
            return
        if not await self._l2_usable():
            self._remember_invalidation(keys)
            return
        try:
            await self.l2.delete(*keys)
        except REDIS_ERRORS as exc:
            self._failed(exc)
            self._remember_invalidation(keys)
            return
        self._health.mark_ok()

    async def clear(self) -> None:
        await self.l1.clear()
        if not await self._l2_usable():
            self._pending_clear = True
            return
        try:
            await self.l2.clear()
        except REDIS_ERRORS as exc:
            self._failed(exc)
            self._pending_clear = True
            return
        self._health.mark_ok()

    async def close(self) -> None:
        await self.l1.close()
        await self.l2.close()
