"""Writes made by another process reach a running server's cached reads within seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.content.validation import parse_create, parse_update
from folionaut.core.clock import SystemClock
from folionaut.settings import Settings
from folionaut.storage.sqlite import SQLiteDatabase


async def _wait_for_title(client: Any, path: str, title: str | None) -> Any:
    for _ in range(50):  # bounded: 5 s
        response = await client.get(path)
        body = await response.json()
        current = body["data"]["data"]["title"] if response.status == 200 else None
        if current == title:
            return response
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} still shows {current!r}, expected {title!r}")


async def test_write_by_another_process_invalidates_the_cache(client: Any, settings: Settings) -> None:
    # "Another process": a second connection set with its own service, as `folionaut mcp` has.
    other = await SQLiteDatabase.open(Path(settings.database_path))
    try:
        service = ContentService(ContentRepository(other), SystemClock())
        item = await service.create(parse_create(
            {"type": "project", "slug": "probe", "data": {"title": "One"}, "status": "published"}), "mcp")
        first = await _wait_for_title(client, "/api/v1/content/project/probe", "One")
        etag = first.headers["ETag"]

        await service.update(item.id, parse_update({"data": {"title": "Two"}}), "mcp")
        second = await _wait_for_title(client, "/api/v1/content/project/probe", "Two")
        assert second.headers["ETag"] != etag
        bundle = await (await client.get("/api/v1/content/bundle")).json()
        assert bundle["data"]["project"][0]["data"]["title"] == "Two"

        await service.delete(item.id, "mcp")
        for _ in range(50):
            if (await client.get("/api/v1/content/project/probe")).status == 404:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a deletion by another process never reached the public read")
    finally:
        await other.close()
