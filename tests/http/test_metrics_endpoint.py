"""GET /api/metrics: auth, content type, and every series the spec and runbook name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from folionaut.settings import Settings

MakeClient = Callable[..., Awaitable[Any]]
METRICS_TOKEN = "scraper-token-abc"

# Spec section 6 (and the runbook's greps).
REQUIRED = (
    "http_requests_total", "http_request_duration_seconds", "circuit_breaker_state", "rate_limit_hits_total",
    "cache_operations_total", "llm_requests_total", "llm_request_duration_seconds", "chat_messages_total",
    "chat_tokens_total", "database_connection_errors_total", "rate_limit_remaining",
    "process_cpu_seconds_total", "process_resident_memory_bytes",
)


def names_in(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")  # the parser strips _total from counter families
        names.update(sample.name for sample in family.samples)
    return names


async def test_metrics_requires_admin_key_or_metrics_token(
    make_client: MakeClient, settings: Settings, admin_headers: dict[str, str]
) -> None:
    client = await make_client(settings.replace(metrics_token=METRICS_TOKEN))
    anonymous = await client.get("/api/metrics")
    assert anonymous.status == 401
    assert (await anonymous.json())["error"]["code"] == "UNAUTHORIZED"
    wrong = await client.get("/api/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert (await client.get("/api/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).status == 200
    as_admin = await client.get("/api/metrics", headers=admin_headers)
    assert as_admin.status == 200
    assert as_admin.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


async def test_no_token_configured_means_bearer_is_refused(make_client: MakeClient, settings: Settings) -> None:
    client = await make_client(settings.replace(metrics_token=""))
    assert (await client.get("/api/metrics", headers={"Authorization": "Bearer "})).status == 401


async def test_metrics_public_serves_the_runbooks_bare_curl(make_client: MakeClient, settings: Settings) -> None:
    # The runbook checks the breaker with `curl -s …/api/metrics | grep circuit_breaker`, no credentials.
    client = await make_client(settings.replace(metrics_public=True))
    anonymous = await client.get("/api/metrics")
    assert anonymous.status == 200
    assert 'circuit_breaker_state{name="llm"} 0.0' in await anonymous.text()
    assert (await client.get("/api/v1/admin/content")).status == 401  # only metrics are opened


async def test_every_named_series_is_there_from_startup(
    make_client: MakeClient, settings: Settings, admin_headers: dict[str, str]
) -> None:
    client = await make_client(settings.replace(feature_rate_limiting=True, content_rate_limit_capacity=1))
    await client.get("/api/v1/content")
    await client.get("/api/v1/content")  # refused: counts a hit
    text = await (await client.get("/api/metrics", headers=admin_headers)).text()

    missing = [name for name in REQUIRED if name not in names_in(text)]
    assert missing == []
    assert 'circuit_breaker_state{name="llm"} 0.0' in text
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text) for sample in family.samples
    }
    assert samples[("rate_limit_hits_total", (("limiter", "content"),))] == 1
    remaining = [labels for (name, labels) in samples if name == "rate_limit_remaining"]
    assert len(remaining) == 1
    ip_hash = dict(remaining[0])["ip_hash"]
    assert len(ip_hash) == 16 and "127.0.0.1" not in text  # hashed, never the raw address
    assert samples[("http_requests_total", (("method", "GET"), ("path", "/api/v1/content"), ("status", "429")))] == 1


async def test_redis_cache_series_exist_when_redis_configured(
    make_client: MakeClient, settings: Settings, admin_headers: dict[str, str], redis_url: str
) -> None:
    client = await make_client(settings.replace(redis_url=redis_url))
    text = await (await client.get("/api/metrics", headers=admin_headers)).text()
    assert 'cache_operations_total{layer="redis",operation="get",result="hit"} 0.0' in text
    assert 'cache_operations_total{layer="memory",operation="get",result="miss"}' in text
