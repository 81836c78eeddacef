"""/api/v1/admin/tokens: the lifecycle, validation, and what a token's holder and the operator see."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from folionaut.core.clock import ManualClock
from folionaut.settings import Settings
from tests.access.conftest import ADMIN, bearer, create_token


async def test_create_list_use_revoke(client: Any, data_dir: Path) -> None:
    created = await client.post("/api/v1/admin/tokens", json={"name": "ci", "scope": "read", "expiresIn": "90d"},
                                headers=ADMIN)
    assert created.status == 201 and created.headers["Cache-Control"] == "no-store"
    token = (await created.json())["data"]
    secret = token.pop("token")
    assert secret.startswith("folionaut_") and len(secret) == len("folionaut_") + 43
    assert token["name"] == "ci" and token["scope"] == "read" and token["status"] == "active"
    assert token["lastUsedAt"] is None and token["expiresAt"] > token["createdAt"]

    listed = await client.get("/api/v1/admin/tokens", headers=ADMIN)
    assert (await listed.json())["data"] == [token]  # the list never holds a secret
    with sqlite3.connect(data_dir / "folionaut.db") as db:
        stored = db.execute("SELECT * FROM api_tokens").fetchall()
    assert stored and secret not in repr(stored) and secret[10:] not in repr(stored)  # only a hash is kept

    assert (await client.get("/api/v1/admin/content", headers=bearer(secret))).status == 200
    used = (await (await client.get("/api/v1/admin/tokens", headers=ADMIN)).json())["data"][0]
    assert used["lastUsedAt"] is not None

    assert (await client.delete("/api/v1/admin/tokens/ci", headers=ADMIN)).status == 200
    assert (await client.get("/api/v1/admin/content", headers=bearer(secret))).status == 401
    assert (await (await client.get("/api/v1/admin/tokens", headers=ADMIN)).json())["data"] == []
    again = await client.delete("/api/v1/admin/tokens/ci", headers=ADMIN)
    assert again.status == 404 and (await again.json())["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"name", "scope"}),
    ({"name": "has space", "scope": "read"}, {"name"}),
    ({"name": "x" * 65, "scope": "read"}, {"name"}),
    ({"name": "ok", "scope": "admin"}, {"scope"}),
    ({"name": "ok", "scope": "root"}, {"scope"}),  # the admin key's own scope is never granted
    ({"name": "ok", "scope": "read", "expiresIn": "90"}, {"expiresIn"}),
    ({"name": "ok", "scope": "read", "expiresIn": "3651d"}, {"expiresIn"}),
    ({"name": "ok", "scope": "read", "expiresIn": 90}, {"expiresIn"}),
    ({"name": "ok", "scope": "read", "token": "mine"}, {"token"}),
    ([], {"body"}),
])
async def test_bad_requests_are_400_with_fields(client: Any, body: Any, fields: set[str]) -> None:
    response = await client.post("/api/v1/admin/tokens", json=body, headers=ADMIN)
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "VALIDATION_ERROR" and set(error["fields"]) == fields


async def test_duplicate_names_conflict_and_a_bad_name_in_the_path_is_400(client: Any) -> None:
    await create_token(client, "twice", "write")
    duplicate = await client.post("/api/v1/admin/tokens", json={"name": "twice", "scope": "read"}, headers=ADMIN)
    assert duplicate.status == 409 and (await duplicate.json())["error"]["code"] == "CONFLICT"
    bad = await client.delete("/api/v1/admin/tokens/bad%20name", headers=ADMIN)
    assert bad.status == 400 and "name" in (await bad.json())["error"]["fields"]


async def test_only_the_admin_key_manages_tokens(client: Any) -> None:
    writer = bearer(await create_token(client, "writer", "write"))
    for method, path, body in (("GET", "/api/v1/admin/tokens", None),
                               ("POST", "/api/v1/admin/tokens", {"name": "escalate", "scope": "write"}),
                               ("DELETE", "/api/v1/admin/tokens/writer", None)):
        response = await client.request(method, path, json=body, headers=writer)
        assert response.status == 403, (method, path)
        assert "needs the admin key" in (await response.json())["error"]["message"]
    assert len((await (await client.get("/api/v1/admin/tokens", headers=ADMIN)).json())["data"]) == 1


async def test_revocation_is_seen_by_a_second_instance_at_once(make_client: Any, settings: Settings,
                                                               redis_url: str) -> None:
    """Two instances on one database (and one Redis, as deployed): a revoke on A is refused by B next request."""
    shared = settings.replace(redis_url=redis_url)
    first, second = await make_client(shared), await make_client(shared)
    secret = await create_token(first, "shared", "read")
    headers = bearer(secret)
    assert (await second.get("/api/v1/admin/content", headers=headers)).status == 200
    assert (await second.get("/api/v1/admin/content", headers=headers)).status == 200
    assert (await first.delete("/api/v1/admin/tokens/shared", headers=ADMIN)).status == 200
    refused = await second.get("/api/v1/admin/content", headers=headers)
    assert refused.status == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer ")


async def test_an_expired_token_is_refused_and_listed_as_expired(make_client: Any, settings: Settings) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    secret = await create_token(client, "short", "read", expiresIn="1h")
    assert (await client.get("/api/v1/admin/content", headers=bearer(secret))).status == 200
    clock.advance(3599)
    assert (await client.get("/api/v1/admin/content", headers=bearer(secret))).status == 200
    clock.advance(2)
    expired = await client.get("/api/v1/admin/content", headers=bearer(secret))
    assert expired.status == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    listed = (await (await client.get("/api/v1/admin/tokens", headers=ADMIN)).json())["data"]
    assert [(token["name"], token["status"]) for token in listed] == [("short", "expired")]


async def test_last_used_is_written_at_most_once_a_minute(make_client: Any, settings: Settings,
                                                          data_dir: Path) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    secret = await create_token(client, "busy", "read")
    changes = []

    def last_used() -> str | None:
        with sqlite3.connect(data_dir / "folionaut.db") as db:
            return db.execute("SELECT last_used_at FROM api_tokens").fetchone()[0]

    for _ in range(3):
        for _ in range(20):
            assert (await client.get("/api/v1/admin/content", headers=bearer(secret))).status == 200
            clock.advance(1)
            changes.append(last_used())
        clock.advance(40)
    distinct = [value for index, value in enumerate(changes) if index == 0 or value != changes[index - 1]]
    assert len(distinct) == 3  # 60 requests over three minutes: three writes, one a minute
    assert all(value is not None for value in distinct)


async def test_audit_lines_name_the_token_and_no_log_holds_a_secret(
        client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = await create_token(client, "auditor", "write")
    reader = await create_token(client, "peeker", "read")
    await client.post("/api/v1/admin/content", json={"type": "post", "data": {"title": "x"}}, headers=bearer(secret))
    await client.post("/api/v1/admin/content", json={"type": "post", "data": {"title": "y"}}, headers=bearer(reader))
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")  # one character off
    await client.get("/api/v1/admin/content", headers=bearer(wrong))
    audit = [record.getMessage() for record in caplog.records if record.name == "folionaut.audit"]
    assert "admin POST /api/v1/admin/content answered 201 (token auditor)" in audit
    assert "admin request refused (403 FORBIDDEN): token peeker" in audit
    assert "admin request refused (401 UNAUTHORIZED): invalid credentials" in audit
    everything = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for value in (secret, reader, secret[10:30], reader[10:30]):
        assert value not in everything
