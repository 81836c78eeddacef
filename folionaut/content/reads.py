"""The public read model: rendered, cached responses for published content.

A cached entry is the exact response body plus its weak ETag, so a hit costs no
SQL, no JSON encoding and no hashing. Every content write invalidates the keys
it can affect before the write returns.

A read that started before a write could otherwise store its (now stale)
result after the write's invalidation. Each invalidation bumps a generation
counter, and a read only stores its result if no invalidation happened while
it was running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from folionaut.cache.base import CacheEntry, ContentCache, bundle_key, item_key, keys_touched_by, list_key
from folionaut.content.models import ContentChange
from folionaut.content.service import ContentService
from folionaut.core import jsonutil


def weak_etag(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def render(data: Any) -> CacheEntry:
    body = jsonutil.dumps({"data": data})
    return CacheEntry(body, weak_etag(body))


class PublishedReads:
    def __init__(self, service: ContentService, cache: ContentCache) -> None:
        self.service = service
        self.cache = cache
        self._generation = 0
        self._peek: Callable[[str], CacheEntry | None] | None = getattr(cache, "peek", None)
        service.on_change(self.invalidate)

    def cached(self, key: str) -> CacheEntry | None:
        """The in-process entry for ``key`` without awaiting anything (the hot path), or None:
        then use ``bundle``/``listing``/``item``, which also try the other layers."""
        return self._peek(key) if self._peek is not None else None

    async def invalidate(self, change: ContentChange) -> None:
        self._generation += 1
        if change.kind == "external":  # someone else wrote: which keys is unknown, so all of them
            await self.cache.clear()
        else:
            await self.cache.delete(*keys_touched_by(change.content_type, *change.slugs))

    async def _cached(self, key: str, produce: Callable[[], Awaitable[Any]]) -> CacheEntry:
        entry = await self.cache.get(key)
        if entry is not None:
            return entry
        generation = self._generation
        entry = render(await produce())
        if generation == self._generation:
            await self.cache.set(key, entry)
        return entry

    async def bundle(self) -> CacheEntry:
        async def produce() -> dict[str, list[dict[str, Any]]]:
            grouped = await self.service.bundle()
            return {kind: [item.to_wire() for item in items] for kind, items in grouped.items()}

        return await self._cached(bundle_key(), produce)

    async def listing(self, content_type: str | None) -> CacheEntry:
        async def produce() -> list[dict[str, Any]]:
            return [item.to_wire() for item in await self.service.list_published(content_type)]

        return await self._cached(list_key(content_type), produce)

    async def item(self, content_type: str, slug: str) -> CacheEntry:
        async def produce() -> dict[str, Any]:
            return (await self.service.get_published(content_type, slug)).to_wire()

        return await self._cached(item_key(content_type, slug), produce)
