"""Budgets, the offline fallback, Retry-After on 502/504, sources, input redaction and tool-result sizes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.chat.guardrails import EMAIL_MARK, PHONE_MARK
from folionaut.core import jsonutil
from folionaut.core.clock import ManualClock
from folionaut.http.app import create_app
from folionaut.settings import Settings
from tests.helpers.fake_llm import (
    FakeLLM,
    RecordedRequest,
    RecordingSleep,
    Scripted,
    answer,
    hang,
    server_error,
    tool_call,
    tool_calls,
)

API_KEY = "sk-test-budget-0123456789"
Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def chat_settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return settings.replace(llm_base_url=fake_llm.base_url, llm_api_key=API_KEY, llm_max_retries=0,
                            llm_request_timeout_ms=5000, portfolio_owner_name="Ada Lovelace")


@pytest.fixture
def start(aiohttp_client: Any) -> Start:
    async def run(app_settings: Settings, **options: Any) -> TestClient:
        return await aiohttp_client(create_app(app_settings, llm_sleep=RecordingSleep(), **options))

    return run


async def ask(client: TestClient, message: str = "What did Ada build?", visitor: str = "v-1",
              query: str = "") -> Any:
    return await client.post(f"/api/v1/chat{query}", json={"message": message, "visitorId": visitor})


async def metric(client: TestClient, admin: dict[str, str], series: str) -> float:
    text = await (await client.get("/api/metrics", headers=admin)).text()
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match is not None, series
    return float(match.group(1))


# --- budgets ---------------------------------------------------------------------------------

async def test_message_cap_per_session(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await start(chat_settings.replace(chat_max_messages_per_session=2, chat_session_ttl_minutes=30),
                         clock=clock)
    fake_llm.enqueue(answer("One."), answer("Two."), answer("Fresh session."))
    assert (await ask(client)).status == 200
    assert (await ask(client)).status == 200
    refused = await ask(client)
    assert refused.status == 429
    error = (await refused.json())["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED" and "limit of 2 messages" in error["message"]
    assert int(refused.headers["Retry-After"]) == error["retryAfter"] == 30 * 60  # when the session expires
    assert len(fake_llm.chat_requests) == 2  # refused before the provider was asked
    assert await metric(client, admin_headers, 'chat_budget_exceeded_total{budget="session_messages"}') == 1
    assert (await ask(client, visitor="someone-else")).status == 200  # other visitors are not affected
    # Once the session has expired the visitor starts afresh.
    clock.advance(31 * 60)
    fake_llm.enqueue(answer("Again."))
    assert (await ask(client)).status == 200


async def test_session_token_budget_counts_provider_usage(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(chat_session_token_budget=1000))
    fake_llm.enqueue(answer("Big.", prompt_tokens=900, completion_tokens=150))
    assert (await ask(client)).status == 200
    refused = await ask(client)
    assert refused.status == 429 and "used up its budget" in (await refused.json())["error"]["message"]
    assert await metric(client, admin_headers, 'chat_budget_exceeded_total{budget="session_tokens"}') == 1
    # The offline responder spends no tokens: without a key (same database, same session) nothing is refused.
    offline = await start(chat_settings.replace(llm_api_key="", chat_session_token_budget=1000))
    for _ in range(3):
        assert (await ask(offline)).status == 200


async def test_a_budget_running_out_between_tool_rounds_stops_the_tools(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(chat_session_token_budget=500))
    fake_llm.enqueue(tool_calls(tool_call("list_types"), prompt_tokens=480, completion_tokens=30),
                     answer("Done without more tools."))
    body = await (await ask(client)).json()
    assert body["message"]["content"] == "Done without more tools."
    assert "tools" not in fake_llm.chat_requests[1].body  # the second round had to answer in words


async def test_daily_budget_is_shared_by_instances_through_redis(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, redis_url: str, admin_headers: dict[str, str],
) -> None:
    shared = chat_settings.replace(redis_url=redis_url, chat_daily_token_budget=1000)
    first, second = await start(shared), await start(shared)
    fake_llm.enqueue(answer("Spent on the first.", prompt_tokens=700, completion_tokens=100),
                     answer("Spent on the second.", prompt_tokens=150, completion_tokens=100))
    assert (await ask(first, visitor="a")).status == 200
    assert (await ask(second, visitor="b")).status == 200  # 800 < 1000
    refused = await ask(first, visitor="c")  # 1050 >= 1000, counted across both instances
    assert refused.status == 429
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= 86_400 and "today's budget" in (await refused.json())["error"]["message"]
    assert (await ask(second, visitor="d")).status == 429
    assert await metric(first, admin_headers, 'chat_budget_exceeded_total{budget="daily_tokens"}') == 1


# --- failures: Retry-After, fallback ----------------------------------------------------------

async def test_502_and_504_carry_retry_after(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    clock = ManualClock()
    client = await start(chat_settings.replace(circuit_breaker_failure_threshold=1,
                                               circuit_breaker_reset_timeout_ms=20_000), clock=clock)
    fake_llm.enqueue(server_error(500))
    failed = await ask(client)
    assert failed.status == 502 and failed.headers["Retry-After"] == "5"
    clock.advance(5)
    refused = await ask(client)  # the breaker is open: come back when it lets a probe through
    assert refused.status == 502 and refused.headers["Retry-After"] == "15"
    assert "retryAfter" not in (await refused.json())["error"]  # the body field is for 429 only

    slow = await start(chat_settings.replace(chat_request_timeout_ms=300))
    fake_llm.enqueue(hang())
    timed_out = await ask(slow)
    assert timed_out.status == 504 and timed_out.headers["Retry-After"] == "5"


async def test_offline_fallback_while_the_provider_fails(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(chat_fallback="offline", circuit_breaker_failure_threshold=2))
    await client.post("/api/v1/admin/content", headers=admin_headers, json={
        "type": "project", "status": "published",
        "data": {"title": "Analytical Engine", "description": "A mechanical computer"}})
    fake_llm.enqueue(server_error(500), server_error(503))
    for _ in range(3):  # two failures, then the open breaker: all answered offline
        response = await ask(client, "Tell me about the Analytical Engine")
        assert response.status == 200
        body = await response.json()
        assert body["degraded"] is True and body["model"] == "local"
        assert "A mechanical computer" in body["message"]["content"]
    assert len(fake_llm.chat_requests) == 2
    assert await metric(client, admin_headers, "chat_degraded_total") == 3
    # Without the setting the runbook's 502 stands.
    plain = await start(chat_settings)
    fake_llm.enqueue(server_error(500))
    assert (await ask(plain)).status == 502


# --- sources, privacy, tool results -----------------------------------------------------------

async def test_sources_name_the_items_the_answer_used(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    for title in ("Analytical Engine", "Note G", "Difference Engine"):
        await client.post("/api/v1/admin/content", headers=admin_headers, json={
            "type": "project", "status": "published", "data": {"title": title}})
    fake_llm.enqueue(tool_calls(tool_call("get_content", {"type": "project", "slug": "note-g"})),
                     answer("Note G ran on the Analytical Engine."))
    body = await (await ask(client)).json()
    assert body["sources"] == [{"type": "project", "slug": "note-g", "title": "Note G"},
                               {"type": "project", "slug": "analytical-engine", "title": "Analytical Engine"}]
    assert body["degraded"] is False and body["usage"]["totalTokens"] == body["tokensUsed"] > 0


async def test_visitor_messages_are_redacted_before_storing_and_sending(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(answer("Thanks, noted."), answer("Sure."))
    secret = "I'm jane@example.com, call me on 06 12 34 56 78. Does Ada consult?"
    body = await (await ask(client, secret)).json()
    redacted = f"I'm {EMAIL_MARK}, call me on {PHONE_MARK}. Does Ada consult?"
    assert fake_llm.chat_requests[0].messages[-1]["content"] == redacted
    await ask(client, "And rates?")
    history = [m["content"] for m in fake_llm.chat_requests[1].messages if m["role"] == "user"]
    assert history == [redacted, "And rates?"]  # the history sent later is the redacted one too
    stored = await (await client.get(f"/api/v1/admin/chat/sessions/{body['sessionId']}",
                                     headers=admin_headers)).json()
    assert stored["data"]["messages"][0]["content"] == redacted
    # CHAT_REDACT_INPUT=false keeps the message as written.
    verbatim = await start(chat_settings.replace(chat_redact_input=False))
    fake_llm.enqueue(answer("Ok."))
    await ask(verbatim, secret, visitor="other")
    assert fake_llm.chat_requests[2].messages[-1]["content"] == secret


async def test_big_tool_results_are_paged_as_valid_json(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    for number in range(40):
        response = await client.post("/api/v1/admin/content", headers=admin_headers, json={
            "type": "post", "status": "published",
            "data": {"title": f"Post {number}", "body": f"Paragraph {number}. " + "lorem ipsum " * 80}})
        assert response.status == 201
    seen: list[Any] = []

    def final(request: RecordedRequest) -> Scripted:
        seen.append(jsonutil.loads(request.messages[-1]["content"]))  # valid JSON, or this raises
        assert len(request.messages[-1]["content"]) <= 8000
        return answer("There are many posts.")

    fake_llm.enqueue(tool_calls(tool_call("list_content", {"type": "post"})), final)
    body = await (await ask(client, query="?includeToolCalls=true")).json()
    [result] = seen
    assert result["truncated"]["total"] == 40 and 0 < result["truncated"]["returned"] < 40
    assert "offset=" in result["truncated"]["note"]
    assert len(result["items"]) == result["truncated"]["returned"]
    assert len(body["toolCalls"][0]["result"]["items"]) == 40  # the visitor's copy is whole
    # The model can page on.
    fake_llm.enqueue(tool_calls(tool_call("list_content", {"type": "post", "offset": 35, "limit": 10})),
                     answer("Last ones."))
    paged = await (await ask(client, "More?", query="?includeToolCalls=true")).json()
    page = paged["toolCalls"][0]["result"]
    assert [item["data"]["title"] for item in page["items"]] == [f"Post {n}" for n in range(4, -1, -1)]
    assert (page["offset"], page["total"]) == (35, 40)
