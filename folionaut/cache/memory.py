"""In-process read cache: least recently used first out, bounded in entries and in bytes.

An ``OrderedDict`` of key → [entry, expiry, size]: a hit moves its key to the
end (O(1)), and when either bound is passed the least recently used entries go
from the front (O(1) each), so a full cache costs the same per insert as an
empty one. (The dict it replaces scanned every entry for expired ones on each
insert once full: 140 µs instead of 0.8 µs at 10,000 entries.) Entries also
expire a fixed time after they are set; an expired entry is dropped when next
looked up or when it reaches the front.

Sizes count the body and every encoded variant (``CacheEntry.size``); an entry
that gains a variant later is re-counted (``resized``). An entry larger than
the whole byte bound is not kept at all. Every eviction is counted by reason
(``cache_operations_total{operation="evict",result="entries"|"bytes"|"expired"}``),
and ``cache_bytes`` / ``cache_entries`` are read when scraped.
"""

from __future__ import annotations

from collections import OrderedDict

from folionaut.cache.base import CacheEntry
from folionaut.core.clock import Clock, SystemClock
from folionaut.observability.metrics import Metrics

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_ENTRIES", "MemoryCache"]

DEFAULT_MAX_ENTRIES = 50_000
DEFAULT_MAX_BYTES = 128 * 1024 * 1024


class _Slot:
    __slots__ = ("entry", "expires", "size")

    def __init__(self, entry: CacheEntry, expires: float, size: int) -> None:
        self.entry = entry
        self.expires = expires
        self.size = size


class MemoryCache:
    def __init__(self, ttl_seconds: float, metrics: Metrics, max_entries: int = DEFAULT_MAX_ENTRIES,
                 layer: str = "memory", clock: Clock | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        # Least recently used first.
        self._slots: OrderedDict[str, _Slot] = OrderedDict()
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._now = (clock or SystemClock()).monotonic
        ops = metrics.cache_operations
        self._hit = ops.labels("get", "hit", layer)
        self._miss = ops.labels("get", "miss", layer)
        self._set = ops.labels("set", "ok", layer)
        self._delete = ops.labels("delete", "ok", layer)
        self._evicted = {reason: ops.labels("evict", reason, layer) for reason in ("entries", "bytes", "expired")}
        metrics.cache_bytes.labels(layer).set_function(lambda: self._bytes)
        metrics.cache_entries.labels(layer).set_function(lambda: len(self._slots))

    @property
    def bytes(self) -> int:
        return self._bytes

    def _lookup(self, key: str) -> CacheEntry | None:
        slot = self._slots.get(key)
        if slot is None:
            return None
        if slot.expires <= self._now():
            self._drop(key, "expired")
            return None
        self._slots.move_to_end(key)
        return slot.entry

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
        slot = self._slots.get(key)  # _lookup inlined: this is every cached read
        if slot is None or slot.expires <= self._now():
            return None
        self._slots.move_to_end(key)
        self._hit.inc()
        return slot.entry

    async def set(self, key: str, entry: CacheEntry) -> None:
        self.set_now(key, entry)

    def set_now(self, key: str, entry: CacheEntry) -> None:
        old = self._slots.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._set.inc()
        size = entry.size
        if size > self._max_bytes:  # could only be kept by emptying the cache, and then not even
            self._evicted["bytes"].inc()
            return
        self._slots[key] = _Slot(entry, self._now() + self._ttl, size)
        self._bytes += size
        self._shrink()

    def resized(self, key: str, entry: CacheEntry) -> None:
        slot = self._slots.get(key)
        if slot is None or slot.entry is not entry:  # evicted or replaced meanwhile: nothing to count
            return
        size = entry.size
        self._bytes += size - slot.size
        slot.size = size
        if size > self._max_bytes:
            self._drop(key, "bytes")
        self._shrink()

    def _shrink(self) -> None:
        slots, now = self._slots, None
        while len(slots) > self._max_entries or self._bytes > self._max_bytes:
            key, slot = next(iter(slots.items()))
            now = now if now is not None else self._now()
            reason = "expired" if slot.expires <= now else (
                "entries" if len(slots) > self._max_entries else "bytes")
            self._drop(key, reason)

    def _drop(self, key: str, reason: str) -> None:
        slot = self._slots.pop(key)
        self._bytes -= slot.size
        self._evicted[reason].inc()

    async def delete(self, *keys: str) -> None:
        for key in keys:
            slot = self._slots.pop(key, None)
            if slot is not None:
                self._bytes -= slot.size
        self._delete.inc()

    async def clear(self) -> None:
        self._slots.clear()
        self._bytes = 0

    async def close(self) -> None:
        await self.clear()

    def __len__(self) -> int:
        return len(self._slots)
