"""Public reads over real HTTP: what is visible, in what order, with which caching headers."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from folionaut.core.clock import ManualClock
from folionaut.runtime import EXTERNAL_CHANGE_POLL_SECONDS
from folionaut.settings import Settings
from tests.content.conftest import ADMIN, PUBLIC, Create, error_of, fields_of


async def test_list_shows_only_published_non_deleted(
    client: Any, create: Create, admin_headers: dict[str, str]
) -> None:
    shown = await create(data={"title": "Shown"}, status="published")
    await create(data={"title": "Draft"})
    await create(data={"title": "Archived"}, status="archived")
    deleted = await create(data={"title": "Deleted"}, status="published")
    assert (await client.delete(f"{ADMIN}/{deleted['id']}", headers=admin_headers)).status == 200

    response = await client.get(PUBLIC)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["Content-Type"].startswith("application/json")
    assert (await response.json()) == {"data": [shown]}


async def test_list_order_is_sort_order_then_newest_first(make_client: Any, settings: Settings,
                                                          admin_headers: dict[str, str]) -> None:
    clock = ManualClock()
    client = await make_client(settings, clock=clock)
    slugs = []
    for slug, sort_order in (("old-0", 0), ("new-0", 0), ("first", -5), ("last", 7), ("newest-0", 0)):
        response = await client.post(ADMIN, headers=admin_headers, json={
            "type": "project", "slug": slug, "data": {"title": slug}, "status": "published", "sortOrder": sort_order})
        assert response.status == 201
        slugs.append(slug)
        clock.advance(1.0)
    listed = [item["slug"] for item in (await (await client.get(PUBLIC)).json())["data"]]
    assert listed == ["first", "newest-0", "new-0", "old-0", "last"]
    admin_listed = [item["slug"] for item in (await (await client.get(ADMIN, headers=admin_headers)).json())["data"]]
    assert admin_listed == listed


async def test_same_millisecond_creates_list_newest_first(make_client: Any, settings: Settings,
                                                          admin_headers: dict[str, str]) -> None:
    client = await make_client(settings, clock=ManualClock())  # the clock never moves: identical createdAt
    for number in range(5):
        await client.post(ADMIN, headers=admin_headers, json={
            "type": "note", "slug": f"n{number}", "data": {"n": number}, "status": "published"})
    listed = [item["slug"] for item in (await (await client.get(PUBLIC)).json())["data"]]
    assert listed == ["n4", "n3", "n2", "n1", "n0"]


async def test_list_filters_by_type(client: Any, create: Create) -> None:
    project = await create(type="project", data={"title": "P"}, status="published")
    await create(type="skill", data={"title": "S"}, status="published")
    assert (await (await client.get(PUBLIC, params={"type": "project"})).json()) == {"data": [project]}
    assert (await (await client.get(PUBLIC, params={"type": "nothing-here"})).json()) == {"data": []}
    assert len((await (await client.get(PUBLIC, params={"type": ""})).json())["data"]) == 2  # empty = no filter


@pytest.mark.parametrize("bad_type", ["Project", "has space", "x" * 101, "under_score"])
async def test_list_rejects_bad_type_filter(client: Any, bad_type: str) -> None:
    fields = await fields_of(await client.get(PUBLIC, params={"type": bad_type}))
    assert list(fields) == ["type"]


async def test_bundle_groups_every_published_type(client: Any, create: Create) -> None:
    empty = await client.get(f"{PUBLIC}/bundle")
    assert empty.status == 200 and (await empty.json()) == {"data": {}}
    a = await create(type="project", data={"title": "A"}, status="published", sortOrder=1)
    b = await create(type="project", data={"title": "B"}, status="published", sortOrder=0)
    skill = await create(type="skill", data={"title": "Python"}, status="published")
    await create(type="draft-only", data={"title": "Hidden"})
    response = await client.get(f"{PUBLIC}/bundle")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert (await response.json()) == {"data": {"project": [b, a], "skill": [skill]}}


async def test_single_item(client: Any, create: Create) -> None:
    item = await create(type="project", slug="folionaut", data={"title": "Folionaut"}, status="published")
    response = await client.get(f"{PUBLIC}/project/folionaut")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["ETag"].startswith('W/"')
    assert (await response.json()) == {"data": item}


async def test_single_item_not_published_or_missing_is_404(client: Any, create: Create,
                                                           admin_headers: dict[str, str]) -> None:
    await create(type="project", slug="draft", data={"title": "D"})
    deleted = await create(type="project", slug="gone", data={"title": "G"}, status="published")
    await client.delete(f"{ADMIN}/{deleted['id']}", headers=admin_headers)
    for path in ("project/draft", "project/gone", "project/never", "skill/draft"):
        error = await error_of(await client.get(f"{PUBLIC}/{path}"), 404, "NOT_FOUND")
        assert path in error["message"]


async def test_single_item_bad_path_parts_are_400(client: Any) -> None:
    assert list(await fields_of(await client.get(f"{PUBLIC}/Project/x"))) == ["type"]
    assert list(await fields_of(await client.get(f"{PUBLIC}/project/X_Y"))) == ["slug"]


# --- ETags and 304 -------------------------------------------------------------------

@pytest.mark.parametrize("path", [PUBLIC, f"{PUBLIC}?type=project", f"{PUBLIC}/bundle", f"{PUBLIC}/project/p"])
async def test_if_none_match_gives_304_without_body(client: Any, create: Create, path: str) -> None:
    await create(type="project", slug="p", data={"title": "P"}, status="published")
    first = await client.get(path)
    etag = first.headers["ETag"]
    for header in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*", f' W/"nope" ,, {etag} '):
        again = await client.get(path, headers={"If-None-Match": header})
        assert again.status == 304, header
        assert await again.read() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    for header in ('W/"stale"', "garbage", f"{etag} junk", f"{etag}, *"):
        full = await client.get(path, headers={"If-None-Match": header})
        assert full.status == 200, header
        assert await full.read() == await first.read()


async def test_etag_changes_exactly_when_visible_content_changes(client: Any, create: Create,
                                                                 admin_headers: dict[str, str]) -> None:
    item = await create(type="project", slug="p", data={"title": "P", "n": 1}, status="published")
    other = await create(type="skill", slug="s", data={"title": "S"}, status="published")
    url, admin_url = f"{PUBLIC}/project/p", f"{ADMIN}/{item['id']}"

    async def etag() -> str:
        return (await client.get(url)).headers["ETag"]

    original = await etag()
    assert await etag() == original  # stable across reads (and across cache hits)

    # Nothing visible changes: a no-op update, a change to another item, a draft elsewhere.
    noop = await client.put(admin_url, json={"data": {"title": "P", "n": 1}, "status": "published"},
                            headers=admin_headers)
    assert (await noop.json())["data"]["version"] == 1
    await client.put(f"{ADMIN}/{other['id']}", json={"data": {"title": "S2"}}, headers=admin_headers)
    await create(type="project", data={"title": "Another draft"})
    assert await etag() == original

    seen = {original}
    changes: list[dict[str, Any]] = [
        {"data": {"title": "P", "n": 1.0}},  # equal in Python, rendered differently
        {"data": {"title": "P", "n": True}},
        {"data": {"n": True, "title": "P"}},  # key order is visible in the body
        {"sortOrder": 3},
    ]
    for change in changes:
        response = await client.put(admin_url, json=change, headers=admin_headers)
        assert response.status == 200
        current = await etag()
        assert current not in seen, change
        seen.add(current)


# --- cache invalidation ----------------------------------------------------------------

async def test_update_is_visible_immediately_everywhere(client: Any, create: Create,
                                                        admin_headers: dict[str, str]) -> None:
    item = await create(type="project", slug="p", data={"title": "Before"}, status="published")
    paths = [f"{PUBLIC}/project/p", PUBLIC, f"{PUBLIC}?type=project", f"{PUBLIC}/bundle"]
    for path in paths:  # warm the cache
        assert (await client.get(path)).status == 200
    await client.put(f"{ADMIN}/{item['id']}", json={"data": {"title": "After"}}, headers=admin_headers)
    assert (await (await client.get(paths[0])).json())["data"]["data"] == {"title": "After"}
    assert (await (await client.get(paths[1])).json())["data"][0]["data"] == {"title": "After"}
    assert (await (await client.get(paths[2])).json())["data"][0]["data"] == {"title": "After"}
    assert (await (await client.get(paths[3])).json())["data"]["project"][0]["data"] == {"title": "After"}


async def test_renamed_slug_moves_immediately(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    item = await create(type="project", slug="old-name", data={"title": "T"}, status="published")
    assert (await client.get(f"{PUBLIC}/project/old-name")).status == 200
    missing = await client.get(f"{PUBLIC}/project/new-name")
    assert missing.status == 404  # a miss is not cached as a hit later
    await client.put(f"{ADMIN}/{item['id']}", json={"slug": "new-name"}, headers=admin_headers)
    assert (await client.get(f"{PUBLIC}/project/old-name")).status == 404
    moved = await client.get(f"{PUBLIC}/project/new-name")
    assert moved.status == 200 and (await moved.json())["data"]["slug"] == "new-name"
    assert (await (await client.get(f"{PUBLIC}/bundle")).json())["data"]["project"][0]["slug"] == "new-name"


async def test_unpublish_delete_restore_and_purge_are_visible_immediately(
    client: Any, create: Create, admin_headers: dict[str, str]
) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, status="published")
    url, admin_url = f"{PUBLIC}/project/p", f"{ADMIN}/{item['id']}"
    assert (await client.get(url)).status == 200 and (await client.get(PUBLIC)).status == 200

    await client.put(admin_url, json={"status": "draft"}, headers=admin_headers)
    assert (await client.get(url)).status == 404
    assert (await (await client.get(PUBLIC)).json())["data"] == []

    await client.put(admin_url, json={"status": "published"}, headers=admin_headers)
    assert (await client.get(url)).status == 200
    await client.delete(admin_url, headers=admin_headers)
    assert (await client.get(url)).status == 404
    assert (await (await client.get(f"{PUBLIC}/bundle")).json())["data"] == {}

    await client.post(f"{admin_url}/restore", json={"version": 1}, headers=admin_headers)
    assert (await client.get(url)).status == 200
    await client.delete(admin_url, params={"hard": "true"}, headers=admin_headers)
    assert (await client.get(url)).status == 404
    assert (await (await client.get(PUBLIC)).json())["data"] == []


async def test_new_item_appears_in_cached_list_and_bundle(client: Any, create: Create) -> None:
    assert (await (await client.get(PUBLIC)).json())["data"] == []
    assert (await (await client.get(f"{PUBLIC}/bundle")).json())["data"] == {}
    item = await create(type="project", data={"title": "New"}, status="published")
    assert (await (await client.get(PUBLIC)).json())["data"] == [item]
    assert (await (await client.get(f"{PUBLIC}/bundle")).json())["data"] == {"project": [item]}


async def test_lists_and_the_bundle_show_data_exactly_as_a_single_read_does(
        client: Any, create: Create, settings: Settings) -> None:
    # Lists and the bundle write each item's stored JSON as it is (no parse and re-encode): rows written
    # by another program with other spacing, or holding a non-object value, still read the same everywhere.
    odd = await create(slug="odd", status="published", data={"title": "Odd"})
    wrapped = await create(slug="wrapped", status="published", data={"title": "Wrapped"})
    plain = await create(slug="plain", status="published", data={"title": "Plain ü \u2028", "n": [1, 2.5, None]})
    connection = sqlite3.connect(settings.database_path)
    with connection:
        connection.execute("UPDATE content SET data = ? WHERE id = ?", ('{ "title" : "Odd",\n "n": 1 }', odd["id"]))
        connection.execute("UPDATE content SET data = ? WHERE id = ?", ("[1, 2]", wrapped["id"]))
    connection.close()
    await asyncio.sleep(EXTERNAL_CHANGE_POLL_SECONDS * 2.5)  # the other program's write reaches the cache
    singles = {slug: (await (await client.get(f"/api/v1/content/project/{slug}")).json())["data"]
               for slug in ("odd", "wrapped", "plain")}
    assert singles["odd"]["data"] == {"title": "Odd", "n": 1}
    assert singles["wrapped"]["data"] == {"value": [1, 2]}
    listed = {item["slug"]: item for item in (await (await client.get("/api/v1/content")).json())["data"]}
    bundled = {item["slug"]: item for item in (await (await client.get("/api/v1/content/bundle")).json())["data"]
               ["project"]}
    assert listed == bundled == singles
    assert plain["data"] == singles["plain"]["data"]
