"""Helpers for tests of credentials: tokens made through the real admin API."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY

ADMIN = {"X-Admin-Key": ADMIN_KEY}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_token(client: Any, name: str, scope: str, **extra: str) -> str:
    """A new token's secret, created with the admin key through POST /api/v1/admin/tokens."""
    response = await client.post("/api/v1/admin/tokens", json={"name": name, "scope": scope, **extra}, headers=ADMIN)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]["token"]
