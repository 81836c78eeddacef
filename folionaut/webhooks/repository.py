"""SQL for webhooks, the outbox, deliveries and the attempt log. The only module that knows those tables.

Everything that decides who delivers what is plain SQL that runs alike on
SQLite and libSQL, in single statements or atomic batches, with times from the
app's clock passed in as parameters:

- fan-out claims outbox rows with a random token in the batch's first
  statement; every later statement of the batch is guarded on that token, so
  when two processes fan out the same event only the one whose claim landed
  writes deliveries, and the batch ends by deleting the rows it claimed;
- a delivery is claimed by one UPDATE (pending and due, or claimed by someone
  whose lease expired → claimed by us until a new lease expiry) and read back
  by its token; results are written only ``WHERE lease_token = ?``, so a
  process that lost its lease cannot overwrite the new holder's result.
"""

from __future__ import annotations

from dataclasses import dataclass

from folionaut.core import ids, jsonutil
from folionaut.storage.base import Database, Statement
from folionaut.webhooks.models import Attempt, ClaimedDelivery, Webhook

__all__ = ["LOG_SIZE", "NewDelivery", "OutboxEvent", "QueueStatus", "WebhookRepository"]

#: Attempts kept in each webhook's delivery log.
LOG_SIZE = 100
_WEBHOOK_COLUMNS = ("id, url, events, secret, active, debounce_seconds, description, disabled_reason, created_at, "
                    "updated_at")
_CLAIMED = "EXISTS (SELECT 1 FROM webhook_events WHERE id = ? AND fanout_claim = ?)"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: str
    types: tuple[str, ...]  # most specific first
    data: dict[str, object]
    occurred_at: str


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """What fan-out makes of one event for one webhook."""

    webhook_id: str
    event_id: str
    event_type: str
    payload: str
    debounce_seconds: int
    debounce_limit_seconds: float  # a burst is delivered at most this long after its first change


@dataclass(frozen=True, slots=True)
class QueueStatus:
    events: int  # outbox rows not yet fanned out
    deliveries: int  # pending or being delivered
    next_due: float | None  # epoch seconds of the earliest delivery (or lease expiry) due


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- webhooks ----------------------------------------------------------------------------

    async def insert(self, webhook: Webhook) -> None:
        await self.db.execute(
            f"INSERT INTO webhooks ({_WEBHOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _values(webhook))

    async def get(self, webhook_id: str) -> Webhook | None:
        row = await self.db.fetch_one(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,))
        return Webhook.from_row(row) if row else None

    async def all(self) -> list[Webhook]:
        rows = await self.db.fetch_all(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id")
        return [Webhook.from_row(row) for row in rows]

    async def active(self) -> list[Webhook]:
        rows = await self.db.fetch_all(f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE active = 1")
        return [Webhook.from_row(row) for row in rows]

    async def pending_counts(self) -> dict[str, int]:
        rows = await self.db.fetch_all(
            "SELECT webhook_id, count(*) AS n FROM webhook_deliveries WHERE state IN ('pending', 'delivering') "
            "GROUP BY webhook_id")
        return {str(row["webhook_id"]): int(row["n"]) for row in rows}

    async def save(self, webhook: Webhook, now: str) -> bool:
        """Write a changed webhook; switching it off drops its pending deliveries. False: it is gone."""
        statements = [Statement(
            "UPDATE webhooks SET url = ?, events = ?, secret = ?, active = ?, debounce_seconds = ?, description = ?, "
            "disabled_reason = ?, updated_at = ? WHERE id = ?",
            (*_values(webhook)[1:8], webhook.updated_at, webhook.id),
        )]
        if not webhook.active:
            statements.append(self._cancel_pending(webhook.id, now))
        results = await self.db.batch(statements)
        return results[0].rows_affected == 1

    async def delete(self, webhook_id: str) -> bool:
        results = await self.db.batch([
            Statement("DELETE FROM webhook_attempts WHERE webhook_id = ?", (webhook_id,)),
            Statement("DELETE FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,)),
            Statement("DELETE FROM webhooks WHERE id = ?", (webhook_id,)),
        ])
        return results[-1].rows_affected == 1

    @staticmethod
    def _cancel_pending(webhook_id: str, now: str) -> Statement:
        return Statement(
            "UPDATE webhook_deliveries SET state = 'cancelled', finished_at = ? WHERE webhook_id = ? "
            "AND state = 'pending'", (now, webhook_id))

    # --- the outbox and fan-out --------------------------------------------------------------

    async def outbox(self, limit: int) -> list[OutboxEvent]:
        rows = await self.db.fetch_all(
            "SELECT id, types, data, occurred_at FROM webhook_events WHERE fanout_claim IS NULL "
            "ORDER BY rowid LIMIT ?", (limit,))
        return [OutboxEvent(row["id"], tuple(jsonutil.loads(row["types"])), jsonutil.loads(row["data"]),
                            row["occurred_at"]) for row in rows]

    async def fan_out(self, event_ids: list[str], deliveries: list[NewDelivery], now: float, now_iso: str) -> None:
        """Turn these outbox rows into deliveries and delete them, unless another process already has."""
        claim = ids.new_id("fan_")
        marks = ", ".join("?" for _ in event_ids)
        statements = [Statement(
            f"UPDATE webhook_events SET fanout_claim = ? WHERE fanout_claim IS NULL AND id IN ({marks})",
            (claim, *event_ids))]
        for delivery in deliveries:
            if delivery.debounce_seconds:
                # Fold into the webhook's delivery still waiting out its debounce (never one already attempted:
                # its webhook-id must keep meaning the body first sent under it).
                statements.append(Statement(
                    "UPDATE webhook_deliveries SET event_id = ?, event_type = ?, payload = ?, "
                    "coalesced = coalesced + 1, next_attempt_at = min(?, first_queued_at + ?) "
                    "WHERE id = (SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND state = 'pending' "
                    f"AND attempts = 0 ORDER BY first_queued_at DESC LIMIT 1) AND {_CLAIMED}",
                    (delivery.event_id, delivery.event_type, delivery.payload, now + delivery.debounce_seconds,
                     delivery.debounce_limit_seconds, delivery.webhook_id, delivery.event_id, claim)))
            statements.append(Statement(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, state, attempts, "
                "coalesced, first_queued_at, next_attempt_at, created_at) "
                f"SELECT ?, ?, ?, ?, ?, 'pending', 0, 1, ?, ?, ? WHERE {_CLAIMED} "
                "AND EXISTS (SELECT 1 FROM webhooks WHERE id = ? AND active = 1) "
                "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?)",
                (ids.message_id(), delivery.webhook_id, delivery.event_id, delivery.event_type, delivery.payload,
                 now, now + delivery.debounce_seconds, now_iso, delivery.event_id, claim, delivery.webhook_id,
                 delivery.webhook_id, delivery.event_id)))
        statements.append(Statement("DELETE FROM webhook_events WHERE fanout_claim = ?", (claim,)))
        await self.db.batch(statements)

    # --- deliveries --------------------------------------------------------------------------

    async def status(self) -> QueueStatus:
        row = await self.db.fetch_one(
            "SELECT (SELECT count(*) FROM webhook_events) AS events, "
            "(SELECT count(*) FROM webhook_deliveries WHERE state IN ('pending', 'delivering')) AS deliveries, "
            "(SELECT min(CASE d.state WHEN 'pending' THEN d.next_attempt_at ELSE d.lease_expires_at END) "
            " FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id "
            " WHERE w.active = 1 AND d.state IN ('pending', 'delivering')) AS next_due")
        assert row is not None
        due = row["next_due"]
        return QueueStatus(int(row["events"]), int(row["deliveries"]), None if due is None else float(due))

    async def claim(self, token: str, now: float, lease_until: float, limit: int) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` due deliveries (or ones whose holder's lease expired) for ``token``."""
        result = await self.db.execute(
            "UPDATE webhook_deliveries SET state = 'delivering', lease_token = ?, lease_expires_at = ?, "
            "attempts = attempts + 1 WHERE id IN (SELECT d.id FROM webhook_deliveries AS d "
            "JOIN webhooks AS w ON w.id = d.webhook_id WHERE w.active = 1 "
            "AND ((d.state = 'pending' AND d.next_attempt_at <= ?) "
            "OR (d.state = 'delivering' AND d.lease_expires_at <= ?)) ORDER BY d.next_attempt_at LIMIT ?)",
            (token, lease_until, now, now, limit))
        if result.rows_affected == 0:
            return []
        rows = await self.db.fetch_all(
            "SELECT d.id, d.webhook_id, d.event_type, d.payload, d.attempts, d.first_queued_at, d.lease_token, "
            "w.url, w.secret FROM webhook_deliveries AS d JOIN webhooks AS w ON w.id = d.webhook_id "
            "WHERE d.lease_token = ? AND d.state = 'delivering'", (token,))
        return [ClaimedDelivery.from_row(row) for row in rows]

    async def release(self, delivery: ClaimedDelivery) -> None:
        """Give a claimed delivery back (shutting down mid-attempt): due again at once, anywhere."""
        await self.db.execute(
            "UPDATE webhook_deliveries SET state = 'pending', lease_token = NULL, lease_expires_at = NULL "
            "WHERE id = ? AND lease_token = ?", (delivery.id, delivery.lease_token))

    async def finish(self, delivery: ClaimedDelivery, attempt: Attempt, *, next_attempt_at: float | None,
                     disable_reason: str | None = None) -> None:
        """Record an attempt's outcome: delivered, failed for good, or due again at ``next_attempt_at``;
        ``disable_reason`` also switches the webhook off and drops its other pending deliveries."""
        now = attempt.attempted_at
        if next_attempt_at is not None:
            outcome = Statement(
                "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ?, lease_token = NULL, "
                "lease_expires_at = NULL WHERE id = ? AND lease_token = ?",
                (next_attempt_at, delivery.id, delivery.lease_token))
        else:
            outcome = Statement(
                "UPDATE webhook_deliveries SET state = ?, finished_at = ?, lease_token = NULL, lease_expires_at = NULL "
                "WHERE id = ? AND lease_token = ?",
                ("delivered" if attempt.outcome == "delivered" else "failed", now, delivery.id, delivery.lease_token))
        statements = [outcome]
        if disable_reason is not None:
            statements += self.disable_statements(delivery.webhook_id, disable_reason, now)
        statements += self.log_statements(attempt)
        await self.db.batch(statements)

    def disable_statements(self, webhook_id: str, reason: str, now: str) -> list[Statement]:
        return [
            Statement("UPDATE webhooks SET active = 0, disabled_reason = ?, updated_at = ? WHERE id = ?",
                      (reason, now, webhook_id)),
            self._cancel_pending(webhook_id, now),
        ]

    # --- the attempt log ---------------------------------------------------------------------

    @staticmethod
    def log_statements(attempt: Attempt) -> list[Statement]:
        """Append to the webhook's log (if it still exists) and keep its last ``LOG_SIZE`` lines."""
        return [
            Statement(
                "INSERT INTO webhook_attempts (id, webhook_id, delivery_id, event_type, attempt, attempted_at, "
                "outcome, status_code, duration_ms, error, next_attempt_at) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)",
                (attempt.id, attempt.webhook_id, attempt.delivery_id, attempt.event_type, attempt.attempt,
                 attempt.attempted_at, attempt.outcome, attempt.status_code, attempt.duration_ms, attempt.error,
                 attempt.next_attempt_at, attempt.webhook_id)),
            Statement(
                "DELETE FROM webhook_attempts WHERE webhook_id = ? AND rowid <= (SELECT rowid FROM webhook_attempts "
                "WHERE webhook_id = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?)",
                (attempt.webhook_id, attempt.webhook_id, LOG_SIZE)),
        ]

    async def log(self, webhook_id: str, limit: int = LOG_SIZE) -> list[Attempt]:
        rows = await self.db.fetch_all(
            "SELECT id, webhook_id, delivery_id, event_type, attempt, attempted_at, outcome, status_code, "
            "duration_ms, error, next_attempt_at FROM webhook_attempts WHERE webhook_id = ? "
            "ORDER BY rowid DESC LIMIT ?", (webhook_id, limit))
        return [Attempt.from_row(row) for row in rows]

    async def write_log(self, attempt: Attempt, disable_reason: str | None = None) -> None:
        """A test send's line (no delivery row behind it)."""
        statements = self.disable_statements(attempt.webhook_id, disable_reason, attempt.attempted_at) \
            if disable_reason is not None else []
        await self.db.batch([*statements, *self.log_statements(attempt)])


def _values(webhook: Webhook) -> tuple[object, ...]:
    return (webhook.id, webhook.url, jsonutil.dumps_str(list(webhook.events)), webhook.secret, int(webhook.active),
            webhook.debounce_seconds, webhook.description, webhook.disabled_reason, webhook.created_at,
            webhook.updated_at)
