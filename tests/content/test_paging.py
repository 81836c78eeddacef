"""Keyset (cursor) paging: the admin list and, opt-in, the public list; stable while items are added."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from folionaut.settings import Settings
from tests.content.conftest import ADMIN, PUBLIC, Create, fields_of
from tests.helpers.generated_portfolio import insert_items, new_portfolio_database


async def all_pages(client: Any, path: str, headers: dict[str, str] | None = None,
                    between: Any = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url, pages = path, 0
    while True:
        body = await (await client.get(url, headers=headers)).json()
        assert set(body) == {"data", "nextCursor"}
        items += body["data"]
        pages += 1
        assert pages <= 1000  # bounded
        if body["nextCursor"] is None:
            return items
        if between is not None:
            await between(pages)
        separator = "&" if "?" in path else "?"
        url = f"{path}{separator}cursor={body['nextCursor']}"


async def test_paging_through_the_admin_list_gives_every_item_once_in_list_order(
        client: Any, settings: Settings, admin_headers: dict[str, str]) -> None:
    await new_portfolio_database(Path(settings.database_path), 0)
    insert_items(Path(settings.database_path), 230)
    # Same-millisecond creates and equal sort orders: the rowid tie-break has work to do.
    connection = sqlite3.connect(settings.database_path)
    with connection:
        connection.execute("UPDATE content SET created_at = '2025-06-01T00:00:00.000Z' WHERE rowid % 3 = 0")
    connection.close()

    everything = (await (await client.get(f"{ADMIN}?limit=100", headers=admin_headers)).json())
    assert everything["nextCursor"] is not None
    paged = await all_pages(client, f"{ADMIN}?limit=7", admin_headers)
    assert len(paged) == 230 and len({item["id"] for item in paged}) == 230
    # The order is the list order: sortOrder ascending, newest first.
    keys = [(item["sortOrder"], item["createdAt"]) for item in paged]
    assert keys == sorted(keys, key=lambda key: (key[0], _descending(key[1])))
    # Offset paging (as before) agrees with the cursor pages.
    by_offset: list[dict[str, Any]] = []
    for offset in range(0, 230, 50):
        body = await (await client.get(f"{ADMIN}?limit=50&offset={offset}", headers=admin_headers)).json()
        by_offset += body["data"]
    assert [item["id"] for item in by_offset] == [item["id"] for item in paged]


def _descending(text: str) -> tuple[int, ...]:
    return tuple(-ord(char) for char in text)


async def test_items_added_while_paging_never_make_a_page_skip_or_repeat_one(
        client: Any, settings: Settings, admin_headers: dict[str, str], create: Create) -> None:
    await new_portfolio_database(Path(settings.database_path), 120)
    before = {item["id"] for item in await all_pages(client, f"{ADMIN}?limit=100", admin_headers)}
    added: list[str] = []

    async def insert_meanwhile(page: int) -> None:
        # Writers racing the reader: new items sorting first, last and in between.
        made = await asyncio.gather(*(create(slug=f"new-{page}-{n}", sortOrder=order, status="published",
                                             data={"title": f"New {page} {n}"})
                                      for n, order in enumerate((-5, 7, 99))))
        added.extend(item["id"] for item in made)

    seen = await all_pages(client, f"{ADMIN}?limit=9", admin_headers, between=insert_meanwhile)
    ids = [item["id"] for item in seen]
    assert len(ids) == len(set(ids))  # nothing twice
    assert before <= set(ids)  # nothing that was there throughout was skipped
    assert set(ids) - before <= set(added)


async def test_cursor_problems_are_400_with_fields(client: Any, admin_headers: dict[str, str],
                                                   create: Create) -> None:
    for cursor in ("nonsense", "W10", "WyJhIiwxLDJd", "x" * 300):
        fields = await fields_of(await client.get(f"{ADMIN}?cursor={cursor}", headers=admin_headers))
        assert "cursor" in fields
        assert "cursor" in await fields_of(await client.get(f"{PUBLIC}?cursor={cursor}"))
    await create(slug="one")
    first = await (await client.get(f"{ADMIN}?limit=1", headers=admin_headers)).json()
    assert first["nextCursor"] is None  # one item: the only page
    both = await client.get(f"{ADMIN}?offset=5&cursor=WzAsIngiLDFd", headers=admin_headers)
    assert "offset" in await fields_of(both)


async def test_the_public_list_pages_only_when_asked_and_a_write_reaches_its_pages(
        client: Any, settings: Settings, admin_headers: dict[str, str]) -> None:
    await new_portfolio_database(Path(settings.database_path), 60)
    whole = await (await client.get(f"{PUBLIC}?type=post")).json()
    assert set(whole) == {"data"} and len(whole["data"]) == 7  # the unpaged default, as before
    paged = await all_pages(client, f"{PUBLIC}?type=post&limit=3")
    assert [item["id"] for item in paged] == [item["id"] for item in whole["data"]]

    first = await client.get(f"{PUBLIC}?type=post&limit=3")
    etag = first.headers["ETag"]
    assert (await client.get(f"{PUBLIC}?type=post&limit=3", headers={"If-None-Match": etag})).status == 304
    # A new post sorting first: the cached first page is not served any more.
    created = await client.post(ADMIN, headers=admin_headers, json={
        "type": "post", "slug": "breaking", "status": "published", "sortOrder": -1, "data": {"title": "Breaking"}})
    assert created.status == 201
    again = await client.get(f"{PUBLIC}?type=post&limit=3", headers={"If-None-Match": etag})
    assert again.status == 200
    assert (await again.json())["data"][0]["slug"] == "breaking"
    # Drafts never show in public pages.
    draft = await client.post(ADMIN, headers=admin_headers, json={
        "type": "post", "slug": "secret", "sortOrder": -9, "data": {"title": "Draft"}})
    assert draft.status == 201
    public = await all_pages(client, f"{PUBLIC}?type=post&limit=4")
    assert "secret" not in {item["slug"] for item in public} and len(public) == 8


async def test_sorted_and_searched_lists_page_with_their_cursor_too(
        client: Any, admin_headers: dict[str, str], create: Create) -> None:
    for number in range(11):
        await create(slug=f"page-{number}", data={"title": f"Title {10 - number:02d} rust"})
    by_title = await all_pages(client, f"{ADMIN}?limit=4&sort=-title", admin_headers)
    assert [item["data"]["title"] for item in by_title] == [f"Title {n:02d} rust" for n in range(10, -1, -1)]
    searched = await all_pages(client, f"{ADMIN}?limit=3&q=rust", admin_headers)
    assert sorted(item["slug"] for item in searched) == sorted(f"page-{n}" for n in range(11))
    # A key cursor of the default order does not continue a sorted list.
    first = await (await client.get(f"{ADMIN}?limit=4", headers=admin_headers)).json()
    crossed = await client.get(f"{ADMIN}?limit=4&sort=title&cursor={first['nextCursor']}", headers=admin_headers)
    assert "cursor" in await fields_of(crossed)
