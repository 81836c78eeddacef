"""Shared read cache in Redis (the L2 behind the in-process L1).

Each entry is one string key, the exact ``content:*`` key from ``cache.base``,
holding ``<etag>\\n<body>`` with a TTL, so a hit is one GET and an operator can
still ``redis-cli KEYS "content:*" | xargs redis-cli DEL``. Redis errors are
counted (result "error") and re-raised; ``LayeredCache`` decides how to fail open.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from folionaut.cache.base import CacheEntry
from folionaut.observability.metrics import Metrics
from folionaut.resilience.shared_redis import REDIS_ERRORS

LAYER = "redis"
_SEPARATOR = b"\n"  # an ETag header value never contains a newline


def encode_entry(entry: CacheEntry) -> bytes:
    return entry.etag.encode() + _SEPARATOR + entry.body


def decode_entry(raw: bytes) -> CacheEntry | None:
    etag, separator, body = raw.partition(_SEPARATOR)
    if not separator:
        return None  # not ours (e.g. written by hand); treat as a miss
    return CacheEntry(body=body, etag=etag.decode())


class RedisCache:
    def __init__(self, client: aioredis.Redis, ttl_seconds: int, metrics: Metrics) -> None:
        self._client = client
        self.ttl_seconds = ttl_seconds
        ops = metrics.cache_operations
        # Created now so the redis series exist from startup when Redis is configured.
        self._hit = ops.labels("get", "hit", LAYER)
        self._miss = ops.labels("get", "miss", LAYER)
        self._set = ops.labels("set", "ok", LAYER)
        self._delete = ops.labels("delete", "ok", LAYER)
        self._errors = {op: ops.labels(op, "error", LAYER) for op in ("get", "set", "delete")}

    async def get(self, key: str) -> CacheEntry | None:
        try:
            raw = await self._client.get(key)
        except REDIS_ERRORS:
            self._errors["get"].inc()
            raise
        entry = decode_entry(raw) if raw is not None else None
        (self._miss if entry is None else self._hit).inc()
        return entry

    async def set(self, key: str, entry: CacheEntry) -> None:
        try:
            await self._client.set(key, encode_entry(entry), ex=self.ttl_seconds)
        except REDIS_ERRORS:
            self._errors["set"].inc()
            raise
        self._set.inc()

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        try:
            await self._client.delete(*keys)
        except REDIS_ERRORS:
            self._errors["delete"].inc()
            raise
        self._delete.inc()

    async def clear(self) -> None:
        """Delete every ``content:*`` key (SCAN, never KEYS, so Redis is not blocked)."""
        try:
            batch: list[bytes] = []
            async for key in self._client.scan_iter(match="content:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    await self._client.delete(*batch)
                    batch.clear()
            if batch:
                await self._client.delete(*batch)
        except REDIS_ERRORS:
            self._errors["delete"].inc()
            raise
        self._delete.inc()

    async def close(self) -> None:
        """The client is shared (limiter, KV); whoever created it closes it."""
