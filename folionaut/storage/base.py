"""The storage interface every backend implements.

It is deliberately small so that both the embedded SQLite backend (aiosqlite)
and the libSQL/Turso backend (libsql-client) fit it. libSQL over HTTP has no
interactive transactions, so a write that touches several rows is expressed as
an atomic ``batch`` of statements: all of them apply or none do. Statements in a
batch run in order on one connection, so a later statement may guard itself
with ``changes()`` to depend on an earlier one.

Rows come back as plain dicts keyed by column name. Nothing here knows HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

Row = dict[str, Any]
Params = Sequence[Any]


class Statement(NamedTuple):
    sql: str
    params: Params = ()


@dataclass(frozen=True, slots=True)
class ExecResult:
    rows_affected: int
    last_insert_rowid: int | None = None
    #: Rows a statement of a batch returned (a SELECT, or RETURNING); empty for the rest.
    rows: list[Row] = field(default_factory=list)


class Database(Protocol):
    """An open database. Implementations are safe to share between tasks."""

    #: "sqlite" or "libsql": lets migrations and dumps name the backend in messages.
    backend: str
    #: True when a write's answer can be lost after it was sent (``AmbiguousWriteError``),
    #: so callers that must know whether it applied keep a receipt to look it up by.
    outcome_can_be_unknown: bool

    async def execute(self, sql: str, params: Params = ()) -> ExecResult: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def batch(self, statements: Sequence[Statement]) -> list[ExecResult]:
        """Run the statements atomically, in order, as one transaction; rows of any that return some
        (e.g. a SELECT reading what the earlier ones did) come back in their ``ExecResult``."""
        ...

    async def read_batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run read-only queries against one consistent snapshot."""
        ...

    async def execute_script(self, sql: str) -> None:
        """Run a multi-statement SQL script atomically (migrations, restore)."""
        ...

    async def ping(self) -> None:
        """Raise ``DatabaseError`` unless the database answers a trivial query."""
        ...

    async def close(self) -> None: ...
