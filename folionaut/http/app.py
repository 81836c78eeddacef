"""The app factory: ``create_app(settings)`` builds the whole service.

Resources (database, caches, clients) are opened and closed in cleanup
contexts, in order, and reached through the ``AppKey``s in ``keys.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from folionaut.cache.memory import MemoryCache
from folionaut.chat.llm import LLMClient, is_breaker_failure
from folionaut.chat.offline import OfflineResponder
from folionaut.chat.repository import ChatRepository
from folionaut.chat.service import ChatService
from folionaut.chat.summary import PortfolioSummary
from folionaut.content.models import ContentItem
from folionaut.content.reads import PublishedReads
from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.core.clock import Clock, SystemClock
from folionaut.core.logging import get_logger
from folionaut.http import idempotency
from folionaut.http.inflight import InFlightRequests
from folionaut.http.keys import (
    CLOCK,
    CONTENT,
    CONTENT_CACHE,
    DATABASE,
    IN_FLIGHT,
    KV_STORE,
    METRICS,
    SETTINGS,
    STARTED_AT,
)
from folionaut.http.middlewares import make_edge_middleware
from folionaut.http.resilience import setup_resilience
from folionaut.http.responses import MAX_BODY_BYTES
from folionaut.http.routes import admin_content, chat, content, health, openapi
from folionaut.http.routes import metrics as metrics_routes
from folionaut.mcp import http as mcp_http
from folionaut.observability.metrics import Metrics
from folionaut.resilience.breaker import CircuitBreaker
from folionaut.settings import Settings
from folionaut.storage import open_database
from folionaut.storage.migrate import apply_migrations
from folionaut.tools import ToolRegistry, read_tools

log = get_logger("app")

#: How soon content written by another process (instance, `folionaut mcp`, restore) shows.
EXTERNAL_CHANGE_POLL_SECONDS = 1.0


async def database_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = await open_database(settings)
    try:
        applied = await apply_migrations(db, app[CLOCK])
        for migration in applied:
            log.info("applied migration %04d_%s", migration.version, migration.name)
        app[DATABASE] = db
        yield
    finally:
        await db.close()


async def content_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    service = ContentService(ContentRepository(app[DATABASE]), app[CLOCK], audit_log=settings.feature_audit_log)
    app[CONTENT] = service
    if CONTENT_CACHE not in app:
        app[CONTENT_CACHE] = MemoryCache(settings.content_cache_ttl_seconds, app[METRICS], clock=app[CLOCK])
    app[content.PUBLISHED_RESPONSES] = content.PublishedResponses(PublishedReads(service, app[CONTENT_CACHE]))
    watcher = asyncio.create_task(service.watch_external_changes(EXTERNAL_CHANGE_POLL_SECONDS))
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await app[CONTENT_CACHE].close()


async def chat_context(app: web.Application) -> AsyncIterator[None]:
    settings, clock, metrics, content_service = app[SETTINGS], app[CLOCK], app[METRICS], app[CONTENT]
    breaker = CircuitBreaker(
        "llm", clock, metrics, is_failure=is_breaker_failure,
        failure_threshold=settings.circuit_breaker_failure_threshold,
        reset_timeout_seconds=settings.circuit_breaker_reset_timeout_ms / 1000,
        success_threshold=settings.circuit_breaker_success_threshold,
    )
    llm = LLMClient(settings, metrics, breaker, clock=clock, sleep=app.get(chat.LLM_SLEEP, asyncio.sleep))
    await llm.start()

    async def search(query: str, limit: int) -> list[ContentItem]:
        return await content_service.search_published(query, limit)

    async def list_types() -> list[tuple[str, int]]:
        return await content_service.published_types()

    offline = OfflineResponder(search, list_types, content_service.list_published,
                               owner_name=settings.portfolio_owner_name)
    app[chat.CHAT] = ChatService(
        ChatRepository(app[DATABASE]), llm, ToolRegistry(read_tools(content_service)),
        PortfolioSummary(content_service), offline, settings, clock, metrics, kv=app[KV_STORE],
    )
    try:
        yield
    finally:
        await llm.close()


def create_app(settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None) -> web.Application:
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    in_flight = InFlightRequests()
    app = web.Application(
        middlewares=[make_edge_middleware(settings, metrics, in_flight)],
        client_max_size=MAX_BODY_BYTES,
        handler_args={"access_log": None},
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[METRICS] = metrics
    app[STARTED_AT] = clock.monotonic()
    app[IN_FLIGHT] = in_flight

    setup_resilience(app)  # Redis, limiters, shared cache, KV: before the content context uses the cache
    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(content_context)
    if settings.feature_ai_chat:
        app.cleanup_ctx.append(chat_context)

    health.register(app)
    content.register(app)
    metrics_routes.register(app)
    openapi.register(app)
    idempotency.setup(app)
    if settings.feature_admin_api:
        admin_content.register(app)
    if settings.feature_ai_chat:
        chat.register(app, admin=settings.feature_admin_api)
    if settings.feature_mcp_server:
        mcp_http.register(app)  # after content_context: the MCP server writes through app[CONTENT]
    return app
