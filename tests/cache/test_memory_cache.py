"""The in-process read cache: entries expire on the app's clock, the least recently used go first when
either bound (entries, bytes) is passed, and every read is counted once as a hit or a miss."""

from __future__ import annotations

from folionaut.cache.base import CacheEntry
from folionaut.cache.memory import MemoryCache
from folionaut.core.clock import ManualClock
from folionaut.observability.metrics import Metrics


def entry(n: int, size: int = 0) -> CacheEntry:
    body = b'{"data":%d}' % n
    return CacheEntry(body=body + b" " * max(0, size - len(body)), etag=f'W/"{n}"')


def count(metrics: Metrics, operation: str, result: str) -> float | None:
    return metrics.registry.get_sample_value(
        "cache_operations_total", {"operation": operation, "result": result, "layer": "memory"})


def gauge(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"layer": "memory"})


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


async def test_a_full_cache_drops_the_least_recently_used() -> None:
    metrics = Metrics()
    cache = MemoryCache(60, metrics, max_entries=3, clock=ManualClock())
    for key in "abc":
        await cache.set(key, entry(ord(key)))
    assert cache.peek("a") is not None  # "a" is used: "b" is now the least recently used
    await cache.set("d", entry(4))
    assert [cache.peek(k) is not None for k in "abcd"] == [True, False, True, True]
    await cache.set("c", entry(33))  # re-set: "c" becomes the most recent
    await cache.set("e", entry(5))  # "a" was peeked before "c" and "d": it goes
    assert [cache.peek(k) is not None for k in "acde"] == [False, True, True, True]
    assert len(cache) == 3
    assert count(metrics, "evict", "entries") == 2


async def test_expired_entries_at_the_front_are_counted_as_expired() -> None:
    metrics, clock = Metrics(), ManualClock()
    cache = MemoryCache(60, metrics, max_entries=2, clock=clock)
    await cache.set("old", entry(1))
    clock.advance(61)
    await cache.set("b", entry(2))
    await cache.set("c", entry(3))
    assert (count(metrics, "evict", "expired"), count(metrics, "evict", "entries")) == (1, 0)


async def test_the_byte_bound_holds_bodies_and_their_encodings() -> None:
    metrics = Metrics()
    cache = MemoryCache(60, metrics, max_bytes=10_000, clock=ManualClock())
    for number in range(4):
        await cache.set(f"k{number}", entry(number, size=2_000))
    assert (cache.bytes, gauge(metrics, "cache_bytes"), gauge(metrics, "cache_entries")) == (8_000, 8_000, 4)

    # k0 gains a gzip copy: counted, and the least recently used (k1) makes room.
    assert cache.peek("k0") is not None
    k0 = cache.peek("k0")
    assert k0 is not None
    k0.variants["gzip"] = CacheEntry(b"z" * 2_500, 'W/"0-gzip"', "gzip")
    cache.resized("k0", k0)
    assert cache.peek("k1") is None and cache.peek("k0") is k0
    assert cache.bytes == 4_500 + 2 * 2_000 and cache.bytes <= 10_000
    assert count(metrics, "evict", "bytes") == 1

    # Many more: the bound holds at every step, and the newest are the ones kept.
    for number in range(10, 40):
        await cache.set(f"k{number}", entry(number, size=1_500))
        assert cache.bytes <= 10_000
    assert [cache.peek(f"k{n}") is not None for n in (36, 37, 38, 39)] == [True] * 4
    await cache.delete("k39")
    await cache.clear()
    assert (cache.bytes, len(cache)) == (0, 0)


async def test_an_entry_bigger_than_the_whole_bound_is_not_kept() -> None:
    metrics = Metrics()
    cache = MemoryCache(60, metrics, max_bytes=1_000, clock=ManualClock())
    await cache.set("small", entry(1, size=500))
    await cache.set("huge", entry(2, size=5_000))
    assert cache.peek("huge") is None and cache.peek("small") is not None  # the others stay
    assert cache.bytes == 500


async def test_a_variant_of_a_replaced_entry_is_not_counted() -> None:
    cache = MemoryCache(60, Metrics(), clock=ManualClock())
    old = entry(1, size=100)
    await cache.set("k", old)
    await cache.set("k", entry(2, size=100))  # a write replaced it while the old one was being encoded
    old.variants["gzip"] = CacheEntry(b"z" * 50, 'W/"1-gzip"', "gzip")
    cache.resized("k", old)
    assert cache.bytes == 100


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
