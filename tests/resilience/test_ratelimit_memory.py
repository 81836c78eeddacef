"""Token-bucket arithmetic (in process, injected clock), client identity, bounded metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from folionaut.core.clock import ManualClock
from folionaut.observability.metrics import Metrics
from folionaut.resilience.ratelimit import (
    ClientHashes,
    MemoryRateLimiter,
    RateLimiter,
    build_rate_limiter,
    client_ip,
    hash_client_ip,
)


async def test_burst_then_refusal_with_retry_after_and_reset() -> None:
    clock = ManualClock(start=1_700_000_000.0)
    limiter = MemoryRateLimiter("chat", capacity=5, refill_rate=0.5, clock=clock)

    decisions = [await limiter.take("client") for _ in range(6)]

    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0]
    refused = decisions[-1]
    assert refused.limit == 5
    assert refused.retry_after == 2  # one token at 0.5/s
    assert refused.reset == 1_700_000_010  # empty bucket full again after 5 / 0.5 s
    assert decisions[0].retry_after == 0
    assert decisions[0].reset == 1_700_000_002  # one token short of full


async def test_refill_is_gradual_and_capped_at_capacity() -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter("chat", capacity=3, refill_rate=1.0, clock=clock)
    for _ in range(3):
        assert (await limiter.take("c")).allowed
    assert not (await limiter.take("c")).allowed

    clock.advance(1.0)
    assert (await limiter.take("c")).allowed
    assert not (await limiter.take("c")).allowed

    clock.advance(1000)  # long idle: back to capacity, not beyond
    results = [(await limiter.take("c")).allowed for _ in range(4)]
    assert results == [True, True, True, False]


async def test_default_chat_rate_retry_after_rounds_up() -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter("chat", capacity=5, refill_rate=0.333, clock=clock)
    for _ in range(5):
        await limiter.take("c")
    refused = await limiter.take("c")
    assert not refused.allowed
    assert refused.retry_after == 4  # 1 / 0.333 = 3.003 s, in whole seconds rounded up

    clock.advance(3.0)  # 0.999 of a token: still refused, but only a second to wait
    refused = await limiter.take("c")
    assert not refused.allowed and refused.retry_after == 1
    clock.advance(1.0)
    assert (await limiter.take("c")).allowed


async def test_clients_have_separate_buckets() -> None:
    limiter = MemoryRateLimiter("content", capacity=1, refill_rate=0.01, clock=ManualClock())
    assert (await limiter.take("a")).allowed
    assert not (await limiter.take("a")).allowed
    assert (await limiter.take("b")).allowed


async def test_idle_buckets_expire_and_count_is_bounded() -> None:
    clock = ManualClock()
    limiter = MemoryRateLimiter("content", capacity=2, refill_rate=1.0, clock=clock, max_clients=100)
    for number in range(1000):  # an address-spraying client
        await limiter.take(f"ip-{number}")
    assert len(limiter) <= 100

    clock.advance(10)  # idle longer than an empty bucket needs to fill
    await limiter.take("fresh")
    assert len(limiter) == 1


def test_headers_on_allowed_and_refused() -> None:
    limiter = MemoryRateLimiter("content", capacity=1, refill_rate=1.0, clock=ManualClock(start=100.0))
    allowed = limiter.take_now("x")
    assert allowed.headers() == {"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "101"}
    refused = limiter.take_now("x")
    assert refused.headers()["Retry-After"] == "1"


async def test_refusals_counted_and_remaining_gauge_bounded_to_20_clients() -> None:
    metrics = Metrics()
    limiter = build_rate_limiter("content", 2, 0.01, clock=ManualClock(), metrics=metrics)
    assert isinstance(limiter, RateLimiter)

    for number in range(25):
        await limiter.take(f"hash{number:02d}")
    for _ in range(3):
        await limiter.take("hash24")  # its second token, then two refusals

    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    remaining = {s.labels["ip_hash"]: s.value for s in families["rate_limit_remaining"].samples}
    assert len(remaining) == 20
    assert "hash00" not in remaining and "hash04" not in remaining  # oldest dropped
    assert remaining["hash05"] == 1
    assert remaining["hash24"] == 0
    hits = metrics.registry.get_sample_value("rate_limit_hits_total", {"limiter": "content"})
    assert hits == 2


def test_client_ip_from_socket_without_trusted_proxies() -> None:
    assert client_ip("203.0.113.9", "1.1.1.1, 10.0.0.1", trust_proxy=0) == "203.0.113.9"
    assert client_ip(None, None, 0) == "unknown"


def test_client_ip_takes_nth_from_right_for_n_hops() -> None:
    header = "6.6.6.6, 198.51.100.7, 10.0.0.2"  # forged, client, first proxy's peer
    assert client_ip("10.0.0.1", header, trust_proxy=1) == "10.0.0.2"
    assert client_ip("10.0.0.1", header, trust_proxy=2) == "198.51.100.7"
    # Fewer entries than hops: the leftmost (furthest) one.
    assert client_ip("10.0.0.1", "198.51.100.7", trust_proxy=3) == "198.51.100.7"
    # No header at all: the socket.
    assert client_ip("10.0.0.1", None, trust_proxy=1) == "10.0.0.1"
    assert client_ip("10.0.0.1", " , ", trust_proxy=1) == "10.0.0.1"


def test_client_ip_normalises_forms_of_one_address() -> None:
    assert client_ip("::ffff:192.0.2.1", None, 0) == "192.0.2.1"
    assert client_ip("10.0.0.1", "[2001:DB8::1]:443", 1) == "2001:db8::1"
    assert client_ip("10.0.0.1", "192.0.2.1:5000", 1) == "192.0.2.1"


def test_ip_hash_is_salted_truncated_and_stable() -> None:
    first = hash_client_ip("192.0.2.1", "salt-a")
    assert first == hash_client_ip("192.0.2.1", "salt-a")
    assert len(first) == 16 and int(first, 16) >= 0
    assert first != hash_client_ip("192.0.2.1", "salt-b")
    assert first != hash_client_ip("192.0.2.2", "salt-a")
    assert "192.0.2.1" not in first


def test_client_hashes_are_the_salted_hash_of_the_client_address_and_bounded() -> None:
    direct = ClientHashes("salt-a", trust_proxy=0, max_entries=3)
    assert direct.of("192.0.2.1", None) == hash_client_ip("192.0.2.1", "salt-a")
    assert direct.of("::ffff:192.0.2.1", None) == direct.of("192.0.2.1", None)  # normalised alike
    assert direct.of("192.0.2.1", "198.51.100.7") == direct.of("192.0.2.1", None)  # no trusted proxy: ignored
    for number in range(10):
        direct.of(f"192.0.2.{number}", None)
    assert len(direct._known) <= 3

    proxied = ClientHashes("salt-a", trust_proxy=1)
    assert proxied.of("10.0.0.1", "198.51.100.7") == hash_client_ip("198.51.100.7", "salt-a")
    assert proxied.of("10.0.0.1", "198.51.100.8") != proxied.of("10.0.0.1", "198.51.100.7")
