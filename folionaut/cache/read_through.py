"""The public-read cache as the service uses it: one build per key per change, invalidation in one place.

- **Single flight.** Concurrent misses of one key wait for one build
  (``get_or_build``): the first miss starts it as its own task, later ones await
  the same task (shielded, so a reader that gives up does not cancel it for the
  others). The build first asks the store again (an L2 hit in Redis is also
  shared), then renders. So 32 readers right after a write cost one query and
  one rendering, with Redis or without; across instances it is one build per
  instance, not per reader.
- **Encodings once.** ``variant`` makes an encoded copy of an entry's body
  (gzip, zstd) once per entry and coding, the same way, and keeps it with the
  entry (``CacheEntry.variants``), re-counted by the store's byte bound.
- **Invalidation in one method.** ``invalidate(keys)`` (``None``: everything)
  is the only way anything leaves the cache early: content writes in this
  process call it with the keys they affect, the watch for other processes'
  writes with ``None``, and a cross-instance channel (issue 17) can plug in
  here too. A build that was running when its key was invalidated still
  answers the readers that were waiting for it, but is not stored, and readers
  arriving after the invalidation start a new build (``_flights`` forgets it
  first, synchronously, before anything awaits).
- **Pages** of a list (``?limit=…&cursor=…``) are kept in the in-process layer
  only, under keys carrying a generation of their list (``page_generation``),
  which every invalidation of that list moves: a page never outlives its list.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from folionaut.cache.base import CacheEntry, ContentCache, list_key
from folionaut.cache.memory import MemoryCache
from folionaut.observability.metrics import Metrics

__all__ = ["Build", "Encode", "ReadThroughCache"]

Build = Callable[[], Awaitable[CacheEntry]]
#: Makes the encoded body of a body, or None when encoding would not make it smaller.
Encode = Callable[[bytes], Awaitable[bytes | None]]


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: asyncio does not log "never retrieved" when every reader left


class ReadThroughCache:
    def __init__(self, store: ContentCache, local: MemoryCache, metrics: Metrics) -> None:
        self.store = store
        self.local = local  # the in-process layer (the store itself without Redis)
        self._builds = metrics.published_builds
        self._flights: dict[str, asyncio.Task[CacheEntry]] = {}
        self._encodings: dict[tuple[int, str], asyncio.Task[CacheEntry]] = {}
        # Page keys carry these: a per-process part (pages never cross processes) and a count per list.
        self._epoch = secrets.token_hex(4)
        self._list_generations: dict[str, int] = {}

    def peek(self, key: str) -> CacheEntry | None:
        """An in-process hit without awaiting anything (the hot path); None means: ``get_or_build``."""
        return self.store.peek(key)

    async def get_or_build(self, key: str, build: Build, kind: str, *, local_only: bool = False) -> CacheEntry:
        """The cached entry for ``key``, or the one build of it in flight, or a new build."""
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.get_running_loop().create_task(self._fill(key, build, kind, local_only))
            flight.add_done_callback(_consume_outcome)
            self._flights[key] = flight
        return await asyncio.shield(flight)

    async def _fill(self, key: str, build: Build, kind: str, local_only: bool) -> CacheEntry:
        this = asyncio.current_task()
        store: ContentCache = self.local if local_only else self.store
        try:
            entry = await store.get(key)
            if entry is not None:
                return entry
            self._builds.labels(kind).inc()
            entry = await build()
            if self._flights.get(key) is this:  # not invalidated while building
                await store.set(key, entry)
                if self._flights.get(key) is not this:  # invalidated while storing (an L2 round trip)
                    await store.delete(key)
            return entry
        finally:
            if self._flights.get(key) is this:
                del self._flights[key]

    async def variant(self, key: str, entry: CacheEntry, coding: str, encode: Encode) -> CacheEntry:
        """``entry``'s representation in ``coding``, made once (the entry itself when encoding does not help)."""
        found = entry.variants.get(coding)
        if found is not None:
            return found
        flight_key = (id(entry), coding)
        flight = self._encodings.get(flight_key)
        if flight is None:
            flight = asyncio.get_running_loop().create_task(self._encode(key, entry, coding, encode))
            flight.add_done_callback(_consume_outcome)
            self._encodings[flight_key] = flight
            flight.add_done_callback(lambda _: self._encodings.pop(flight_key, None))
        return await asyncio.shield(flight)

    async def _encode(self, key: str, entry: CacheEntry, coding: str, encode: Encode) -> CacheEntry:
        body = await encode(entry.body)
        variant = entry if body is None else CacheEntry(body, _variant_etag(entry.etag, coding), coding)
        entry.variants[coding] = variant
        self.store.resized(key, entry)
        return variant

    def page_generation(self, content_type: str | None) -> str:
        """The generation of a list's pages: moves on every invalidation of that list."""
        return f"{self._epoch}.{self._list_generations.get(list_key(content_type), 0)}"

    async def invalidate(self, keys: Collection[str] | None = None) -> None:
        """Drop ``keys`` (None: every ``content:*`` key) from every layer, before returning."""
        if keys is None:
            self._flights.clear()
            self._epoch = secrets.token_hex(4)
            self._list_generations.clear()
            await self.store.clear()
            return
        for key in keys:
            self._flights.pop(key, None)
            if key.startswith("content:list:"):
                self._list_generations[key] = self._list_generations.get(key, 0) + 1
        await self.store.delete(*keys)

    async def close(self) -> None:
        await self.store.close()


def _variant_etag(etag: str, coding: str) -> str:
    """``W/"abc"`` → ``W/"abc-gzip"``: each representation has its own entity tag (RFC 9110 §8.8.3),
    so a cache holding one coding never has another coding's bytes validated for it."""
    return etag[:-1] + "-" + coding + '"'
