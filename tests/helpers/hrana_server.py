"""A Hrana (libSQL remote protocol) server for tests: aiohttp + sqlite3 on a real file.

It stands in for Turso/sqld so the real ``libsql-client`` can be driven in tests.
It speaks:

* Hrana over HTTP v1 (``POST /v1/execute``, ``POST /v1/batch``) — what
  libsql-client's HTTP transport calls — with the same request/response bodies
  as the HTTP_V1 spec; each request runs on a fresh connection (a fresh
  "stream"), so a transaction left open by a batch is rolled back.
* Hrana over WebSocket, subprotocols ``hrana1``/``hrana2``/``hrana3`` (JSON
  encoding): ``hello`` (and re-``hello``), ``open_stream``, ``close_stream``,
  ``execute``, ``batch`` (conditions ok/error/not/and/or/is_autocommit),
  ``sequence``, ``describe``, ``store_sql``, ``close_sql``, ``get_autocommit``.
  Each stream owns one sqlite3 connection, so ``changes()`` and transactions
  carry from one statement of a batch to the next exactly as on sqld.

Concurrency as on sqld: every stream (every HTTP request, every WebSocket
stream) has its own SQLite connection, and streams run at the same time, each
on a thread of its own, so concurrent writers really contend for SQLite's write
lock. Requests of one stream run in order; answers on a WebSocket go out as
they are ready, not in request order. A connection waits ``busy_timeout_ms``
for a lock (default 0: every collision is answered ``SQLITE_BUSY`` at once, the
harshest case), and ``statement_delay`` (seconds, default 0) is spent after each
statement of a batch while its locks are held, as a slower disk would, so tests
can make contention certain with few writers.

Values use Hrana's JSON encoding (integers as strings, blobs as base64).
Errors carry SQLite's extended error name as ``code`` (``SQLITE_CONSTRAINT_UNIQUE``…).

Authentication: when ``auth_token`` is set, HTTP requests need
``Authorization: Bearer <token>`` (else 401 with a Hrana ``Error`` body) and the
WebSocket ``hello`` must carry it as ``jwt`` (else ``hello_error`` and close).

Failure switches for tests (all take effect immediately):

* ``await server.refuse()`` — stop listening and close every connection; the
  port then refuses connections. ``await server.restart()`` listens again on
  the same port with the same database file.
* ``await server.fail_with_status(503)`` — every HTTP request (including a
  WebSocket upgrade) gets that status; open WebSockets are dropped.
  ``fail_with_status(None)`` clears it.
* ``server.delay(seconds)`` — wait that long before answering each SQL call
  (an HTTP request, a WebSocket ``execute``/``batch``/``sequence``; ``delay(0)``
  clears it).
* ``await server.drop_sockets()`` — abort every open WebSocket's TCP connection
  without a close frame, as a crashed proxy or network would.
* ``server.inject_faults(every=N, kind=..., after=False, limit=None, only=None)``
  — every Nth SQL call (an HTTP ``execute``/``batch``, a WebSocket
  ``execute``/``batch``/``sequence``; with ``only="batch"`` or ``"execute"``,
  only calls of that kind count) fails: ``"error"`` answers an error (HTTP 500;
  a WebSocket ``response_error``), ``"stall"`` never answers, ``"drop"`` aborts
  the TCP connection (on a WebSocket: every call on it), ``"crash"`` aborts it
  and stops the server (``restart()`` brings it back). With ``after=True`` the
  SQL runs (and commits) first: the client cannot know it did. ``limit`` stops
  after that many faults; ``clear_faults()`` (or ``clear_failures()``) ends
  them; ``faults_injected`` counts them.

Usage::

    async with HranaServer(tmp_path / "remote.db", auth_token="secret") as server:
        client = libsql_client.create_client(server.url_ws, auth_token="secret")
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from aiohttp import WSMsgType, web

HOST = "127.0.0.1"
WS_PROTOCOLS = ("hrana3", "hrana2", "hrana1")
MAX_BODY_BYTES = 64 * 1024 * 1024

JsonObj = dict[str, Any]


class HranaRequestError(Exception):
    """An error answered to the client as a Hrana ``Error`` object."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def to_proto(self) -> JsonObj:
        return {"message": self.message, "code": self.code}


class ProtocolViolation(Exception):
    """The client broke the protocol: the WebSocket is closed with code 3xxx."""


# --- values -------------------------------------------------------------------------------------

def value_to_proto(value: Any) -> JsonObj:
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool):  # sqlite3 never returns bool, but be exact if a function does
        return {"type": "integer", "value": str(int(value))}
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise HranaRequestError(f"Cannot encode value of type {type(value).__name__}", "HRANA_PROTO_ERROR")


def value_from_proto(value: JsonObj) -> Any:
    kind = value.get("type")
    if kind == "null":
        return None
    if kind == "integer":
        number = int(value["value"])
        if not -(2**63) <= number < 2**63:
            raise HranaRequestError("Integer is out of the 64-bit range", "ARGS_INVALID")
        return number
    if kind == "float":
        number = float(value["value"])
        if not math.isfinite(number):
            raise HranaRequestError("Float must be finite", "ARGS_INVALID")
        return number
    if kind == "text":
        return str(value["value"])
    if kind == "blob":
        text = str(value["base64"])
        return base64.b64decode(text + "=" * (-len(text) % 4))
    raise HranaRequestError(f"Unknown value type {kind!r}", "ARGS_INVALID")


# --- SQL execution on one connection ------------------------------------------------------------

def open_connection(path: Path, busy_timeout_ms: int = 0) -> sqlite3.Connection:
    # Autocommit mode: BEGIN/COMMIT sent by the client are the only transactions,
    # as on sqld. Used from one thread at a time (its stream's), never two at once.
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout_ms / 1000,
                           check_same_thread=False)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def close_connection(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    conn.close()


def sqlite_error(exc: sqlite3.Error) -> HranaRequestError:
    code = getattr(exc, "sqlite_errorname", None)
    if not code:
        code = "SQL_INPUT_ERROR" if isinstance(exc, sqlite3.ProgrammingError) else "SQLITE_ERROR"
    return HranaRequestError(f"SQLite error: {exc}", code)


class StreamState:
    """One Hrana stream: a database connection plus the SQL texts stored on its WebSocket."""

    def __init__(self, conn: sqlite3.Connection, stored_sql: dict[int, str], statement_delay: float = 0.0) -> None:
        self.conn = conn
        self.stored_sql = stored_sql
        self.statement_delay = statement_delay
        #: Requests of one stream run in order (asyncio.Lock is first come, first served).
        self.turn = asyncio.Lock()

    def _sql_text(self, holder: JsonObj) -> str:
        sql = holder.get("sql")
        sql_id = holder.get("sql_id")
        if sql is not None and sql_id is not None:
            raise HranaRequestError("Only one of sql and sql_id may be given", "SQL_INPUT_ERROR")
        if sql_id is not None:
            if sql_id not in self.stored_sql:
                raise HranaRequestError(f"SQL text {sql_id} was not stored", "SQL_NOT_FOUND")
            return self.stored_sql[sql_id]
        if sql is None:
            raise HranaRequestError("One of sql and sql_id must be given", "SQL_INPUT_ERROR")
        return str(sql)

    def execute(self, stmt: JsonObj) -> JsonObj:
        sql = self._sql_text(stmt)
        args = [value_from_proto(v) for v in stmt.get("args") or []]
        named = stmt.get("named_args") or []
        params: Any
        if named:
            if args:
                raise HranaRequestError("Mixing positional and named arguments is not supported", "ARGS_INVALID")
            # sqlite3 wants names without their :, @ or $ prefix.
            params = {str(arg["name"]).lstrip(":@$"): value_from_proto(arg["value"]) for arg in named}
        else:
            params = tuple(args)
        want_rows = stmt.get("want_rows", True) is not False
        try:
            cursor = self.conn.execute(sql, params)
            fetched = cursor.fetchall()
        except sqlite3.Warning as exc:  # e.g. "You can only execute one statement at a time."
            raise HranaRequestError(f"SQLite error: {exc}", "SQL_MANY_STATEMENTS") from exc
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc
        cols = [{"name": column[0], "decltype": None} for column in cursor.description or ()]
        rows = [[value_to_proto(value) for value in row] for row in fetched] if want_rows else []
        last_rowid = cursor.lastrowid
        return {
            "cols": cols,
            "rows": rows,
            "affected_row_count": max(cursor.rowcount, 0),
            "last_insert_rowid": None if last_rowid is None else str(last_rowid),
        }

    def _condition(self, cond: JsonObj, outcomes: list[bool | None]) -> bool:
        kind = cond.get("type")
        if kind in ("ok", "error"):
            step = int(cond["step"])
            if not 0 <= step < len(outcomes):
                raise HranaRequestError("Condition refers to a later step", "BATCH_COND_INVALID")
            return outcomes[step] is (kind == "ok")
        if kind == "not":
            return not self._condition(cond["cond"], outcomes)
        if kind == "and":
            return all(self._condition(c, outcomes) for c in cond["conds"])
        if kind == "or":
            return any(self._condition(c, outcomes) for c in cond["conds"])
        if kind == "is_autocommit":
            return not self.conn.in_transaction
        raise HranaRequestError(f"Unknown batch condition {kind!r}", "BATCH_COND_INVALID")

    def batch(self, batch: JsonObj) -> JsonObj:
        """Run the steps in order; a step's outcome is True (ok), False (error) or None (skipped)."""
        outcomes: list[bool | None] = []
        results: list[JsonObj | None] = []
        errors: list[JsonObj | None] = []
        for step in batch.get("steps", []):
            condition = step.get("condition")
            if condition is not None and not self._condition(condition, outcomes):
                outcomes.append(None)
                results.append(None)
                errors.append(None)
                continue
            try:
                results.append(self.execute(step["stmt"]))
                errors.append(None)
                outcomes.append(True)
            except HranaRequestError as exc:
                results.append(None)
                errors.append(exc.to_proto())
                outcomes.append(False)
            if self.statement_delay:
                time.sleep(self.statement_delay)  # on the stream's thread, holding whatever locks it took
        return {"step_results": results, "step_errors": errors}

    def sequence(self, request: JsonObj) -> None:
        script = self._sql_text(request)
        # Cut after each ';' that completes a statement (not those inside strings or triggers).
        start = 0
        for end, char in enumerate(script):
            if char == ";" and sqlite3.complete_statement(script[start : end + 1]):
                self._run_one(script[start : end + 1])
                start = end + 1
        if script[start:].strip():
            self._run_one(script[start:])

    def _run_one(self, sql: str) -> None:
        if not sql.strip().strip(";").strip():
            return
        try:
            self.conn.execute(sql).fetchall()
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc

    def describe(self, request: JsonObj) -> JsonObj:
        sql = self._sql_text(request)
        try:
            # EXPLAIN compiles the statement without running it: a syntax check.
            self.conn.execute(f"EXPLAIN {sql}").fetchall()
        except sqlite3.Error as exc:
            raise sqlite_error(exc) from exc
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        cols: list[JsonObj] = []
        if head in ("SELECT", "WITH", "VALUES"):
            with contextlib.suppress(sqlite3.Error):
                cursor = self.conn.execute(f"SELECT * FROM ({sql}) LIMIT 0")
                cols = [{"name": c[0], "decltype": None} for c in cursor.description or ()]
        return {
            "params": [],
            "cols": cols,
            "is_explain": head == "EXPLAIN",
            "is_readonly": head in ("SELECT", "WITH", "VALUES", "EXPLAIN"),
        }


# --- the server ---------------------------------------------------------------------------------

FaultKind = Literal["error", "stall", "drop", "crash"]
#: Stream threads: more than enough for the streams a test opens at once.
MAX_STREAM_THREADS = 32


@dataclass(slots=True)
class FaultPlan:
    every: int
    kind: FaultKind
    after: bool
    limit: int | None
    only: str | None
    seen: int = 0


class _Dropped(Exception):
    """The fault plan aborted this call's connection: nothing is answered."""


class HranaServer:
    """A Hrana server on 127.0.0.1 over a real SQLite file (see the module docstring)."""

    def __init__(self, db_path: Path, auth_token: str | None = None, port: int = 0, *,
                 busy_timeout_ms: int = 0, statement_delay: float = 0.0) -> None:
        self.db_path = Path(db_path)
        #: The token clients must present; None accepts anyone. May be changed at any time.
        self.auth_token = auth_token
        self.port = port
        #: How long a connection waits for SQLite's locks (0: SQLITE_BUSY at once). For new streams.
        self.busy_timeout_ms = busy_timeout_ms
        #: Seconds spent after each statement of a batch, locks held. For new streams.
        self.statement_delay = statement_delay
        #: Requests answered so far (HTTP requests and WebSocket requests), for tests.
        self.request_count = 0
        #: SQL calls (execute/batch/sequence) received so far, and faults injected into them.
        self.sql_calls = 0
        self.faults_injected = 0
        #: WebSocket connections accepted so far.
        self.websockets_opened = 0
        #: Error codes answered to SQL calls (a batch's step errors included), e.g. SQLITE_BUSY.
        self.error_codes: collections.Counter[str] = collections.Counter()
        self._faults: FaultPlan | None = None
        self._crashing: asyncio.Task[None] | None = None
        self._status: int | None = None
        self._delay = 0.0
        self._runner: web.AppRunner | None = None
        self._threads: ThreadPoolExecutor | None = None
        # Set when the server stops: stalled calls end then.
        self._stopped = asyncio.Event()
        # Open WebSockets and their TCP transports (drop_sockets aborts the transports).
        self._sockets: dict[web.WebSocketResponse, asyncio.Transport | None] = {}

    # lifecycle

    async def __aenter__(self) -> HranaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._runner is not None:
            return
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_connection(self.db_path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.close()
        self._stopped = asyncio.Event()
        self._threads = ThreadPoolExecutor(MAX_STREAM_THREADS, thread_name_prefix="hrana-stream")
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._switches])
        app.router.add_post("/v1/execute", self._http_execute)
        app.router.add_post("/v1/batch", self._http_batch)
        app.router.add_get("/", self._root)
        app.router.add_get("/health", self._health)
        app.router.add_get("/version", self._version)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, HOST, self.port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        if self.port == 0:
            self.port = int(runner.addresses[0][1])  # keep it, so restart() binds the same port
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._stopped.set()
        await self.drop_sockets()
        if runner is not None:
            await runner.cleanup()
        threads, self._threads = self._threads, None
        if threads is not None:
            # Running statements finish on their own (none waits longer than busy_timeout_ms).
            await asyncio.get_running_loop().run_in_executor(None, threads.shutdown)

    @property
    def url_http(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url_ws(self) -> str:
        return f"ws://{HOST}:{self.port}"

    # failure switches

    async def refuse(self) -> None:
        """Stop listening (the port refuses connections) and close every open connection."""
        await self.stop()

    async def restart(self) -> None:
        """Listen again on the same port (after ``refuse``), with the same database file."""
        await self.stop()
        await self.start()

    async def fail_with_status(self, status: int | None) -> None:
        """Answer every HTTP request with ``status`` (None: serve normally); drops open WebSockets."""
        self._status = status
        if status is not None:
            await self.drop_sockets()

    def delay(self, seconds: float) -> None:
        self._delay = max(0.0, seconds)

    def inject_faults(self, every: int, kind: FaultKind, *, after: bool = False, limit: int | None = None,
                      only: Literal["execute", "batch"] | None = None) -> None:
        """Fail every ``every``-th SQL call from now on (see the module docstring)."""
        if every < 1:
            raise ValueError("every must be >= 1")
        self._faults = FaultPlan(every, kind, after, limit, only)

    def clear_faults(self) -> None:
        self._faults = None

    def clear_failures(self) -> None:
        self._status = None
        self._delay = 0.0
        self._faults = None

    async def drop_sockets(self) -> None:
        """Abort every open WebSocket's TCP connection, without a close frame."""
        for transport in list(self._sockets.values()):
            if transport is not None:
                transport.abort()
        self._sockets.clear()
        await asyncio.sleep(0)

    # running SQL

    def _next_fault(self, kind: str) -> FaultPlan | None:
        """Count one SQL call; the fault plan if this call is one to fail."""
        self.sql_calls += 1
        plan = self._faults
        if plan is None or (plan.only is not None and plan.only != kind):
            return None
        plan.seen += 1
        if plan.seen % plan.every:
            return None
        self.faults_injected += 1
        if plan.limit is not None and self.faults_injected >= plan.limit:
            self._faults = None
        return plan

    async def _in_thread(self, work: Callable[[], JsonObj]) -> JsonObj:
        if self._threads is None:
            raise HranaRequestError("The server is stopping", "SERVER_ERROR")
        running = asyncio.get_running_loop().run_in_executor(self._threads, work)
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            # The statement cannot be stopped on its thread: wait for it, so nobody closes
            # the connection under it (its stream's turn is held until then).
            with contextlib.suppress(Exception):
                await running
            raise

    async def _run_sql(self, kind: str, work: Callable[[], JsonObj], abort: Callable[[], None]) -> JsonObj:
        """Run one SQL call on a stream thread, with the fault plan applied around it."""
        fault = self._next_fault(kind)
        if fault is not None and not fault.after:
            await self._apply(fault, abort)
        try:
            result = await self._in_thread(work)
        except HranaRequestError as exc:
            self.error_codes[exc.code] += 1
            raise
        for error in result.get("step_errors") or ():
            if error is not None:
                self.error_codes[error["code"]] += 1
        if fault is not None and fault.after:
            await self._apply(fault, abort)
        return result

    async def _apply(self, fault: FaultPlan, abort: Callable[[], None]) -> None:
        if fault.kind == "error":
            raise HranaRequestError("Injected fault: internal error", "SERVER_ERROR")
        if fault.kind == "stall":
            await self._stopped.wait()  # never answered while the server runs
            raise _Dropped
        abort()
        if fault.kind == "crash":
            task = asyncio.get_running_loop().create_task(self.refuse())
            self._crashing = task  # kept until done (a task nobody holds may be collected)
        raise _Dropped

    # HTTP

    @web.middleware
    async def _switches(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self._delay and request.path != "/":  # SQL calls are slow; opening a WebSocket is not
            await asyncio.sleep(self._delay)
        if self._status is not None:
            return web.Response(status=self._status, text="Simulated failure", content_type="text/plain")
        return await handler(request)

    def _http_authorized(self, request: web.Request) -> bool:
        if self.auth_token is None:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {self.auth_token}"

    async def _http_call(self, request: web.Request, kind: str,
                         run: Callable[[StreamState, JsonObj], JsonObj]) -> web.Response:
        self.request_count += 1
        if not self._http_authorized(request):
            return _json_response(
                {"message": "Authentication failed: the auth token is missing or invalid", "code": "UNAUTHORIZED"},
                status=401,
            )
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body is not an object")
        except ValueError:
            return _json_response({"message": "Request body is not a JSON object", "code": "HTTP_BAD_BODY"}, 400)

        def work() -> JsonObj:
            # Every HTTP request is a fresh stream: closing the connection rolls back
            # anything the request left open.
            conn = open_connection(self.db_path, self.busy_timeout_ms)
            try:
                return run(StreamState(conn, {}, self.statement_delay), body)
            finally:
                close_connection(conn)

        def abort() -> None:
            if request.transport is not None:
                request.transport.abort()

        try:
            return _json_response({"result": await self._run_sql(kind, work, abort)})
        except _Dropped:
            return web.Response(status=500)  # never reaches the client: its connection is gone
        except HranaRequestError as exc:
            if exc.code == "SERVER_ERROR":  # as sqld answers an internal failure
                return web.Response(status=500, text=exc.message, content_type="text/plain")
            return _json_response(exc.to_proto(), status=400)
        except (KeyError, TypeError) as exc:
            return _json_response({"message": f"Malformed request: {exc}", "code": "HTTP_BAD_BODY"}, 400)

    async def _http_execute(self, request: web.Request) -> web.Response:
        return await self._http_call(request, "execute", lambda stream, body: stream.execute(body["stmt"]))

    async def _http_batch(self, request: web.Request) -> web.Response:
        return await self._http_call(request, "batch", lambda stream, body: stream.batch(body["batch"]))

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _version(self, request: web.Request) -> web.Response:
        return web.Response(text="hrana-test-server")

    async def _root(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        return web.Response(text="Hrana test server")

    # WebSocket

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=WS_PROTOCOLS, autoping=True, max_msg_size=MAX_BODY_BYTES)
        await ws.prepare(request)
        version = {"hrana3": 3, "hrana2": 2}.get(ws.ws_protocol or "", 1)
        self.websockets_opened += 1
        self._sockets[ws] = request.transport
        session = _WsSession(self, ws, version, request.transport)
        try:
            await session.run()
        finally:
            self._sockets.pop(ws, None)
            await session.finish()
        return ws


class _WsSession:
    """The state of one Hrana WebSocket: authentication, streams and stored SQL texts.

    Messages are read in order; each request then runs as a task of its own (in
    order within its stream), so a slow or stalled request holds up nothing else.
    """

    def __init__(self, server: HranaServer, ws: web.WebSocketResponse, version: int,
                 transport: asyncio.Transport | None) -> None:
        self.server = server
        self.ws = ws
        self.version = version
        self.transport = transport
        self.authenticated = False
        self.streams: dict[int, StreamState] = {}
        self.stored_sql: dict[int, str] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.sending = asyncio.Lock()

    async def run(self) -> None:
        async for msg in self.ws:
            if msg.type == WSMsgType.BINARY:
                await self.ws.close(code=3003, message=b"Only text messages are accepted")
                return
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                message = json.loads(msg.data)
                if not isinstance(message, dict):
                    raise ProtocolViolation("message is not an object")
                keep_going = await self.handle(message)
            except (ValueError, KeyError, TypeError, ProtocolViolation) as exc:
                await self.ws.close(code=3007, message=f"Bad message: {exc}"[:120].encode())
                return
            if not keep_going:
                return

    async def handle(self, message: JsonObj) -> bool:
        kind = message.get("type")
        if kind == "hello":
            if self.authenticated and self.version < 2:
                raise ProtocolViolation("hello sent twice on hrana1")
            expected = self.server.auth_token
            if expected is not None and message.get("jwt") != expected:
                await self.send({"type": "hello_error", "error": {
                    "message": "Authentication failed: the auth token is missing or invalid",
                    "code": "UNAUTHORIZED",
                }})
                await self.ws.close(code=3002, message=b"Authentication failed")
                return False
            self.authenticated = True
            await self.send({"type": "hello_ok"})
            return True
        if kind != "request":
            raise ProtocolViolation(f"unknown message type {kind!r}")
        if not self.authenticated:
            raise ProtocolViolation("request before hello")
        request_id = message["request_id"]
        request = message["request"]
        # What changes the session's tables happens now, in message order; the rest runs as a task.
        stream = self.open_or_close(request)
        task = asyncio.get_running_loop().create_task(self.answer(request_id, request, stream))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return True

    def open_or_close(self, request: JsonObj) -> StreamState | None:
        """The stream a request runs on (opened by ``open_stream``, detached by ``close_stream``)."""
        kind = request.get("type")
        if kind == "open_stream":
            stream_id = int(request["stream_id"])
            if stream_id in self.streams:
                raise ProtocolViolation("stream id already in use")
            conn = open_connection(self.server.db_path, self.server.busy_timeout_ms)
            stream = self.streams[stream_id] = StreamState(conn, self.stored_sql, self.server.statement_delay)
            return stream
        if kind == "close_stream":
            return self.streams.pop(int(request["stream_id"]), None)
        if kind in ("execute", "batch", "sequence", "describe", "get_autocommit"):
            return self.streams.get(int(request["stream_id"]))
        return None

    async def answer(self, request_id: Any, request: JsonObj, stream: StreamState | None) -> None:
        try:
            if stream is not None:
                async with stream.turn:
                    response = await self.dispatch(request, stream)
            else:
                response = await self.dispatch(request, None)
            reply: JsonObj = {"type": "response_ok", "request_id": request_id, "response": response}
        except HranaRequestError as exc:
            reply = {"type": "response_error", "request_id": request_id, "error": exc.to_proto()}
        except _Dropped:
            return
        except ProtocolViolation as exc:
            await self.ws.close(code=3007, message=f"Bad message: {exc}"[:120].encode())
            return
        self.server.request_count += 1
        with contextlib.suppress(ConnectionError, RuntimeError):  # the socket went away meanwhile
            await self.send(reply)

    async def send(self, message: JsonObj) -> None:
        async with self.sending:
            if not self.ws.closed:
                await self.ws.send_str(json.dumps(message))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _need(self, version: int, kind: str) -> None:
        if self.version < version:
            raise ProtocolViolation(f"{kind} needs hrana{version}")

    async def dispatch(self, request: JsonObj, stream: StreamState | None) -> JsonObj:
        server = self.server
        kind = request.get("type")
        if server._delay and kind in ("execute", "batch", "sequence"):  # a slow server: its SQL is slow
            await asyncio.sleep(server._delay)
        if self.ws.closed:
            raise _Dropped
        if kind == "open_stream":
            return {"type": "open_stream"}
        if kind == "close_stream":
            if stream is not None:
                close_connection(stream.conn)
            return {"type": "close_stream"}
        if kind in ("execute", "batch", "sequence", "describe", "get_autocommit") and stream is None:
            raise HranaRequestError("Stream not found", "STREAM_NOT_FOUND")
        if kind == "execute":
            assert stream is not None
            result = await server._run_sql(kind, lambda: stream.execute(request["stmt"]), self.abort)
            return {"type": "execute", "result": result}
        if kind == "batch":
            assert stream is not None
            result = await server._run_sql(kind, lambda: stream.batch(request["batch"]), self.abort)
            return {"type": "batch", "result": result}
        if kind == "sequence":
            self._need(2, kind)
            assert stream is not None
            await server._run_sql(kind, lambda: stream.sequence(request) or {}, self.abort)
            return {"type": "sequence"}
        if kind == "describe":
            self._need(2, kind)
            assert stream is not None
            return {"type": "describe", "result": await server._in_thread(lambda: stream.describe(request))}
        if kind == "store_sql":
            self._need(2, kind)
            sql_id = int(request["sql_id"])
            if sql_id in self.stored_sql:
                raise ProtocolViolation("sql id already in use")
            self.stored_sql[sql_id] = str(request["sql"])
            return {"type": "store_sql"}
        if kind == "close_sql":
            self._need(2, kind)
            self.stored_sql.pop(int(request["sql_id"]), None)
            return {"type": "close_sql"}
        if kind == "get_autocommit":
            self._need(3, kind)
            assert stream is not None
            return {"type": "get_autocommit", "is_autocommit": not stream.conn.in_transaction}
        raise ProtocolViolation(f"unknown request type {kind!r}")

    async def finish(self) -> None:
        """The socket is gone: stop its requests, then close every stream's connection."""
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        for stream in self.streams.values():
            async with stream.turn:  # a statement still running on its thread finishes first
                close_connection(stream.conn)
        self.streams.clear()


def _json_response(body: JsonObj, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")
