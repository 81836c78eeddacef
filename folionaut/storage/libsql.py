"""libSQL / Turso backend on libsql-client (the only module that imports it).

Transport follows the URL scheme, as libsql-client decides: ``libsql://`` and
``wss://``/``ws://`` speak Hrana over a WebSocket, ``https://``/``http://``
speak Hrana over HTTP. Every multi-statement write goes through libsql-client's
``batch``, which wraps the statements in BEGIN … COMMIT (ROLLBACK on the first
failure) on one server-side stream, so ``changes()`` in a later statement sees
the earlier one.

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

Recovery: a WebSocket that died or timed out is replaced by a fresh client on
the next call, and read-only calls that hit a dead connection are retried once
on the fresh one. Writes are never retried (the server may have applied them).
Every call is bounded by ``call_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import libsql_client

from folionaut.core.errors import ConfigError, DatabaseError, DatabaseUnavailableError
from folionaut.core.logging import get_logger
from folionaut.storage.base import ExecResult, Params, Row, Statement
from folionaut.storage.errors import ConstraintViolation
from folionaut.storage.sqltext import split_statements

T = TypeVar("T")

log = get_logger("storage")

DEFAULT_CALL_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 30.0
_FIRST_BACKOFF = 0.2
_MAX_BACKOFF = 5.0
_CLOSE_TIMEOUT = 2.0

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


class LibSQLDatabase:
    """A remote libSQL database behind libsql-client. Safe to share between tasks."""

    backend = "libsql"

    def __init__(self, url: str, auth_token: str | None = None, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self._url = url
        self._auth_token = auth_token or None
        self._call_timeout = call_timeout
        self._where = _where(url)
        # libsql:// means wss:// to libsql-client; only WebSocket clients hold a connection to replace.
        self._is_websocket = urlsplit(url).scheme in ("libsql", "ws", "wss")
        self._client: libsql_client.Client | None = None
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
            db._current_client()  # a malformed URL fails here, before any waiting
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
        result = await self._call(lambda client: client.execute(sql, list(params)), retry=False)
        return ExecResult(result.rows_affected, result.last_insert_rowid)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        result = await self._call(lambda client: client.execute(sql, list(params)), retry=True)
        return _to_row(result.columns, result.rows[0].astuple()) if result.rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        result = await self._call(lambda client: client.execute(sql, list(params)), retry=True)
        return _to_rows(result)

    async def batch(self, statements: Sequence[Statement]) -> list[ExecResult]:
        if not statements:
            return []
        results = await self._call(lambda client: client.batch(self._to_batch(statements)), retry=False)
        return [ExecResult(r.rows_affected, r.last_insert_rowid, _to_rows(r)) for r in results]

    async def read_batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        # libsql-client runs a batch inside BEGIN … COMMIT on one stream: one snapshot.
        if not statements:
            return []
        results = await self._call(lambda client: client.batch(self._to_batch(statements)), retry=True)
        return [_to_rows(r) for r in results]

    async def execute_script(self, sql: str) -> None:
        await self.batch([Statement(text) for _, text in split_statements(sql)])

    async def ping(self) -> None:
        try:
            await self._call(lambda client: client.execute("SELECT 1"), retry=True)
        except DatabaseUnavailableError:
            raise
        except DatabaseError as exc:
            raise DatabaseUnavailableError(exc.message) from exc

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await self._close_client(client)
        # Clients discarded earlier finish closing (each is bounded by _CLOSE_TIMEOUT).
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # --- internals ----------------------------------------------------------------------------

    @staticmethod
    def _to_batch(statements: Sequence[Statement]) -> list[libsql_client.InStatement]:
        return [(statement.sql, list(statement.params)) for statement in statements]

    def _current_client(self) -> libsql_client.Client:
        if self._closed:
            raise DatabaseUnavailableError("database is closed")
        if self._client is None:
            try:
                self._client = libsql_client.create_client(self._url, auth_token=self._auth_token)
            except libsql_client.LibsqlError as exc:
                raise ConfigError(
                    "TURSO_DATABASE_URL", "a URL libsql-client accepts", self._scrub(exc.explanation)
                ) from None
        return self._client

    async def _call(self, action: Callable[[libsql_client.Client], Awaitable[T]], *, retry: bool) -> T:
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            client = self._current_client()
            try:
                async with asyncio.timeout(self._call_timeout):
                    if self._is_websocket:
                        return await _shielded(action(client))
                    return await action(client)
            except Exception as exc:
                error = self._translate(exc)
                lost = _is_connection_lost(exc)
                if lost or isinstance(exc, TimeoutError):
                    # A timed-out WebSocket may have answers still queued behind the
                    # slow one: start afresh rather than wait behind them.
                    self._discard(client)
                if lost and attempt + 1 < attempts:
                    continue
                # Keep the original as the cause for debugging, unless it could carry the token.
                cause = None if self._auth_token and self._auth_token in repr(exc) else exc
                raise error from cause
        raise AssertionError("unreachable")  # the loop always returns or raises

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

    def _discard(self, client: libsql_client.Client) -> None:
        """Replace a WebSocket client whose connection died; HTTP clients have nothing to replace."""
        if not self._is_websocket or self._client is not client:
            return
        self._client = None
        # Closed in the background, so the failing call does not wait for the close handshake.
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
