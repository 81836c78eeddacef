"""Signing in to the admin web app: the cookie, its expiry, sign-out, and sessions that outlive a
process and are honoured by every instance sharing the database."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import pytest

from folionaut.core.clock import ManualClock
from folionaut.settings import Settings
from tests.access.conftest import create_token
from tests.admin_ui.conftest import SESSION_COOKIE, origin_of, sign_in
from tests.conftest import ADMIN_KEY

CONTENT = "/api/v1/admin/content"
SESSION = "/api/v1/admin/session"


async def test_sign_in_sets_an_httponly_strict_cookie_that_opens_the_admin_api(client: Any) -> None:
    assert (await client.get(CONTENT)).status == 401
    response = await client.post(SESSION, json={"key": ADMIN_KEY})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    set_cookie = response.headers["Set-Cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "SameSite=Strict" in set_cookie and "Path=/" in set_cookie and "Max-Age=43200" in set_cookie
    assert "secure" not in attributes  # plain http: a Secure cookie would never come back
    body = (await response.json())["data"]
    assert body["principal"] == "admin key (web session)" and len(body["csrfToken"]) == 64
    assert body["scopes"] == ["metrics", "read", "root", "write"]  # what the admin key may do
    assert body["expiresAt"] > body["createdAt"]

    cookie = response.cookies[SESSION_COOKIE].value
    client.session.cookie_jar.clear()
    listed = await client.get(CONTENT, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert listed.status == 200
    assert (await client.get(CONTENT, headers={"Cookie": f"{SESSION_COOKIE}=forged"})).status == 401
    # The page learns its state (and the CSRF token again, after a reload) from GET.
    current = await client.get(SESSION, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert (await current.json())["data"]["csrfToken"] == body["csrfToken"]
    assert (await (await client.get(SESSION)).json()) == {"data": None}


async def test_only_a_hash_of_the_cookie_is_stored(client: Any, settings: Settings) -> None:
    signed_in = await sign_in(client)
    with sqlite3.connect(settings.database_path) as db:
        rows = db.execute("SELECT id_hash, principal FROM folionaut_admin_sessions").fetchall()
    assert len(rows) == 1 and rows[0][1] == "admin"
    assert signed_in.cookie not in rows[0][0] and len(rows[0][0]) == 64


@pytest.mark.parametrize(("trust_proxy", "forwarded_proto", "secure"), [
    (1, "https", True), (0, "https", False), (1, "http", False),
])
async def test_cookie_is_secure_behind_an_https_proxy_that_is_trusted(
        make_client: Any, settings: Settings, trust_proxy: int, forwarded_proto: str, secure: bool) -> None:
    client = await make_client(settings.replace(trust_proxy=trust_proxy))
    response = await client.post(SESSION, json={"key": ADMIN_KEY}, headers={"X-Forwarded-Proto": forwarded_proto})
    assert response.status == 200
    assert ("Secure" in response.headers["Set-Cookie"].split("; ")) is secure


async def test_wrong_key_is_refused_and_every_attempt_is_audited(
        client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="folionaut.audit")
    wrong = await client.post(SESSION, json={"key": "x" * 40})
    assert wrong.status == 401
    assert (await wrong.json())["error"]["message"] == "Wrong admin key or token"
    assert "Set-Cookie" not in wrong.headers
    missing = await client.post(SESSION, json={})
    assert missing.status == 400 and "key" in (await missing.json())["error"]["fields"]
    await client.post(SESSION, json={"key": ADMIN_KEY})
    lines = [record.getMessage() for record in caplog.records if record.name == "folionaut.audit"]
    assert lines == ["admin sign-in refused: wrong admin key or token",
                     "signed in to the admin web app (admin key (web session))"]
    assert all(ADMIN_KEY not in record.getMessage() and "x" * 40 not in str(record.__dict__)
               for record in caplog.records)


async def test_sign_in_attempts_are_rate_limited_per_client(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(feature_rate_limiting=True))
    statuses = [(await client.post(SESSION, json={"key": "y" * 40})).status for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    refused = await client.post(SESSION, json={"key": ADMIN_KEY})  # even the right key waits its turn
    assert refused.status == 429 and int(refused.headers["Retry-After"]) >= 1
    # The public reads have their own bucket: unaffected.
    assert (await client.get("/api/v1/content")).status == 200


async def test_sign_in_from_another_sites_page_is_refused(client: Any) -> None:
    response = await client.post(SESSION, json={"key": ADMIN_KEY}, headers={"Origin": "https://evil.example"})
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "FORBIDDEN"
    assert "Set-Cookie" not in response.headers


async def test_session_expires_on_the_server_clock(make_client: Any, settings: Settings) -> None:
    clock = ManualClock()
    client = await make_client(settings.replace(admin_session_ttl_minutes=60), clock=clock)
    signed_in = await sign_in(client)
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 200
    clock.advance(59 * 60)
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 200  # absolute, not idle
    clock.advance(61)
    expired = await client.get(CONTENT, headers=signed_in.headers())
    assert expired.status == 401
    assert (await (await client.get(SESSION, headers=signed_in.headers())).json()) == {"data": None}


async def test_sign_out_ends_the_session_and_clears_the_cookie(client: Any) -> None:
    signed_in = await sign_in(client)
    refused = await client.delete(SESSION, headers=signed_in.headers(csrf=False))
    assert refused.status == 403  # signing someone out is a change too
    response = await client.delete(SESSION, headers=signed_in.headers())
    assert response.status == 200
    cleared = response.headers["Set-Cookie"]
    assert cleared.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in cleared
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 401
    again = await client.delete(SESSION, headers=signed_in.headers())  # already signed out: harmless
    assert again.status == 200


async def test_sessions_survive_a_restart_and_work_on_every_instance(make_client: Any, settings: Settings) -> None:
    first = await make_client(settings)
    signed_in = await sign_in(first)
    await first.close()  # the process that signed in is gone

    second = await make_client(settings)  # a restart, or another instance on the same database
    third = await make_client(settings)
    origin = origin_of(second)
    created = await second.post(CONTENT, headers={**signed_in.headers(origin=origin)},
                                json={"type": "note", "data": {"title": "From the web app"}})
    assert created.status == 201, await created.text()
    assert (await third.get(CONTENT, headers=signed_in.headers())).status == 200
    assert (await third.delete(SESSION, headers=signed_in.headers(origin=origin_of(third)))).status == 200
    assert (await second.get(CONTENT, headers=signed_in.headers())).status == 401  # signed out everywhere


async def test_rotating_the_admin_key_ends_every_session(make_client: Any, settings: Settings) -> None:
    signed_in = await sign_in(await make_client(settings))
    rotated = await make_client(settings.replace(admin_api_key="a-brand-new-admin-key-0123456789abcdef"))
    assert (await rotated.get(CONTENT, headers=signed_in.headers())).status == 401


async def test_switched_off_admin_ui_has_no_sign_in(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(feature_admin_ui=False))
    assert (await client.post(SESSION, json={"key": ADMIN_KEY})).status == 404
    assert (await client.get("/admin")).status == 404
    assert (await client.get("/docs")).status == 200  # the API reference is not part of the admin app
    cookie = {"Cookie": f"{SESSION_COOKIE}=anything"}
    assert (await client.get(CONTENT, headers=cookie)).status == 401
    assert (await client.get(CONTENT, headers={"X-Admin-Key": ADMIN_KEY})).status == 200


async def test_a_write_token_signs_in_and_acts_as_itself(client: Any, settings: Settings) -> None:
    token = await create_token(client, "editor", "write")
    signed_in = await sign_in(client, key=token)
    assert signed_in.body["principal"] == "token editor" and signed_in.body["scopes"] == ["read", "write"]
    created = await client.post(CONTENT, headers=signed_in.headers(), json={"type": "note", "data": {"title": "T"}})
    assert created.status == 201
    item = (await created.json())["data"]
    history = await client.get(f"{CONTENT}/{item['id']}/history", headers=signed_in.headers())
    assert (await history.json())["data"][0]["changedBy"] == "token:editor"  # history names the token
    # What the token may not do, its session may not either: backups and token management are the owner's.
    assert (await client.get("/api/v1/admin/backup", headers=signed_in.headers())).status == 403
    assert (await client.get("/api/v1/admin/tokens", headers=signed_in.headers())).status == 403


@pytest.mark.parametrize("scope", ["read", "metrics"])
async def test_tokens_without_the_write_scope_cannot_sign_in(client: Any, scope: str) -> None:
    token = await create_token(client, f"just-{scope}", scope)
    response = await client.post(SESSION, json={"key": token})
    assert response.status == 403 and "Set-Cookie" not in response.headers
    assert "write scope" in (await response.json())["error"]["message"]


async def test_revoking_the_token_ends_its_sessions(client: Any) -> None:
    token = await create_token(client, "short-lived", "write")
    signed_in = await sign_in(client, key=token)
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 200
    revoked = await client.delete("/api/v1/admin/tokens/short-lived", headers={"X-Admin-Key": ADMIN_KEY})
    assert revoked.status == 200
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 401
    assert (await (await client.get(SESSION, headers=signed_in.headers())).json()) == {"data": None}


async def test_a_session_never_outlives_its_token(make_client: Any, settings: Settings) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    token = await create_token(client, "one-hour", "write", expiresIn="1h")
    signed_in = await sign_in(client, key=token)
    listed = await client.get("/api/v1/admin/tokens", headers={"X-Admin-Key": ADMIN_KEY})
    token_expiry = (await listed.json())["data"][0]["expiresAt"]
    assert signed_in.body["expiresAt"] == token_expiry  # capped: not 12 hours on
    clock.advance(3601)
    assert (await client.get(CONTENT, headers=signed_in.headers())).status == 401
