"""Helpers for the content API tests: create items over HTTP, read the real database rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from folionaut.settings import Settings

ADMIN = "/api/v1/admin/content"
PUBLIC = "/api/v1/content"

Create = Callable[..., Awaitable[dict[str, Any]]]


async def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the spec's error envelope (section 1) and return its inner object."""
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert error["message"] and error["requestId"] == response.headers["X-Request-Id"]
    assert ("fields" in error) == (code == "VALIDATION_ERROR"), error
    return error


async def fields_of(response: Any) -> dict[str, list[str]]:
    return (await error_of(response, 400, "VALIDATION_ERROR"))["fields"]


@pytest.fixture
def create(client: Any, admin_headers: dict[str, str]) -> Create:
    """``await create(type="project", data={...}, status="published", ...)`` → the created item."""

    async def make(**body: Any) -> dict[str, Any]:
        body.setdefault("type", "project")
        body.setdefault("data", {"title": "Untitled"})
        response = await client.post(ADMIN, json=body, headers=admin_headers)
        assert response.status == 201, await response.text()
        return (await response.json())["data"]

    return make


@pytest.fixture
def db_rows(settings: Settings) -> Callable[..., list[dict[str, Any]]]:
    """Query the app's real SQLite file directly (a separate connection, as an operator would)."""

    def query(sql: str, *params: Any) -> list[dict[str, Any]]:
        connection = sqlite3.connect(settings.database_path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute(sql, params)]
        finally:
            connection.close()

    return query
