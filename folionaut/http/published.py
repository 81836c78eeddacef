"""Public reads as rendered responses: the ``{"data": …}`` envelope, its ETag, its encodings and ready-made heads.

A cached entry is the exact response body plus its weak ETag, so a hit costs no
SQL, no JSON encoding and no hashing. Misses go through the runtime's
``ReadThroughCache``: one build per key however many readers are waiting, and
invalidation by the keys a write touches (``cache/read_through.py``).

``PublishedResponses`` answers from an entry: it picks the content coding from
``Accept-Encoding`` (``http/content_coding.py``), takes that coding's variant
(made once per entry and kept with it), and writes it from heads serialised
once per representation (``fastpath.prepared``), kept on the representation so
they go when it goes. Every representation has its own weak ETag (``W/"h"``,
``W/"h-gzip"``, …), so ``If-None-Match`` is compared with the ETag of the
representation chosen for this request and a 304 works per encoding; every
answer says ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from folionaut.cache.base import CacheEntry, bundle_key, item_key, list_key, page_key
from folionaut.cache.read_through import ReadThroughCache
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.http.content_coding import choose_coding, encode
from folionaut.http.etag import none_match
from folionaut.http.fastpath.prepared import PreparedResponse, serialise_head
from folionaut.http.headers import JSON_CONTENT_TYPE

__all__ = ["PublishedReads", "PublishedResponses", "render", "weak_etag"]

#: At most this many distinct Accept-Encoding values have their choice remembered.
_MAX_REMEMBERED_CHOICES = 512


def weak_etag(body: bytes) -> str:
    return 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def render(data: Any) -> CacheEntry:
    body = jsonutil.dumps({"data": data})
    return CacheEntry(body, weak_etag(body))


def render_page(items: list[dict[str, Any]], next_cursor: str | None) -> CacheEntry:
    body = jsonutil.dumps({"data": items, "nextCursor": next_cursor})
    return CacheEntry(body, weak_etag(body))


class PublishedReads:
    """Rendered public reads, cached; produced from the content service on a miss."""

    def __init__(self, service: ContentService, cache: ReadThroughCache) -> None:
        self.service = service
        self.cache = cache

    def cached(self, key: str) -> CacheEntry | None:
        """The in-process entry for ``key`` without awaiting anything (the hot path), or None:
        then use ``bundle``/``listing``/``item``, which also try the other layers."""
        return self.cache.peek(key)

    async def bundle(self) -> CacheEntry:
        async def build() -> CacheEntry:
            return render(await self.service.bundle_wire())

        return await self.cache.get_or_build(bundle_key(), build, "bundle")

    async def listing(self, content_type: str | None) -> CacheEntry:
        async def build() -> CacheEntry:
            return render(await self.service.published_wire(content_type))

        return await self.cache.get_or_build(list_key(content_type), build, "list")

    async def page(self, content_type: str | None, limit: int, cursor: str | None) -> tuple[str, CacheEntry]:
        """One page of the list (keyset paging), cached until the list changes; (its key, the entry)."""
        key = page_key(content_type, self.cache.page_generation(content_type), limit, cursor)

        async def build() -> CacheEntry:
            page = await self.service.page_published(content_type, limit, cursor)
            return render_page([item.to_wire() for item in page.items], page.next_cursor)

        return key, await self.cache.get_or_build(key, build, "page", local_only=True)

    async def item(self, content_type: str, slug: str) -> CacheEntry:
        async def build() -> CacheEntry:
            return render((await self.service.get_published(content_type, slug)).to_wire())

        return await self.cache.get_or_build(item_key(content_type, slug), build, "item")


class _Heads:
    """A representation's serialised 200 and 304 heads, for one Cache-Control value."""

    __slots__ = ("cache_control", "full", "not_modified")

    def __init__(self, cache_control: str, full: bytes, not_modified: bytes) -> None:
        self.cache_control = cache_control
        self.full = full
        self.not_modified = not_modified


class PublishedResponses:
    """Cached reads as responses, in the content coding the request prefers."""

    def __init__(self, reads: PublishedReads, *, vary_origin: bool = False) -> None:
        self.reads = reads
        # With CORS_ORIGINS set the edge's CORS headers depend on Origin: caches must keep answers apart.
        self._vary = "Accept-Encoding, Origin" if vary_origin else "Accept-Encoding"
        self._vary_origin = vary_origin
        # Accept-Encoding value -> coding: browsers send a handful of fixed strings, parsed once each.
        self._choices: dict[str, str] = {}

    def _coding(self, accept_encoding: str | None) -> str:
        if accept_encoding is None:
            return "identity"
        coding = self._choices.get(accept_encoding)
        if coding is None:
            if len(self._choices) >= _MAX_REMEMBERED_CHOICES:
                self._choices.clear()
            coding = self._choices[accept_encoding] = choose_coding(accept_encoding)
        return coding

    def respond(self, request: web.Request, entry: CacheEntry, cache_control: str) -> PreparedResponse | None:
        """The response from what is at hand, or None when the chosen encoding is still to be made
        (then ``respond_encoded``)."""
        coding = self._coding(request.headers.get("Accept-Encoding"))
        representation = entry if coding == "identity" else entry.variants.get(coding)
        if representation is None:
            return None
        return self._answer(request, representation, cache_control)

    async def respond_encoded(self, request: web.Request, key: str, entry: CacheEntry,
                              cache_control: str) -> PreparedResponse:
        coding = self._coding(request.headers.get("Accept-Encoding"))
        representation = await self.reads.cache.variant(key, entry, coding, _encoder(coding))
        return self._answer(request, representation, cache_control)

    async def answer(self, request: web.Request, key: str, entry: CacheEntry, cache_control: str) -> PreparedResponse:
        return self.respond(request, entry, cache_control) or await self.respond_encoded(
            request, key, entry, cache_control)

    def _answer(self, request: web.Request, representation: CacheEntry, cache_control: str) -> PreparedResponse:
        heads = representation.prepared
        if type(heads) is not _Heads or heads.cache_control != cache_control:
            heads = representation.prepared = _heads(representation, cache_control, self._vary)
        if none_match(request.headers.get("If-None-Match"), representation.etag):
            response = PreparedResponse(304, heads.not_modified)
        else:
            response = PreparedResponse(200, heads.full, representation.body)
        if self._vary_origin:
            response.varies_on_origin = True
        return response


def _heads(representation: CacheEntry, cache_control: str, vary: str) -> _Heads:
    # The 304 carries what the 200 would have said about caching (RFC 9110 §15.4.5).
    validators = {"ETag": representation.etag, "Cache-Control": cache_control, "Vary": vary}
    full = {**validators, "Content-Type": JSON_CONTENT_TYPE, "Content-Length": str(len(representation.body))}
    if representation.coding != "identity":
        full["Content-Encoding"] = representation.coding
    return _Heads(cache_control, serialise_head(200, full), serialise_head(304, validators))


def _encoder(coding: str) -> Callable[[bytes], Awaitable[bytes | None]]:
    async def encode_body(body: bytes) -> bytes | None:
        return await encode(coding, body)

    return encode_body
