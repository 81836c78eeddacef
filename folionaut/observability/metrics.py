"""Every Prometheus series the service exports, on a per-app registry.

All series exist from startup (labelled ones are pre-initialised where the
label values are known) so the runbook's greps always find them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.utils import floatToGoString

#: The outcomes of a webhook delivery attempt (folionaut/webhooks/models.py OUTCOMES).
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed", "disabled")
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
HTTP_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpRequestStats:
    """``http_requests_total`` and ``http_request_duration_seconds``, kept as plain numbers.

    Every request records here, so recording is dict arithmetic and one bisect
    (the event loop is single-threaded: no locks), and the Prometheus families are
    built only when scraped. Labels stay bounded: route templates, never raw paths,
    and methods outside the usual set count as ``OTHER``.
    """

    def __init__(self, buckets: tuple[float, ...] = HTTP_DURATION_BUCKETS) -> None:
        self._buckets = buckets
        # Per (method, path, status): a count per bucket, one for +Inf, then the sum of seconds.
        # The request count and the per-(method, path) histogram are summed from these when scraped.
        self._series: dict[tuple[str, str, int], list[float]] = {}

    def record(self, method: str, path: str, status: int, seconds: float) -> None:
        if method not in _KNOWN_METHODS:
            method = "OTHER"
        series = self._series.get((method, path, status))
        if series is None:
            series = self._series[(method, path, status)] = [0] * (len(self._buckets) + 2)
        series[bisect_left(self._buckets, seconds)] += 1
        series[-1] += seconds

    def describe(self) -> Iterator[Metric]:
        yield CounterMetricFamily("http_requests", "HTTP requests by method, route template and status",
                                  labels=["method", "path", "status"])
        yield HistogramMetricFamily("http_request_duration_seconds", "HTTP request duration by route template",
                                    labels=["method", "path"])

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("http_requests", "HTTP requests by method, route template and status",
                                       labels=["method", "path", "status"])
        per_route: dict[tuple[str, str], list[float]] = {}
        for (method, path, status), series in sorted(self._series.items()):
            requests.add_metric([method, path, str(status)], sum(series[:-1]))
            totals = per_route.setdefault((method, path), [0] * len(series))
            for index, value in enumerate(series):
                totals[index] += value
        yield requests
        durations = HistogramMetricFamily("http_request_duration_seconds", "HTTP request duration by route template",
                                          labels=["method", "path"])
        for (method, path), series in per_route.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip((*map(floatToGoString, self._buckets), "+Inf"), series[:-1], strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            durations.add_metric([method, path], buckets, series[-1])
        yield durations


class RecentClientsRemaining:
    """``rate_limit_remaining{ip_hash}``, for the N most recently limited clients only.

    Keeps cardinality bounded: a new client past N pushes out the least recently
    seen one. Recorded on every limited request as plain dict updates; the gauge
    family is built only when scraped.
    """

    def __init__(self, max_clients: int = 20) -> None:
        self._max = max_clients
        self._recent: OrderedDict[str, int] = OrderedDict()

    def record(self, ip_hash: str, remaining: int) -> None:
        recent = self._recent
        if ip_hash in recent:
            recent.move_to_end(ip_hash)
        elif len(recent) >= self._max:
            recent.popitem(last=False)
        recent[ip_hash] = remaining

    def tracked(self) -> list[str]:
        return list(self._recent)

    def describe(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("rate_limit_remaining", "Tokens left for the most recently limited clients (hashed)",
                                labels=["ip_hash"])

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("rate_limit_remaining", "Tokens left for the most recently limited clients (hashed)",
                                   labels=["ip_hash"])
        for ip_hash, remaining in self._recent.items():
            family.add_metric([ip_hash], remaining)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.http = HttpRequestStats()
        registry.register(self.http)
        self.circuit_breaker_state = Gauge(
            "circuit_breaker_state", "Circuit breaker state (0 closed, 1 half_open, 2 open)",
            ["name"], registry=registry,
        )
        self.circuit_breaker_state.labels("llm").set(0)
        self.rate_limit_hits = Counter(
            "rate_limit_hits_total", "Requests refused by a rate limiter", ["limiter"], registry=registry,
        )
        for limiter in ("content", "chat", "sign_in"):
            self.rate_limit_hits.labels(limiter)
        self.rate_limit_remaining = RecentClientsRemaining(max_clients=20)
        registry.register(self.rate_limit_remaining)
        self.cache_operations = Counter(
            "cache_operations_total", "Cache operations by result and layer",
            ["operation", "result", "layer"], registry=registry,
        )
        for layer in ("memory",):
            for op, result in (("get", "hit"), ("get", "miss"), ("set", "ok"), ("delete", "ok")):
                self.cache_operations.labels(op, result, layer)
        self.redis_fallbacks = Counter(
            "redis_fallbacks_total", "Operations served in process because Redis was unavailable",
            ["component"], registry=registry,
        )
        self.llm_requests = Counter(
            "llm_requests_total", "LLM calls by model and outcome", ["model", "status"], registry=registry,
        )
        self.llm_duration = Histogram(
            "llm_request_duration_seconds", "LLM call duration", ["model"], registry=registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
        )
        self.chat_messages = Counter(
            "chat_messages_total", "Chat messages stored by role", ["role"], registry=registry,
        )
        for role in ("user", "assistant"):
            self.chat_messages.labels(role)
        self.chat_tokens = Counter("chat_tokens_total", "LLM tokens used by chat", registry=registry)
        self.chat_budget_exceeded = Counter(
            "chat_budget_exceeded_total", "Chat turns refused (429) because a budget was used up", ["budget"],
            registry=registry,
        )
        for budget in ("session_messages", "session_tokens", "daily_tokens"):
            self.chat_budget_exceeded.labels(budget)
        self.chat_degraded = Counter(
            "chat_degraded_total", "Chat turns answered by the offline responder because the LLM failed",
            registry=registry,
        )
        self.webhook_deliveries = Counter(
            "webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, retrying, failed, "
            "disabled: 410 Gone switched the webhook off)", ["status"], registry=registry,
        )
        for status in WEBHOOK_OUTCOMES:
            self.webhook_deliveries.labels(status)
        self.webhook_queue_depth = Gauge(
            "webhook_queue_depth", "Webhook deliveries waiting or in flight, with content changes not yet fanned "
            "out (as last seen by this process)", registry=registry,
        )
        self.database_connection_errors = Counter(
            "database_connection_errors_total", "Database failures seen by requests and probes", registry=registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
