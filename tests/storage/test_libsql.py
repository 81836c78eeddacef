"""The libSQL backend, driving the real libsql-client against the Hrana test server over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from folionaut.core.errors import ConfigError, DatabaseError, DatabaseUnavailableError
from folionaut.settings import test_settings
from folionaut.storage import open_database
from folionaut.storage.base import Statement
from folionaut.storage.errors import ConstraintViolation
from folionaut.storage.libsql import DatabaseAuthError, LibSQLDatabase
from folionaut.storage.migrate import apply_migrations, available_migrations
from tests.helpers.backends import TEST_AUTH_TOKEN, open_database_backend
from tests.helpers.hrana_server import HranaServer

TOKEN = TEST_AUTH_TOKEN
CALL_TIMEOUT = 2.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[HranaServer]:
    async with HranaServer(tmp_path / "remote.db", auth_token=TOKEN) as hrana:
        yield hrana


@pytest.fixture(params=["http", "ws"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def url_for(server: HranaServer, transport: str) -> str:
    return server.url_http if transport == "http" else server.url_ws


@pytest.fixture
async def db(server: HranaServer, transport: str) -> AsyncIterator[LibSQLDatabase]:
    url = url_for(server, transport)
    database = await LibSQLDatabase.open(url, TOKEN, connect_timeout=5, call_timeout=CALL_TIMEOUT)
    yield database
    await database.close()


def assert_no_token(exc: BaseException) -> None:
    """The token appears neither in the message nor anywhere in the chain of causes."""
    seen: BaseException | None = exc
    while seen is not None:
        assert TOKEN not in str(seen) and TOKEN not in repr(seen)
        seen = seen.__cause__ or seen.__context__


async def make_items(db: LibSQLDatabase) -> None:
    await db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, qty INTEGER)")


# --- the Database interface ---------------------------------------------------------------------

async def test_execute_and_fetch(db: LibSQLDatabase) -> None:
    assert db.backend == "libsql"
    await make_items(db)
    first = await db.execute("INSERT INTO items (name, qty) VALUES (?, ?)", ("apple", 3))
    second = await db.execute("INSERT INTO items (name, qty) VALUES (?, ?)", ["pear", 5])
    assert (first.rows_affected, first.last_insert_rowid) == (1, 1)
    assert (second.rows_affected, second.last_insert_rowid) == (1, 2)

    assert await db.fetch_all("SELECT id, name, qty FROM items ORDER BY id") == [
        {"id": 1, "name": "apple", "qty": 3},
        {"id": 2, "name": "pear", "qty": 5},
    ]
    assert await db.fetch_one("SELECT name FROM items WHERE qty > ?", (4,)) == {"name": "pear"}
    assert await db.fetch_one("SELECT name FROM items WHERE qty > ?", (99,)) is None
    assert await db.fetch_all("SELECT * FROM items WHERE qty > 99") == []

    updated = await db.execute("UPDATE items SET qty = qty + 1")
    assert updated.rows_affected == 2
    await db.ping()


async def test_values_round_trip(db: LibSQLDatabase) -> None:
    await db.execute("CREATE TABLE v (t TEXT, b BLOB, n INTEGER, big INTEGER, small INTEGER, f REAL)")
    text = "Zoë ✓ 日本語 🚀 \"quoted\" 'single' \\ back\nnewline"
    blob = bytes(range(256)) * 64
    await db.execute(
        "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)", (text, blob, None, 2**63 - 1, -(2**63), 1.5)
    )
    row = await db.fetch_one("SELECT t, b, n, big, small, f, typeof(n) AS kind FROM v")
    assert row == {"t": text, "b": blob, "n": None, "big": 2**63 - 1, "small": -(2**63), "f": 1.5, "kind": "null"}
    assert isinstance(row["b"], bytes) and isinstance(row["big"], int) and isinstance(row["f"], float)
    # A large text (well over a WebSocket frame) comes back intact.
    large = "x" * 300_000
    await db.execute("UPDATE v SET t = ?", (large,))
    assert await db.fetch_one("SELECT length(t) AS n, t FROM v") == {"n": 300_000, "t": large}


async def test_batch_applies_all_in_order(db: LibSQLDatabase) -> None:
    await make_items(db)
    results = await db.batch([
        Statement("INSERT INTO items (name, qty) VALUES (?, ?)", ("a", 1)),
        Statement("INSERT INTO items (name, qty) VALUES (?, ?)", ("b", 2)),
        Statement("UPDATE items SET qty = qty * 10"),
    ])
    assert [r.rows_affected for r in results] == [1, 1, 2]
    assert results[1].last_insert_rowid == 2
    assert await db.fetch_all("SELECT name, qty FROM items ORDER BY name") == [
        {"name": "a", "qty": 10}, {"name": "b", "qty": 20}
    ]
    assert await db.batch([]) == []


async def test_batch_is_atomic_on_constraint_failure(db: LibSQLDatabase) -> None:
    await make_items(db)
    await db.execute("INSERT INTO items (name, qty) VALUES ('kept', 1)")
    with pytest.raises(ConstraintViolation) as caught:
        await db.batch([
            Statement("INSERT INTO items (name, qty) VALUES ('new', 1)"),
            Statement("UPDATE items SET qty = 99"),
            Statement("INSERT INTO items (name, qty) VALUES ('kept', 2)"),  # UNIQUE violation
        ])
    assert "UNIQUE" in caught.value.message
    assert await db.fetch_all("SELECT name, qty FROM items") == [{"name": "kept", "qty": 1}]
    # The server-side stream is usable again right away.
    await db.batch([Statement("INSERT INTO items (name, qty) VALUES ('new', 1)")])
    assert len(await db.fetch_all("SELECT * FROM items")) == 2


async def test_batch_is_atomic_on_sql_error(db: LibSQLDatabase) -> None:
    await make_items(db)
    with pytest.raises(DatabaseError) as caught:
        await db.batch([
            Statement("INSERT INTO items (name, qty) VALUES ('x', 1)"),
            Statement("INSERT INTO no_such_table VALUES (1)"),
        ])
    assert not isinstance(caught.value, ConstraintViolation | DatabaseUnavailableError)
    assert "no_such_table" in caught.value.message
    assert await db.fetch_all("SELECT * FROM items") == []


async def test_single_statement_errors(db: LibSQLDatabase) -> None:
    await make_items(db)
    await db.execute("INSERT INTO items (name) VALUES ('a')")
    with pytest.raises(ConstraintViolation):
        await db.execute("INSERT INTO items (name) VALUES ('a')")
    with pytest.raises(ConstraintViolation):
        await db.execute("INSERT INTO items (name) VALUES (NULL)")  # NOT NULL
    with pytest.raises(DatabaseError) as caught:
        await db.fetch_all("SELEC nonsense")
    assert not isinstance(caught.value, DatabaseUnavailableError | ConstraintViolation)


async def test_changes_guard_inside_batch(db: LibSQLDatabase) -> None:
    """The content service's optimistic update: history is written only if the guarded update hit a row."""
    await db.execute("CREATE TABLE doc (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT)")
    await db.execute("CREATE TABLE doc_history (doc_id TEXT, version INTEGER, body TEXT)")
    await db.execute("INSERT INTO doc VALUES ('d1', 1, 'first')")

    def guarded_update(expected_version: int, body: str) -> list[Statement]:
        return [
            Statement("UPDATE doc SET version = version + 1, body = ? WHERE id = 'd1' AND version = ?",
                      (body, expected_version)),
            Statement("INSERT INTO doc_history (doc_id, version, body) "
                      "SELECT id, version, body FROM doc WHERE id = 'd1' AND changes() = 1"),
        ]

    applied = await db.batch(guarded_update(1, "second"))
    assert [r.rows_affected for r in applied] == [1, 1]
    stale = await db.batch(guarded_update(1, "lost update"))
    assert [r.rows_affected for r in stale] == [0, 0]
    assert await db.fetch_one("SELECT version, body FROM doc") == {"version": 2, "body": "second"}
    assert await db.fetch_all("SELECT version, body FROM doc_history") == [{"version": 2, "body": "second"}]


async def test_read_batch(db: LibSQLDatabase) -> None:
    await make_items(db)
    await db.batch([Statement("INSERT INTO items (name, qty) VALUES (?, ?)", (f"n{i}", i)) for i in range(5)])
    counts, top = await db.read_batch([
        Statement("SELECT count(*) AS n FROM items"),
        Statement("SELECT name FROM items WHERE qty >= ? ORDER BY qty DESC", (3,)),
    ])
    assert counts == [{"n": 5}]
    assert top == [{"name": "n4"}, {"name": "n3"}]
    assert await db.read_batch([]) == []


async def test_execute_script_is_atomic(db: LibSQLDatabase) -> None:
    await db.execute_script(
        """
        -- a comment line
        CREATE TABLE a (x TEXT);
        CREATE TABLE log (msg TEXT);
        CREATE TRIGGER a_log AFTER INSERT ON a BEGIN
            INSERT INTO log VALUES ('saw ' || new.x || '; with a semicolon');
        END;
        INSERT INTO a VALUES ('one');
        """
    )
    assert await db.fetch_all("SELECT msg FROM log") == [{"msg": "saw one; with a semicolon"}]
    with pytest.raises(DatabaseError):
        await db.execute_script("INSERT INTO a VALUES ('two');\nCREATE TABLE b (y);\nINSERT INTO missing VALUES (1);")
    assert await db.fetch_all("SELECT x FROM a") == [{"x": "one"}]
    assert await db.fetch_one("SELECT name FROM sqlite_master WHERE name = 'b'") is None


async def test_migrations_and_search_triggers(db: LibSQLDatabase) -> None:
    applied = await apply_migrations(db)
    assert [m.version for m in applied] == [m.version for m in available_migrations()]
    assert await apply_migrations(db) == []  # re-running is a no-op

    insert = ("INSERT INTO content (id, type, slug, data, created_at, updated_at) "
              "VALUES (?, 'project', ?, ?, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')")
    await db.batch([
        Statement(insert, ("c1", "rocket", '{"title": "Rocket Lab", "body": "Zoë builds rockets"}')),
        Statement(insert, ("c2", "garden", '{"title": "Garden", "body": "tomatoes"}')),
    ])
    search = ("SELECT c.slug FROM content_search JOIN content c ON c.rowid = content_search.rowid "
              "WHERE content_search MATCH ? ORDER BY bm25(content_search)")
    assert await db.fetch_all(search, ("zoe",)) == [{"slug": "rocket"}]  # diacritics removed

    await db.execute("UPDATE content SET data = ? WHERE id = 'c2'", ('{"title": "Garden", "body": "zoe plants"}',))
    assert {r["slug"] for r in await db.fetch_all(search, ("zoe",))} == {"rocket", "garden"}
    await db.execute("DELETE FROM content WHERE id = 'c1'")
    assert await db.fetch_all(search, ("rockets",)) == []

    # The unique (type, slug) index and the history foreign key are enforced remotely too.
    with pytest.raises(ConstraintViolation):
        await db.execute(insert, ("c3", "garden", "{}"))
    with pytest.raises(ConstraintViolation):
        await db.execute(
            "INSERT INTO content_history (id, content_id, version, data, change_type, created_at) "
            "VALUES ('h1', 'missing', 1, '{}', 'create', 'now')"
        )


async def test_open_database_picks_libsql_from_settings(server: HranaServer, transport: str, tmp_path: Path) -> None:
    settings = test_settings(data_dir=str(tmp_path), turso_database_url=url_for(server, transport),
                             turso_auth_token=TOKEN)
    database = await open_database(settings)
    try:
        assert database.backend == "libsql"
        assert await database.fetch_one("SELECT 1 AS one") == {"one": 1}
    finally:
        await database.close()


async def test_libsql_scheme_uses_websocket(server: HranaServer) -> None:
    # libsql:// means wss:// to libsql-client; ?tls=0 lets it reach the plain-text test server.
    database = await LibSQLDatabase.open(f"libsql://127.0.0.1:{server.port}?tls=0", TOKEN, connect_timeout=5)
    try:
        assert await database.fetch_one("SELECT 'ws' AS via") == {"via": "ws"}
        await server.drop_sockets()
        assert await database.fetch_one("SELECT 'again' AS via") == {"via": "again"}
    finally:
        await database.close()


async def test_concurrent_calls_share_one_database(db: LibSQLDatabase) -> None:
    await make_items(db)
    writes = [db.execute("INSERT INTO items (name, qty) VALUES (?, ?)", (f"n{i}", i)) for i in range(20)]
    await asyncio.gather(*writes)
    reads = await asyncio.gather(*(db.fetch_one("SELECT qty FROM items WHERE name = ?", (f"n{i}",))
                                   for i in range(20)))
    assert [row["qty"] if row else None for row in reads] == list(range(20))


async def test_closed_database_refuses_calls(db: LibSQLDatabase) -> None:
    await db.close()
    with pytest.raises(DatabaseUnavailableError):
        await db.fetch_all("SELECT 1")


# --- failures and recovery ----------------------------------------------------------------------

async def test_wrong_token_fails_fast_without_leaking_it(server: HranaServer, transport: str) -> None:
    server.auth_token = "the-server-expects-another-token"
    with pytest.raises(DatabaseAuthError) as caught:
        await LibSQLDatabase.open(url_for(server, transport), TOKEN, connect_timeout=30, call_timeout=CALL_TIMEOUT)
    assert isinstance(caught.value, DatabaseUnavailableError)
    assert "rejected the auth token" in caught.value.message
    assert_no_token(caught.value)


async def test_token_revoked_while_running(server: HranaServer) -> None:
    database = await LibSQLDatabase.open(server.url_http, TOKEN, connect_timeout=5, call_timeout=CALL_TIMEOUT)
    try:
        server.auth_token = "rotated-token"
        with pytest.raises(DatabaseUnavailableError) as caught:
            await database.fetch_all("SELECT 1")
        assert_no_token(caught.value)
    finally:
        await database.close()


async def test_open_gives_up_on_refused_connection(server: HranaServer, transport: str) -> None:
    url = url_for(server, transport)
    await server.refuse()
    with pytest.raises(DatabaseUnavailableError) as caught:
        await LibSQLDatabase.open(url, TOKEN, connect_timeout=0.6, call_timeout=CALL_TIMEOUT)
    assert "did not answer within 0.6 s" in caught.value.message
    assert "127.0.0.1" in caught.value.message
    assert_no_token(caught.value)


async def test_open_retries_until_server_is_up(server: HranaServer, transport: str) -> None:
    url = url_for(server, transport)
    await server.refuse()
    opening = asyncio.create_task(LibSQLDatabase.open(url, TOKEN, connect_timeout=20, call_timeout=CALL_TIMEOUT))
    await asyncio.sleep(0.5)  # let a few attempts fail first
    assert not opening.done()
    await server.restart()
    database = await asyncio.wait_for(opening, 20)
    try:
        assert await database.fetch_one("SELECT 2 AS two") == {"two": 2}
    finally:
        await database.close()


async def test_refused_then_recovers(db: LibSQLDatabase, server: HranaServer) -> None:
    await make_items(db)
    await server.refuse()
    for call in (db.fetch_all("SELECT * FROM items"), db.execute("INSERT INTO items (name) VALUES ('x')"), db.ping()):
        with pytest.raises(DatabaseUnavailableError) as caught:
            await call
        assert_no_token(caught.value)
    await server.restart()
    assert await db.fetch_all("SELECT * FROM items") == []
    await db.execute("INSERT INTO items (name) VALUES ('back')")
    assert await db.fetch_all("SELECT name FROM items") == [{"name": "back"}]


async def test_service_unavailable_status(db: LibSQLDatabase, server: HranaServer) -> None:
    await make_items(db)
    await server.fail_with_status(503)
    with pytest.raises(DatabaseUnavailableError) as caught:
        await db.fetch_all("SELECT * FROM items")
    assert "503" in caught.value.message
    assert_no_token(caught.value)
    with pytest.raises(DatabaseUnavailableError):
        await db.batch([Statement("INSERT INTO items (name) VALUES ('x')")])
    await server.fail_with_status(None)
    await db.batch([Statement("INSERT INTO items (name) VALUES ('y')")])
    assert await db.fetch_all("SELECT name FROM items") == [{"name": "y"}]


async def test_slow_server_times_out_then_recovers(server: HranaServer, transport: str) -> None:
    database = await LibSQLDatabase.open(url_for(server, transport), TOKEN, connect_timeout=5, call_timeout=0.3)
    try:
        server.delay(3.0)
        with pytest.raises(DatabaseUnavailableError) as caught:
            await database.fetch_all("SELECT 1")
        assert "no answer within 0.3 s" in caught.value.message
        with pytest.raises(DatabaseUnavailableError):
            await database.execute("SELECT 1")
        server.delay(0)
        assert await database.fetch_one("SELECT 3 AS three") == {"three": 3}
    finally:
        await database.close()


async def test_dropped_websocket_recovers_by_itself(db: LibSQLDatabase, server: HranaServer) -> None:
    await make_items(db)
    await db.execute("INSERT INTO items (name) VALUES ('before')")
    await server.drop_sockets()
    # A read after the drop is retried on a fresh connection.
    assert await db.fetch_all("SELECT name FROM items") == [{"name": "before"}]

    await server.drop_sockets()
    # A write is never retried: it either went through on a fresh connection or says the database is unavailable.
    try:
        await db.execute("INSERT INTO items (name) VALUES ('maybe')")
    except DatabaseUnavailableError as exc:
        assert_no_token(exc)
    await db.execute("INSERT INTO items (name) VALUES ('after')")
    names = {row["name"] for row in await db.fetch_all("SELECT name FROM items")}
    assert {"before", "after"} <= names <= {"before", "maybe", "after"}


async def test_bad_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        await LibSQLDatabase.open("libsql://db.example.invalid?authToken=zzz&bogus=1", TOKEN, connect_timeout=1)
    assert "TURSO_DATABASE_URL" in str(caught.value)


@pytest.mark.parametrize("name", ["sqlite", "hrana-http", "hrana-ws"])
async def test_backend_factory_yields_working_settings(name: str, tmp_path: Path) -> None:
    async with open_database_backend(name, tmp_path / name) as backend:
        settings = test_settings(data_dir=str(tmp_path), **backend.settings_changes())
        database = await open_database(settings)
        try:
            assert database.backend == ("sqlite" if name == "sqlite" else "libsql")
            await apply_migrations(database)
            await database.execute(
                "INSERT INTO chat_sessions (id, visitor_id, created_at, last_active_at, expires_at) "
                "VALUES ('s1', 'v1', 'a', 'b', 'c')"
            )
        finally:
            await database.close()
        assert backend.database_file.exists()


async def test_a_timed_out_call_fails_alone(tmp_path: Path, transport: str) -> None:
    # A server whose connections wait for the write lock (as sqld's do), so the writes below queue, not retry.
    server = HranaServer(tmp_path / "alone.db", auth_token=TOKEN, busy_timeout_ms=2_000)
    await server.start()
    database = await LibSQLDatabase.open(url_for(server, transport), TOKEN, connect_timeout=5, call_timeout=1.0)
    try:
        await make_items(database)
        server.inject_faults(1, "stall", limit=1, only="execute")
        stalled = asyncio.ensure_future(database.fetch_one("SELECT 'stalled' AS v"))
        await asyncio.sleep(0.6)
        server.delay(0.6)
        # Writes (never retried) still in flight when the stalled call gives up, one on its connection.
        writes = [asyncio.ensure_future(database.execute("INSERT INTO items (name) VALUES (?)", (f"w{n}",)))
                  for n in range(4)]
        with pytest.raises(DatabaseUnavailableError) as caught:
            await stalled
        assert "no answer within 1 s" in caught.value.message
        assert [result.rows_affected for result in await asyncio.gather(*writes)] == [1, 1, 1, 1]
        server.delay(0)
        assert len(await database.fetch_all("SELECT name FROM items")) == 4
    finally:
        await database.close()
        await server.stop()
