"""The runtime: the whole service without a transport, opened and closed in one stated order.

``Runtime`` is the composition root (as Datasette's ``Datasette`` or PocketBase's
``core.App``): it owns the settings, the clock, the metrics and every resource,
and it is the only place that builds them. The transports are thin shells over
it: ``folionaut.http.app.create_app`` serves it over HTTP (reaching it through one
``AppKey``), ``folionaut.mcp.stdio`` over stdin/stdout, and every CLI command
opens as much of it as it needs.

Opening order (closing runs in reverse), each layer using only those above it:

1. ``STORAGE``: the database (``database``), pending migrations applied when asked.
2. ``SHARED_STATE``: Redis when ``REDIS_URL`` is set (``redis``), and what lives
   there or in process memory without it: ``records`` (idempotency records,
   chat-session lookups, MCP sessions), ``content_cache`` (rendered public
   reads: one build per key at a time, invalidated by what each write touched —
   ``cache/read_through.py``), ``rate_limiters`` and ``client_hashes``; with Redis also ``bus``
   (messages to the other instances). In a worker of ``serve --workers N``
   (``workers``), also its channel to its siblings (``siblings``), and records
   and rate limits in what the workers share when there is no Redis.
3. ``SERVICES``: ``tokens`` (API tokens, read through the database), ``content``
   (with its watch for other processes' writes, and its changes passed to the
   other processes: ``content/propagation.py``), ``webhooks`` (its outbox
   recorded with every content change, its dispatcher delivering in the
   background), then the LLM's circuit breaker (``llm_breaker``) and
   ``admin_sessions`` (sign-ins of the admin web app), each only when its
   feature is on. The chat (the LLM client, the offline responder) and the MCP
   server (its tools and catalog) are made on first use, ``chat_service()`` and
   ``mcp_server()``: most starts never see a visitor's question or an
   assistant before the next restart. The chat closes before the layers it uses.

It imports nothing of aiohttp's server side (the LLM client is an aiohttp
*client*); ``tests/test_architecture.py`` keeps it that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import TYPE_CHECKING

from folionaut.cache.base import keys_touched_by
from folionaut.core.clock import Clock, SystemClock
from folionaut.core.logging import get_logger
from folionaut.core.workers import WorkerGroup
from folionaut.observability.health import HealthCheck
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings
from folionaut.storage import Database, open_database
from folionaut.storage.migrate import apply_migrations

if TYPE_CHECKING:  # imported where used: the shared state and the services when their layer opens (`dump`,
    # `restore`, `migrate` and `check` start without them), Redis only with REDIS_URL, prometheus_client's
    # files only in workers, chat, MCP and webhooks (aiohttp's client) only with their features
    from folionaut.access.service import TokenService
    from folionaut.admin_sessions import AdminSessions
    from folionaut.cache.key_value_store import KeyValueStore
    from folionaut.cache.read_through import ReadThroughCache
    from folionaut.chat.llm import SleepFn
    from folionaut.chat.service import ChatService
    from folionaut.content.models import ContentChange
    from folionaut.content.service import ContentService
    from folionaut.mcp.protocol import McpServer
    from folionaut.observability.metrics_files import WorkerMetrics
    from folionaut.resilience.breaker import CircuitBreaker
    from folionaut.resilience.ratelimit import ClientHashes, RateLimiter, TokenBucket
    from folionaut.resilience.redis_bus import RedisBus
    from folionaut.resilience.shared_redis import SharedRedis
    from folionaut.resilience.siblings import Siblings
    from folionaut.webhooks.dispatcher import WebhookDispatcher
    from folionaut.webhooks.service import WebhookService

__all__ = ["EXTERNAL_CHANGE_POLL_SECONDS", "SIGN_IN_RATE_LIMIT", "Layer", "Runtime"]

log = get_logger("runtime")

#: How soon content written by another process (instance, `folionaut mcp`, restore) shows.
EXTERNAL_CHANGE_POLL_SECONDS = 1.0
#: What a worker tells its siblings before it answers a scrape: write your metrics now.
METRICS_SNAPSHOT = "metrics-snapshot"
#: Sign-in attempts of the admin web app per client: a burst of 10, then one every 6 seconds.
#: (The admin key is 32+ random characters; this keeps guessing and log noise bounded.)
SIGN_IN_RATE_LIMIT = (10, 1 / 6)


class Layer(enum.IntEnum):
    """How much of the runtime to open: each layer includes those before it."""

    STORAGE = 1
    SHARED_STATE = 2
    SERVICES = 3


class Runtime:
    """Everything the service is made of. Build it with settings, then ``async with runtime:``
    (or ``await runtime.open(...)`` / ``await runtime.close()``)."""

    database: Database
    records: KeyValueStore
    content_cache: ReadThroughCache
    rate_limiters: dict[str, RateLimiter]
    client_hashes: ClientHashes
    tokens: TokenService
    content: ContentService
    webhooks: WebhookService
    webhook_dispatcher: WebhookDispatcher

    def __init__(self, settings: Settings, *, clock: Clock | None = None, metrics: Metrics | None = None,
                 llm_sleep: SleepFn | None = None, workers: WorkerGroup | None = None) -> None:
        self.settings = settings
        #: The group of worker processes this one belongs to (``serve --workers N``), or None.
        self.workers = workers
        #: This process, as other processes of the service address it (e.g. the holder of an MCP stream).
        self.process_id = f"{workers.directory.name}:{workers.index}" if workers else secrets.token_hex(8)
        self.siblings: Siblings | None = None
        #: Messages to the service's other processes through Redis (with REDIS_URL).
        self.bus: RedisBus | None = None
        self.worker_metrics: WorkerMetrics | None = None
        self.clock = clock or SystemClock()
        self.metrics = metrics or Metrics()
        self.started_at = self.clock.monotonic()
        #: The sleep the LLM client waits its retry backoff with (tests pass a recorder).
        self.llm_sleep: SleepFn = llm_sleep or asyncio.sleep
        self.redis: SharedRedis | None = None
        #: The visitor chat once opened (``chat_service()``, with FEATURE_AI_CHAT on).
        self.chat: ChatService | None = None
        self._opening_chat = asyncio.Lock()
        #: The MCP server once made (``mcp_server()``, with FEATURE_MCP_SERVER on).
        self.mcp: McpServer | None = None
        self.admin_sessions: AdminSessions | None = None
        #: The LLM's circuit breaker (with chat on): the admin overview shows its state.
        self.llm_breaker: CircuitBreaker | None = None
        self.health_checks: list[HealthCheck] = []
        self.opened: Layer | None = None
        self._closing = contextlib.AsyncExitStack()

    # --- lifecycle ---------------------------------------------------------------------------

    async def open(self, upto: Layer = Layer.SERVICES, *, migrate: bool = True, read_only: bool = False) -> Runtime:
        """Open the layers up to ``upto`` in order; on any failure, close what was opened.
        ``read_only`` (storage only): the database is opened so that nothing on disk changes."""
        if self.opened is not None:
            raise RuntimeError("this runtime is already open")
        try:
            await self._open_storage(migrate, read_only)
            self.opened = Layer.STORAGE
            if upto >= Layer.SHARED_STATE:
                await self._open_shared_state()
                self.opened = Layer.SHARED_STATE
            if upto >= Layer.SERVICES:
                await self._open_services()
                self.opened = Layer.SERVICES
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close everything opened, in reverse order. Nothing opens on first use once closing has begun."""
        self.opened = None
        try:
            await self._closing.aclose()
        finally:
            self._closing = contextlib.AsyncExitStack()
            self.opened = None
            # Closed with the rest (the chat) or built on what was (MCP): a reopened runtime makes new ones.
            self.chat = None
            self.mcp = None

    async def __aenter__(self) -> Runtime:
        # A worker of a group never migrates: its supervisor did, once, before starting it.
        return await self.open(migrate=self.workers is None)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.close()

    @classmethod
    @contextlib.asynccontextmanager
    async def storage_only(cls, settings: Settings, *, migrate: bool = False,
                           read_only: bool = False) -> AsyncIterator[Runtime]:
        """Just the database: what `migrate`, `dump`, `restore` and `check` need."""
        runtime = cls(settings)
        await runtime.open(Layer.STORAGE, migrate=migrate, read_only=read_only)
        try:
            yield runtime
        finally:
            await runtime.close()

    # --- 1. storage --------------------------------------------------------------------------

    async def _open_storage(self, migrate: bool, read_only: bool = False) -> None:
        self.database = await open_database(self.settings, read_only=read_only)
        self._closing.push_async_callback(self.database.close)
        if migrate:
            for migration in await apply_migrations(self.database, self.clock):
                log.info("applied migration %04d_%s", migration.version, migration.name)
        self.health_checks.append(HealthCheck(
            "database", True, self.database.ping, on_failure=self.metrics.database_connection_errors.inc))

    # --- 2. shared state ---------------------------------------------------------------------

    async def _open_shared_state(self) -> None:
        from folionaut.cache.memory import MemoryCache
        from folionaut.cache.read_through import ReadThroughCache
        from folionaut.resilience.ratelimit import ClientHashes, build_rate_limiter

        settings, clock, metrics = self.settings, self.clock, self.metrics
        self.client_hashes = ClientHashes(ip_hash_salt(settings), settings.trust_proxy)
        local = MemoryCache(settings.l1_cache_ttl_seconds if settings.redis_url else settings.content_cache_ttl_seconds,
                            metrics, clock=clock, max_entries=settings.content_cache_max_entries,
                            max_bytes=settings.content_cache_max_mb * 1024 * 1024)
        if settings.redis_url:
            # Imported here: the Redis client is ~60 modules that a start without REDIS_URL never needs.
            from folionaut.cache.key_value_store import FailOpenKeyValueStore, RedisKeyValueStore
            from folionaut.cache.layered import LayeredCache
            from folionaut.cache.redis import RedisCache
            from folionaut.resilience.redis_bus import RedisBus
            from folionaut.resilience.shared_redis import SharedRedis, create_redis_client

            redis = self.redis = SharedRedis(create_redis_client(settings.redis_url), clock, metrics)
            self._closing.push_async_callback(redis.client.aclose)
            if await redis.ping():  # a down Redis at startup is logged by SharedRedis and tolerated
                log.info("using Redis for the shared cache, rate limits, sessions and idempotency")
            bus = self.bus = RedisBus(redis, self.process_id, self.workers.directory.name if self.workers else "")
            await bus.open(wait_seconds=1.0 if redis.is_up else 0.0)
            self._closing.push_async_callback(bus.close)
            self.health_checks.append(HealthCheck("redis", False, redis.require))
            self.records = FailOpenKeyValueStore(RedisKeyValueStore(redis.client), self._local_records(), redis)
            self.content_cache = ReadThroughCache(
                LayeredCache(local, RedisCache(redis.client, settings.content_cache_ttl_seconds, metrics), redis),
                local, metrics)
        else:
            self.records = self._local_records()
            self.content_cache = ReadThroughCache(local, local, metrics)
        self._closing.push_async_callback(self.records.close)
        self._closing.push_async_callback(self.content_cache.close)
        if self.workers is not None:
            await self._open_worker_group(self.workers)
        limits = {"content": (settings.content_rate_limit_capacity, settings.content_rate_limit_refill_rate),
                  "chat": (settings.rate_limit_capacity, settings.rate_limit_refill_rate),
                  "sign_in": SIGN_IN_RATE_LIMIT}
        self.rate_limiters = {
            name: build_rate_limiter(name, capacity, rate, clock=clock, metrics=metrics, shared_redis=self.redis,
                                     local=self._workers_table(name, capacity, rate))
            for name, (capacity, rate) in limits.items()
        }

    async def _open_worker_group(self, workers: WorkerGroup) -> None:
        """The channel to the sibling workers, and this worker's part of the server's metrics."""
        from folionaut.observability.metrics_files import SNAPSHOT_SECONDS, WorkerMetrics
        from folionaut.resilience.siblings import Siblings

        siblings = self.siblings = Siblings(workers)
        await siblings.open()
        self._closing.push_async_callback(siblings.close)
        worker_metrics = self.worker_metrics = WorkerMetrics(self.metrics.registry, workers.metrics_directory)
        self._closing.callback(worker_metrics.close)  # a last snapshot: its counts outlive it

        async def snapshot(_body: object) -> None:
            worker_metrics.snapshot()

        siblings.on(METRICS_SNAPSHOT, snapshot)
        copier = asyncio.create_task(_every(SNAPSHOT_SECONDS, worker_metrics.snapshot))
        self._closing.push_async_callback(_cancelled, copier)

    async def metrics_text(self) -> bytes:
        """The metrics of the whole server: this process's, or every worker's merged, as of now."""
        if self.worker_metrics is None or self.siblings is None:
            return self.metrics.render()
        await self.siblings.tell(METRICS_SNAPSHOT)
        return self.worker_metrics.render_all()

    def _local_records(self) -> KeyValueStore:
        """Records on this host: the file the workers of this server share, else process memory."""
        from folionaut.cache.key_value_file import FileKeyValueStore
        from folionaut.cache.key_value_store import MemoryKeyValueStore

        if self.workers is not None:
            return FileKeyValueStore(self.workers.records_file, self.clock)
        return MemoryKeyValueStore(self.clock)

    def _workers_table(self, name: str, capacity: int, refill_rate: float) -> TokenBucket | None:
        """The buckets every worker of this server shares (None outside a worker group)."""
        if self.workers is None:
            return None
        from folionaut.resilience.ratelimit_shared import SharedTableRateLimiter

        table = SharedTableRateLimiter(name, capacity, refill_rate, self.clock, self.workers.limiter_table(name))
        self._closing.callback(table.close)
        return table

    # --- 3. services -------------------------------------------------------------------------

    async def _open_services(self) -> None:
        from folionaut.access.repository import TokenRepository
        from folionaut.access.service import TokenService
        from folionaut.admin_sessions import AdminSessionRepository, AdminSessions
        from folionaut.content.propagation import ChangePropagation
        from folionaut.content.repository import ContentRepository
        from folionaut.content.service import ContentService
        from folionaut.resilience.breaker import CircuitBreaker

        settings = self.settings
        self.tokens = TokenService(TokenRepository(self.database), self.clock)
        self.content = ContentService(ContentRepository(self.database), self.clock,
                                      audit_log=settings.feature_audit_log)
        # First listener: this process's cached reads are dropped before the change is passed on.
        self.content.on_change(self._invalidate_cached_reads)
        watcher = asyncio.create_task(self.content.watch_external_changes(EXTERNAL_CHANGE_POLL_SECONDS))
        self._closing.push_async_callback(_cancelled, watcher)
        if self.siblings is not None or self.bus is not None:
            ChangePropagation(self.content, self.siblings, self.bus)
        await self._open_webhooks()
        if settings.feature_ai_chat:
            # The breaker now, the chat itself on first use (``chat_service``): the overview and
            # /metrics show the breaker's state from the start.
            self.llm_breaker = CircuitBreaker(
                "llm", self.clock, self.metrics, is_failure=_is_llm_failure,
                failure_threshold=settings.circuit_breaker_failure_threshold,
                reset_timeout_seconds=settings.circuit_breaker_reset_timeout_ms / 1000,
                success_threshold=settings.circuit_breaker_success_threshold,
            )
        if settings.feature_admin_api and settings.feature_admin_ui:
            self.admin_sessions = AdminSessions(
                AdminSessionRepository(self.database), self.clock, settings.admin_session_ttl_minutes * 60,
                settings.admin_api_key, self.tokens)

    async def _invalidate_cached_reads(self, change: ContentChange) -> None:
        """A write (here, or told by another process) drops the reads it can change; one nobody told
        us about (kind external: unknown keys) drops them all."""
        if change.kind == "external":
            await self.content_cache.invalidate()
        else:
            await self.content_cache.invalidate(keys_touched_by(change.content_type, *change.slugs))

    async def _open_webhooks(self) -> None:
        from folionaut.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
        from folionaut.webhooks.outbox import WebhookOutbox
        from folionaut.webhooks.repository import WebhookRepository
        from folionaut.webhooks.sender import WebhookSender
        from folionaut.webhooks.service import WebhookService
        from folionaut.webhooks.url_guard import UrlGuard

        settings, clock = self.settings, self.clock
        # Before any write: every content change from now on carries its webhook event in its own batch.
        self.content.record_changes_with(WebhookOutbox(clock).record)
        guard = UrlGuard(settings.webhook_allow_private)
        sender = WebhookSender(guard, clock, settings.webhook_timeout_seconds)
        await sender.start()
        self._closing.push_async_callback(sender.close)
        repository = WebhookRepository(self.database)
        self.webhooks = WebhookService(repository, guard, sender, clock, self.metrics)
        dispatcher = self.webhook_dispatcher = WebhookDispatcher(
            repository, sender, clock, self.metrics, RetryPolicy(settings.webhook_retry_base_seconds))
        dispatcher.start()
        self._closing.push_async_callback(dispatcher.close)

        async def wake(_change: ContentChange) -> None:
            dispatcher.wake()

        self.content.on_change(wake)

    async def chat_service(self) -> ChatService:
        """The visitor chat, opened on first use: its modules (the offline responder's patterns, the
        LLM client: ~25 ms of imports) are not paid by a start, nor by a process that never chats.
        Opened once, whoever asks first; it closes before what it was built on (the exit stack)."""
        if self.chat is None:
            if not self.settings.feature_ai_chat:
                raise RuntimeError("chat is off (FEATURE_AI_CHAT=false)")
            async with self._opening_chat:
                if self.chat is None:
                    if self.opened is not Layer.SERVICES:
                        raise RuntimeError("the runtime's services are not open")
                    self.chat = await self._open_chat()
        return self.chat

    def mcp_server(self) -> McpServer:
        """The MCP server (FEATURE_MCP_SERVER on), made on first use: its tools and catalog are not
        imported by a start that no assistant connects to. It holds nothing to close."""
        if self.mcp is None:
            if not self.settings.feature_mcp_server:
                raise RuntimeError("MCP is off (FEATURE_MCP_SERVER=false)")
            if self.opened is not Layer.SERVICES:
                raise RuntimeError("the runtime's services are not open")
            from folionaut.mcp.protocol import McpServer

            self.mcp = McpServer(self.content)
        return self.mcp

    async def _open_chat(self) -> ChatService:
        from folionaut.chat.llm import LLMClient
        from folionaut.chat.offline import OfflineResponder
        from folionaut.chat.repository import ChatRepository
        from folionaut.chat.service import ChatService
        from folionaut.chat.summary import PortfolioSummary
        from folionaut.content.assistant_tools import ToolRegistry, read_tools

        settings, clock, metrics, content = self.settings, self.clock, self.metrics, self.content
        assert self.llm_breaker is not None
        async with contextlib.AsyncExitStack() as opening:  # a failed open closes what it opened
            llm = LLMClient(settings, metrics, self.llm_breaker, clock=clock, sleep=self.llm_sleep)
            await llm.start()
            opening.push_async_callback(llm.close)
            offline = OfflineResponder(content.list_published, content.search_published,
                                       owner_name=settings.portfolio_owner_name,
                                       contact_email=settings.public_contact_email,
                                       contact_phone=settings.public_contact_phone)
            chat = ChatService(
                ChatRepository(self.database), llm, ToolRegistry(read_tools(content)), PortfolioSummary(content),
                offline, settings, clock, metrics, kv=self.records,
            )
            self._closing.push_async_callback(opening.pop_all().aclose)  # now it closes with the runtime
        return chat


def _is_llm_failure(error: BaseException) -> bool:
    """What counts against the LLM's breaker (chat/llm.py decides; imported with the first failure)."""
    from folionaut.chat.llm import is_breaker_failure

    return is_breaker_failure(error)


def ip_hash_salt(settings: Settings) -> str:
    """A secret salt every instance derives alike (so shared Redis buckets match), without
    using the admin key itself. No admin key (only in ad-hoc tests): a per-process salt."""
    if not settings.admin_api_key:
        return secrets.token_hex(16)
    return hashlib.sha256(b"folionaut ip-hash salt\x00" + settings.admin_api_key.encode()).hexdigest()


async def _every(seconds: float, action: Callable[[], None]) -> None:
    while True:
        await asyncio.sleep(seconds)
        action()


async def _cancelled(task: asyncio.Task[object]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
