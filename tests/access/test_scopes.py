"""Each credential against each route family: 401 (with WWW-Authenticate) or 403 FORBIDDEN or through."""

from __future__ import annotations

from typing import Any

from folionaut.settings import Settings
from tests.access.conftest import ADMIN, bearer, create_token
from tests.conftest import ADMIN_KEY

METRICS_TOKEN = "scraper-" + "m" * 32
MCP_INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "t", "version": "1"}}}


async def _call(client: Any, family: str, headers: dict[str, str], ids: dict[str, str]) -> Any:
    if family == "public read":
        return await client.get("/api/v1/content", headers=headers)
    if family == "admin read: drafts":
        return await client.get("/api/v1/admin/content?status=draft", headers=headers)
    if family == "admin read: history":
        return await client.get(f"/api/v1/admin/content/{ids['item']}/history", headers=headers)
    if family == "admin read: chat sessions":
        return await client.get("/api/v1/admin/chat/sessions", headers=headers)
    if family == "content write":
        return await client.put(f"/api/v1/admin/content/{ids['item']}", json={"sortOrder": 3}, headers=headers)
    if family == "chat session write":
        return await client.delete("/api/v1/admin/chat/sessions/sess_none", headers=headers)
    if family == "tokens":
        return await client.get("/api/v1/admin/tokens", headers=headers)
    if family == "metrics":
        return await client.get("/api/metrics", headers=headers)
    if family == "mcp":
        return await client.post("/api/mcp", json=MCP_INIT, headers=headers)
    raise AssertionError(family)


#: family -> (none, read token, write token, metrics token, METRICS_TOKEN); the admin key passes everywhere.
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    "public read": (200, 200, 200, 200, 200),
    "admin read: drafts": (401, 200, 200, 403, 403),
    "admin read: history": (401, 200, 200, 403, 403),
    "admin read: chat sessions": (401, 200, 200, 403, 403),
    "content write": (401, 403, 200, 403, 403),
    "chat session write": (401, 403, 404, 403, 403),  # 404: through, and the session does not exist
    "tokens": (401, 403, 403, 403, 403),
    "metrics": (401, 403, 403, 200, 200),
    "mcp": (401, 200, 200, 403, 403),
}


async def test_every_credential_against_every_route_family(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(metrics_token=METRICS_TOKEN))
    created = await client.post("/api/v1/admin/content", json={"type": "post", "data": {"title": "Draft"}},
                                headers=ADMIN)
    ids = {"item": (await created.json())["data"]["id"]}
    credentials = {
        "none": {},
        "read token": bearer(await create_token(client, "reader", "read")),
        "write token": bearer(await create_token(client, "writer", "write")),
        "metrics token": bearer(await create_token(client, "scraper", "metrics")),
        "METRICS_TOKEN": bearer(METRICS_TOKEN),
    }
    admin_keys = {"X-Admin-Key": ADMIN, "Bearer admin key": bearer(ADMIN_KEY)}
    problems = []
    for family, statuses in EXPECTED.items():
        cases = [*zip(credentials.items(), statuses, strict=True),
                 *((item, 404 if family == "chat session write" else 200) for item in admin_keys.items())]
        for (who, headers), expected in cases:
            response = await _call(client, family, headers, ids)
            if response.status != expected:
                problems.append(f"{family} with {who}: {response.status}, expected {expected}")
            if response.status == 401:
                if response.headers.get("WWW-Authenticate") != 'Bearer realm="folionaut"':
                    problems.append(f"{family} with {who}: 401 without WWW-Authenticate")
                if (await response.json())["error"]["code"] != "UNAUTHORIZED":
                    problems.append(f"{family} with {who}: 401 is not UNAUTHORIZED")
            if response.status == 403:
                body = await response.json()
                if body["error"]["code"] != "FORBIDDEN" or "does not have" not in body["error"]["message"]:
                    problems.append(f"{family} with {who}: 403 body {body}")
                if 'error="insufficient_scope"' not in response.headers.get("WWW-Authenticate", ""):
                    problems.append(f"{family} with {who}: 403 without the insufficient_scope challenge")
    assert not problems, "\n".join(problems)


async def test_a_wrong_credential_is_401_invalid_token_even_on_metrics(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(metrics_token=METRICS_TOKEN))
    revoked = await create_token(client, "gone", "write")
    assert (await client.delete("/api/v1/admin/tokens/gone", headers=ADMIN)).status == 200
    for headers in (bearer(revoked), bearer("folionaut_" + "x" * 43), bearer("not-a-token"),
                    {"X-Admin-Key": "wrong" * 8}, bearer(ADMIN_KEY + "x")):
        for path in ("/api/v1/admin/content", "/api/metrics", "/api/v1/admin/tokens"):
            response = await client.get(path, headers=headers)
            assert response.status == 401, (path, headers)
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="folionaut", error="invalid_token"'
            assert (await response.json())["error"]["message"].startswith("Invalid credentials")
    # Another auth scheme is no credential of ours: plain 401 with the challenge.
    basic = await client.get("/api/v1/admin/content", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status == 401 and basic.headers["WWW-Authenticate"] == 'Bearer realm="folionaut"'


async def test_metrics_public_serves_metrics_to_anyone_but_nothing_else(make_client: Any,
                                                                        settings: Settings) -> None:
    client = await make_client(settings.replace(metrics_public=True))
    assert (await client.get("/api/metrics")).status == 200
    assert (await client.get("/api/metrics", headers=bearer("whatever"))).status == 200
    assert (await client.get("/api/v1/admin/content")).status == 401


async def test_history_names_the_token_that_made_each_change(client: Any) -> None:
    writer = bearer(await create_token(client, "ci-deploy", "write"))
    created = await client.post("/api/v1/admin/content", json={"type": "post", "data": {"title": "By CI"}},
                                headers=writer)
    item_id = (await created.json())["data"]["id"]
    await client.put(f"/api/v1/admin/content/{item_id}", json={"sortOrder": 2}, headers=ADMIN)
    history = await client.get(f"/api/v1/admin/content/{item_id}/history", headers=writer)
    assert [(e["changeType"], e["changedBy"]) for e in (await history.json())["data"]] == [
        ("updated", "admin"), ("created", "token:ci-deploy")]
