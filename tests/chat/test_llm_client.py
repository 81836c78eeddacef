"""The chat-completions client against the fake OpenAI-compatible server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from folionaut.chat.llm import LLMClient, is_breaker_failure
from folionaut.chat.llm_protocol import Completion, FunctionTool, LLMCallError, tool_result_message
from folionaut.core.clock import ManualClock
from folionaut.core.errors import LLMError
from folionaut.observability.metrics import Metrics
from folionaut.resilience.breaker import CircuitBreaker
from folionaut.settings import Settings, test_settings
from tests.helpers.fake_llm import (
    FakeLLM,
    RecordingSleep,
    answer,
    bad_request,
    drop_connection,
    hang,
    malformed,
    rate_limited,
    server_error,
    tool_call,
    tool_calls,
)

API_KEY = "sk-test-0123456789abcdef"
MODEL = "gpt-4o-mini"
QUESTION: list[dict[str, Any]] = [
    {"role": "system", "content": "You answer questions about a portfolio."},
    {"role": "user", "content": "What projects use Rust?"},
]
SEARCH_TOOL = FunctionTool(
    "search_content", "Search the portfolio",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)

MakeClient = Callable[..., LLMClient]


def llm_settings(base_url: str, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_base_url": base_url, "llm_api_key": API_KEY, "llm_model": MODEL, "llm_max_tokens": 321,
        "llm_temperature": 0.2, "llm_request_timeout_ms": 5000, "llm_max_retries": 3,
    }
    values.update(changes)
    return test_settings(**values)


def count(metrics: Metrics, status: str) -> float:
    return metrics.registry.get_sample_value("llm_requests_total", {"model": MODEL, "status": status}) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def make_client(
    fake_llm: FakeLLM, metrics: Metrics, recording_sleep: RecordingSleep,
) -> AsyncIterator[MakeClient]:
    clients: list[LLMClient] = []

    def make(base_url: str | None = None, breaker: Any = None, **changes: Any) -> LLMClient:
        # rng=1.0 makes full jitter pick the top of each backoff window, so delays are predictable.
        client = LLMClient(llm_settings(base_url or fake_llm.base_url, **changes), metrics, breaker,
                           sleep=recording_sleep, rng=lambda: 1.0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_plain_answer_is_parsed_and_request_carries_settings(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics,
) -> None:
    fake_llm.enqueue(answer("Two projects use Rust.", prompt_tokens=120, completion_tokens=30))
    result = await make_client().complete(QUESTION)

    assert result == Completion(content="Two projects use Rust.", tool_calls=(), finish_reason="stop",
                                usage=result.usage, model=fake_llm.model)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (120, 30, 150)
    [sent] = fake_llm.chat_requests
    assert sent.body["model"] == MODEL
    assert sent.body["messages"] == QUESTION
    assert sent.body["max_tokens"] == 321
    assert sent.body["temperature"] == 0.2
    assert "tools" not in sent.body
    assert sent.authorization == f"Bearer {API_KEY}"
    assert sent.headers["Content-Type"].startswith("application/json")
    assert count(metrics, "success") == 1
    assert metrics.registry.get_sample_value("llm_request_duration_seconds_count", {"model": MODEL}) == 1


async def test_tool_call_round_is_parsed_and_results_go_back(fake_llm: FakeLLM, make_client: MakeClient) -> None:
    fake_llm.enqueue(
        tool_calls(tool_call("search_content", {"query": "rust"}), tool_call("list_types")),
        answer("Folio-rs is written in Rust."),
    )
    client = make_client()
    first = await client.complete(QUESTION, [SEARCH_TOOL, {"type": "function", "function": {"name": "list_types"}}])

    assert first.wants_tools and first.finish_reason == "tool_calls" and first.content is None
    assert [call.name for call in first.tool_calls] == ["search_content", "list_types"]
    assert first.tool_calls[0].parsed_arguments() == {"query": "rust"}
    assert first.tool_calls[1].parsed_arguments() == {}
    assert all(call.id for call in first.tool_calls)
    sent = fake_llm.chat_requests[0]
    assert sent.tool_names == ["search_content", "list_types"]
    assert sent.tools[0]["function"]["parameters"]["required"] == ["query"]
    assert sent.body["tool_choice"] == "auto"

    follow_up = [*QUESTION, first.assistant_message(),
                 *(tool_result_message(call.id, '{"items": []}') for call in first.tool_calls)]
    second = await client.complete(follow_up, [SEARCH_TOOL])
    assert second.content == "Folio-rs is written in Rust."
    # The fake enforces the real API's tool-message rules, so this also proves the round trip is well formed.
    sent_back = fake_llm.chat_requests[1].messages
    assert sent_back[2]["tool_calls"][0]["function"]["arguments"] == '{"query": "rust"}'
    assert [m["tool_call_id"] for m in sent_back[3:]] == [call.id for call in first.tool_calls]


async def test_bad_tool_arguments_are_reported_not_crashing(fake_llm: FakeLLM, make_client: MakeClient) -> None:
    fake_llm.enqueue(tool_calls(tool_call("search_content", "{not json")))
    result = await make_client().complete(QUESTION, [SEARCH_TOOL])
    with pytest.raises(ValueError, match="invalid JSON"):
        result.tool_calls[0].parsed_arguments()


async def test_server_errors_are_retried_with_backoff_then_succeed(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(server_error(500), server_error(503), answer("ok"))
    result = await make_client().complete(QUESTION)

    assert result.content == "ok"
    assert len(fake_llm.chat_requests) == 3
    assert recording_sleep.delays == [0.5, 1.0]  # exponential: base 0.5 s doubled, top of the jitter window
    assert count(metrics, "error") == 2 and count(metrics, "success") == 1


async def test_jitter_spreads_delays_below_the_exponential_cap(
    fake_llm: FakeLLM, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(*[server_error()] * 5, answer("ok"))
    draws = iter([0.5, 0.25, 0.9, 0.1, 1.0])
    async with LLMClient(llm_settings(fake_llm.base_url, llm_max_retries=5), metrics,
                         sleep=recording_sleep, rng=lambda: next(draws), backoff_max_seconds=4.0) as client:
        await client.complete(QUESTION)
    # windows 0.5, 1, 2, 4, 4 (capped) scaled by the random draws
    assert recording_sleep.delays == [0.25, 0.25, 1.8, 0.4, 4.0]


async def test_retries_give_up_with_llm_error(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(*[server_error(502, "upstream exploded")] * 3)
    with pytest.raises(LLMError) as caught:
        await make_client(llm_max_retries=2).complete(QUESTION)

    assert caught.value.status == 502 and caught.value.code == "LLM_ERROR"
    assert "HTTP 502" in caught.value.message and "upstream exploded" in caught.value.message
    assert "3 attempts" in caught.value.message
    assert len(fake_llm.chat_requests) == 3 and len(recording_sleep.delays) == 2
    assert count(metrics, "error") == 3


async def test_rate_limit_honours_retry_after(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(rate_limited(retry_after="7"), answer("ok"))
    assert (await make_client().complete(QUESTION)).content == "ok"
    assert recording_sleep.delays == [7.0]
    assert count(metrics, "rate_limited") == 1 and count(metrics, "success") == 1


async def test_retry_after_variants_and_cap(
    fake_llm: FakeLLM, make_client: MakeClient, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(
        rate_limited(retry_after=None, retry_after_ms="1500"),
        rate_limited(retry_after="3600"),  # an hour: capped so a chat request never waits that long
        rate_limited(retry_after="Wed, 21 Oct 2015 07:28:00 GMT"),  # a date in the past: retry at once
        answer("ok"),
    )
    assert (await make_client().complete(QUESTION)).content == "ok"
    assert recording_sleep.delays == [1.5, 20.0, 0.0]


async def test_retry_after_http_date_is_relative_to_the_clock(
    fake_llm: FakeLLM, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    clock = ManualClock(start=1_445_412_470.0)  # 10 s before Wed, 21 Oct 2015 07:28:00 GMT
    fake_llm.enqueue(rate_limited(retry_after="Wed, 21 Oct 2015 07:28:00 GMT"), answer("ok"))
    async with LLMClient(llm_settings(fake_llm.base_url), metrics, sleep=recording_sleep, clock=clock) as client:
        await client.complete(QUESTION)
    assert recording_sleep.delays == [10.0]


async def test_client_errors_fail_at_once(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(bad_request("Invalid 'max_tokens': too large"), answer("never sent"))
    with pytest.raises(LLMCallError) as caught:
        await make_client().complete(QUESTION)

    assert caught.value.provider_status == 400 and caught.value.caused_by_request
    assert "HTTP 400" in caught.value.message and "max_tokens" in caught.value.message
    assert len(fake_llm.chat_requests) == 1 and recording_sleep.delays == []
    assert fake_llm.pending == 1
    assert count(metrics, "error") == 1


async def test_wrong_key_fails_at_once_and_never_leaks_the_key(metrics: Metrics,
                                                              recording_sleep: RecordingSleep) -> None:
    async with FakeLLM(api_key="sk-the-right-one") as server:
        async with LLMClient(llm_settings(server.base_url), metrics, sleep=recording_sleep) as client:
            with pytest.raises(LLMCallError) as caught:
                await client.complete(QUESTION)
        assert len(server.chat_requests) == 1
    assert caught.value.provider_status == 401 and not caught.value.caused_by_request
    assert API_KEY not in str(caught.value) and API_KEY not in caught.value.message


async def test_provider_echoing_the_key_is_scrubbed(fake_llm: FakeLLM, make_client: MakeClient) -> None:
    fake_llm.enqueue(bad_request(f"Incorrect API key provided: {API_KEY}"))
    with pytest.raises(LLMCallError) as caught:
        await make_client().complete(QUESTION)
    assert API_KEY not in caught.value.message and "***" in caught.value.message


async def test_hanging_provider_times_out(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics,
) -> None:
    fake_llm.enqueue(hang())
    with pytest.raises(LLMCallError) as caught:
        await make_client(llm_request_timeout_ms=200, llm_max_retries=0).complete(QUESTION)
    assert caught.value.reason == "timeout" and "timed out after 200 ms" in caught.value.message
    assert count(metrics, "timeout") == 1


async def test_timeout_is_retried(fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics) -> None:
    fake_llm.enqueue(hang(), answer("second try"))
    result = await make_client(llm_request_timeout_ms=200, llm_max_retries=1).complete(QUESTION)
    assert result.content == "second try"
    assert count(metrics, "timeout") == 1 and count(metrics, "success") == 1


async def test_malformed_json_is_an_llm_error_without_retry(
    fake_llm: FakeLLM, make_client: MakeClient, recording_sleep: RecordingSleep,
) -> None:
    fake_llm.enqueue(malformed(), answer("never sent"))
    with pytest.raises(LLMCallError) as caught:
        await make_client().complete(QUESTION)
    assert caught.value.reason == "invalid_response" and caught.value.status == 502
    assert len(fake_llm.chat_requests) == 1 and recording_sleep.delays == []


async def test_dropped_connection_is_retried(fake_llm: FakeLLM, make_client: MakeClient) -> None:
    fake_llm.enqueue(drop_connection(), answer("back"))
    assert (await make_client().complete(QUESTION)).content == "back"
    assert len(fake_llm.chat_requests) == 2


async def test_unreachable_provider(make_client: MakeClient, recording_sleep: RecordingSleep) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port()}/v1", llm_max_retries=2)
    with pytest.raises(LLMCallError) as caught:
        await client.complete(QUESTION)
    assert caught.value.reason == "connection" and "Could not reach" in caught.value.message
    assert len(recording_sleep.delays) == 2
    assert not await client.ping(timeout_seconds=1.0)


async def test_ping_uses_models_endpoint(fake_llm: FakeLLM, make_client: MakeClient) -> None:
    assert await make_client().ping()
    assert fake_llm.requests[-1].path == "/v1/models"
    assert fake_llm.requests[-1].authorization == f"Bearer {API_KEY}"


async def test_open_breaker_refuses_without_calling_the_provider(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics,
) -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("llm", clock, metrics, failure_threshold=2, reset_timeout_seconds=30,
                             success_threshold=1, is_failure=is_breaker_failure)
    client = make_client(breaker=breaker, llm_max_retries=1)
    fake_llm.enqueue(*[server_error()] * 4)
    for _ in range(2):
        with pytest.raises(LLMCallError):
            await client.complete(QUESTION)
    assert len(fake_llm.chat_requests) == 4  # retries happen inside one breaker call
    assert metrics.registry.get_sample_value("circuit_breaker_state", {"name": "llm"}) == 2

    with pytest.raises(LLMError) as caught:
        await client.complete(QUESTION)
    assert getattr(caught.value, "reason", None) == "circuit_open" and caught.value.status == 502
    assert "circuit breaker open" in caught.value.message
    assert len(fake_llm.chat_requests) == 4
    assert count(metrics, "circuit_open") == 1

    clock.advance(30)  # the probe is let through and, succeeding, closes the circuit
    fake_llm.enqueue(answer("recovered"))
    assert (await client.complete(QUESTION)).content == "recovered"
    assert breaker.state == "closed"


async def test_request_mistakes_do_not_open_the_breaker(
    fake_llm: FakeLLM, make_client: MakeClient, metrics: Metrics,
) -> None:
    breaker = CircuitBreaker("llm", ManualClock(), metrics, failure_threshold=1, is_failure=is_breaker_failure)
    client = make_client(breaker=breaker)
    fake_llm.enqueue(bad_request("bad tool schema"), answer("fine"))
    with pytest.raises(LLMCallError):
        await client.complete(QUESTION)
    assert breaker.state == "closed"
    assert (await client.complete(QUESTION)).content == "fine"
