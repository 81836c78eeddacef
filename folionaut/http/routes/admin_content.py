"""Admin content API: CRUD, history and restore (reads: the read scope; changes: the write scope);
mutations honour Idempotency-Key. History rows name the credential that made each change."""

from __future__ import annotations

import re
from dataclasses import replace

from aiohttp import web

from folionaut.content.models import ADMIN_SORT_KEYS, STATUSES, AdminListQuery
from folionaut.content.service import ContentService
from folionaut.content.validation import (
    MAX_SEARCH_CHARS,
    check_admin_sort,
    check_content_id,
    check_name,
    check_search,
    check_status_filter,
    parse_create,
    parse_restore,
    parse_update,
)
from folionaut.core.errors import ValidationError
from folionaut.http import openapi as oa
from folionaut.http.auth import principal_of
from folionaut.http.idempotency import write_receipt
from folionaut.http.params import query_bool, query_int, query_str
from folionaut.http.responses import data_response, json_response, read_json, success_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME

__all__ = ["ROUTES", "item_etag"]

CHANNEL = "admin"
# The admin ETag (W/"v3", or strong "v3") or the bare version number (3).
_IF_MATCH = re.compile(r'^[ \t]*(?:(?:W/)?"v?(\d{1,16})"|v?(\d{1,16}))[ \t]*$')


def _content(request: web.Request) -> ContentService:
    return request.app[RUNTIME].content


def _changed_by(request: web.Request) -> str:
    return principal_of(request).changed_by(CHANNEL)


def item_etag(version: int) -> str:
    """Admin ETag of an item: its version, which changes on every change."""
    return f'W/"v{version}"'


def _expected_version(request: web.Request, body_version: int | None) -> int | None:
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return body_version
    match = _IF_MATCH.fullmatch(header)
    if not match:
        raise ValidationError.single("If-Match", 'Expected the item\'s ETag (W/"v3") or its version number')
    version = int(match.group(1) or match.group(2))
    if body_version is not None and body_version != version:
        raise ValidationError.single("version", "Does not match the If-Match header")
    return version


def _deleted_filter(request: web.Request) -> str:
    trash, include_deleted = query_bool(request, "trash"), query_bool(request, "includeDeleted")
    if trash and include_deleted:
        raise ValidationError.single("trash", "Cannot be combined with includeDeleted")
    return "only" if trash else "include" if include_deleted else "exclude"


async def list_items(request: web.Request) -> web.Response:
    raw_type = query_str(request, "type")
    sort, descending = check_admin_sort(query_str(request, "sort"))
    query = AdminListQuery(
        content_type=check_name(raw_type, "type") if raw_type else None,
        status=check_status_filter(query_str(request, "status")),
        deleted=_deleted_filter(request),
        search=check_search(query_str(request, "q")),
        sort=sort, descending=descending,
    )
    cursor = query_str(request, "cursor")
    offset = query_int(request, "offset", 0, 0, 2**31)
    if cursor is not None and offset:
        raise ValidationError.single("offset", "Give either cursor or offset, not both")
    page, total = await _content(request).page_admin(
        query, limit=query_int(request, "limit", 50, 1, 100), offset=offset, cursor=cursor,
        with_total=query_bool(request, "includeTotal"),
    )
    body: dict[str, object] = {"data": [item.to_wire() for item in page.items], "nextCursor": page.next_cursor}
    if total is not None:
        body["total"] = total
    return json_response(body)


async def get_item(request: web.Request) -> web.Response:
    item = await _content(request).get(check_content_id(request.match_info["id"]))
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


async def create_item(request: web.Request) -> web.Response:
    request_input = parse_create(await read_json(request))
    item = await _content(request).create(request_input, _changed_by(request), write_receipt(request))
    return data_response(item.to_wire(), status=201, headers={"ETag": item_etag(item.version)})


async def update_item(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    update = parse_update(await read_json(request))
    update = replace(update, version=_expected_version(request, update.version))
    item = await _content(request).update(content_id, update, _changed_by(request), write_receipt(request))
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


async def delete_item(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    await _content(request).delete(content_id, _changed_by(request), hard=query_bool(request, "hard"),
                                   receipt=write_receipt(request))
    return success_response()


async def history(request: web.Request) -> web.Response:
    entries = await _content(request).history(
        check_content_id(request.match_info["id"]),
        limit=query_int(request, "limit", 50, 1, 100),
        offset=query_int(request, "offset", 0, 0, 2**31),
    )
    return data_response([entry.to_wire() for entry in entries])


async def restore(request: web.Request) -> web.Response:
    content_id = check_content_id(request.match_info["id"])
    version = parse_restore(await read_json(request))
    item = await _content(request).restore(content_id, version, _changed_by(request), write_receipt(request))
    return data_response(item.to_wire(), headers={"ETag": item_etag(item.version)})


_ADMIN = ("feature_admin_api",)
_ITEM = oa.data(oa.schema("ContentItem"))
_BOOLEAN_QUERY = {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}
_WRITTEN_HEADERS = {**oa.ETAG_HEADER, **oa.REPLAYED}

ROUTES = (
    Route("GET", "/api/v1/admin/content", list_items, Access.READ, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "Items of any status, a page at a time", "operationId": "adminListContent",
        "description": "Page through with `cursor` (the previous page's `nextCursor`): each page costs the same "
                       "however deep, and items added or removed meanwhile never make a page skip or repeat one "
                       "that was there throughout (in the default order; sorted or searched, the cursor carries "
                       "the position). `offset` still works (not together with `cursor`).",
        "parameters": [
            {"name": "type", "in": "query", "schema": oa.NAME_SCHEMA},
            {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
            {"name": "includeDeleted", "in": "query", "description": "Soft-deleted items too (true/false/1/0)",
             "schema": _BOOLEAN_QUERY},
            {"name": "trash", "in": "query", "description": "Only soft-deleted items (true/false/1/0)",
             "schema": _BOOLEAN_QUERY},
            {"name": "q", "in": "query", "description": "Full-text search: every word, prefix-matched, in the "
             "slug, title or any text of the data (any status); ordered by relevance unless sort is given",
             "schema": {"type": "string", "maxLength": MAX_SEARCH_CHARS}},
            {"name": "sort", "in": "query", "description": "Order by this field; a leading - for descending. "
             "Default: sortOrder, then newest first",
             "schema": {"type": "string", "enum": [*ADMIN_SORT_KEYS, *(f"-{key}" for key in ADMIN_SORT_KEYS)]}},
            {"name": "includeTotal", "in": "query", "description": "Add total: how many items match in all",
             "schema": _BOOLEAN_QUERY},
            oa.param("Limit"), oa.param("Cursor"), oa.param("Offset"),
        ],
        "responses": {"200": oa.json_content({
            "type": "object", "required": ["data", "nextCursor"],
            "properties": {**oa.page(oa.schema("ContentItem"))["properties"],
                           "total": {"type": "integer", "description": "Only with includeTotal=true"}}}),
            **oa.errors(400, 401)},
    }),
    Route("POST", "/api/v1/admin/content", create_item, Access.WRITE, idempotent=True, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "Create an item", "operationId": "adminCreateContent",
        "requestBody": oa.body(oa.schema("ContentCreate")),
        "responses": {"201": oa.json_content(_ITEM, "Created", headers=_WRITTEN_HEADERS),
                      **oa.errors(400, 401, 409, 413)},
    }),
    Route("GET", "/api/v1/admin/content/{id}", get_item, Access.READ, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "One item, soft-deleted ones included", "operationId": "adminGetContent",
        "parameters": [oa.param("ContentId")],
        "responses": {"200": oa.json_content(_ITEM, headers={"ETag": {
            "description": 'W/"v<version>": send it back in If-Match on PUT.', "schema": {"type": "string"}}}),
            **oa.errors(400, 401, 404)},
    }),
    Route("PUT", "/api/v1/admin/content/{id}", update_item, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["admin"], "summary": "Partial update (version +1)", "operationId": "adminUpdateContent",
        "parameters": [oa.param("ContentId"),
                       {"name": "If-Match", "in": "header", "schema": {"type": "string"},
                        "description": 'The item\'s admin ETag (W/"v3") or version number; 409 if stale.'}],
        "requestBody": oa.body(oa.schema("ContentUpdate")),
        "responses": {"200": oa.json_content(_ITEM, headers=_WRITTEN_HEADERS), **oa.errors(400, 401, 404, 409, 413)},
    }),
    Route("DELETE", "/api/v1/admin/content/{id}", delete_item, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["admin"], "summary": "Soft delete, or permanent with hard=true (history too)",
        "operationId": "adminDeleteContent",
        "parameters": [oa.param("ContentId"),
                       {"name": "hard", "in": "query", "description": "true/false/1/0", "schema": _BOOLEAN_QUERY}],
        "responses": {"200": oa.json_content(oa.schema("Success"), headers=oa.REPLAYED),
                      **oa.errors(400, 401, 404, 409)},
    }),
    Route("GET", "/api/v1/admin/content/{id}/history", history, Access.READ, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "Version history, newest first", "operationId": "adminContentHistory",
        "parameters": [oa.param("ContentId"), oa.param("Limit"), oa.param("Offset")],
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("HistoryEntry")))),
                      **oa.errors(400, 401, 404)},
    }),
    Route("POST", "/api/v1/admin/content/{id}/restore", restore, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["admin"], "summary": "Copy an earlier version's data into a new version (undeletes)",
        "operationId": "adminRestoreContent",
        "parameters": [oa.param("ContentId")], "requestBody": oa.body(oa.schema("RestoreRequest")),
        "responses": {"200": oa.json_content(_ITEM, headers=_WRITTEN_HEADERS), **oa.errors(400, 401, 404, 409, 413)},
    }),
)
