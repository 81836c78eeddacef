"""Public content reads: list, bundle and single item, cached and conditional."""

from __future__ import annotations

from aiohttp import web

from folionaut.cache.base import CacheEntry, bundle_key, item_key, list_key
from folionaut.content.reads import PublishedReads
from folionaut.content.validation import check_name
from folionaut.http.etag import none_match
from folionaut.http.headers import JSON_CONTENT_TYPE
from folionaut.http.prepared import PreparedResponse, serialise_head
from folionaut.http.resilience import rate_limited

LIST_MAX_AGE = "public, max-age=60"
ITEM_MAX_AGE = "public, max-age=300"


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


PUBLISHED_RESPONSES = web.AppKey("published_responses", PublishedResponses)


@rate_limited("content")
async def list_content(request: web.Request) -> web.StreamResponse:
    raw_type = request.query.get("type")
    content_type = check_name(raw_type, "type") if raw_type else None
    responses = request.app[PUBLISHED_RESPONSES]
    entry = responses.reads.cached(list_key(content_type))
    if entry is None:
        entry = await responses.reads.listing(content_type)
    return responses.respond(request, entry, LIST_MAX_AGE)


@rate_limited("content")
async def bundle(request: web.Request) -> web.StreamResponse:
    responses = request.app[PUBLISHED_RESPONSES]
    entry = responses.reads.cached(bundle_key())
    if entry is None:
        entry = await responses.reads.bundle()
    return responses.respond(request, entry, ITEM_MAX_AGE)


@rate_limited("content")
async def get_item(request: web.Request) -> web.StreamResponse:
    raw_type, raw_slug = request.match_info["type"], request.match_info["slug"]
    responses = request.app[PUBLISHED_RESPONSES]
    # A hit needs no validation: only validated names are ever cached, and a name
    # with ":" cannot form another item's key (names are [a-z0-9-]).
    entry = responses.reads.cached(item_key(raw_type, raw_slug))
    if entry is None:
        entry = await responses.reads.item(check_name(raw_type, "type"), check_name(raw_slug, "slug"))
    return responses.respond(request, entry, ITEM_MAX_AGE)


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/content", list_content)
    app.router.add_get("/api/v1/content/bundle", bundle)
    app.router.add_get("/api/v1/content/{type}/{slug}", get_item)
