"""Helpers for the admin web app's HTTP tests: sign in, and send the cookie by hand."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from tests.conftest import ADMIN_KEY

SESSION_COOKIE = "folionaut_session"


@dataclass
class SignedIn:
    """A cookie session as a browser holds it: the cookie, the CSRF token, this server's origin."""

    cookie: str
    csrf_token: str
    origin: str
    body: dict[str, object]

    def headers(self, *, csrf: bool = True, origin: str | None = None) -> dict[str, str]:
        headers = {"Cookie": f"{SESSION_COOKIE}={self.cookie}", "Origin": origin or self.origin}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf_token
        return headers


def origin_of(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


async def sign_in(client: TestClient, key: str = ADMIN_KEY) -> SignedIn:
    response = await client.post("/api/v1/admin/session", json={"key": key}, headers={"Origin": origin_of(client)})
    assert response.status == 200, await response.text()
    body = await response.json()
    cookie = response.cookies[SESSION_COOKIE].value
    client.session.cookie_jar.clear()  # the tests send the cookie themselves, only where they mean to
    return SignedIn(cookie, body["data"]["csrfToken"], origin_of(client), body["data"])
