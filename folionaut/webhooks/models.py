"""Webhooks, deliveries and the attempt log, with their wire (camelCase) form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from folionaut.core import jsonutil
from folionaut.observability.metrics import WEBHOOK_OUTCOMES
from folionaut.storage.base import Row

__all__ = [
    "ALL_EVENTS", "EVENT_TYPES", "OUTCOMES", "TEST_EVENT", "Attempt", "ClaimedDelivery", "Webhook",
]

#: What a webhook can subscribe to; ``["*"]`` means all of them.
EVENT_TYPES = (
    "content.created", "content.updated", "content.published", "content.unpublished", "content.deleted",
    "content.restored",
)
ALL_EVENTS = "*"
#: The type of the body POST /webhooks/{id}/test sends (never queued, never retried).
TEST_EVENT = "webhook.test"
#: What became of one attempt (the log's ``status``, the metric's ``status`` label).
OUTCOMES = WEBHOOK_OUTCOMES


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool
    debounce_seconds: int
    description: str | None
    disabled_reason: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Row) -> Webhook:
        return cls(
            id=row["id"], url=row["url"], events=tuple(jsonutil.loads(row["events"])), secret=row["secret"],
            active=bool(row["active"]), debounce_seconds=int(row["debounce_seconds"]),
            description=row["description"], disabled_reason=row["disabled_reason"],
            created_at=row["created_at"], updated_at=row["updated_at"],
        )

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events

    def to_wire(self, pending_deliveries: int = 0) -> dict[str, Any]:
        """Never the secret: it is shown once, when the webhook is created."""
        return {
            "id": self.id, "url": self.url, "events": list(self.events), "active": self.active,
            "debounceSeconds": self.debounce_seconds, "description": self.description,
            "disabledReason": self.disabled_reason, "pendingDeliveries": pending_deliveries,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this process holds the lease of, with what sending it needs."""

    id: str
    webhook_id: str
    event_type: str
    payload: str
    attempts: int  # including the one about to be made
    first_queued_at: float
    lease_token: str
    url: str
    secret: str

    @classmethod
    def from_row(cls, row: Row) -> ClaimedDelivery:
        return cls(
            id=row["id"], webhook_id=row["webhook_id"], event_type=row["event_type"], payload=row["payload"],
            attempts=int(row["attempts"]), first_queued_at=float(row["first_queued_at"]),
            lease_token=row["lease_token"], url=row["url"], secret=row["secret"],
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One line of a webhook's delivery log."""

    id: str
    webhook_id: str
    delivery_id: str
    event_type: str
    attempt: int
    attempted_at: str
    outcome: str
    status_code: int | None
    duration_ms: int
    error: str | None
    next_attempt_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Attempt:
        return cls(
            id=row["id"], webhook_id=row["webhook_id"], delivery_id=row["delivery_id"],
            event_type=row["event_type"], attempt=int(row["attempt"]), attempted_at=row["attempted_at"],
            outcome=row["outcome"], status_code=row["status_code"], duration_ms=int(row["duration_ms"]),
            error=row["error"], next_attempt_at=row["next_attempt_at"],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id, "deliveryId": self.delivery_id, "event": self.event_type, "attempt": self.attempt,
            "attemptedAt": self.attempted_at, "status": self.outcome, "statusCode": self.status_code,
            "durationMs": self.duration_ms, "error": self.error, "nextAttemptAt": self.next_attempt_at,
        }
