"""Version history, restore, optimistic concurrency and concurrent writers, checked in the real rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.content.conftest import ADMIN, PUBLIC, Create, error_of, fields_of

Rows = Callable[..., list[dict[str, Any]]]


async def test_create_update_twice_restore(client: Any, create: Create, admin_headers: dict[str, str],
                                           db_rows: Rows) -> None:
    item = await create(type="project", slug="p", data={"title": "v1"}, status="published")
    url = f"{ADMIN}/{item['id']}"
    await client.put(url, headers=admin_headers, json={"data": {"title": "v2"}})
    await client.put(url, headers=admin_headers, json={"data": {"title": "v3", "extra": [1]}, "status": "archived"})
    restored = await client.post(f"{url}/restore", headers=admin_headers, json={"version": 1})
    assert restored.status == 200 and restored.headers["ETag"] == 'W/"v4"'
    body = (await restored.json())["data"]
    # Only data comes back from the snapshot; status stays what it is now.
    assert (body["version"], body["data"], body["status"], body["deletedAt"]) == (4, {"title": "v1"}, "archived", None)

    history = await client.get(f"{url}/history", headers=admin_headers)
    assert history.status == 200
    entries = (await history.json())["data"]
    assert [(e["version"], e["changeType"], e["data"]) for e in entries] == [
        (4, "restored", {"title": "v1"}),
        (3, "updated", {"title": "v3", "extra": [1]}),
        (2, "updated", {"title": "v2"}),
        (1, "created", {"title": "v1"}),
    ]
    assert [e["changeSummary"] for e in entries] == ["Restored version 1", "Updated data, status", "Updated data",
                                                     "Created"]
    assert {e["changedBy"] for e in entries} == {"admin"}
    assert {e["contentId"] for e in entries} == {item["id"]}
    assert all(e["id"].startswith("hist_") and e["createdAt"].endswith("Z") for e in entries)
    assert set(entries[0]) == {"id", "contentId", "version", "data", "changeType", "changedBy", "changeSummary",
                               "createdAt"}
    # The rows themselves: one per version, each holding the item as it was after that change.
    rows = db_rows("SELECT version, change_type FROM content_history WHERE content_id = ? ORDER BY version", item["id"])
    assert rows == [{"version": 1, "change_type": "created"}, {"version": 2, "change_type": "updated"},
                    {"version": 3, "change_type": "updated"}, {"version": 4, "change_type": "restored"}]


async def test_history_pagination(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    item = await create(data={"title": "T", "n": 0})
    url = f"{ADMIN}/{item['id']}"
    for n in range(1, 6):
        await client.put(url, headers=admin_headers, json={"data": {"title": "T", "n": n}})

    async def versions(**params: str) -> list[int]:
        response = await client.get(f"{url}/history", params=params, headers=admin_headers)
        assert response.status == 200
        return [entry["version"] for entry in (await response.json())["data"]]

    assert await versions() == [6, 5, 4, 3, 2, 1]
    assert await versions(limit="2") == [6, 5]
    assert await versions(limit="2", offset="2") == [4, 3]
    assert await versions(offset="6") == []
    for params in ({"limit": "0"}, {"limit": "101"}, {"offset": "-1"}, {"limit": "x"}):
        assert list(await fields_of(await client.get(f"{url}/history", params=params, headers=admin_headers))) == [
            next(iter(params))]


async def test_restore_undeletes_a_soft_deleted_item(client: Any, create: Create, admin_headers: dict[str, str],
                                                     db_rows: Rows) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, status="published")
    url = f"{ADMIN}/{item['id']}"
    await client.delete(url, headers=admin_headers)
    response = await client.post(f"{url}/restore", headers=admin_headers, json={"version": 1})
    restored = (await response.json())["data"]
    assert (restored["version"], restored["deletedAt"]) == (3, None)
    assert (await client.get(f"{PUBLIC}/project/p")).status == 200
    assert [r["change_type"] for r in db_rows("SELECT change_type FROM content_history ORDER BY version")] == [
        "created", "deleted", "restored"]


async def test_restore_errors(client: Any, create: Create, admin_headers: dict[str, str], db_rows: Rows) -> None:
    item = await create(data={"title": "T"})
    url = f"{ADMIN}/{item['id']}/restore"
    error = await error_of(await client.post(url, headers=admin_headers, json={"version": 2}), 404, "NOT_FOUND")
    assert "Version 2" in error["message"]
    assert await fields_of(await client.post(url, headers=admin_headers, json={})) == {"version": ["Required"]}
    assert await fields_of(await client.post(url, headers=admin_headers, json={"version": "1"})) == {
        "version": ["Expected integer, received string"]}
    assert list(await fields_of(await client.post(url, headers=admin_headers, json={"version": 0}))) == ["version"]
    await error_of(await client.post(url, headers=admin_headers), 400, "BAD_REQUEST")  # no body at all
    assert db_rows("SELECT version FROM content") == [{"version": 1}]


# --- optimistic concurrency ----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["body", "if-match-etag", "if-match-strong", "if-match-number"])
async def test_stale_version_is_409_and_writes_nothing(client: Any, create: Create, admin_headers: dict[str, str],
                                                       db_rows: Rows, how: str) -> None:
    item = await create(type="project", slug="p", data={"title": "v1"}, status="published")
    url = f"{ADMIN}/{item['id']}"
    read = await client.get(url, headers=admin_headers)
    etag = read.headers["ETag"]
    assert etag == 'W/"v1"'
    await client.put(url, headers=admin_headers, json={"data": {"title": "someone else"}})  # now at v2
    public_before = await (await client.get(f"{PUBLIC}/project/p")).read()

    headers, body = dict(admin_headers), {"data": {"title": "mine"}, "slug": "renamed"}
    if how == "body":
        body["version"] = 1
    else:
        headers["If-Match"] = {"if-match-etag": etag, "if-match-strong": '"v1"', "if-match-number": "1"}[how]
    error = await error_of(await client.put(url, headers=headers, json=body), 409, "CONFLICT")
    assert "version" in error["message"].lower()

    assert db_rows("SELECT slug, version, data FROM content") == [
        {"slug": "p", "version": 2, "data": '{"title":"someone else"}'}]
    assert len(db_rows("SELECT id FROM content_history")) == 2
    assert await (await client.get(f"{PUBLIC}/project/p")).read() == public_before

    # With the current version it goes through.
    if how == "body":
        body["version"] = 2
    else:
        headers["If-Match"] = 'W/"v2"' if how != "if-match-number" else "2"
    response = await client.put(url, headers=headers, json=body)
    assert response.status == 200 and (await response.json())["data"]["version"] == 3


async def test_if_match_star_and_header_problems(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    item = await create(data={"title": "T"})
    url = f"{ADMIN}/{item['id']}"
    ok = await client.put(url, headers={**admin_headers, "If-Match": "*"}, json={"status": "published"})
    assert ok.status == 200
    for bad in ('W/"abc"', "garbage", '"v1', 'W/"v1", W/"v2"'):
        response = await client.put(url, headers={**admin_headers, "If-Match": bad}, json={"status": "draft"})
        assert list(await fields_of(response)) == ["If-Match"], bad
    mismatch = await client.put(url, headers={**admin_headers, "If-Match": 'W/"v2"'},
                                json={"status": "draft", "version": 1})
    assert list(await fields_of(mismatch)) == ["version"]


async def test_twenty_concurrent_puts_all_land_as_distinct_versions(client: Any, create: Create,
                                                                    admin_headers: dict[str, str],
                                                                    db_rows: Rows) -> None:
    item = await create(type="project", slug="p", data={"title": "start"})
    url = f"{ADMIN}/{item['id']}"

    async def put(n: int) -> int:
        response = await client.put(url, headers=admin_headers, json={"data": {"title": f"writer {n}"}})
        assert response.status == 200, await response.text()
        return (await response.json())["data"]["version"]

    versions = await asyncio.gather(*(put(n) for n in range(20)))
    assert sorted(versions) == list(range(2, 22))
    assert db_rows("SELECT version FROM content") == [{"version": 21}]
    rows = db_rows("SELECT version, change_type, data FROM content_history WHERE content_id = ? ORDER BY version",
                   item["id"])
    assert [row["version"] for row in rows] == list(range(1, 22))
    assert [row["change_type"] for row in rows] == ["created"] + ["updated"] * 20
    # Every writer's data is in exactly one history row.
    assert sorted(row["data"] for row in rows[1:]) == sorted(f'{{"title":"writer {n}"}}' for n in range(20))


async def test_concurrent_puts_with_the_same_version_one_wins(client: Any, create: Create,
                                                              admin_headers: dict[str, str], db_rows: Rows) -> None:
    item = await create(data={"title": "start"})
    url = f"{ADMIN}/{item['id']}"
    responses = await asyncio.gather(*(
        client.put(url, headers=admin_headers, json={"data": {"title": f"w{n}"}, "version": 1}) for n in range(10)))
    statuses = sorted(response.status for response in responses)
    assert statuses == [200] + [409] * 9
    assert db_rows("SELECT version FROM content") == [{"version": 2}]
    assert len(db_rows("SELECT id FROM content_history")) == 2


async def test_concurrent_creates_from_one_title_get_distinct_slugs(client: Any, admin_headers: dict[str, str],
                                                                    db_rows: Rows) -> None:
    responses = await asyncio.gather(*(
        client.post(ADMIN, headers=admin_headers, json={"type": "project", "data": {"title": "Same"}})
        for _ in range(8)))
    assert [response.status for response in responses] == [201] * 8
    slugs = sorted(row["slug"] for row in db_rows("SELECT slug FROM content"))
    assert slugs == sorted(["same", *(f"same-{n}" for n in range(2, 9))])


# --- payloads ------------------------------------------------------------------------------------

async def test_unicode_round_trips_exactly(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    data = {"title": "Zoë’s «naïve» café — 東京 🚀", "nested": {"emoji": "👩‍💻", "rtl": "مرحبا", "nul": "a\u0000b",
                                                                  "escapes": "\"\\/\n\t", "bmp": "\uffff"},
            "numbers": [0, -1, 1.5, 1e100, 2**53], "flags": [True, False, None]}
    item = await create(type="project", slug="unicode", data=data, status="published")
    assert item["data"] == data
    admin = await client.get(f"{ADMIN}/{item['id']}", headers=admin_headers)
    assert (await admin.json())["data"]["data"] == data
    public = await client.get(f"{PUBLIC}/project/unicode")
    assert (await public.json())["data"]["data"] == data


async def test_large_but_allowed_data_round_trips_exactly(client: Any, admin_headers: dict[str, str]) -> None:
    envelope = {"type": "project", "slug": "big", "status": "published", "data": {"title": "Big", "body": ""}}
    overhead = len(client_json(envelope))
    data = {"title": "Big", "body": "é" * ((99 * 1024 - overhead) // 2)}  # two UTF-8 bytes each
    body = client_json({**envelope, "data": data})
    assert 98 * 1024 < len(body) <= 99 * 1024
    response = await client.post(ADMIN, data=body, headers={**admin_headers, "Content-Type": "application/json"})
    assert response.status == 201, await response.text()
    item = (await response.json())["data"]
    assert item["data"] == data
    public = await client.get(f"{PUBLIC}/project/big")
    assert (await public.json())["data"]["data"] == data
    # (aiohttp's json= would escape é as \u00e9, six bytes: send the UTF-8 bytes as a browser does.)
    updated = await client.put(f"{ADMIN}/{item['id']}", data=client_json({"data": {**data, "title": "B2"}}),
                               headers={**admin_headers, "Content-Type": "application/json"})
    assert updated.status == 200 and (await updated.json())["data"]["data"]["body"] == data["body"]


@pytest.mark.parametrize("chunked", [False, True])
async def test_over_100_kib_is_413_and_writes_nothing(client: Any, admin_headers: dict[str, str], db_rows: Rows,
                                                      chunked: bool) -> None:
    body = client_json({"type": "project", "data": {"title": "Huge", "body": "x" * (100 * 1024)}})
    headers = {**admin_headers, "Content-Type": "application/json"}

    async def chunks() -> Any:
        for start in range(0, len(body), 8192):
            yield body[start:start + 8192]

    response = await client.post(ADMIN, data=chunks() if chunked else body, headers=headers)
    error = await error_of(response, 413, "PAYLOAD_TOO_LARGE")
    assert "100 KiB" in error["message"]
    assert db_rows("SELECT id FROM content") == []


def client_json(value: Any) -> bytes:
    from folionaut.core import jsonutil

    return jsonutil.dumps(value)
