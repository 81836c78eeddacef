"""Application state keys: every shared object is reached through one of these."""

from __future__ import annotations

from aiohttp import web

from folionaut.cache.base import ContentCache
from folionaut.cache.key_value_store import KeyValueStore
from folionaut.content.service import ContentService
from folionaut.core.clock import Clock
from folionaut.http.inflight import InFlightRequests
from folionaut.observability.metrics import Metrics
from folionaut.resilience.ratelimit import ClientHashes, RateLimiter
from folionaut.resilience.shared_redis import SharedRedis
from folionaut.settings import Settings
from folionaut.storage.base import Database

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
DATABASE = web.AppKey("database", Database)
CONTENT = web.AppKey("content_service", ContentService)
CONTENT_CACHE = web.AppKey("content_cache", ContentCache)
STARTED_AT = web.AppKey("started_at", float)
IN_FLIGHT = web.AppKey("in_flight", InFlightRequests)
# Resilience (folionaut/http/resilience.py): REDIS_HEALTH only exists when REDIS_URL is set.
REDIS_HEALTH = web.AppKey("redis_health", SharedRedis)
RATE_LIMITERS = web.AppKey("rate_limiters", dict[str, RateLimiter])
KV_STORE = web.AppKey("kv_store", KeyValueStore)
CLIENT_HASHES = web.AppKey("client_hashes", ClientHashes)

__all__ = [
    "CLIENT_HASHES", "CLOCK", "CONTENT", "CONTENT_CACHE", "DATABASE", "KV_STORE", "METRICS", "RATE_LIMITERS",
    "REDIS_HEALTH", "SETTINGS", "STARTED_AT",
]
