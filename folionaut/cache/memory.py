"""In-process read cache: entries expire a fixed time after they are set.

A plain dict of (entry, expiry) rather than cachetools' ``TTLCache``: a hit is
on every cached read, and ``TTLCache.get`` (its timer and expiry bookkeeping in
Python) cost about 0.8 µs against a dict lookup's few tens of nanoseconds.
Expired entries are dropped when next looked up, and when the cache is full the
entries set longest ago go first (a dict keeps insertion order).
"""

from __future__ import annotations

from folionaut.cache.base import CacheEntry
from folionaut.core.clock import Clock, SystemClock
from folionaut.observability.metrics import Metrics


class MemoryCache:
    def __init__(self, ttl_seconds: float, metrics: Metrics, max_entries: int = 10_000, layer: str = "memory",
                 clock: Clock | None = None) -> None:
        self._entries: dict[str, tuple[CacheEntry, float]] = {}
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._now = (clock or SystemClock()).monotonic
        self._hit = metrics.cache_operations.labels("get", "hit", layer)
        self._miss = metrics.cache_operations.labels("get", "miss", layer)
        self._set = metrics.cache_operations.labels("set", "ok", layer)
        self._delete = metrics.cache_operations.labels("delete", "ok", layer)

    def _lookup(self, key: str) -> CacheEntry | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[1] <= self._now():
            del self._entries[key]
            return None
        return found[0]

    async def get(self, key: str) -> CacheEntry | None:
        return self.get_now(key)

    def get_now(self, key: str) -> CacheEntry | None:
        """Synchronous lookup for the hot path (no await needed for memory)."""
        entry = self._lookup(key)
        (self._miss if entry is None else self._hit).inc()
        return entry

    def peek(self, key: str) -> CacheEntry | None:
        """A hit without an await, counting hits only: after a miss the caller goes on to
        ``get``, which counts the miss (so every read is counted once)."""
        found = self._entries.get(key)  # _lookup inlined: this is every cached read
        if found is None or found[1] <= self._now():
            return None
        self._hit.inc()
        return found[0]

    async def set(self, key: str, entry: CacheEntry) -> None:
        self._entries.pop(key, None)  # re-set: to the back of the eviction order
        if len(self._entries) >= self._max_entries:
            self._evict()
        self._entries[key] = (entry, self._now() + self._ttl)
        self._set.inc()

    def _evict(self) -> None:
        now = self._now()
        expired = [key for key, (_, expires) in self._entries.items() if expires <= now]
        for key in expired or [next(iter(self._entries))]:  # none expired: the one set longest ago
            del self._entries[key]

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)
        self._delete.inc()

    async def clear(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
