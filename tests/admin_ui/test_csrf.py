"""Requests made with the session cookie that change something need this origin and the CSRF token;
reads need neither, and the JSON API's X-Admin-Key needs neither (it is not sent by browsers on their own)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.admin_ui.conftest import sign_in
from tests.conftest import ADMIN_KEY

CONTENT = "/api/v1/admin/content"
ITEM = {"type": "note", "data": {"title": "CSRF"}}


@pytest.mark.parametrize(("change", "why"), [
    ({"csrf": False}, "X-CSRF-Token is missing or wrong"),
    ({"origin": "https://evil.example"}, "Origin is missing or not this server's"),
    ({"origin": "http://localhost:1"}, "Origin is missing or not this server's"),
])
async def test_cookie_writes_without_origin_or_token_are_refused(
        client: Any, caplog: pytest.LogCaptureFixture, change: dict[str, Any], why: str) -> None:
    caplog.set_level(logging.INFO, logger="folionaut.audit")
    signed_in = await sign_in(client)
    response = await client.post(CONTENT, headers=signed_in.headers(**change), json=ITEM)
    assert response.status == 403
    error = (await response.json())["error"]
    assert error["code"] == "FORBIDDEN" and why in error["message"]
    assert f"admin request refused: {why}" in caplog.text
    listed = await client.get(CONTENT, headers=signed_in.headers(csrf=False))  # a read needs no token
    assert listed.status == 200 and (await listed.json())["data"] == []


async def test_missing_origin_and_wrong_token_are_refused(client: Any) -> None:
    signed_in = await sign_in(client)
    headers = signed_in.headers()
    del headers["Origin"]
    assert (await client.post(CONTENT, headers=headers, json=ITEM)).status == 403
    wrong = {**signed_in.headers(), "X-CSRF-Token": "0" * 64}
    assert (await client.post(CONTENT, headers=wrong, json=ITEM)).status == 403


async def test_cookie_writes_from_this_origin_with_the_token_pass(client: Any) -> None:
    signed_in = await sign_in(client)
    created = await client.post(CONTENT, headers=signed_in.headers(), json=ITEM)
    assert created.status == 201
    item = (await created.json())["data"]
    deleted = await client.delete(f"{CONTENT}/{item['id']}", headers=signed_in.headers())
    assert deleted.status == 200


async def test_admin_key_requests_need_no_csrf_token(client: Any) -> None:
    response = await client.post(CONTENT, headers={"X-Admin-Key": ADMIN_KEY, "Origin": "https://elsewhere.example"},
                                 json=ITEM)
    assert response.status == 201


async def test_behind_a_trusted_proxy_the_forwarded_origin_counts(make_client: Any, settings: Any) -> None:
    client = await make_client(settings.replace(trust_proxy=1))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "admin.example.com"}
    signed_in = await sign_in(client)
    ok = await client.post(CONTENT, json=ITEM,
                           headers={**signed_in.headers(origin="https://admin.example.com"), **forwarded})
    assert ok.status == 201
    wrong = await client.post(CONTENT, json={**ITEM, "slug": "other"},
                              headers={**signed_in.headers(), **forwarded})  # the socket's origin is not the browser's
    assert wrong.status == 403
