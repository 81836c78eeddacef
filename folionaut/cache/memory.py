"""In-process read cache (cachetools TTL)."""

from __future__ import annotations

from cachetools import TTLCache

from folionaut.cache.base import CacheEntry
from folionaut.observability.metrics import Metrics


class MemoryCache:
    def __init__(self, ttl_seconds: float, metrics: Metrics, max_entries: int = 10_000, layer: str = "memory") -> None:
        self._entries: TTLCache[str, CacheEntry] = TTLCache(maxsize=max_entries, ttl=ttl_seconds)
        self._layer = layer
        self._hit = metrics.cache_operations.labels("get", "hit", layer)
        self._miss = metrics.cache_operations.labels("get", "miss", layer)
        self._set = metrics.cache_operations.labels("set", "ok", layer)
        self._delete = metrics.cache_operations.labels("delete", "ok", layer)

    async def get(self, key: str) -> CacheEntry | None:
        entry = self._entries.get(key)
        (self._miss if entry is None else self._hit).inc()
        return entry

    def get_now(self, key: str) -> CacheEntry | None:
        """Synchronous lookup for the hot path (no await needed for memory)."""
        entry = self._entries.get(key)
        (self._miss if entry is None else self._hit).inc()
        return entry

    def peek(self, key: str) -> CacheEntry | None:
        """A hit without an await, counting hits only: after a miss the caller goes on to
        ``get``, which counts the miss (so every read is counted once)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._hit.inc()
        return entry

    async def set(self, key: str, entry: CacheEntry) -> None:
        self._entries[key] = entry
        self._set.inc()

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)
        self._delete.inc()

    async def clear(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        self._entries.clear()
