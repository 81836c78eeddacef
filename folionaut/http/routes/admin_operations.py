"""What the admin web app's overview and backups screens read: the service at a glance, and a dump."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from folionaut import __version__
from folionaut.http import openapi as oa
from folionaut.http.params import query_int
from folionaut.http.responses import data_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME
from folionaut.observability.health import run_checks

__all__ = ["ROUTES"]


async def overview(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    settings = runtime.settings
    readiness, counts, changes = await asyncio.gather(
        run_checks(runtime.health_checks), runtime.content.counts(),
        runtime.content.recent_changes(query_int(request, "recent", 10, 1, 50)))
    breaker = runtime.llm_breaker
    return data_response({
        "version": __version__,
        "environment": settings.environment,
        "uptimeSeconds": int(runtime.clock.monotonic() - runtime.started_at),
        "status": readiness.status,
        "checks": readiness.checks,
        "llm": {
            "chatEnabled": settings.feature_ai_chat,
            # Without LLM_API_KEY chat answers from the built-in offline responder.
            "provider": "offline" if not settings.llm_api_key else settings.llm_provider,
            "model": settings.llm_model if settings.llm_api_key else None,
            "breaker": breaker.state if breaker is not None else None,
        },
        "counts": [{"type": kind, "status": status, "deleted": deleted, "count": count}
                   for kind, status, deleted, count in counts],
        "recentChanges": [{**entry.to_wire(), "type": kind, "slug": slug} for entry, kind, slug in changes],
    }, headers={"Cache-Control": "no-store"})


async def backup(request: web.Request) -> web.Response:
    # Imported here: the dump machinery (storage/dump.py, restore's checks) is ~12 ms of every start otherwise.
    from folionaut.operations.backups import encode_dump, snapshot_of

    runtime = request.app[RUNTIME]
    text = await snapshot_of(runtime.database)
    body = await asyncio.to_thread(encode_dump, text, compress=True)  # gzip of a large dump: off the event loop
    name = time.strftime("folionaut-%Y%m%d-%H%M%S.sql.gz", time.gmtime(runtime.clock.time()))
    return web.Response(body=body, headers={
        "Content-Type": "application/gzip",
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
    })


_ADMIN = ("feature_admin_api",)
_CHANGE = {"allOf": [oa.schema("HistoryEntry"), {
    "type": "object", "required": ["type", "slug"],
    "properties": {"type": oa.NAME_SCHEMA, "slug": oa.NAME_SCHEMA}}]}

ROUTES = (
    Route("GET", "/api/v1/admin/overview", overview, Access.READ, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "The service at a glance: readiness, LLM breaker, item counts, recent changes",
        "operationId": "adminOverview",
        "parameters": [{"name": "recent", "in": "query", "description": "How many recent changes (1–50)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}}],
        "responses": {"200": oa.json_content(oa.data({
            "type": "object",
            "required": ["version", "status", "checks", "llm", "counts", "recentChanges"],
            "properties": {
                "version": {"type": "string"}, "environment": {"type": "string"},
                "uptimeSeconds": {"type": "integer"},
                "status": {"type": "string", "enum": ["ready", "degraded", "unhealthy"]},
                "checks": {"type": "object", "additionalProperties": {"type": "string", "enum": ["ok", "error"]}},
                "llm": {"type": "object", "properties": {
                    "chatEnabled": {"type": "boolean"},
                    "provider": {"type": "string", "description": "\"offline\" without LLM_API_KEY"},
                    "model": {"type": ["string", "null"]},
                    "breaker": {"type": ["string", "null"], "enum": ["closed", "half_open", "open", None]}}},
                "counts": oa.array({"type": "object", "properties": {
                    "type": oa.NAME_SCHEMA, "status": {"type": "string"}, "deleted": {"type": "boolean"},
                    "count": {"type": "integer"}}}),
                "recentChanges": oa.array(_CHANGE),
            }})), **oa.errors(400, 401)},
    }),
    # The whole database (API tokens' records included): the owner's, as token management is.
    Route("GET", "/api/v1/admin/backup", backup, Access.ROOT, features=_ADMIN, operation={
        "tags": ["admin"], "summary": "Download a dump of the database (.sql.gz, one consistent snapshot)",
        "operationId": "adminBackup",
        "description": "The same SQL as `folionaut dump --gzip`; load it with `folionaut restore FILE`. "
                       "Sign-ins of the admin web app are never included. The admin key only (or a web session "
                       "signed in with it): a dump holds everything, API tokens' records included.",
        "responses": {"200": {"description": "gzip'd SQL dump (Content-Disposition: attachment)",
                              "content": {"application/gzip": {"schema": {"type": "string",
                                                                          "format": "binary"}}}},
                      **oa.errors(401)},
    }),
)
