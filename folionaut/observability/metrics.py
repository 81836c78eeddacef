"""Every Prometheus series the service exports, on a per-app registry.

All series exist from startup (labelled ones are pre-initialised where the
label values are known) so the runbook's greps always find them.

Series are kept as plain numbers (``CounterSeries``, ``GaugeSeries``,
``HistogramSeries``: a dict per label set, no locks — the event loop is
single-threaded) and turned into Prometheus families only when scraped.
``prometheus_client`` is imported on the first scrape (``Metrics.registry``),
not at startup: it cost about 40 ms of every start, which nobody scraping
nothing should pay (issue 23).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import Metric

#: The outcomes of a webhook delivery attempt (folionaut/webhooks/models.py OUTCOMES).
WEBHOOK_OUTCOMES = ("delivered", "retrying", "failed", "disabled")
#: Why the server closed a client's connection (http/fastpath/server_protocol.py).
CONNECTION_CLOSE_REASONS = ("head_timeout", "body_timeout", "shed", "refused")
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
HTTP_DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LLM_DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _bound_text(bound: float) -> str:
    from prometheus_client.utils import floatToGoString

    return str(floatToGoString(bound))


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
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        yield CounterMetricFamily("http_requests", "HTTP requests by method, route template and status",
                                  labels=["method", "path", "status"])
        yield HistogramMetricFamily("http_request_duration_seconds", "HTTP request duration by route template",
                                    labels=["method", "path"])

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

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
        bounds = [*map(_bound_text, self._buckets), "+Inf"]
        for (method, path), series in per_route.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip(bounds, series[:-1], strict=True):
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
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily("rate_limit_remaining", "Tokens left for the most recently limited clients (hashed)",
                                   labels=["ip_hash"])
        for ip_hash, remaining in self._recent.items():
            family.add_metric([ip_hash], remaining)
        yield family


class SeriesValue:
    """One labelled series of a counter or gauge: a plain number."""

    __slots__ = ("read", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.read: Callable[[], float] | None = None  # a gauge read when scraped instead of ``value``

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def set(self, value: float) -> None:
        self.value = value

    def set_function(self, read: Callable[[], float]) -> None:
        self.read = read

    def current(self) -> float:
        return self.read() if self.read is not None else self.value


class HistogramValue:
    """One labelled series of a histogram: a count per bucket, one for +Inf, and the sum."""

    __slots__ = ("_buckets", "counts", "total")

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self._buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self._buckets, value)] += 1
        self.total += value


class _Series:
    """A named family of labelled values, with prometheus_client's ``labels(...)`` call shape."""

    kind = "untyped"

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self._values: dict[tuple[str, ...], Any] = {}

    def _new(self) -> Any:
        return SeriesValue()

    def labels(self, *values: str) -> Any:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes {len(self.labelnames)} label values, not {len(values)}")
        found = self._values.get(values)
        if found is None:
            found = self._values[values] = self._new()
        return found

    def _unlabelled(self) -> Any:
        if self.labelnames:
            raise ValueError(f"{self.name} needs label values: use labels(...)")
        return self.labels()

    def family(self) -> Metric:
        raise NotImplementedError


class CounterSeries(_Series):
    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...] = ()) -> None:
        super().__init__(name.removesuffix("_total"), documentation, labelnames)
        if not labelnames:
            self.labels()  # an unlabelled counter exists (at 0) from the start

    def inc(self, amount: float = 1.0) -> None:
        self._unlabelled().inc(amount)

    def family(self) -> Metric:
        from prometheus_client.core import CounterMetricFamily

        family = CounterMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, series in self._values.items():
            family.add_metric(list(values), series.current())
        return family


class GaugeSeries(_Series):
    def set(self, value: float) -> None:
        self._unlabelled().set(value)

    def family(self) -> Metric:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, series in self._values.items():
            family.add_metric(list(values), series.current())
        return family


class HistogramSeries(_Series):
    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        super().__init__(name, documentation, labelnames)
        self.buckets = buckets

    def _new(self) -> HistogramValue:
        return HistogramValue(self.buckets)

    def family(self) -> Metric:
        from prometheus_client.core import HistogramMetricFamily

        family = HistogramMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        bounds = [*map(_bound_text, self.buckets), "+Inf"]
        for values, series in self._values.items():
            cumulative, buckets = 0.0, []
            for bound, count in zip(bounds, series.counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            family.add_metric(list(values), buckets, series.total)
        return family


class _SeriesCollector:
    """Hands the plain series to a prometheus_client registry, as families, when scraped."""

    def __init__(self, series: list[_Series]) -> None:
        self._series = series

    def describe(self) -> Iterator[Metric]:
        return self.collect()

    def collect(self) -> Iterator[Metric]:
        for series in self._series:
            yield series.family()


class Metrics:
    def __init__(self) -> None:
        self._registry: CollectorRegistry | None = None
        self.http = HttpRequestStats()
        self.circuit_breaker_state = GaugeSeries(
            "circuit_breaker_state", "Circuit breaker state (0 closed, 1 half_open, 2 open)", ("name",))
        self.circuit_breaker_state.labels("llm").set(0)
        self.rate_limit_hits = CounterSeries(
            "rate_limit_hits_total", "Requests refused by a rate limiter", ("limiter",))
        for limiter in ("content", "chat", "sign_in"):
            self.rate_limit_hits.labels(limiter)
        self.rate_limit_remaining = RecentClientsRemaining(max_clients=20)
        self.cache_operations = CounterSeries(
            "cache_operations_total", "Cache operations by result and layer (evict: result says why)",
            ("operation", "result", "layer"))
        for layer in ("memory",):
            for op, result in (("get", "hit"), ("get", "miss"), ("set", "ok"), ("delete", "ok"),
                               ("evict", "entries"), ("evict", "bytes"), ("evict", "expired")):
                self.cache_operations.labels(op, result, layer)
        self.cache_bytes = GaugeSeries("cache_bytes", "Bytes held by a cache layer (bodies and their encodings)",
                                       ("layer",))
        self.cache_entries = GaugeSeries("cache_entries", "Entries held by a cache layer", ("layer",))
        self.published_builds = CounterSeries(
            "published_builds_total", "Public reads built from the database on a cache miss (one per key per "
            "change however many readers were waiting)", ("kind",))
        for kind in ("bundle", "list", "item", "page"):
            self.published_builds.labels(kind)
        self.redis_fallbacks = CounterSeries(
            "redis_fallbacks_total", "Operations served in process because Redis was unavailable", ("component",))
        self.llm_requests = CounterSeries("llm_requests_total", "LLM calls by model and outcome", ("model", "status"))
        self.llm_duration = HistogramSeries(
            "llm_request_duration_seconds", "LLM call duration", ("model",), LLM_DURATION_BUCKETS)
        self.chat_messages = CounterSeries("chat_messages_total", "Chat messages stored by role", ("role",))
        for role in ("user", "assistant"):
            self.chat_messages.labels(role)
        self.chat_tokens = CounterSeries("chat_tokens_total", "LLM tokens used by chat")
        self.chat_budget_exceeded = CounterSeries(
            "chat_budget_exceeded_total", "Chat turns refused (429) because a budget was used up", ("budget",))
        for budget in ("session_messages", "session_tokens", "daily_tokens"):
            self.chat_budget_exceeded.labels(budget)
        self.chat_degraded = CounterSeries(
            "chat_degraded_total", "Chat turns answered by the offline responder because the LLM failed")
        self.webhook_deliveries = CounterSeries(
            "webhook_deliveries_total", "Webhook delivery attempts by outcome (delivered, retrying, failed, "
            "disabled: 410 Gone switched the webhook off)", ("status",))
        for status in WEBHOOK_OUTCOMES:
            self.webhook_deliveries.labels(status)
        self.webhook_queue_depth = GaugeSeries(
            "webhook_queue_depth", "Webhook deliveries waiting or in flight, with content changes not yet fanned "
            "out (as last seen by this process)")
        self.webhook_queue_depth.labels()  # exists (at 0) from the start
        self.database_connection_errors = CounterSeries(
            "database_connection_errors_total", "Database failures seen by requests and probes")
        self.http_connections_closed = CounterSeries(
            "http_connections_closed_total", "Connections the server closed on a client: head_timeout (request "
            "head not complete in time), body_timeout (body not complete in time), shed (an idle connection "
            "closed for a new one at the connection cap), refused (at the cap with none idle)", ("reason",))
        for reason in CONNECTION_CLOSE_REASONS:
            self.http_connections_closed.labels(reason)
        self._series: list[_Series] = [
            value for value in vars(self).values() if isinstance(value, _Series)]

    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry, made (and prometheus_client imported) on first use."""
        if self._registry is None:
            from prometheus_client import CollectorRegistry
            from prometheus_client.gc_collector import GCCollector
            from prometheus_client.platform_collector import PlatformCollector
            from prometheus_client.process_collector import ProcessCollector

            registry = CollectorRegistry(auto_describe=True)
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
            registry.register(self.http)  # type: ignore[arg-type]
            registry.register(self.rate_limit_remaining)  # type: ignore[arg-type]
            registry.register(_SeriesCollector(self._series))  # type: ignore[arg-type]
            self._registry = registry
        return self._registry

    def render(self) -> bytes:
        from prometheus_client.exposition import generate_latest

        return bytes(generate_latest(self.registry))
