"""The admin list the web app pages through: full-text search over every status, sorting, the trash
and the total."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY

CONTENT = "/api/v1/admin/content"
ADMIN = {"X-Admin-Key": ADMIN_KEY}


async def create(client: Any, **item: Any) -> dict[str, Any]:
    response = await client.post(CONTENT, headers=ADMIN, json={"type": "project", **item})
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def listing(client: Any, **query: str) -> dict[str, Any]:
    response = await client.get(CONTENT, headers=ADMIN, params=query)
    assert response.status == 200, await response.text()
    return await response.json()


def slugs(body: dict[str, Any]) -> list[str]:
    return [item["slug"] for item in body["data"]]


async def test_search_finds_drafts_and_archived_items_by_any_words(client: Any) -> None:
    await create(client, status="draft", data={"title": "Mars Rover", "body": "Navigation in Rust"})
    await create(client, status="archived", data={"title": "Weather station", "notes": ["Rust", "sensors"]})
    await create(client, status="published", data={"title": "Photo blog", "summary": "Café pictures"})

    assert sorted(slugs(await listing(client, q="rust"))) == ["mars-rover", "weather-station"]
    assert slugs(await listing(client, q="rust navig")) == ["mars-rover"]  # every word, prefix match
    assert slugs(await listing(client, q="cafe")) == ["photo-blog"]  # diacritics folded
    assert slugs(await listing(client, q="rust", status="archived")) == ["weather-station"]
    assert slugs(await listing(client, q="weather-st")) == ["weather-station"]  # slugs count too
    assert (await listing(client, q='"; DROP TABLE content; --'))["data"] == []  # never FTS syntax
    assert (await listing(client, q="!!!", includeTotal="true")) == {"data": [], "total": 0}
    too_long = await client.get(CONTENT, headers=ADMIN, params={"q": "x" * 201})
    assert too_long.status == 400 and "q" in (await too_long.json())["error"]["fields"]


async def test_sorting_by_any_listed_field_both_ways(client: Any) -> None:
    for title, order in (("banana", 2), ("Apple", 3), ("cherry", 1)):
        await create(client, data={"title": title}, sortOrder=order)
    assert slugs(await listing(client)) == ["cherry", "banana", "apple"]  # default: sortOrder
    assert slugs(await listing(client, sort="title")) == ["apple", "banana", "cherry"]  # case-insensitive
    assert slugs(await listing(client, sort="-title")) == ["cherry", "banana", "apple"]
    assert slugs(await listing(client, sort="-createdAt")) == ["cherry", "apple", "banana"]
    bad = await client.get(CONTENT, headers=ADMIN, params={"sort": "price"})
    assert bad.status == 400 and "sort" in (await bad.json())["error"]["fields"]


async def test_trash_lists_only_soft_deleted_items(client: Any) -> None:
    kept = await create(client, data={"title": "Kept"})
    binned = await create(client, data={"title": "Binned"})
    assert (await client.delete(f"{CONTENT}/{binned['id']}", headers=ADMIN)).status == 200
    assert slugs(await listing(client)) == [kept["slug"]]
    assert slugs(await listing(client, trash="true")) == [binned["slug"]]
    assert sorted(slugs(await listing(client, includeDeleted="true"))) == ["binned", "kept"]
    both = await client.get(CONTENT, headers=ADMIN, params={"trash": "true", "includeDeleted": "true"})
    assert both.status == 400 and "trash" in (await both.json())["error"]["fields"]


async def test_total_counts_every_match_not_just_the_page(client: Any) -> None:
    for number in range(7):
        await create(client, status="draft" if number % 2 else "published", data={"title": f"Item {number}"})
    page = await listing(client, limit="3", offset="3", includeTotal="true")
    assert len(page["data"]) == 3 and page["total"] == 7
    assert (await listing(client, limit="3", offset="6", includeTotal="true"))["total"] == 7
    assert (await listing(client, limit="3", offset="30", includeTotal="true")) == {"data": [], "total": 7}
    assert (await listing(client, status="draft", includeTotal="true"))["total"] == 3
    assert (await listing(client, q="item", limit="2", includeTotal="true"))["total"] == 7
    assert "total" not in await listing(client)  # only when asked: the original's envelope otherwise
