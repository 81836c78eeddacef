"""POST /api/v1/chat and the admin chat endpoints over real HTTP, against the fake LLM server."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.chat.guardrails import CLARIFICATION_ANSWER
from folionaut.core.clock import ManualClock
from folionaut.http.app import create_app
from folionaut.settings import Settings
from tests.helpers.fake_llm import (
    FakeLLM,
    RecordedRequest,
    RecordingSleep,
    Scripted,
    answer,
    bad_request,
    hang,
    server_error,
    tool_call,
    tool_calls,
)

API_KEY = "sk-test-chat-0123456789"
OWNER = "Ada Lovelace"
CONTACT = "hello@ada.example"

Start = Callable[..., Awaitable[TestClient]]


@pytest.fixture
def chat_settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return settings.replace(
        llm_base_url=fake_llm.base_url, llm_api_key=API_KEY, llm_max_retries=0, llm_request_timeout_ms=5000,
        portfolio_owner_name=OWNER, public_contact_email=CONTACT,
    )


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def start(aiohttp_client: Any, sleep: RecordingSleep) -> Start:
    """The real app on a loopback port, retry backoff recorded instead of slept."""

    async def run(app_settings: Settings, **app_options: Any) -> TestClient:
        return await aiohttp_client(create_app(app_settings, llm_sleep=sleep, **app_options))

    return run


async def seed(client: TestClient, admin: dict[str, str]) -> None:
    items = [
        ("project", {"title": "Analytical Engine", "description": "A mechanical general-purpose computer"},
         "published"),
        ("project", {"title": "Note G", "description": "The first published algorithm"}, "published"),
        ("project", {"title": "Secret Draft Machine", "description": "not ready"}, "draft"),
    ]
    for content_type, data, status in items:
        response = await client.post("/api/v1/admin/content", headers=admin,
                                     json={"type": content_type, "data": data, "status": status})
        assert response.status == 201, await response.text()


async def ask(client: TestClient, message: str = "What did Ada build?", visitor: str = "visitor-1",
              query: str = "") -> Any:
    return await client.post(f"/api/v1/chat{query}", json={"message": message, "visitorId": visitor})


async def metrics_text(client: TestClient, admin: dict[str, str]) -> str:
    response = await client.get("/api/metrics", headers=admin)
    assert response.status == 200
    return await response.text()


def metric(text: str, series: str) -> float:
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{series} not in metrics"
    return float(match.group(1))


def breaker_state(text: str) -> float:
    return metric(text, 'circuit_breaker_state{name="llm"}')


# --- a turn -------------------------------------------------------------------------------

async def test_tool_round_trip_stores_the_turn_and_reports_tool_calls(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    await seed(client, admin_headers)

    def final(request: RecordedRequest) -> Scripted:
        tool_message = request.messages[-1]
        assert tool_message["role"] == "tool"
        assert "Analytical Engine" in tool_message["content"]
        return answer("Ada built the Analytical Engine.", prompt_tokens=40, completion_tokens=10)

    fake_llm.enqueue(
        tool_calls(tool_call("search_content", {"query": "engine"}), prompt_tokens=30, completion_tokens=5),
        final,
    )
    response = await ask(client, query="?includeToolCalls=true")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert "data" not in body
    assert body["sessionId"].startswith("sess_")
    assert body["message"]["id"].startswith("msg_")
    assert body["message"]["role"] == "assistant"
    assert body["message"]["content"] == "Ada built the Analytical Engine."
    assert body["tokensUsed"] == 85
    [call] = body["toolCalls"]
    assert call["name"] == "search_content"
    assert call["arguments"] == {"query": "engine"}
    assert call["id"]
    assert [item["data"]["title"] for item in call["result"]["results"]] == ["Analytical Engine"]
    # The model was offered exactly the four read-only tools.
    assert sorted(fake_llm.chat_requests[0].tool_names) == ["get_content", "list_content", "list_types",
                                                             "search_content"]

    session = await client.get(f"/api/v1/admin/chat/sessions/{body['sessionId']}", headers=admin_headers)
    assert session.status == 200
    stored = (await session.json())["data"]
    assert stored["status"] == "active"
    assert stored["visitorId"] == "visitor-1"
    assert stored["messageCount"] == 2
    assert stored["ipHash"] and "127.0.0.1" not in stored["ipHash"]
    assert [(m["role"], m["content"]) for m in stored["messages"]] == [
        ("user", "What did Ada build?"), ("assistant", "Ada built the Analytical Engine.")]
    assert stored["messages"][1]["id"] == body["message"]["id"]
    assert stored["messages"][1]["tokensUsed"] == 85

    # Without includeToolCalls there is no toolCalls field, and the same visitor keeps the session.
    fake_llm.enqueue(tool_calls(tool_call("list_types")), answer("Projects."))
    again = await ask(client, "What kinds of things are there?")
    assert again.status == 200
    again_body = await again.json()
    assert "toolCalls" not in again_body
    assert again_body["sessionId"] == body["sessionId"]
    # The earlier turn was sent to the model as history.
    history = [(m["role"], m.get("content")) for m in fake_llm.chat_requests[2].messages[1:3]]
    assert history == [("user", "What did Ada build?"), ("assistant", "Ada built the Analytical Engine.")]


async def test_a_failing_tool_is_reported_to_the_model_not_to_the_visitor(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(tool_calls(tool_call("get_content", {"type": "project", "slug": "nope"})),
                     answer("I could not find that project."))
    response = await ask(client, query="?includeToolCalls=1")
    assert response.status == 200
    [call] = (await response.json())["toolCalls"]
    assert "error" in call["result"]
    assert "error" in fake_llm.chat_requests[1].messages[-1]["content"]


async def test_system_prompt_names_owner_contact_and_published_titles_only(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    await seed(client, admin_headers)
    fake_llm.enqueue(answer("Hi!"))
    assert (await ask(client)).status == 200
    system = fake_llm.chat_requests[0].messages[0]
    assert system["role"] == "system"
    prompt = system["content"]
    assert OWNER in prompt
    assert CONTACT in prompt
    assert "Analytical Engine" in prompt and "Note G" in prompt
    assert "Secret Draft Machine" not in prompt

    # A content write is reflected in the next prompt (the summary cache is invalidated).
    response = await client.post("/api/v1/admin/content", headers=admin_headers, json={
        "type": "skill", "data": {"title": "Mathematics"}, "status": "published"})
    assert response.status == 201
    fake_llm.enqueue(answer("Hi again!"))
    assert (await ask(client)).status == 200
    assert "Mathematics" in fake_llm.chat_requests[1].messages[0]["content"]


async def test_blank_input_is_answered_without_the_llm(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings)
    response = await ask(client, "  \n\t \u200b ")
    assert response.status == 200
    body = await response.json()
    assert body["message"]["content"] == CLARIFICATION_ANSWER
    assert body["tokensUsed"] == 0
    assert fake_llm.chat_requests == []


async def test_pii_in_the_answer_is_redacted_but_the_public_contact_kept(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(answer(
        f"Write to {CONTACT.upper()} or ada.private@gmail.com, call (555) 123-4567, SSN 123-45-6789. "
        "She worked on it from 1842-1843, version 2.10.1, priced at $1,299.99, released 2024-01-15T10:00:00Z."))
    response = await ask(client)
    assert response.status == 200
    content = (await response.json())["message"]["content"]
    assert CONTACT.upper() in content
    assert "ada.private@gmail.com" not in content and "[REDACTED EMAIL]" in content
    assert "123-4567" not in content and "[REDACTED PHONE]" in content
    assert "123-45-6789" not in content and "[REDACTED SSN]" in content
    for kept in ("1842-1843", "2.10.1", "$1,299.99", "2024-01-15T10:00:00Z"):
        assert kept in content
    # What is stored is the redacted answer too.
    session_id = (await response.json())["sessionId"]
    stored = await (await client.get(f"/api/v1/admin/chat/sessions/{session_id}", headers=admin_headers)).json()
    assert stored["data"]["messages"][1]["content"] == content


# --- LLM failures, retries, breaker, timeout ---------------------------------------------------

async def test_retries_then_success(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, sleep: RecordingSleep, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(llm_max_retries=2))
    fake_llm.enqueue(server_error(503), server_error(500), answer("Third time lucky."))
    response = await ask(client)
    assert response.status == 200, await response.text()
    assert (await response.json())["message"]["content"] == "Third time lucky."
    assert len(fake_llm.chat_requests) == 3
    assert len(sleep.delays) == 2  # backed off between attempts, without really waiting
    text = await metrics_text(client, admin_headers)
    assert metric(text, 'llm_requests_total{model="gpt-4o-mini",status="error"}') == 2
    assert metric(text, 'llm_requests_total{model="gpt-4o-mini",status="success"}') == 1


async def test_provider_failure_is_502_and_the_visitor_message_is_kept(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(llm_max_retries=1))
    fake_llm.enqueue(server_error(500), server_error(502))
    response = await ask(client)
    assert response.status == 502
    error = (await response.json())["error"]
    assert error["code"] == "LLM_ERROR"
    assert API_KEY not in error["message"]
    sessions = (await (await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)).json())["data"]
    [session] = sessions
    assert session["messageCount"] == 1


async def test_breaker_opens_after_five_failures_then_recovers_through_half_open(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await start(chat_settings, clock=clock)
    assert breaker_state(await metrics_text(client, admin_headers)) == 0

    fake_llm.enqueue(*[server_error(500) for _ in range(5)])
    for _ in range(5):
        response = await ask(client)
        assert response.status == 502
    assert len(fake_llm.chat_requests) == 5
    assert breaker_state(await metrics_text(client, admin_headers)) == 2

    # Open: refused at once, the provider is not called.
    fake_llm.enqueue(answer("should not be asked"))
    refused = await ask(client)
    assert refused.status == 502
    assert (await refused.json())["error"]["code"] == "LLM_ERROR"
    assert len(fake_llm.chat_requests) == 5
    text = await metrics_text(client, admin_headers)
    assert metric(text, 'llm_requests_total{model="gpt-4o-mini",status="circuit_open"}') == 1

    # After the reset timeout one probe goes through; two successes close the circuit.
    clock.advance(31)
    # The runbook: after 30 s the circuit reads half-open (1), before any request arrives.
    assert breaker_state(await metrics_text(client, admin_headers)) == 1
    probe = await ask(client)
    assert probe.status == 200
    assert (await probe.json())["message"]["content"] == "should not be asked"
    assert len(fake_llm.chat_requests) == 6
    assert breaker_state(await metrics_text(client, admin_headers)) == 1
    fake_llm.enqueue(answer("second probe"))
    assert (await ask(client)).status == 200
    assert breaker_state(await metrics_text(client, admin_headers)) == 0
    fake_llm.enqueue(answer("closed"))
    assert (await ask(client)).status == 200
    assert len(fake_llm.chat_requests) == 8


async def test_breaker_thresholds_come_from_settings(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    # The runbook's "temporarily increase failureThreshold in config".
    clock = ManualClock()
    client = await start(chat_settings.replace(
        circuit_breaker_failure_threshold=7, circuit_breaker_reset_timeout_ms=5000,
        circuit_breaker_success_threshold=1), clock=clock)
    fake_llm.enqueue(*[server_error(500) for _ in range(7)])
    for attempt in range(7):
        assert breaker_state(await metrics_text(client, admin_headers)) == 0, attempt
        assert (await ask(client)).status == 502
    assert breaker_state(await metrics_text(client, admin_headers)) == 2
    clock.advance(5.1)
    assert breaker_state(await metrics_text(client, admin_headers)) == 1
    fake_llm.enqueue(answer("back"))
    assert (await ask(client)).status == 200
    assert breaker_state(await metrics_text(client, admin_headers)) == 0


async def test_a_failed_half_open_probe_opens_the_circuit_again(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await start(chat_settings, clock=clock)
    fake_llm.enqueue(*[server_error(500) for _ in range(6)])
    for _ in range(5):
        assert (await ask(client)).status == 502
    clock.advance(31)
    assert (await ask(client)).status == 502  # the probe fails
    assert len(fake_llm.chat_requests) == 6
    assert breaker_state(await metrics_text(client, admin_headers)) == 2
    assert (await ask(client)).status == 502
    assert len(fake_llm.chat_requests) == 6


async def test_whole_turn_over_chat_timeout_is_504_even_when_the_llm_timeout_is_longer(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(chat_request_timeout_ms=300, llm_request_timeout_ms=20_000))
    fake_llm.enqueue(hang())
    response = await ask(client)
    assert response.status == 504
    error = (await response.json())["error"]
    assert error["code"] == "REQUEST_TIMEOUT"
    assert error["requestId"] == response.headers["X-Request-Id"]
    text = await metrics_text(client, admin_headers)
    assert metric(text, 'llm_requests_total{model="gpt-4o-mini",status="timeout"}') == 1
    # The visitor's message is kept, as for a 502, so the admin sees the attempt.
    [session] = (await (await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)).json())["data"]
    assert session["messageCount"] == 1
    fake_llm.enqueue(answer("back"))
    assert (await ask(client)).status == 200
    detail = await client.get(f"/api/v1/admin/chat/sessions/{session['id']}", headers=admin_headers)
    assert [m["role"] for m in (await detail.json())["data"]["messages"]] == ["user", "user", "assistant"]


async def test_a_provider_hanging_past_the_chat_deadline_opens_the_breaker(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    # The defaults' shape: one attempt may take longer than the whole chat may wait.
    client = await start(chat_settings.replace(chat_request_timeout_ms=200, llm_request_timeout_ms=20_000))
    fake_llm.enqueue(*[hang() for _ in range(5)])
    for _ in range(5):
        assert (await ask(client)).status == 504
    assert breaker_state(await metrics_text(client, admin_headers)) == 2
    # Then the runbook's symptom: 502 at once, without waiting on the provider.
    refused = await ask(client)
    assert refused.status == 502
    assert (await refused.json())["error"]["code"] == "LLM_ERROR"
    assert len(fake_llm.chat_requests) == 5


async def test_llm_timeout_shorter_than_chat_timeout_is_502(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(chat_request_timeout_ms=10_000, llm_request_timeout_ms=200))
    fake_llm.enqueue(hang())
    response = await ask(client)
    assert response.status == 502
    assert response.headers["Retry-After"] == "5"
    # The cause is logged; the visitor reads a message meant for them.
    assert "timed out" not in (await response.json())["error"]["message"]


# --- sessions ---------------------------------------------------------------------------------

async def test_session_reused_then_expired_after_idle_ttl(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await start(chat_settings, clock=clock)
    fake_llm.default = answer("ok")
    first = (await (await ask(client)).json())["sessionId"]
    clock.advance(29 * 60)
    assert (await (await ask(client)).json())["sessionId"] == first  # idle less than 30 min
    other = (await (await ask(client, visitor="visitor-2")).json())["sessionId"]
    assert other != first

    clock.advance(31 * 60)
    third = (await (await ask(client)).json())["sessionId"]
    assert third not in (first, other)

    old = (await (await client.get(f"/api/v1/admin/chat/sessions/{first}", headers=admin_headers)).json())["data"]
    assert old["status"] == "expired"
    assert old["messageCount"] == 4
    # visitor-2 was idle too: the admin view shows it as expired without another chat.
    expired = await client.get("/api/v1/admin/chat/sessions?status=expired", headers=admin_headers)
    assert sorted(s["id"] for s in (await expired.json())["data"]) == sorted([first, other])
    active = await client.get("/api/v1/admin/chat/sessions?status=active", headers=admin_headers)
    assert [s["id"] for s in (await active.json())["data"]] == [third]


async def test_admin_sessions_list_paging_and_end(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    clock = ManualClock()
    client = await start(chat_settings, clock=clock)
    fake_llm.default = answer("ok")
    ids = []
    for number in range(3):
        ids.append((await (await ask(client, visitor=f"v{number}")).json())["sessionId"])
        clock.advance(1)

    listing = await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)
    sessions = (await listing.json())["data"]
    assert [s["id"] for s in sessions] == ids[::-1]  # most recently active first
    assert set(sessions[0]) == {"id", "visitorId", "ipHash", "userAgent", "messageCount", "status", "createdAt",
                                "lastActiveAt", "expiresAt"}
    page = await client.get("/api/v1/admin/chat/sessions?limit=1&offset=1", headers=admin_headers)
    assert [s["id"] for s in (await page.json())["data"]] == [ids[1]]

    ended = await client.delete(f"/api/v1/admin/chat/sessions/{ids[0]}", headers=admin_headers)
    assert ended.status == 200
    assert await ended.json() == {"success": True}
    detail = await client.get(f"/api/v1/admin/chat/sessions/{ids[0]}", headers=admin_headers)
    assert (await detail.json())["data"]["status"] == "ended"
    # The visitor of an ended session starts a new one.
    assert (await (await ask(client, visitor="v0")).json())["sessionId"] != ids[0]

    ended_list = await client.get("/api/v1/admin/chat/sessions?status=ended", headers=admin_headers)
    assert [s["id"] for s in (await ended_list.json())["data"]] == [ids[0]]


async def test_admin_session_errors(
    start: Start, chat_settings: Settings, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    assert (await client.get("/api/v1/admin/chat/sessions")).status == 401
    assert (await client.delete("/api/v1/admin/chat/sessions/sess_x")).status == 401
    missing = await client.get("/api/v1/admin/chat/sessions/sess_doesnotexist", headers=admin_headers)
    assert missing.status == 404
    assert (await client.delete("/api/v1/admin/chat/sessions/sess_nope", headers=admin_headers)).status == 404
    bad_id = await client.get("/api/v1/admin/chat/sessions/content_abc", headers=admin_headers)
    assert bad_id.status == 400 and "id" in (await bad_id.json())["error"]["fields"]
    bad_status = await client.get("/api/v1/admin/chat/sessions?status=open", headers=admin_headers)
    assert bad_status.status == 400 and "status" in (await bad_status.json())["error"]["fields"]
    bad_limit = await client.get("/api/v1/admin/chat/sessions?limit=0", headers=admin_headers)
    assert bad_limit.status == 400 and "limit" in (await bad_limit.json())["error"]["fields"]


# --- offline, validation, switches, limits, metrics ------------------------------------------

async def test_offline_mode_answers_from_content(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(llm_api_key=""))
    await seed(client, admin_headers)
    response = await ask(client, "Tell me about the analytical engine")
    assert response.status == 200
    body = await response.json()
    assert body["model"] == "local"
    assert "Analytical Engine" in body["message"]["content"]
    assert "Secret Draft" not in body["message"]["content"]
    assert body["tokensUsed"] == 0
    assert fake_llm.requests == []
    stored = await (await client.get(f"/api/v1/admin/chat/sessions/{body['sessionId']}",
                                     headers=admin_headers)).json()
    assert stored["data"]["messages"][1]["model"] == "local"


@pytest.mark.parametrize(("body", "field"), [
    ({"visitorId": "v"}, "message"),
    ({"message": "", "visitorId": "v"}, "message"),
    ({"message": "x" * 2001, "visitorId": "v"}, "message"),
    ({"message": 42, "visitorId": "v"}, "message"),
    ({"message": "hi"}, "visitorId"),
    ({"message": "hi", "visitorId": ""}, "visitorId"),
    ({"message": "hi", "visitorId": "v" * 101}, "visitorId"),
])
async def test_validation_errors_name_the_field(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, body: dict[str, Any], field: str,
) -> None:
    client = await start(chat_settings)
    response = await client.post("/api/v1/chat", json=body)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["fields"]
    assert fake_llm.requests == []


async def test_limits_of_valid_input_are_accepted(start: Start, chat_settings: Settings, fake_llm: FakeLLM) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(answer("long"))
    response = await client.post("/api/v1/chat", json={"message": "x" * 2000, "visitorId": "v" * 100})
    assert response.status == 200


async def test_malformed_json_is_bad_request(start: Start, chat_settings: Settings) -> None:
    client = await start(chat_settings)
    response = await client.post("/api/v1/chat", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "BAD_REQUEST"


async def test_chat_switched_off_is_404(start: Start, chat_settings: Settings, admin_headers: dict[str, str]) -> None:
    client = await start(chat_settings.replace(feature_ai_chat=False))
    response = await ask(client)
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "NOT_FOUND"
    assert (await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)).status == 404


async def test_chat_rate_limit_429_with_retry_after(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(feature_rate_limiting=True, rate_limit_capacity=2,
                                               rate_limit_refill_rate=0.01))
    fake_llm.default = answer("ok")
    first, second = await ask(client), await ask(client)
    assert first.status == second.status == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    refused = await ask(client)
    assert refused.status == 429
    error = (await refused.json())["error"]
    assert error["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(refused.headers["Retry-After"]) == error["retryAfter"] >= 1
    assert len(fake_llm.chat_requests) == 2
    # Content reads have their own bucket.
    assert (await client.get("/api/v1/content")).status == 200


async def test_chat_metrics_move(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    before = await metrics_text(client, admin_headers)
    assert metric(before, 'chat_messages_total{role="user"}') == 0
    assert metric(before, "chat_tokens_total") == 0
    fake_llm.enqueue(answer("one", prompt_tokens=100, completion_tokens=20), answer("two", prompt_tokens=7,
                                                                                   completion_tokens=3))
    await ask(client)
    await ask(client)
    after = await metrics_text(client, admin_headers)
    assert metric(after, 'chat_messages_total{role="user"}') == 2
    assert metric(after, 'chat_messages_total{role="assistant"}') == 2
    assert metric(after, "chat_tokens_total") == 130
    assert metric(after, 'llm_requests_total{model="gpt-4o-mini",status="success"}') == 2
    assert metric(after, 'llm_request_duration_seconds_count{model="gpt-4o-mini"}') == 2


async def test_include_tool_calls_is_parsed_strictly(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    bad = await ask(client, query="?includeToolCalls=maybe")
    assert bad.status == 400
    assert "includeToolCalls" in (await bad.json())["error"]["fields"]
    fake_llm.enqueue(tool_calls(tool_call("list_types")), answer("Nothing yet."))
    off = await client.post("/api/v1/chat?includeToolCalls=false", headers={"User-Agent": "TestBrowser/1.0"},
                            json={"message": "hi", "visitorId": "ua-visitor"})
    body = await off.json()
    assert off.status == 200 and "toolCalls" not in body
    session = await client.get(f"/api/v1/admin/chat/sessions/{body['sessionId']}", headers=admin_headers)
    assert (await session.json())["data"]["userAgent"] == "TestBrowser/1.0"


async def test_a_wrong_api_key_is_502_and_counts_against_the_breaker(
    start: Start, chat_settings: Settings, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    # The runbook: "if persistent, check LLM_API_KEY": the log says 401, the visitor does not.
    async with FakeLLM(api_key="sk-the-right-key") as provider:
        client = await start(chat_settings.replace(llm_base_url=provider.base_url, llm_api_key="sk-a-wrong-key"))
        for _ in range(5):
            response = await ask(client)
            assert response.status == 502 and response.headers["Retry-After"] == "5"
            error = (await response.json())["error"]
            assert error["code"] == "LLM_ERROR" and "401" not in error["message"]
            assert "sk-a-wrong-key" not in error["message"]
        logged = [record.getMessage() for record in caplog.records if record.name == "folionaut.chat"]
        assert any("HTTP 401" in line for line in logged)
        assert not any("sk-a-wrong-key" in line for line in logged)
        assert len(provider.chat_requests) == 5
        assert breaker_state(await metrics_text(client, admin_headers)) == 2


async def test_the_providers_error_text_is_logged_and_never_shown_to_visitors(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, caplog: pytest.LogCaptureFixture,
) -> None:
    provider_text = "upstream llm-gw-7.corp.internal refused org-3f9a2c: quota for project vision-internal"
    client = await start(chat_settings.replace(llm_max_retries=0))
    fake_llm.enqueue(bad_request(provider_text))
    response = await ask(client)
    assert response.status == 502
    error = (await response.json())["error"]
    assert error["code"] == "LLM_ERROR"
    assert error["message"] == "The AI assistant is temporarily unavailable; please try again shortly"
    assert "corp.internal" not in await response.text() and "org-3f9a2c" not in await response.text()
    logged = [record.getMessage() for record in caplog.records if record.name == "folionaut.chat"]
    assert any("org-3f9a2c" in line and "HTTP 400" in line for line in logged), logged
