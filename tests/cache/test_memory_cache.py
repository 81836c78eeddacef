"""The in-process read cache: entries expire on the app's clock, the oldest go first when full,
and every read is counted once as a hit or a miss."""

from __future__ import annotations

from folionaut.cache.base import CacheEntry
from folionaut.cache.memory import MemoryCache
from folionaut.core.clock import ManualClock
from folionaut.observability.metrics import Metrics


def entry(n: int) -> CacheEntry:
    return CacheEntry(body=b'{"data":%d}' % n, etag=f'W/"{n}"')


def count(metrics: Metrics, operation: str, result: str) -> float | None:
    return metrics.registry.get_sample_value(
        "cache_operations_total", {"operation": operation, "result": result, "layer": "memory"})


async def test_an_entry_expires_when_its_ttl_has_passed_on_the_clock() -> None:
    clock = ManualClock()
    cache = MemoryCache(60, Metrics(), clock=clock)
    await cache.set("content:bundle", entry(1))
    clock.advance(59.9)
    assert cache.peek("content:bundle") == entry(1)
    assert await cache.get("content:bundle") == entry(1)
    clock.advance(0.1)
    assert cache.peek("content:bundle") is None
    assert await cache.get("content:bundle") is None
    assert len(cache) == 0  # dropped, not just hidden


async def test_setting_again_restarts_the_ttl() -> None:
    clock = ManualClock()
    cache = MemoryCache(60, Metrics(), clock=clock)
    await cache.set("k", entry(1))
    clock.advance(50)
    await cache.set("k", entry(2))
    clock.advance(50)
    assert cache.peek("k") == entry(2)


async def test_a_full_cache_drops_expired_entries_first_then_the_oldest() -> None:
    clock = ManualClock()
    cache = MemoryCache(60, Metrics(), max_entries=3, clock=clock)
    await cache.set("a", entry(1))
    clock.advance(30)
    await cache.set("b", entry(2))
    await cache.set("c", entry(3))
    clock.advance(31)  # "a" has expired, "b" and "c" have not
    await cache.set("d", entry(4))
    assert [cache.peek(k) is not None for k in "abcd"] == [False, True, True, True]
    await cache.set("b", entry(22))  # re-set: "b" becomes the newest
    await cache.set("e", entry(5))  # none expired: the one set longest ago ("c") goes
    assert [cache.peek(k) is not None for k in "bcde"] == [True, False, True, True]
    assert len(cache) == 3


async def test_every_read_is_counted_once() -> None:
    metrics = Metrics()
    cache = MemoryCache(60, metrics, clock=ManualClock())
    assert cache.peek("k") is None  # a peek miss is not counted: the caller goes on to get()
    assert await cache.get("k") is None
    await cache.set("k", entry(1))
    assert cache.peek("k") == entry(1)
    assert await cache.get("k") == entry(1)
    assert (count(metrics, "get", "hit"), count(metrics, "get", "miss"), count(metrics, "set", "ok")) == (2, 1, 1)
    await cache.delete("k")
    assert cache.peek("k") is None and count(metrics, "delete", "ok") == 1
