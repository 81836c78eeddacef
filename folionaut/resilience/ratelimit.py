"""Token-bucket rate limiting per client: in process, in Redis, and fail-open between them.

A bucket holds up to ``capacity`` tokens and gains ``refill_rate`` tokens per
second; each request takes one, and a request finding less than one token is
refused. Buckets are keyed by a salted hash of the client IP, never the IP.

Headers (``RateLimitDecision.headers``):
- ``X-RateLimit-Limit``: the capacity.
- ``X-RateLimit-Remaining``: whole tokens left after this request.
- ``X-RateLimit-Reset``: epoch seconds at which the bucket is full again — the
  token-bucket analogue of the conventional (GitHub-style) "epoch second when
  the quota resets". When the next single token arrives is ``Retry-After``.
- ``Retry-After`` (refusals only): whole seconds until one token is back, >= 1.

With Redis, a take is ONE round trip running a Lua script (EVALSHA, loaded on
first use), so it is atomic across any number of app processes sharing the
bucket. The script reads the clock with Redis ``TIME``: every instance then
measures refill against the same clock, so skew between app hosts can neither
mint extra tokens (a clock ahead) nor freeze refill (a clock behind).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from folionaut.core.clock import Clock
from folionaut.observability.metrics import Metrics

if TYPE_CHECKING:  # the Redis client is imported only where Redis is configured (start-up time)
    import redis.asyncio as aioredis

    from folionaut.resilience.shared_redis import SharedRedis

# Floating-point slack so 0.333 tok/s * 3.003 s counts as one whole token.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # epoch seconds when the bucket is full again
    retry_after: int  # 0 when allowed; whole seconds (>= 1) until the next token when refused

    def headers(self) -> dict[str, str]:
        values = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            values["Retry-After"] = str(self.retry_after)
        return values


def decide(
    *, allowed: bool, tokens_left: float, capacity: int, refill_rate: float, now_epoch: float
) -> RateLimitDecision:
    """Turn a bucket's state after a take into the client-facing numbers."""
    tokens_left = max(0.0, min(float(capacity), tokens_left))
    remaining = math.floor(tokens_left + _EPSILON)
    reset = math.ceil(now_epoch + (capacity - tokens_left) / refill_rate - _EPSILON)
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens_left) / refill_rate - _EPSILON))
    return RateLimitDecision(allowed, capacity, remaining, reset, retry_after)


class TokenBucket(Protocol):
    """A rate-limit backend: take one token from a client's bucket."""

    name: str
    capacity: int
    refill_rate: float

    async def take(self, client_key: str) -> RateLimitDecision: ...


def _validate(capacity: int, refill_rate: float) -> None:
    if capacity < 1 or refill_rate <= 0:
        raise ValueError("capacity must be >= 1 and refill_rate > 0")


class MemoryRateLimiter:
    """Buckets in process memory: ``[tokens, time of last take]`` per client, in a dict.

    Bounded: when a new client arrives and the buckets were last swept longer ago
    than an empty bucket takes to fill (or ``max_clients`` exist), the ones idle
    long enough to be full again are forgotten (forgetting them changes nothing).
    If at the cap that frees too little, the oldest tenth go, which at worst gives
    those clients a fresh (full) bucket: a client spraying source addresses cannot
    exhaust memory. (Not cachetools' TTLCache: its bookkeeping cost ~1.5 µs a take,
    on every limited request.)
    """

    def __init__(
        self, name: str, capacity: int, refill_rate: float, clock: Clock, max_clients: int = 100_000
    ) -> None:
        _validate(capacity, refill_rate)
        self.name = name
        self.capacity = capacity
        self.refill_rate = refill_rate
        self._clock = clock
        self._max_clients = max_clients
        self._seconds_to_full = capacity / refill_rate
        self._buckets: dict[str, list[float]] = {}
        self._next_sweep = clock.monotonic() + self._seconds_to_full

    async def take(self, client_key: str) -> RateLimitDecision:
        return self.take_now(client_key)

    def take_now(self, client_key: str) -> RateLimitDecision:
        """Synchronous take (no awaits, so it is atomic within the event loop)."""
        now = self._clock.monotonic()
        bucket = self._buckets.get(client_key)
        if bucket is None:
            if now >= self._next_sweep or len(self._buckets) >= self._max_clients:
                self._sweep(now)
            bucket = self._buckets[client_key] = [float(self.capacity), now]
            tokens = float(self.capacity)
        else:
            tokens = min(float(self.capacity), bucket[0] + max(0.0, now - bucket[1]) * self.refill_rate)
        allowed = tokens >= 1.0 - _EPSILON
        if allowed:
            tokens = max(0.0, tokens - 1.0)
        bucket[0], bucket[1] = tokens, now
        return decide(
            allowed=allowed, tokens_left=tokens, capacity=self.capacity,
            refill_rate=self.refill_rate, now_epoch=self._clock.time(),
        )

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self._seconds_to_full
        full_again = [key for key, (_, last) in self._buckets.items() if now - last >= self._seconds_to_full]
        if len(self._buckets) >= self._max_clients and len(full_again) < self._max_clients // 10:
            full_again += list(itertools.islice(self._buckets, self._max_clients // 10 + 1))
        for key in full_again:
            self._buckets.pop(key, None)

    def __len__(self) -> int:
        return len(self._buckets)


# KEYS: the bucket keys to take one token from, in order (one client's key may
# appear more than once); ARGV: capacity, refill rate (tokens/s), key TTL (ms).
# Returns, per key, {allowed (0/1), tokens left (string), server time (string)}:
# Lua numbers returned to Redis are truncated to integers, hence the strings.
_TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local ttl_ms = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local stamp = string.format('%.6f', now)
local results = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
  else
    local elapsed = now - ts
    if elapsed < 0 then elapsed = 0 end
    tokens = math.min(capacity, tokens + elapsed * rate)
  end
  local allowed = 0
  if tokens >= 1 - 1e-9 then
    tokens = math.max(0, tokens - 1)
    allowed = 1
  end
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'ts', stamp)
  redis.call('PEXPIRE', key, ttl_ms)
  results[i] = {allowed, string.format('%.17g', tokens), stamp}
end
return results
"""

#: At most this many takes share one script run (it holds Redis for its duration).
MAX_TAKES_PER_SCRIPT = 256


class _BatchedTakes:
    """Runs the take script for many callers: the takes of one event-loop turn in one EVALSHA.

    Each command through redis-py's asyncio client costs ~80 µs of CPU here (a
    pooled connection, packing, reading and parsing the reply), and every limited
    request makes one. Requests arriving together (a page's parallel fetches, a
    busy instance) are taken together: the script walks their keys in order,
    atomically, so each caller gets exactly what a take of its own would have
    given, or the error that ended the run.
    """

    def __init__(self, client: aioredis.Redis, args: tuple[object, ...]) -> None:
        self._client = client
        self._script = client.register_script(_TAKE_SCRIPT)
        self._args = args
        self._pending: list[tuple[str, asyncio.Future[Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[asyncio.Task[None]] = set()

    @property
    def sha(self) -> str:
        return self._script.sha

    async def __call__(self, key: str) -> Any:
        if not self._pending:  # the first of a batch: run it once everyone of this turn has joined
            self._loop = asyncio.get_running_loop()
            self._loop.call_soon(self._start)
        assert self._loop is not None
        future = self._loop.create_future()
        self._pending.append((key, future))
        if len(self._pending) >= MAX_TAKES_PER_SCRIPT:
            self._start()
        return await future

    def _start(self) -> None:
        if not self._pending:  # already started when it filled up
            return
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._run(batch), loop=self._loop)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, batch: list[tuple[str, asyncio.Future[Any]]]) -> None:
        from redis.exceptions import NoScriptError  # loaded with the client already: a dict lookup

        keys = [key for key, _ in batch]
        try:
            try:
                results = await self._client.evalsha(self._script.sha, len(keys), *keys, *self._args)
            except NoScriptError:  # a restarted or flushed Redis: load the script, once, and run again
                await self._client.script_load(self._script.script)
                results = await self._client.evalsha(self._script.sha, len(keys), *keys, *self._args)
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except BaseException as exc:  # every caller gets the error that ended the run
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # (done: its request was cancelled meanwhile)
                future.set_result(result)


class RedisRateLimiter:
    """Buckets in Redis as hashes ``ratelimit:<name>:<client key>`` {tokens, ts}.

    The key's TTL is the time an empty bucket needs to fill (plus a second):
    an expired key reads as a full bucket, which is exactly what it would be.
    Takes made together go to Redis in one script run (``_BatchedTakes``).
    Raises Redis errors; ``FailOpenRateLimiter`` decides what to do with them.
    """

    def __init__(self, name: str, capacity: int, refill_rate: float, client: aioredis.Redis) -> None:
        _validate(capacity, refill_rate)
        self.name = name
        self.capacity = capacity
        self.refill_rate = refill_rate
        self.ttl_ms = math.ceil(capacity / refill_rate * 1000) + 1000
        self._script = _BatchedTakes(client, (capacity, repr(refill_rate), self.ttl_ms))

    def key_for(self, client_key: str) -> str:
        return f"ratelimit:{self.name}:{client_key}"

    async def take(self, client_key: str) -> RateLimitDecision:
        allowed, tokens, now = await self._script(self.key_for(client_key))
        return decide(
            allowed=int(allowed) == 1, tokens_left=float(tokens), capacity=self.capacity,
            refill_rate=self.refill_rate, now_epoch=float(now),
        )


class FailOpenRateLimiter:
    """Redis buckets while Redis answers; in-process buckets while it does not.

    Each request served in process counts ``redis_fallbacks_total{component="ratelimit"}``;
    the outage itself is logged once by the shared ``SharedRedis``, which also
    sends a probe to Redis every couple of seconds so recovery is automatic.
    """

    component = "ratelimit"

    def __init__(self, primary: RedisRateLimiter, fallback: TokenBucket, health: SharedRedis) -> None:
        self.name = primary.name
        self.capacity = primary.capacity
        self.refill_rate = primary.refill_rate
        self._primary = primary
        self._fallback = fallback
        self._health = health

    async def take(self, client_key: str) -> RateLimitDecision:
        return await self._health.fail_open(
            self.component, lambda: self._primary.take(client_key), lambda: self._fallback.take(client_key))


class RateLimiter:
    """What the HTTP layer uses: a backend plus its metrics.

    ``take`` never raises for a refusal; the caller turns a refused decision into
    ``RateLimitedError(decision.retry_after)`` and adds ``decision.headers()``.
    """

    def __init__(self, backend: TokenBucket, metrics: Metrics) -> None:
        self.backend = backend
        self.name = backend.name
        self.capacity = backend.capacity
        self.refill_rate = backend.refill_rate
        self._hits = metrics.rate_limit_hits.labels(backend.name)
        self._remaining = metrics.rate_limit_remaining

    async def take(self, ip_hash: str) -> RateLimitDecision:
        decision = await self.backend.take(ip_hash)
        if not decision.allowed:
            self._hits.inc()
        self._remaining.record(ip_hash, decision.remaining)
        return decision


def build_rate_limiter(
    name: str,
    capacity: int,
    refill_rate: float,
    *,
    clock: Clock,
    metrics: Metrics,
    shared_redis: SharedRedis | None = None,
    local: TokenBucket | None = None,
) -> RateLimiter:
    """Buckets on this host without Redis (``local``: the table the workers of a server share, else
    process memory); Redis buckets with that as the fallback with it."""
    fallback = local if local is not None else MemoryRateLimiter(name, capacity, refill_rate, clock)
    if shared_redis is None:
        return RateLimiter(fallback, metrics)
    primary = RedisRateLimiter(name, capacity, refill_rate, shared_redis.client)
    return RateLimiter(FailOpenRateLimiter(primary, fallback, shared_redis), metrics)


# --- client identity -------------------------------------------------------------------------

def client_ip(peer: str | None, forwarded_for: str | None, trust_proxy: int) -> str:
    """The client's address, honouring exactly ``trust_proxy`` reverse-proxy hops.

    Each trusted proxy appends the address it received the request from to
    ``X-Forwarded-For``, so with N trusted hops the client is the Nth entry from
    the right; entries further left are client-supplied and can be forged. With
    fewer entries than hops the leftmost is used (as Express's ``trust proxy``
    does). ``forwarded_for`` is every X-Forwarded-For header joined with ``,``.
    """
    address = peer or "unknown"
    if trust_proxy > 0 and forwarded_for:
        entries = [item.strip() for item in forwarded_for.split(",") if item.strip()]
        if entries:
            address = entries[-min(trust_proxy, len(entries))]
    return _normalise_ip(address)


def _normalise_ip(address: str) -> str:
    """Canonical text for an IP so ``::ffff:1.2.3.4``/``1.2.3.4`` or case variants share a bucket."""
    text = address.strip()
    if text.startswith("[") and "]" in text:  # "[v6]:port"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "v4:port"
        text = text.split(":", 1)[0]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text[:100]  # not an IP (e.g. a proxy's "unknown"); still bounded
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return str(parsed)


class ClientHashes:
    """``hash_client_ip(client_ip(...))`` per request, remembered: parsing an address
    and hashing it cost about 3 µs, and the same clients (or the one reverse proxy's
    hops) come back request after request. Bounded: at ``max_entries`` everything
    is forgotten at once (a full rebuild costs a few milliseconds at most)."""

    def __init__(self, salt: str, trust_proxy: int, max_entries: int = 10_000) -> None:
        self._salt = salt
        self._trust_proxy = trust_proxy
        self._max_entries = max_entries
        self._known: dict[tuple[str | None, str | None], str] = {}

    def of(self, peer: str | None, forwarded_for: str | None) -> str:
        """The hash for a request from ``peer`` with these X-Forwarded-For entries (joined
        with ","; ignored, and best passed as None, when no proxy is trusted)."""
        key = (peer, forwarded_for if self._trust_proxy else None)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= self._max_entries:
                self._known.clear()
            known = self._known[key] = hash_client_ip(client_ip(peer, forwarded_for, self._trust_proxy), self._salt)
        return known


def hash_client_ip(ip: str, salt: str) -> str:
    """Salted SHA-256 of an IP, truncated to 16 hex chars: stable per client, not reversible
    without the salt. Used for rate-limit keys, the metrics label and chat sessions' ``ipHash``."""
    return hashlib.sha256(f"{salt}\x00{ip}".encode()).hexdigest()[:16]
