"""libSQL / Turso backend on libsql-client (the only module that imports it).

Transport follows the URL scheme, as libsql-client decides: ``libsql://`` and
``wss://``/``ws://`` speak Hrana over a WebSocket, ``https://``/``http://``
speak Hrana over HTTP. A batch is one Hrana batch on one server-side stream:
``BEGIN IMMEDIATE`` (``BEGIN`` for a read batch), the statements, each run only
if the one before succeeded, then ``COMMIT``, or ``ROLLBACK`` if anything
failed; so ``changes()`` in a later statement sees the earlier one.
libsql-client's own ``batch`` can only start with a deferred ``BEGIN``, which
takes the write lock at its first write and fails with ``SQLITE_BUSY`` when it
must upgrade a read lock another writer has overtaken; ``BEGIN IMMEDIATE``
takes the lock up front, where the server's busy handler can wait for it. The
batch is sent through libsql-client's transport (``hrana_batch``), the one
place that reaches past its public API.

Lock contention never reaches a caller while there is time: a call answered
``SQLITE_BUSY``/``SQLITE_LOCKED`` changed nothing (the batch rolled back), so it
is tried again after a jittered, exponentially growing pause (2 ms doubling up
to 100 ms, the pause drawn at random below that so waiting writers spread out)
for up to the call timeout, and in any case within the request's deadline,
which cancels it.

Failures are translated once, here: constraint failures become
``ConstraintViolation``; anything that means "the database cannot be reached or
will not let us in" (refused connection, DNS, 401/403, 5xx, timeout, dropped
WebSocket) becomes ``DatabaseUnavailableError``; other SQL errors become
``DatabaseError``. Messages name the server by scheme, host and port only; the
auth token never appears in them.

libsql-client talks through aiohttp and lets its exceptions through. Storage does
not import aiohttp (the HTTP layer's library): those exceptions are recognised by
where they come from (``_from_transport``) and by the attributes aiohttp documents
for them (``status`` on a response error, ``os_error``/``strerror`` on a connect error).

Recovery: every call is bounded by ``call_timeout``. A call that times out
fails alone: other calls on the same WebSocket go on. A WebSocket is replaced
(new calls go to a fresh one while the calls still on the old one finish) when
it died, or when a call timed out and nothing at all was answered on it since
that call was sent (a silent connection), or after many abandoned calls. A read
that hit a dead connection is tried again on the fresh one (twice at most). A
write that was sent and then lost its connection, or timed out, may or may not
have been applied: it raises ``AmbiguousWriteError`` for the caller to resolve
(the content service does, through its write receipts); a write that never left
(no connection) raises ``DatabaseUnavailableError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import libsql_client

from folionaut.core.errors import ConfigError, DatabaseError, DatabaseUnavailableError
from folionaut.core.logging import get_logger
from folionaut.storage.base import ExecResult, Params, Row, Statement
from folionaut.storage.errors import AmbiguousWriteError, ConstraintViolation
from folionaut.storage.hrana_batch import READ_BEGIN, WRITE_BEGIN, send_transaction
from folionaut.storage.sqltext import split_statements

T = TypeVar("T")

log = get_logger("storage")

DEFAULT_CALL_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 30.0
_FIRST_BACKOFF = 0.2
_MAX_BACKOFF = 5.0
_CLOSE_TIMEOUT = 2.0
# Lock contention: pauses start at this and double up to the cap (each drawn at random below it).
_BUSY_FIRST_PAUSE = 0.002
_BUSY_MAX_PAUSE = 0.1
# A read on a connection that died is tried again this many times, each on a fresh connection.
_READ_RECONNECTS = 2
# WebSockets open at most at once (another is opened only while every open one has a call on it).
_WS_CONNECTIONS = 4
# A WebSocket with this many calls abandoned to timeouts is replaced (each holds a little memory until then).
_MAX_ABANDONED_CALLS = 64

# libsql-client codes meaning the connection (not the SQL) failed.
_CONNECTION_CODES = {"HRANA_WEBSOCKET_ERROR", "CLIENT_CLOSED", "STREAM_CLOSED", "HRANA_PROTO_ERROR"}

# Words in an error that mean the token was rejected, whatever code a server version uses.
_AUTH_HINTS = ("status 401", "status 403", "unauthorized", "authentication", "jwt")


class DatabaseAuthError(DatabaseUnavailableError):
    """The server rejected the auth token: retrying will not help until it is fixed."""


def _where(url: str) -> str:
    """The server as shown in messages: scheme://host:port, never credentials or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port}" if parts.port else f"{parts.scheme}://{host}"


def _auth_rejected(where: str) -> DatabaseAuthError:
    return DatabaseAuthError(f"libSQL at {where} rejected the auth token (check TURSO_AUTH_TOKEN)")


def _to_row(columns: Sequence[str], values: Sequence[Any]) -> Row:
    return dict(zip(columns, values, strict=True))


def _to_rows(result: libsql_client.ResultSet) -> list[Row]:
    columns = result.columns
    return [_to_row(columns, row.astuple()) for row in result.rows]


def _from_transport(exc: BaseException) -> bool:
    """An exception of libsql-client's transport (aiohttp's ClientError family)."""
    return any(cls.__module__.startswith("aiohttp.") for cls in type(exc).__mro__)


def _response_status(exc: BaseException) -> int | None:
    """The HTTP status of a transport response error (e.g. a refused WebSocket upgrade), else None."""
    status = getattr(exc, "status", None) if _from_transport(exc) else None
    return status if isinstance(status, int) else None


def _is_connection_lost(exc: BaseException) -> bool:
    """True when the connection died under us (worth a fresh client), not for slow or refusing servers."""
    if isinstance(exc, libsql_client.LibsqlError):
        return exc.code in _CONNECTION_CODES
    if _response_status(exc) is not None:
        return False
    return (_from_transport(exc) or isinstance(exc, ConnectionError | OSError)) and not isinstance(exc, TimeoutError)


def _is_busy(exc: BaseException) -> bool:
    """The server answered that a lock was taken: nothing was applied, trying again is safe."""
    if not isinstance(exc, libsql_client.LibsqlError):
        return False
    code = exc.code or ""
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return True
    text = exc.explanation.lower()
    return "database is locked" in text or "database table is locked" in text


def _never_sent(exc: BaseException) -> bool:
    """The call failed before reaching the server: no connection could be made."""
    return _from_transport(exc) and getattr(exc, "os_error", None) is not None


def _consume_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "exception was never retrieved"


async def _shielded(call: Awaitable[T]) -> T:
    """Await a WebSocket call so that a timeout does not cancel libsql-client's own futures.

    libsql-client 0.3.1 sets results on its per-request futures without checking
    whether they were cancelled, so cancelling one mid-flight makes asyncio log an
    InvalidStateError. Instead the call runs on as a task and ends when its answer
    arrives or when the (discarded) client is closed.
    """
    task = asyncio.ensure_future(call)
    task.add_done_callback(_consume_outcome)
    return await asyncio.shield(task)


@dataclass(eq=False, slots=True)
class _Connection:
    """One libsql-client client (for a WebSocket: one connection) and what its calls saw."""

    client: libsql_client.Client
    in_flight: int = 0
    last_answer: float = field(default_factory=time.monotonic)
    abandoned: int = 0
    retired: bool = False


class LibSQLDatabase:
    """A remote libSQL database behind libsql-client. Safe to share between tasks."""

    backend = "libsql"
    #: The connection can die after a write was sent, leaving its outcome unknown.
    outcome_can_be_unknown = True

    def __init__(self, url: str, auth_token: str | None = None, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self._url = url
        self._auth_token = auth_token or None
        self._call_timeout = call_timeout
        self._where = _where(url)
        # libsql:// means wss:// to libsql-client; only WebSocket clients hold a connection to replace.
        self._is_websocket = urlsplit(url).scheme in ("libsql", "ws", "wss")
        # Open connections: one for HTTP (its client pools connections itself); up to
        # _WS_CONNECTIONS WebSockets, so one that dies takes only its share of the calls with it.
        self._connections: list[_Connection] = []
        self._retired: set[_Connection] = set()  # replaced, with calls still on them
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        auth_token: str | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> LibSQLDatabase:
        """Connect and check the server answers, retrying with exponential backoff.

        Gives up after ``connect_timeout`` seconds with ``DatabaseUnavailableError``;
        a rejected token fails at once (``DatabaseAuthError``), as retrying cannot fix it.
        """
        db = cls(url, auth_token, call_timeout=call_timeout)
        deadline = time.monotonic() + connect_timeout
        backoff = _FIRST_BACKOFF
        try:
            db._current()  # a malformed URL fails here, before any waiting
            while True:
                try:
                    await db.ping()
                    return db
                except DatabaseAuthError:
                    raise
                except DatabaseUnavailableError as exc:
                    remaining = deadline - time.monotonic()
                    if backoff == _FIRST_BACKOFF and remaining > 0:
                        # Once, so an operator knows why startup seems to hang; not once per attempt.
                        log.warning("%s; retrying for up to %g s", exc.message, connect_timeout)
                    if remaining <= 0:
                        detail = exc.message.removeprefix(f"libSQL at {db._where}: ")
                        raise DatabaseUnavailableError(
                            f"libSQL at {db._where} did not answer within {connect_timeout:g} s ({detail})"
                        ) from None
                    await asyncio.sleep(min(backoff, remaining))
                    backoff = min(backoff * 2, _MAX_BACKOFF)
        except BaseException:
            await db.close()
            raise

    # --- the Database interface ---------------------------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        result = await self._call(lambda client: client.execute(sql, list(params)), read=False)
        return ExecResult(result.rows_affected, result.last_insert_rowid)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        result = await self._call(lambda client: client.execute(sql, list(params)), read=True)
        return _to_row(result.columns, result.rows[0].astuple()) if result.rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        result = await self._call(lambda client: client.execute(sql, list(params)), read=True)
        return _to_rows(result)

    async def batch(self, statements: Sequence[Statement]) -> list[ExecResult]:
        if not statements:
            return []
        batch = self._to_batch(statements)
        results = await self._call(lambda client: send_transaction(client, batch, WRITE_BEGIN), read=False)
        return [ExecResult(r.rows_affected, r.last_insert_rowid, _to_rows(r)) for r in results]

    async def read_batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        # One transaction on one stream: one snapshot.
        if not statements:
            return []
        batch = self._to_batch(statements)
        results = await self._call(lambda client: send_transaction(client, batch, READ_BEGIN), read=True)
        return [_to_rows(r) for r in results]

    async def execute_script(self, sql: str) -> None:
        await self.batch([Statement(text) for _, text in split_statements(sql)])

    async def ping(self) -> None:
        try:
            await self._call(lambda client: client.execute("SELECT 1"), read=True)
        except DatabaseUnavailableError:
            raise
        except DatabaseError as exc:
            raise DatabaseUnavailableError(exc.message) from exc

    async def close(self) -> None:
        self._closed = True
        connections, self._connections = self._connections, []
        for connection in connections:
            await self._close_client(connection.client)
        for retired in list(self._retired):
            await self._close_client(retired.client)
        self._retired.clear()
        # Clients discarded earlier finish closing (each is bounded by _CLOSE_TIMEOUT).
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # --- internals ----------------------------------------------------------------------------

    @staticmethod
    def _to_batch(statements: Sequence[Statement]) -> list[libsql_client.InStatement]:
        return [(statement.sql, list(statement.params)) for statement in statements]

    def _current(self) -> _Connection:
        """The connection for the next call: the least busy, or a new one while all are busy."""
        if self._closed:
            raise DatabaseUnavailableError("database is closed")
        connections = self._connections
        idlest = min(connections, key=lambda c: c.in_flight) if connections else None
        limit = _WS_CONNECTIONS if self._is_websocket else 1
        if idlest is not None and (idlest.in_flight == 0 or len(connections) >= limit):
            return idlest
        try:
            client = libsql_client.create_client(self._url, auth_token=self._auth_token)
        except libsql_client.LibsqlError as exc:
            raise ConfigError(
                "TURSO_DATABASE_URL", "a URL libsql-client accepts", self._scrub(exc.explanation)
            ) from None
        connection = _Connection(client)
        connections.append(connection)
        return connection

    async def _call(self, action: Callable[[libsql_client.Client], Awaitable[T]], *, read: bool) -> T:
        """Run ``action`` on the current connection: contention waited out, reads healed, writes honest."""
        busy_until = time.monotonic() + self._call_timeout
        busy_pauses = 0
        reconnects = _READ_RECONNECTS if read else 0
        while True:
            connection = self._current()
            sent_at = time.monotonic()
            connection.in_flight += 1
            try:
                async with asyncio.timeout(self._call_timeout):
                    if self._is_websocket:
                        result = await _shielded(action(connection.client))
                    else:
                        result = await action(connection.client)
                connection.last_answer = time.monotonic()
                return result
            except Exception as exc:
                if _is_busy(exc):
                    connection.last_answer = time.monotonic()  # the server is there, just busy
                    pause = random.uniform(0, min(_BUSY_MAX_PAUSE, _BUSY_FIRST_PAUSE * 2 ** busy_pauses))
                    if time.monotonic() + pause < busy_until:
                        busy_pauses += 1
                        await asyncio.sleep(pause)
                        continue
                lost = _is_connection_lost(exc)
                if lost:
                    self._retire(connection)
                elif isinstance(exc, TimeoutError):
                    connection.abandoned += 1
                    # Silent since this call was sent (nothing else answered either), or too many
                    # calls left behind: new calls go to a fresh connection.
                    if connection.last_answer < sent_at or connection.abandoned >= _MAX_ABANDONED_CALLS:
                        self._retire(connection)
                if lost and reconnects > 0:
                    reconnects -= 1
                    continue
                raise self._failure(exc, read=read) from self._cause(exc)
            finally:
                connection.in_flight -= 1
                if connection.retired and connection.in_flight == 0 and connection in self._retired:
                    self._retired.discard(connection)
                    self._close_in_background(connection.client)

    def _failure(self, exc: BaseException, *, read: bool) -> DatabaseError:
        error = self._translate(exc)
        if _is_busy(exc):
            return DatabaseUnavailableError(f"libSQL at {self._where}: still locked by other writers "
                                            f"after {self._call_timeout:g} s ({error.message})")
        outcome_unknown = isinstance(exc, TimeoutError) or (_is_connection_lost(exc) and not _never_sent(exc))
        if not read and outcome_unknown:
            return AmbiguousWriteError(f"{error.message}; the write may or may not have been applied")
        return error

    def _cause(self, exc: BaseException) -> BaseException | None:
        # Keep the original as the cause for debugging, unless it could carry the token.
        return None if self._auth_token and self._auth_token in repr(exc) else exc

    def _translate(self, exc: BaseException) -> DatabaseError:
        where = self._where
        if isinstance(exc, TimeoutError):
            return DatabaseUnavailableError(f"libSQL at {where}: no answer within {self._call_timeout:g} s")
        if isinstance(exc, libsql_client.LibsqlError):
            code = exc.code or "UNKNOWN"
            text = self._scrub(exc.explanation)
            lowered = text.lower()
            if code.startswith("SQLITE_CONSTRAINT") or "constraint failed" in lowered:
                return ConstraintViolation(f"libSQL: {text}")
            if code.startswith("AUTH") or code in ("UNAUTHORIZED", "FORBIDDEN") or any(
                hint in lowered for hint in _AUTH_HINTS
            ):
                return _auth_rejected(where)
            if code == "SERVER_ERROR" or code in _CONNECTION_CODES:
                return DatabaseUnavailableError(f"libSQL at {where}: {text}")
            return DatabaseError(f"libSQL: {text} ({code})")
        if (status := _response_status(exc)) is not None:  # e.g. the WebSocket upgrade was refused
            if status in (401, 403):
                return _auth_rejected(where)
            return DatabaseUnavailableError(f"libSQL at {where}: server answered HTTP {status}")
        if _from_transport(exc) and (os_error := getattr(exc, "os_error", None)) is not None:  # could not connect
            reason = getattr(exc, "strerror", None) or type(os_error).__name__
            return DatabaseUnavailableError(f"libSQL at {where}: cannot connect ({self._scrub(reason)})")
        if _from_transport(exc) or isinstance(exc, ConnectionError | OSError):
            detail = self._scrub(str(exc)) or type(exc).__name__
            return DatabaseUnavailableError(f"libSQL at {where}: connection lost ({detail})")
        if isinstance(exc, OverflowError | ValueError | TypeError):  # a parameter libSQL cannot carry
            return DatabaseError(f"libSQL: bad parameter: {self._scrub(str(exc))}")
        return DatabaseError(f"libSQL at {where}: {type(exc).__name__}: {self._scrub(str(exc))}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._auth_token, "***") if self._auth_token else text

    def _retire(self, connection: _Connection) -> None:
        """No new calls on ``connection``; it is closed once the calls still on it are done.

        Only WebSocket clients hold a connection worth replacing (HTTP ones open one per call)."""
        if not self._is_websocket or connection.retired:
            return
        connection.retired = True
        with contextlib.suppress(ValueError):
            self._connections.remove(connection)
        if connection.in_flight:
            self._retired.add(connection)
        else:
            self._close_in_background(connection.client)

    def _close_in_background(self, client: libsql_client.Client) -> None:
        # So the failing call does not wait for the close handshake.
        task = asyncio.get_running_loop().create_task(self._close_client(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close_client(client: libsql_client.Client) -> None:
        try:
            await asyncio.wait_for(client.close(), _CLOSE_TIMEOUT)
        except Exception:
            # A hung server can stall the WebSocket close handshake; closing the
            # client's HTTP session instead aborts its connections outright.
            session = getattr(client, "_session", None)  # libsql-client's aiohttp.ClientSession
            if session is not None and not getattr(session, "closed", True):
                with contextlib.suppress(Exception):
                    await session.close()
