"""Public content reads: list, bundle and single item, cached and conditional."""

from __future__ import annotations

from aiohttp import web

from folionaut.cache.base import bundle_key, item_key, list_key
from folionaut.content.validation import check_name
from folionaut.http import openapi as oa
from folionaut.http.routing import Access, Route
from folionaut.http.state import HTTP

__all__ = ["ROUTES"]

LIST_MAX_AGE = "public, max-age=60"
ITEM_MAX_AGE = "public, max-age=300"


async def list_content(request: web.Request) -> web.StreamResponse:
    raw_type = request.query.get("type")
    content_type = check_name(raw_type, "type") if raw_type else None
    responses = request.app[HTTP].published  # inline, not a helper call: this is the hot path
    assert responses is not None, "made when the runtime opens"
    entry = responses.reads.cached(list_key(content_type))
    if entry is None:
        entry = await responses.reads.listing(content_type)
    return responses.respond(request, entry, LIST_MAX_AGE)


async def bundle(request: web.Request) -> web.StreamResponse:
    responses = request.app[HTTP].published  # inline, not a helper call: this is the hot path
    assert responses is not None, "made when the runtime opens"
    entry = responses.reads.cached(bundle_key())
    if entry is None:
        entry = await responses.reads.bundle()
    return responses.respond(request, entry, ITEM_MAX_AGE)


async def get_item(request: web.Request) -> web.StreamResponse:
    raw_type, raw_slug = request.match_info["type"], request.match_info["slug"]
    responses = request.app[HTTP].published  # inline, not a helper call: this is the hot path
    assert responses is not None, "made when the runtime opens"
    # A hit needs no validation: only validated names are ever cached, and a name
    # with ":" cannot form another item's key (names are [a-z0-9-]).
    entry = responses.reads.cached(item_key(raw_type, raw_slug))
    if entry is None:
        entry = await responses.reads.item(check_name(raw_type, "type"), check_name(raw_slug, "slug"))
    return responses.respond(request, entry, ITEM_MAX_AGE)


_READ_HEADERS = {**oa.CONDITIONAL_HEADERS, **oa.RATE_HEADERS}

ROUTES = (
    Route("GET", "/api/v1/content", list_content, Access.PUBLIC, limiter="content", operation={
        "tags": ["content"], "summary": "Published items, by sortOrder then newest first",
        "operationId": "listContent",
        "parameters": [{"name": "type", "in": "query", "schema": oa.NAME_SCHEMA}, oa.param("IfNoneMatch")],
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("ContentItem"))), headers=_READ_HEADERS),
                      "304": oa.NOT_MODIFIED, **oa.errors(400, 429)},
    }),
    Route("GET", "/api/v1/content/bundle", bundle, Access.PUBLIC, limiter="content", operation={
        "tags": ["content"], "summary": "All published items grouped by type", "operationId": "contentBundle",
        "parameters": [oa.param("IfNoneMatch")],
        "responses": {"200": oa.json_content(oa.data({"type": "object",
                                                      "additionalProperties": oa.array(oa.schema("ContentItem"))}),
                                             headers=_READ_HEADERS),
                      "304": oa.NOT_MODIFIED, **oa.errors(429)},
    }),
    Route("GET", "/api/v1/content/{type}/{slug}", get_item, Access.PUBLIC, limiter="content", operation={
        "tags": ["content"], "summary": "One published item", "operationId": "getContent",
        "parameters": [oa.param("Type"), oa.param("Slug"), oa.param("IfNoneMatch")],
        "responses": {"200": oa.json_content(oa.data(oa.schema("ContentItem")), headers=_READ_HEADERS),
                      "304": oa.NOT_MODIFIED, **oa.errors(400, 404, 429)},
    }),
)
