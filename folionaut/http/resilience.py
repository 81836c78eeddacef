"""Redis, rate limits, the shared content cache and the key-value store, wired into the app.

``setup_resilience(app)`` (called by ``create_app`` before the database and
content contexts) adds:

- a cleanup context that opens the Redis client when ``REDIS_URL`` is set (and
  closes it last), builds the ``content`` and ``chat`` limiters, puts a layered
  L1+Redis cache in ``CONTENT_CACHE`` (without Redis the content context keeps
  its in-process cache), a ``KV_STORE`` for idempotency records and sessions,
  and a non-critical ``redis`` readiness check;
The edge middleware applies the limiter named by ``@rate_limited(name)`` on a
handler (``take_rate_limit_token``; nothing at all when ``FEATURE_RATE_LIMITING``
is false): a refusal becomes the 429 (body ``retryAfter``, header
``Retry-After``), and every response of a limited route, 429s and 304s
included, carries ``X-RateLimit-Limit/Remaining/Reset``.

Chat: mark the handler ``@rate_limited("chat")``, and take
``request_ip_hash(request)`` for the session's ``ipHash`` so sessions and
buckets agree on a client.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from folionaut.cache.key_value_store import FailOpenKeyValueStore, MemoryKeyValueStore, RedisKeyValueStore
from folionaut.cache.layered import LayeredCache
from folionaut.cache.memory import MemoryCache
from folionaut.cache.redis import RedisCache
from folionaut.core.logging import get_logger
from folionaut.http.keys import (
    CLIENT_HASHES,
    CLOCK,
    CONTENT_CACHE,
    KV_STORE,
    METRICS,
    RATE_LIMITERS,
    REDIS_HEALTH,
    SETTINGS,
)
from folionaut.http.routes.health import HealthCheck, add_health_check
from folionaut.resilience.ratelimit import (
    ClientHashes,
    RateLimitDecision,
    build_rate_limiter,
)
from folionaut.resilience.shared_redis import SharedRedis, create_redis_client
from folionaut.settings import Settings

log = get_logger("resilience")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RATE_LIMIT_ATTRIBUTE = "folionaut_rate_limit"


def rate_limited(limiter_name: str) -> Callable[[Handler], Handler]:
    """Mark a handler as limited by the named bucket ("content" or "chat")."""

    def mark(handler: Handler) -> Handler:
        setattr(handler, RATE_LIMIT_ATTRIBUTE, limiter_name)
        return handler

    return mark


def ip_hash_salt(settings: Settings) -> str:
    """A secret salt every instance derives alike (so shared Redis buckets match), without
    using the admin key itself. No admin key (only in ad-hoc tests): a per-process salt."""
    if not settings.admin_api_key:
        return secrets.token_hex(16)
    return hashlib.sha256(b"folionaut ip-hash salt\x00" + settings.admin_api_key.encode()).hexdigest()


def request_ip_hash(request: web.Request) -> str:
    """Salted hash of the client's address (socket, or X-Forwarded-For per TRUST_PROXY)."""
    forwarded = None
    if request.app[SETTINGS].trust_proxy and (entries := request.headers.getall("X-Forwarded-For", None)):
        forwarded = ",".join(entries)
    return request.app[CLIENT_HASHES].of(request.remote, forwarded)


async def take_rate_limit_token(request: web.Request, limiter_name: str) -> RateLimitDecision:
    """Take a token from this client's bucket; the decision says whether there was one."""
    return await request.app[RATE_LIMITERS][limiter_name].take(request_ip_hash(request))


async def resilience_context(app: web.Application) -> AsyncIterator[None]:
    settings, clock, metrics = app[SETTINGS], app[CLOCK], app[METRICS]
    app[CLIENT_HASHES] = ClientHashes(ip_hash_salt(settings), settings.trust_proxy)
    health: SharedRedis | None = None
    if settings.redis_url:
        health = SharedRedis(create_redis_client(settings.redis_url), clock, metrics)
        app[REDIS_HEALTH] = health
        if await health.ping():  # a down Redis at startup is logged by SharedRedis and tolerated
            log.info("using Redis for the shared cache, rate limits, sessions and idempotency")

        async def redis_check() -> None:
            if not await health.ping():
                raise ConnectionError("Redis did not answer PING")

        add_health_check(app, HealthCheck("redis", False, redis_check))
        app[CONTENT_CACHE] = LayeredCache(
            MemoryCache(settings.l1_cache_ttl_seconds, metrics, clock=clock),
            RedisCache(health.client, settings.content_cache_ttl_seconds, metrics),
            health,
        )
        app[KV_STORE] = FailOpenKeyValueStore(RedisKeyValueStore(health.client), MemoryKeyValueStore(clock), health)
    else:
        app[KV_STORE] = MemoryKeyValueStore(clock)

    app[RATE_LIMITERS] = {
        "content": build_rate_limiter(
            "content", settings.content_rate_limit_capacity, settings.content_rate_limit_refill_rate,
            clock=clock, metrics=metrics, redis_health=health,
        ),
        "chat": build_rate_limiter(
            "chat", settings.rate_limit_capacity, settings.rate_limit_refill_rate,
            clock=clock, metrics=metrics, redis_health=health,
        ),
    }
    try:
        yield
    finally:
        await app[KV_STORE].close()
        if health is not None:
            await health.client.aclose()


def setup_resilience(app: web.Application) -> None:
    """Call before the database/content cleanup contexts are added (the cache must exist first)."""
    app.cleanup_ctx.append(resilience_context)
