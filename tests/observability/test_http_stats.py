"""The request metrics are exported as Prometheus would count them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from folionaut.observability.metrics import Metrics


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name.startswith("http_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_counts_buckets_and_sum_follow_prometheus_semantics() -> None:
    metrics = Metrics()
    for seconds in (0.001, 0.0011, 0.02, 31.0):  # 0.001 sits exactly on a bound: counted in le="0.001"
        metrics.http.record("GET", "/api/v1/content/bundle", 200, seconds)
    metrics.http.record("GET", "/api/v1/content/bundle", 304, 0.0001)
    found = samples(metrics)
    route = (("method", "GET"), ("path", "/api/v1/content/bundle"))

    def bucket(le: str) -> float:
        return found[("http_request_duration_seconds_bucket", tuple(sorted((*route, ("le", le)))))]

    assert found[("http_requests_total", (*route, ("status", "200")))] == 4
    assert found[("http_requests_total", (*route, ("status", "304")))] == 1
    assert bucket("0.0005") == 1
    assert bucket("0.001") == 2
    assert bucket("0.0025") == 3
    assert bucket("0.025") == 4
    assert bucket("30.0") == 4
    assert bucket("+Inf") == 5
    assert found[("http_request_duration_seconds_count", route)] == 5
    assert abs(found[("http_request_duration_seconds_sum", route)] - 31.0222) < 1e-9


def test_unknown_methods_share_one_label_value() -> None:
    metrics = Metrics()
    for method in ("BREW", "PROPFIND", "X" * 50):
        metrics.http.record(method, "unmatched", 404, 0.001)
    found = samples(metrics)
    methods = {dict(labels)["method"] for name, labels in found if name == "http_requests_total"}
    assert methods == {"OTHER"}
