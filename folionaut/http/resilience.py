"""Redis, rate limits, the shared content cache and the key-value store, wired into the app.

``setup_resilience(app)`` (called by ``create_app`` before the database and
content contexts) adds:

- a cleanup context that opens the Redis client when ``REDIS_URL`` is set (and
  closes it last), builds the ``content`` and ``chat`` limiters, puts a layered
  L1+Redis cache in ``CONTENT_CACHE`` (without Redis the content context keeps
  its in-process cache), a ``KV_STORE`` for idempotency records and sessions,
  and a non-critical ``redis`` readiness check;
- a middleware that applies the limiter named by ``@rate_limited(name)`` on a
  handler (off when ``FEATURE_RATE_LIMITING`` is false). A refusal raises
  ``RateLimitedError``; the edge middleware formats the 429 (body
  ``retryAfter``, header ``Retry-After``);
- a response hook adding ``X-RateLimit-Limit/Remaining/Reset`` to every
  response of a limited route, 429s and 304s included.

Chat: mark the handler ``@rate_limited("chat")`` (or call
``enforce_rate_limit(request, "chat")``), and take ``request_ip_hash(request)``
for the session's ``ipHash`` so sessions and buckets agree on a client.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from folionaut.cache.kv import FailOpenKeyValueStore, MemoryKeyValueStore, RedisKeyValueStore
from folionaut.cache.layered import LayeredCache
from folionaut.cache.memory import MemoryCache
from folionaut.cache.redis import RedisCache
from folionaut.core.errors import RateLimitedError
from folionaut.core.logging import get_logger
from folionaut.http.keys import (
    CLOCK,
    CONTENT_CACHE,
    IP_HASH_SALT,
    KV_STORE,
    METRICS,
    RATE_LIMITERS,
    REDIS_HEALTH,
    SETTINGS,
)
from folionaut.http.routes.health import HealthCheck, add_health_check
from folionaut.resilience.ratelimit import (
    RateLimitDecision,
    RemainingTracker,
    build_rate_limiter,
    client_ip,
    hash_client_ip,
)
from folionaut.resilience.redis_health import RedisHealth, create_redis_client
from folionaut.settings import Settings

log = get_logger("resilience")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

RATE_LIMIT_ATTRIBUTE = "folionaut_rate_limit"
RATE_LIMIT_DECISION = web.RequestKey("rate_limit_decision", RateLimitDecision)


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
    forwarded = request.headers.getall("X-Forwarded-For", [])
    address = client_ip(request.remote, ",".join(forwarded) if forwarded else None,
                        request.app[SETTINGS].trust_proxy)
    return hash_client_ip(address, request.app[IP_HASH_SALT])


async def enforce_rate_limit(request: web.Request, limiter_name: str) -> RateLimitDecision:
    """Take a token for this client; raises ``RateLimitedError`` when the bucket is empty."""
    decision = await request.app[RATE_LIMITERS][limiter_name].take(request_ip_hash(request))
    request[RATE_LIMIT_DECISION] = decision
    if not decision.allowed:
        raise RateLimitedError(decision.retry_after, "Too many requests, please retry later")
    return decision


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    limiter_name = getattr(request.match_info.handler, RATE_LIMIT_ATTRIBUTE, None)
    if limiter_name is not None and request.app[SETTINGS].feature_rate_limiting:
        await enforce_rate_limit(request, limiter_name)
    return await handler(request)


async def add_rate_limit_headers(request: web.Request, response: web.StreamResponse) -> None:
    decision = request.get(RATE_LIMIT_DECISION)
    if decision is not None:
        response.headers.update(decision.headers())


async def resilience_context(app: web.Application) -> AsyncIterator[None]:
    settings, clock, metrics = app[SETTINGS], app[CLOCK], app[METRICS]
    app[IP_HASH_SALT] = ip_hash_salt(settings)
    health: RedisHealth | None = None
    if settings.redis_url:
        health = RedisHealth(create_redis_client(settings.redis_url), clock, metrics)
        app[REDIS_HEALTH] = health
        if await health.ping():  # a down Redis at startup is logged by RedisHealth and tolerated
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

    tracker = RemainingTracker(metrics.rate_limit_remaining, max_clients=20)
    app[RATE_LIMITERS] = {
        "content": build_rate_limiter(
            "content", settings.content_rate_limit_capacity, settings.content_rate_limit_refill_rate,
            clock=clock, metrics=metrics, tracker=tracker, redis_health=health,
        ),
        "chat": build_rate_limiter(
            "chat", settings.rate_limit_capacity, settings.rate_limit_refill_rate,
            clock=clock, metrics=metrics, tracker=tracker, redis_health=health,
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
    if app[SETTINGS].feature_rate_limiting:
        # Off means no middleware and no response hook at all: each costs every request on the read path.
        app.middlewares.append(rate_limit_middleware)
        app.on_response_prepare.append(add_rate_limit_headers)
