"""Admin content API: CRUD, history and restore (X-Admin-Key); mutations honour Idempotency-Key."""

from __future__ import annotations

import re
from dataclasses import replace

from aiohttp import web

from folionaut.content.validation import (
    check_content_id,
    check_name,
    check_status_filter,
    parse_create,
    parse_restore,
    parse_update,
)
from folionaut.core.errors import ValidationError
from folionaut.http.auth import admin_only
from folionaut.http.idempotency import idempotent
from folionaut.http.keys import CONTENT
from folionaut.http.params import query_bool, query_int, query_str
from folionaut.http.responses import data_response, read_json, success_response

CHANGED_BY = "admin"
# The admin ETag (W/"v3", or strong "v3") or the bare version number (3).
_IF_MATCH = re.compile(r'^[ \t]*(?:(?:W/)?"v?(\d{1,16})"|v?(\d{1,16}))[ \t]*$')


def item_etag(version: int) -> str:
    """Admin ETag of an item: its version, which changes on every change."""
    return f'W/"v{version}"'


def _expected_version(request: web.Request, body_version: int | None) -> int | None:
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return body_version
    match = _IF_MATCH.match(header)
    if not match:
        raise ValidationError.single("If-Match", 'Expected the item\'s ETag (W/"v3") or its version number')
    version = int(match.group(1) or match.group(2))
    if body_version is not None and body_version != version:
        raise ValidationError.single("version", "Does not match the If-Match header")
    return version


@admin_only
async def list_items(request: web.Request) -> web.Response:
    raw_type = query_str(request, "type")
    items = await request.app[CONTENT].list_admin(
        content_type=check_name(raw_type, "type") if raw_type else None,
        status=check_status_filter(query_str(request, "status")),
        include_deleted=query_bool(request, "includeDeleted"),
        limit=query_int(request, "limit", 50, 1, 100),
        offset=query_int(request, "offset", 0, 0, 2**31),
    )
    return data_response([item.to_wire() for item in items])


@admin_only
async def get_item(request: web.Request) -> web.Response:
    item = await request.app[CONTENT].get(check_content_id(request.match_info["id"]))
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


@admin_only
@idempotent
async def create_item(request: web.Request) -> web.Response:
    request_input = parse_create(await read_json(request))
    item = await request.app[CONTENT].create(request_input, CHANGED_BY)
    return data_response(item.to_wire(), status=201, headers={"ETag": item_etag(item.version)})


@admin_only
@idempotent
async def update_item(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    update = parse_update(await read_json(request))
    update = replace(update, version=_expected_version(request, update.version))
    item = await request.app[CONTENT].update(content_id, update, CHANGED_BY)
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


@admin_only
@idempotent
async def delete_item(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    await request.app[CONTENT].delete(content_id, CHANGED_BY, hard=query_bool(request, "hard"))
    return success_response()


@admin_only
async def history(request: web.Request) -> web.Response:
    entries = await request.app[CONTENT].history(
        check_content_id(request.match_info["id"]),
        limit=query_int(request, "limit", 50, 1, 100),
        offset=query_int(request, "offset", 0, 0, 2**31),
    )
    return data_response([entry.to_wire() for entry in entries])


@admin_only
@idempotent
async def restore(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    version = parse_restore(await read_json(request))
    item = await request.app[CONTENT].restore(content_id, version, CHANGED_BY)
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


def register(app: web.Application) -> None:
    router = app.router
    router.add_get("/api/v1/admin/content", list_items)
    router.add_post("/api/v1/admin/content", create_item)
    router.add_get("/api/v1/admin/content/{id}", get_item)
    router.add_put("/api/v1/admin/content/{id}", update_item)
    router.add_delete("/api/v1/admin/content/{id}", delete_item)
    router.add_get("/api/v1/admin/content/{id}/history", history)
    router.add_post("/api/v1/admin/content/{id}/restore", restore)
