"""Public content reads: list, bundle and single item, cached and conditional."""

from __future__ import annotations

from aiohttp import web

from folionaut.cache.base import CacheEntry, bundle_key, item_key, list_key
from folionaut.content.reads import PublishedReads
from folionaut.content.validation import check_name
from folionaut.http.etag import none_match
from folionaut.http.resilience import rate_limited

PUBLISHED_READS = web.AppKey("published_reads", PublishedReads)

LIST_MAX_AGE = "public, max-age=60"
ITEM_MAX_AGE = "public, max-age=300"
_JSON = "application/json; charset=utf-8"


def _conditional(request: web.Request, entry: CacheEntry, cache_control: str) -> web.Response:
    headers = {"ETag": entry.etag, "Cache-Control": cache_control}
    if none_match(request.headers.get("If-None-Match"), entry.etag):
        return web.Response(status=304, headers=headers)
    headers["Content-Type"] = _JSON
    return web.Response(body=entry.body, headers=headers)


@rate_limited("content")
async def list_content(request: web.Request) -> web.Response:
    raw_type = request.query.get("type")
    content_type = check_name(raw_type, "type") if raw_type else None
    reads = request.app[PUBLISHED_READS]
    entry = reads.cached(list_key(content_type))
    if entry is None:
        entry = await reads.listing(content_type)
    return _conditional(request, entry, LIST_MAX_AGE)


@rate_limited("content")
async def bundle(request: web.Request) -> web.Response:
    reads = request.app[PUBLISHED_READS]
    entry = reads.cached(bundle_key())
    if entry is None:
        entry = await reads.bundle()
    return _conditional(request, entry, ITEM_MAX_AGE)


@rate_limited("content")
async def get_item(request: web.Request) -> web.Response:
    raw_type, raw_slug = request.match_info["type"], request.match_info["slug"]
    reads = request.app[PUBLISHED_READS]
    # A hit needs no validation: only validated names are ever cached, and a name
    # with ":" cannot form another item's key (names are [a-z0-9-]).
    entry = reads.cached(item_key(raw_type, raw_slug))
    if entry is None:
        content_type = check_name(raw_type, "type")
        slug = check_name(raw_slug, "slug")
        entry = await reads.item(content_type, slug)
    return _conditional(request, entry, ITEM_MAX_AGE)


def register(app: web.Application) -> None:
    app.router.add_get("/api/v1/content", list_content)
    app.router.add_get("/api/v1/content/bundle", bundle)
    app.router.add_get("/api/v1/content/{type}/{slug}", get_item)
