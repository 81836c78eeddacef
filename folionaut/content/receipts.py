"""Write receipts: what a content write did, committed in the same transaction as the write.

A write made under an idempotency key carries a ``WriteReceipt`` (the HTTP layer
makes it from the ``Idempotency-Key``: a hash of method, path and key, plus the
request's fingerprint). The content service adds one row to
``folionaut_write_receipts`` to the write's own batch — the key, the
fingerprint, an id of this attempt and the item as the write left it — so the
database itself knows which writes happened:

- a retry under the same key finds the row and gets the first write's item
  back (a replay), even when the fast records (memory or Redis) are gone or the
  first answer never reached the client; a different request under the key is
  a conflict;
- a write whose answer was lost (``AmbiguousWriteError``: the connection died
  after it was sent) is resolved by looking its receipt up: there, it applied;
  not there, it is sent again, and the primary key lets at most one attempt
  commit.

On a database where an answer can be lost (libSQL), writes without a key get a
single-use receipt too, so none of them has to report an outcome it does not
know. Receipts are kept ``RECEIPT_TTL_SECONDS`` (24 h, as idempotency records)
and pruned by the writes that add them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from folionaut.content.models import ContentItem
from folionaut.core import jsonutil
from folionaut.storage.base import Database, Statement

__all__ = ["RECEIPT_TTL_SECONDS", "ReceiptRepository", "StoredReceipt", "WriteReceipt"]

RECEIPT_TTL_SECONDS = 24 * 60 * 60
_TABLE = "folionaut_write_receipts"


@dataclass(slots=True)
class WriteReceipt:
    """The identity of one logical write: its key (stable across retries) and request fingerprint."""

    key: str
    fingerprint: str
    #: This attempt (one call of the service): tells our own commit from an earlier request's.
    write_id: str = field(default_factory=lambda: secrets.token_hex(12))
    #: Set by the service when the answer is an earlier write's (the caller marks it as replayed).
    replayed: bool = False
    #: A key no earlier write can have used (a write without an idempotency key).
    single_use: bool = False

    @classmethod
    def for_one_write(cls) -> WriteReceipt:
        """For a write without an idempotency key: only its own lost answers are looked up."""
        return cls("write:" + secrets.token_hex(16), "", single_use=True)


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    fingerprint: str
    write_id: str
    #: The item as the write left it; None for a permanent delete.
    outcome: ContentItem | None


class ReceiptRepository:
    """SQL for write receipts (the only code that knows their table)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, key: str, not_before: str) -> StoredReceipt | None:
        row = await self.db.fetch_one(
            f"SELECT fingerprint, write_id, outcome FROM {_TABLE} WHERE key = ? AND created_at >= ?",
            (key, not_before),
        )
        if row is None:
            return None
        outcome = row["outcome"]
        item = ContentItem.from_wire(jsonutil.loads(outcome)) if outcome is not None else None
        return StoredReceipt(row["fingerprint"], row["write_id"], item)

    @staticmethod
    def record_statement(receipt: WriteReceipt, outcome: ContentItem | None, now: str) -> Statement:
        """The receipt row, written only if the statement before it changed its one row (the write applied)."""
        body = jsonutil.dumps_str(outcome.to_wire()) if outcome is not None else None
        return Statement(
            f"INSERT INTO {_TABLE} (key, fingerprint, write_id, outcome, created_at) "
            "SELECT ?, ?, ?, ?, ? WHERE changes() = 1",
            (receipt.key, receipt.fingerprint, receipt.write_id, body, now),
        )

    @staticmethod
    def prune_statement(older_than: str) -> Statement:
        return Statement(f"DELETE FROM {_TABLE} WHERE created_at < ?", (older_than,))
