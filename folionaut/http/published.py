"""Public reads as rendered responses: the ``{"data": …}`` envelope, its ETag and ready-made heads.

A cached entry is the exact response body plus its weak ETag, so a hit costs no
SQL, no JSON encoding and no hashing; ``PublishedResponses`` also keeps each
entry's 200 and 304 heads serialised (``fastpath.prepared``), so a hit builds
no header objects either. Every content write invalidates the keys it can
affect before the write returns.

A read that started before a write could otherwise store its (now stale)
result after the write's invalidation. Each invalidation bumps a generation
counter, and a read only stores its result if no invalidation happened while
it was running.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from folionaut.cache.base import CacheEntry, ContentCache, bundle_key, item_key, keys_touched_by, list_key
from folionaut.content.models import ContentChange
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.http.etag import none_match
from folionaut.http.fastpath.prepared import PreparedResponse, serialise_head
from folionaut.http.headers import JSON_CONTENT_TYPE

__all__ = ["PublishedReads", "PublishedResponses", "render", "weak_etag"]


def weak_etag(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def render(data: Any) -> CacheEntry:
    body = jsonutil.dumps({"data": data})
    return CacheEntry(body, weak_etag(body))


class PublishedReads:
    """Rendered public reads, cached; produced from the content service on a miss."""

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


class PublishedResponses:
    """Cached reads as responses: each entry's 200 and 304 heads are serialised once
    (an entry is answered with the same bytes until its content changes)."""

    def __init__(self, reads: PublishedReads, max_heads: int = 4096) -> None:
        self.reads = reads
        self._heads: dict[tuple[str, str], tuple[bytes, bytes]] = {}
        self._max_heads = max_heads

    def respond(self, request: web.Request, entry: CacheEntry, cache_control: str) -> PreparedResponse:
        heads = self._heads.get((entry.etag, cache_control))
        if heads is None:
            if len(self._heads) >= self._max_heads:  # old ETags pile up as content changes
                self._heads.clear()
            validators = {"ETag": entry.etag, "Cache-Control": cache_control}
            heads = self._heads[(entry.etag, cache_control)] = (
                serialise_head(200, {**validators, "Content-Type": JSON_CONTENT_TYPE,
                                     "Content-Length": str(len(entry.body))}),
                serialise_head(304, validators),
            )
        if none_match(request.headers.get("If-None-Match"), entry.etag):
            return PreparedResponse(304, heads[1])
        return PreparedResponse(200, heads[0], entry.body)
