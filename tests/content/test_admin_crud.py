"""Admin content API over real HTTP: auth, create/update/delete, listing, validation, 404 vs 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from folionaut.settings import Settings
from tests.content.conftest import ADMIN, PUBLIC, Create, error_of, fields_of

MISSING_ID = "content_" + "x" * 21
STATUS_RULE = "Expected one of: draft, published, archived"
INTEGER_GOT_NUMBER = "Expected integer, received number"

ADMIN_ROUTES = [
    ("GET", ADMIN, None),
    ("POST", ADMIN, {"type": "project", "data": {"title": "T"}}),
    ("GET", f"{ADMIN}/{MISSING_ID}", None),
    ("PUT", f"{ADMIN}/{MISSING_ID}", {"status": "draft"}),
    ("DELETE", f"{ADMIN}/{MISSING_ID}", None),
    ("GET", f"{ADMIN}/{MISSING_ID}/history", None),
    ("POST", f"{ADMIN}/{MISSING_ID}/restore", {"version": 1}),
]


# --- auth and feature switch -----------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
@pytest.mark.parametrize("key", [None, "", "wrong-key-0123456789abcdefghijklmnop", "test-admin-key"])
async def test_every_admin_route_needs_the_key(client: Any, method: str, path: str, body: Any, key: str | None,
                                               db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    headers = {} if key is None else {"X-Admin-Key": key}
    response = await client.request(method, path, json=body, headers=headers)
    await error_of(response, 401, "UNAUTHORIZED")
    assert db_rows("SELECT id FROM content") == []


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_admin_api_switched_off_is_404(make_client: Any, settings: Settings, admin_headers: dict[str, str],
                                             method: str, path: str, body: Any) -> None:
    client = await make_client(settings.replace(feature_admin_api=False))
    await error_of(await client.request(method, path, json=body, headers=admin_headers), 404, "NOT_FOUND")
    assert (await client.get(PUBLIC)).status == 200  # public reads stay


# --- create ------------------------------------------------------------------------------

async def test_create_returns_201_with_the_item(client: Any, admin_headers: dict[str, str],
                                                db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    response = await client.post(ADMIN, headers=admin_headers, json={
        "type": "project", "slug": "folionaut", "data": {"title": "Folionaut", "tags": ["a", 1, None]},
        "status": "published", "sortOrder": -3})
    assert response.status == 201
    assert response.headers["ETag"] == 'W/"v1"'
    item = (await response.json())["data"]
    assert set(item) == {"id", "type", "slug", "data", "status", "version", "sortOrder", "createdAt", "updatedAt",
                         "deletedAt"}
    assert item["id"].startswith("content_") and len(item["id"]) == len("content_") + 21
    assert (item["type"], item["slug"], item["status"], item["version"], item["sortOrder"]) == (
        "project", "folionaut", "published", 1, -3)
    assert item["data"] == {"title": "Folionaut", "tags": ["a", 1, None]}
    assert item["createdAt"] == item["updatedAt"] and item["createdAt"].endswith("Z") and item["deletedAt"] is None
    row = db_rows("SELECT * FROM content")[0]
    assert (row["id"], row["sort_order"], row["version"]) == (item["id"], -3, 1)
    history = db_rows("SELECT * FROM content_history")
    assert [(h["version"], h["change_type"], h["changed_by"]) for h in history] == [(1, "created", "admin")]


async def test_create_defaults(create: Create) -> None:
    item = await create(type="skill", data={"title": "Python"})
    assert (item["slug"], item["status"], item["sortOrder"]) == ("python", "draft", 0)


async def test_generated_slugs_are_unique_and_bounded(create: Create, client: Any,
                                                      admin_headers: dict[str, str]) -> None:
    slugs = [(await create(data={"title": "Héllo, Wörld!"}))["slug"] for _ in range(3)]
    assert slugs == ["hello-world", "hello-world-2", "hello-world-3"]
    # Taken slugs are counted whether the item is draft, published or soft-deleted.
    deleted = await create(data={"title": "Gone"})
    await client.delete(f"{ADMIN}/{deleted['id']}", headers=admin_headers)
    assert (await create(data={"title": "Gone"}))["slug"] == "gone-2"
    # Another type has its own namespace.
    assert (await create(type="skill", data={"title": "Hello World"}))["slug"] == "hello-world"

    long_title = " ".join(["word"] * 40)  # 199 characters once slugified
    first = (await create(data={"title": long_title}))["slug"]
    assert len(first) <= 100 and not first.endswith("-") and first == "-".join(["word"] * 20)
    second = (await create(data={"title": long_title}))["slug"]
    assert len(second) <= 100 and second.endswith("-2") and second != first


@pytest.mark.parametrize("data", [{"body": "no title"}, {"title": "!!!"}, {"title": 42}, {"title": "日本語"}])
async def test_create_without_usable_title_or_slug_is_400(client: Any, admin_headers: dict[str, str],
                                                          data: dict[str, Any]) -> None:
    fields = await fields_of(await client.post(ADMIN, headers=admin_headers, json={"type": "project", "data": data}))
    assert list(fields) == ["slug"]


async def test_create_duplicate_slug_is_409(client: Any, create: Create, admin_headers: dict[str, str],
                                            db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    await create(type="project", slug="taken", data={"title": "A"})
    response = await client.post(ADMIN, headers=admin_headers,
                                 json={"type": "project", "slug": "taken", "data": {"title": "B"}})
    error = await error_of(response, 409, "CONFLICT")
    assert "project/taken" in error["message"]
    assert len(db_rows("SELECT id FROM content")) == 1 and len(db_rows("SELECT id FROM content_history")) == 1
    assert (await create(type="skill", slug="taken", data={"title": "C"}))["slug"] == "taken"  # other type: fine


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"type": ["Required"], "data": ["Required"]}),
        ({"type": None, "data": None}, {"type": ["Required"], "data": ["Required"]}),
        ({"type": 5, "data": {"title": "T"}}, {"type": ["Expected string, received number"]}),
        ({"type": "p", "data": "text"}, {"data": ["Expected object, received string"]}),
        ({"type": "p", "data": [1]}, {"data": ["Expected object, received array"]}),
        ({"type": "p", "data": {}}, {"data": ["Must not be empty"]}),
        ({"type": "p", "data": {"title": "T"}, "slug": True}, {"slug": ["Expected string, received boolean"]}),
        ({"type": "p", "data": {"title": "T"}, "slug": "Bad Slug"},
         {"slug": ["Must be 1-100 characters of lowercase letters, digits and hyphens"]}),
        ({"type": "p", "data": {"title": "T"}, "slug": ""},
         {"slug": ["Must be 1-100 characters of lowercase letters, digits and hyphens"]}),
        ({"type": "x" * 101, "data": {"title": "T"}},
         {"type": ["Must be 1-100 characters of lowercase letters, digits and hyphens"]}),
        ({"type": "p", "data": {"title": "T"}, "status": "live"},
         {"status": ["Expected one of: draft, published, archived"]}),
        ({"type": "p", "data": {"title": "T"}, "status": 1}, {"status": [STATUS_RULE]}),
        ({"type": "p", "data": {"title": "T"}, "sortOrder": "1"}, {"sortOrder": ["Expected integer, received string"]}),
        ({"type": "p", "data": {"title": "T"}, "sortOrder": 1.5}, {"sortOrder": [INTEGER_GOT_NUMBER]}),
        ({"type": "p", "data": {"title": "T"}, "sortOrder": 2.0}, {"sortOrder": [INTEGER_GOT_NUMBER]}),
        ({"type": "p", "data": {"title": "T"}, "sortOrder": True},
         {"sortOrder": ["Expected integer, received boolean"]}),
        ({"type": "p", "data": {"title": "T"}, "sortOrder": 2**31},
         {"sortOrder": [f"Must be between {-(2**31 - 1)} and {2**31 - 1}"]}),
        ({"type": 1, "data": 2, "status": 3, "sortOrder": "4"},
         {"type": ["Expected string, received number"], "data": ["Expected object, received number"],
          "status": [STATUS_RULE], "sortOrder": ["Expected integer, received string"]}),
    ],
)
async def test_create_validation_reports_every_field(client: Any, admin_headers: dict[str, str],
                                                     body: dict[str, Any], expected: dict[str, list[str]],
                                                     db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    assert await fields_of(await client.post(ADMIN, headers=admin_headers, json=body)) == expected
    assert db_rows("SELECT id FROM content") == []


async def test_create_ignores_unknown_fields(create: Create) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, id="content_mine", version=9, extra=1)
    assert item["id"] != "content_mine" and item["version"] == 1 and "extra" not in item


@pytest.mark.parametrize(("raw", "received"), [
    (b"[1, 2]", "array"), (b'"text"', "string"), (b"3", "number"), (b"null", "null"), (b"true", "boolean")])
async def test_create_body_must_be_an_object(client: Any, admin_headers: dict[str, str], raw: bytes,
                                             received: str) -> None:
    response = await client.post(ADMIN, data=raw, headers={**admin_headers, "Content-Type": "application/json"})
    assert await fields_of(response) == {"body": [f"Expected object, received {received}"]}


async def test_malformed_json_and_wrong_content_type_are_bad_request(client: Any,
                                                                     admin_headers: dict[str, str]) -> None:
    json_headers = {**admin_headers, "Content-Type": "application/json"}
    for raw in (b'{"type": "p",', b"", b"   ", b"\xff\xfe", b"{'a': 1}", b"NaN"):
        await error_of(await client.post(ADMIN, data=raw, headers=json_headers), 400, "BAD_REQUEST")
    form = await client.post(ADMIN, data="type=project", headers={**admin_headers,
                                                                   "Content-Type": "application/x-www-form-urlencoded"})
    error = await error_of(form, 400, "BAD_REQUEST")
    assert "application/json" in error["message"]


# --- read by id and list --------------------------------------------------------------------

async def test_get_by_id(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    item = await create(data={"title": "T"})
    response = await client.get(f"{ADMIN}/{item['id']}", headers=admin_headers)
    assert response.status == 200 and response.headers["ETag"] == 'W/"v1"'
    assert (await response.json()) == {"data": item}


@pytest.mark.parametrize("bad_id", ["abc", "hist_123456789012345678901", "content_", "CONTENT_abc",
                                    "content_" + "a" * 93])
@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None), ("PUT", "", {"status": "draft"}), ("DELETE", "", None), ("GET", "/history", None),
    ("POST", "/restore", {"version": 1}),
])
async def test_ids_must_start_with_content_prefix(client: Any, admin_headers: dict[str, str], bad_id: str,
                                                  method: str, suffix: str, body: Any) -> None:
    response = await client.request(method, f"{ADMIN}/{bad_id}{suffix}", json=body, headers=admin_headers)
    assert list(await fields_of(response)) == ["id"]


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("GET", "", None), ("PUT", "", {"status": "draft"}), ("DELETE", "", None), ("DELETE", "?hard=true", None),
    ("GET", "/history", None), ("POST", "/restore", {"version": 1}),
])
async def test_unknown_id_is_404(client: Any, admin_headers: dict[str, str], method: str, suffix: str,
                                 body: Any) -> None:
    response = await client.request(method, f"{ADMIN}/{MISSING_ID}{suffix}", json=body, headers=admin_headers)
    error = await error_of(response, 404, "NOT_FOUND")
    assert MISSING_ID in error["message"]


async def test_admin_list_filters_and_paginates(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    drafts = [await create(type="project", slug=f"d{n}", data={"n": n}, sortOrder=n) for n in range(3)]
    published = await create(type="project", slug="pub", data={"n": 9}, status="published", sortOrder=10)
    skill = await create(type="skill", slug="s", data={"n": 1}, status="archived", sortOrder=11)
    deleted = await create(type="skill", slug="gone", data={"n": 2}, sortOrder=12)
    await client.delete(f"{ADMIN}/{deleted['id']}", headers=admin_headers)

    async def ids(**params: str) -> list[str]:
        response = await client.get(ADMIN, params=params, headers=admin_headers)
        assert response.status == 200, await response.text()
        return [item["id"] for item in (await response.json())["data"]]

    everything = [*(d["id"] for d in drafts), published["id"], skill["id"]]
    assert await ids() == everything
    assert await ids(type="project") == everything[:4]
    assert await ids(status="draft") == everything[:3]
    assert await ids(status="archived", type="skill") == [skill["id"]]
    for true in ("true", "1", "TRUE", " True "):
        assert await ids(includeDeleted=true) == [*everything, deleted["id"]]
    for false in ("false", "0", "", "False"):
        assert await ids(includeDeleted=false) == everything  # the original read "false" as true
    assert await ids(limit="2") == everything[:2]
    assert await ids(limit="2", offset="2") == everything[2:4]
    assert await ids(offset="100") == []
    assert await ids(limit="100") == everything
    listed = (await (await client.get(ADMIN, params={"includeDeleted": "1"}, headers=admin_headers)).json())["data"]
    assert listed[-1]["deletedAt"] is not None


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"), ({"limit": "1.5"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"offset": "x"}, "offset"), ({"includeDeleted": "yes"}, "includeDeleted"),
    ({"includeDeleted": "2"}, "includeDeleted"), ({"status": "live"}, "status"), ({"type": "Bad"}, "type"),
])
async def test_admin_list_rejects_bad_query(client: Any, admin_headers: dict[str, str], params: dict[str, str],
                                            field: str) -> None:
    assert list(await fields_of(await client.get(ADMIN, params=params, headers=admin_headers))) == [field]


# --- update -----------------------------------------------------------------------------------

async def test_partial_update(client: Any, create: Create, admin_headers: dict[str, str],
                              db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, sortOrder=4)
    response = await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers,
                                json={"data": {"title": "T2"}, "status": "published"})
    assert response.status == 200 and response.headers["ETag"] == 'W/"v2"'
    updated = (await response.json())["data"]
    assert updated == {**item, "data": {"title": "T2"}, "status": "published", "version": 2,
                       "updatedAt": updated["updatedAt"]}
    assert updated["updatedAt"] >= item["updatedAt"]
    history = db_rows("SELECT * FROM content_history WHERE version = 2")
    assert [(h["change_type"], h["changed_by"], h["change_summary"]) for h in history] == [
        ("updated", "admin", "Updated data, status")]
    response = await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"slug": "q", "sortOrder": 1})
    assert (await response.json())["data"]["version"] == 3
    assert db_rows("SELECT change_summary FROM content_history WHERE version = 3") == [
        {"change_summary": "Updated slug, sort order"}]


async def test_update_that_changes_nothing_keeps_the_version(client: Any, create: Create,
                                                              admin_headers: dict[str, str],
                                                              db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    item = await create(type="project", slug="p", data={"title": "T"})
    response = await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers,
                                json={"slug": "p", "data": {"title": "T"}, "status": "draft", "sortOrder": 0})
    assert response.status == 200 and (await response.json())["data"] == item
    assert len(db_rows("SELECT id FROM content_history")) == 1


async def test_update_accepts_the_whole_item_back(client: Any, create: Create, admin_headers: dict[str, str]) -> None:
    item = await create(type="project", slug="p", data={"title": "T"})
    sent = {**item, "data": {"title": "Edited"}, "type": "ignored", "createdAt": "ignored"}
    updated = (await (await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json=sent)).json())["data"]
    assert (updated["data"], updated["type"], updated["createdAt"], updated["version"]) == (
        {"title": "Edited"}, "project", item["createdAt"], 2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, {"body": ["Provide at least one of: slug, data, status, sortOrder"]}),
        ({"version": 1}, {"body": ["Provide at least one of: slug, data, status, sortOrder"]}),
        ({"unknown": 1}, {"body": ["Provide at least one of: slug, data, status, sortOrder"]}),
        ({"data": {}}, {"data": ["Must not be empty"]}),
        ({"data": "x"}, {"data": ["Expected object, received string"]}),
        ({"slug": "Bad!"}, {"slug": ["Must be 1-100 characters of lowercase letters, digits and hyphens"]}),
        ({"slug": 7}, {"slug": ["Expected string, received number"]}),
        ({"status": "gone"}, {"status": ["Expected one of: draft, published, archived"]}),
        ({"sortOrder": "1"}, {"sortOrder": ["Expected integer, received string"]}),
        ({"status": "draft", "version": 0}, {"version": [f"Must be between 1 and {2**53}"]}),
        ({"status": "draft", "version": "1"}, {"version": ["Expected integer, received string"]}),
    ],
)
async def test_update_validation(client: Any, create: Create, admin_headers: dict[str, str], body: dict[str, Any],
                                 expected: dict[str, list[str]]) -> None:
    item = await create(data={"title": "T"})
    assert await fields_of(await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json=body)) == expected
    after = await client.get(f"{ADMIN}/{item['id']}", headers=admin_headers)
    assert (await after.json())["data"]["version"] == 1


async def test_slug_change_to_a_taken_slug_is_409(client: Any, create: Create, admin_headers: dict[str, str],
                                                  db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    await create(type="project", slug="taken", data={"title": "A"})
    item = await create(type="project", slug="mine", data={"title": "B"})
    response = await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"slug": "taken"})
    await error_of(response, 409, "CONFLICT")
    assert db_rows("SELECT slug, version FROM content WHERE id = ?", item["id"]) == [{"slug": "mine", "version": 1}]
    assert len(db_rows("SELECT id FROM content_history WHERE content_id = ?", item["id"])) == 1


async def test_update_of_a_soft_deleted_item_is_404(client: Any, create: Create,
                                                    admin_headers: dict[str, str]) -> None:
    item = await create(data={"title": "T"})
    await client.delete(f"{ADMIN}/{item['id']}", headers=admin_headers)
    response = await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"status": "published"})
    await error_of(response, 404, "NOT_FOUND")


# --- delete -----------------------------------------------------------------------------------

async def test_soft_delete_hides_from_public_and_admin_list_only(
    client: Any, create: Create, admin_headers: dict[str, str], db_rows: Callable[..., list[dict[str, Any]]]
) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, status="published")
    response = await client.delete(f"{ADMIN}/{item['id']}", headers=admin_headers)
    assert response.status == 200 and (await response.json()) == {"success": True}

    assert (await client.get(f"{PUBLIC}/project/p")).status == 404
    assert (await (await client.get(PUBLIC)).json())["data"] == []
    assert (await (await client.get(ADMIN, headers=admin_headers)).json())["data"] == []
    included = (await (await client.get(ADMIN, params={"includeDeleted": "true"}, headers=admin_headers)).json())
    assert [i["id"] for i in included["data"]] == [item["id"]]
    got = (await (await client.get(f"{ADMIN}/{item['id']}", headers=admin_headers)).json())["data"]
    assert got["deletedAt"] is not None and got["version"] == 2 and got["data"] == item["data"]
    assert [(h["version"], h["change_type"]) for h in db_rows(
        "SELECT version, change_type FROM content_history ORDER BY version")] == [(1, "created"), (2, "deleted")]
    # A second soft delete finds nothing to delete.
    await error_of(await client.delete(f"{ADMIN}/{item['id']}", headers=admin_headers), 404, "NOT_FOUND")


@pytest.mark.parametrize("hard", ["true", "1", "TRUE"])
async def test_hard_delete_removes_item_and_history(client: Any, create: Create, admin_headers: dict[str, str],
                                                    db_rows: Callable[..., list[dict[str, Any]]], hard: str) -> None:
    item = await create(type="project", slug="p", data={"title": "T"}, status="published")
    keep = await create(type="project", slug="keep", data={"title": "K"})
    await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json={"data": {"title": "T2"}})
    response = await client.delete(f"{ADMIN}/{item['id']}", params={"hard": hard}, headers=admin_headers)
    assert response.status == 200 and (await response.json()) == {"success": True}
    assert db_rows("SELECT id FROM content") == [{"id": keep["id"]}]
    assert db_rows("SELECT content_id FROM content_history") == [{"content_id": keep["id"]}]
    await error_of(await client.get(f"{ADMIN}/{item['id']}", headers=admin_headers), 404, "NOT_FOUND")
    await error_of(await client.get(f"{ADMIN}/{item['id']}/history", headers=admin_headers), 404, "NOT_FOUND")
    assert (await create(type="project", slug="p", data={"title": "Reused"}))["slug"] == "p"  # slug is free again


async def test_hard_delete_of_a_soft_deleted_item(client: Any, create: Create, admin_headers: dict[str, str],
                                                  db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    item = await create(data={"title": "T"})
    await client.delete(f"{ADMIN}/{item['id']}", headers=admin_headers)
    response = await client.delete(f"{ADMIN}/{item['id']}?hard=1", headers=admin_headers)
    assert response.status == 200
    assert db_rows("SELECT id FROM content") == [] and db_rows("SELECT id FROM content_history") == []


@pytest.mark.parametrize("hard", ["false", "0", ""])
async def test_hard_false_is_a_soft_delete(client: Any, create: Create, admin_headers: dict[str, str],
                                           db_rows: Callable[..., list[dict[str, Any]]], hard: str) -> None:
    item = await create(data={"title": "T"})
    assert (await client.delete(f"{ADMIN}/{item['id']}", params={"hard": hard}, headers=admin_headers)).status == 200
    assert db_rows("SELECT deleted_at IS NOT NULL AS gone FROM content") == [{"gone": 1}]


async def test_hard_with_a_bad_value_is_400_and_deletes_nothing(client: Any, create: Create,
                                                                admin_headers: dict[str, str],
                                                                db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    item = await create(data={"title": "T"})
    response = await client.delete(f"{ADMIN}/{item['id']}", params={"hard": "yes"}, headers=admin_headers)
    assert list(await fields_of(response)) == ["hard"]
    assert db_rows("SELECT deleted_at FROM content") == [{"deleted_at": None}]


# --- FEATURE_AUDIT_LOG=false -----------------------------------------------------------------

async def test_audit_log_off_writes_no_history(make_client: Any, settings: Settings, admin_headers: dict[str, str],
                                               db_rows: Callable[..., list[dict[str, Any]]]) -> None:
    client = await make_client(settings.replace(feature_audit_log=False))
    created = await client.post(ADMIN, headers=admin_headers, json={"type": "project", "data": {"title": "T"}})
    item = (await created.json())["data"]
    for change in ({"data": {"title": "T2"}}, {"status": "published"}):
        assert (await client.put(f"{ADMIN}/{item['id']}", headers=admin_headers, json=change)).status == 200
    assert (await client.delete(f"{ADMIN}/{item['id']}", headers=admin_headers)).status == 200
    assert db_rows("SELECT version, deleted_at IS NOT NULL AS gone FROM content") == [{"version": 4, "gone": 1}]
    assert db_rows("SELECT id FROM content_history") == []
    history = await client.get(f"{ADMIN}/{item['id']}/history", headers=admin_headers)
    assert history.status == 200 and (await history.json()) == {"data": []}
    # No snapshot to restore from: the version is unknown.
    restore = await client.post(f"{ADMIN}/{item['id']}/restore", headers=admin_headers, json={"version": 1})
    await error_of(restore, 404, "NOT_FOUND")
