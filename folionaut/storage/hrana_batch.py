"""One transaction as one Hrana batch, sent through libsql-client's transport.

libsql-client 0.3.1's ``Client.batch`` always opens its transaction with a
deferred ``BEGIN``. The Hrana protocol lets a batch start with any statement,
and libSQL's own TypeScript client starts its "write" batches with
``BEGIN IMMEDIATE``; this module builds the same steps —

    BEGIN <mode>; each statement only if the step before succeeded;
    COMMIT only if the last statement succeeded; ROLLBACK unless COMMIT succeeded

— and sends them the way libsql-client sends its own batches: ``POST v1/batch``
on HTTP, a ``batch`` request on a fresh stream of the WebSocket. Those two
calls (``HttpClient._send``, ``HranaClient._open_stream``) and the value
converters are libsql-client internals, so the dependency is pinned below 0.4
and ``tests/storage/test_libsql.py`` drives every path against the Hrana test
server. If any step fails, the first error is raised and nothing was applied.
"""

from __future__ import annotations

from typing import Any

import libsql_client
from libsql_client.hrana.client import HranaClient
from libsql_client.hrana.convert import _batch_results_from_proto, _stmt_to_proto
from libsql_client.http import HttpClient

__all__ = ["READ_BEGIN", "WRITE_BEGIN", "send_transaction", "transaction_steps"]

#: Takes the write lock up front, where the server's busy handler can wait for it.
WRITE_BEGIN = "BEGIN IMMEDIATE"
#: A read transaction: one snapshot for every statement.
READ_BEGIN = "BEGIN DEFERRED"


def transaction_steps(statements: list[libsql_client.InStatement], begin: str) -> dict[str, Any]:
    """The Hrana batch: ``begin``, the statements (each guarded by the one before), COMMIT, ROLLBACK."""
    steps: list[dict[str, Any]] = [{"stmt": {"sql": begin, "want_rows": False}}]
    for statement in statements:
        steps.append({"condition": {"type": "ok", "step": len(steps) - 1}, "stmt": _stmt_to_proto(statement)})
    commit = len(steps)
    steps.append({"condition": {"type": "ok", "step": commit - 1}, "stmt": {"sql": "COMMIT", "want_rows": False}})
    steps.append({"condition": {"type": "not", "cond": {"type": "ok", "step": commit}},
                  "stmt": {"sql": "ROLLBACK", "want_rows": False}})
    return {"steps": steps}


async def send_transaction(client: libsql_client.Client, statements: list[libsql_client.InStatement],
                           begin: str) -> list[libsql_client.ResultSet]:
    """Run ``statements`` as one transaction opened with ``begin``; the result sets of the statements."""
    batch = transaction_steps(statements, begin)
    if isinstance(client, HttpClient):
        response = await client._send("POST", "v1/batch", {"batch": batch})
        result = response["result"]
    elif isinstance(client, HranaClient):
        with client._open_stream() as stream:  # closed right after the batch is queued, as Client.batch does
            pending = stream.batch(batch)  # type: ignore[arg-type]
        result = await pending
    else:  # pragma: no cover - create_client only makes these two for remote URLs
        raise TypeError(f"unsupported libsql-client client {type(client).__name__}")
    return _batch_results_from_proto(result, len(statements))
