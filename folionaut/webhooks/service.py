"""Managing webhooks: create (the secret shown once), list, change, delete, the delivery log, a test send.

A URL is checked when it is set — shape, scheme, and every address its host
resolves to (``url_guard.py``) — and a refusal is a 400 on ``url``; the
dispatcher checks again at every delivery. The signing secret is stored to sign
with and returned only by ``create``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import NotFoundError, ValidationError
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.webhooks.dispatcher import attempt_outcome, gone_reason
from folionaut.webhooks.models import TEST_EVENT, Attempt, Webhook
from folionaut.webhooks.repository import LOG_SIZE, WebhookRepository
from folionaut.webhooks.schema import WebhookInput, WebhookPatch
from folionaut.webhooks.sender import WebhookSender
from folionaut.webhooks.signing import generate_secret
from folionaut.webhooks.url_guard import UrlGuard, UrlRefused

__all__ = ["TestSend", "WebhookService"]

log = get_logger("webhooks")


@dataclass(frozen=True, slots=True)
class TestSend:
    attempt: Attempt

    def to_wire(self) -> dict[str, Any]:
        return {"delivered": self.attempt.outcome == "delivered", **self.attempt.to_wire()}


class WebhookService:
    def __init__(self, repository: WebhookRepository, guard: UrlGuard, sender: WebhookSender, clock: Clock,
                 metrics: Metrics) -> None:
        self.repository = repository
        self.guard = guard
        self.sender = sender
        self.clock = clock
        self.metrics = metrics

    def _now(self) -> str:
        return iso_timestamp(self.clock.time())

    async def _check_url(self, url: str) -> None:
        try:
            await self.guard.check(url)
        except (ValueError, UrlRefused) as exc:
            raise ValidationError.single("url", str(exc)) from None

    async def create(self, request: WebhookInput) -> tuple[Webhook, str]:
        """The new webhook and its signing secret (shown this once)."""
        await self._check_url(request.url)
        now = self._now()
        secret = request.secret or generate_secret()
        webhook = Webhook(
            id=ids.new_id("wh_"), url=request.url, events=request.events, secret=secret, active=request.active,
            debounce_seconds=request.debounce_seconds, description=request.description, disabled_reason=None,
            created_at=now, updated_at=now,
        )
        await self.repository.insert(webhook)
        log.info("webhook created", extra={"webhook": webhook.id, "events": list(webhook.events)})
        return webhook, secret

    async def list(self) -> list[tuple[Webhook, int]]:
        """Every webhook with its number of deliveries waiting or in flight."""
        pending = await self.repository.pending_counts()
        return [(webhook, pending.get(webhook.id, 0)) for webhook in await self.repository.all()]

    async def get(self, webhook_id: str) -> Webhook:
        webhook = await self.repository.get(webhook_id)
        if webhook is None:
            raise NotFoundError(f"Webhook not found: {webhook_id}")
        return webhook

    async def pending(self, webhook_id: str) -> int:
        return (await self.repository.pending_counts()).get(webhook_id, 0)

    async def update(self, webhook_id: str, patch: WebhookPatch) -> Webhook:
        current = await self.get(webhook_id)
        if patch.url is not None and patch.url != current.url:
            await self._check_url(patch.url)
        active = current.active if patch.active is None else patch.active
        webhook = replace(
            current,
            url=patch.url if patch.url is not None else current.url,
            events=patch.events if patch.events is not None else current.events,
            secret=patch.secret if patch.secret is not None else current.secret,
            active=active,
            debounce_seconds=patch.debounce_seconds if patch.debounce_seconds is not None
            else current.debounce_seconds,
            description=None if patch.clear_description else patch.description if patch.description is not None
            else current.description,
            # Switched on by hand: whatever switched it off no longer stands.
            disabled_reason=current.disabled_reason if not active or patch.active is None else None,
            updated_at=self._now(),
        )
        if not await self.repository.save(webhook, webhook.updated_at):
            raise NotFoundError(f"Webhook not found: {webhook_id}")
        log.info("webhook changed", extra={"webhook": webhook.id, "active": webhook.active})
        return webhook

    async def delete(self, webhook_id: str) -> None:
        if not await self.repository.delete(webhook_id):
            raise NotFoundError(f"Webhook not found: {webhook_id}")
        log.info("webhook deleted", extra={"webhook": webhook_id})

    async def deliveries(self, webhook_id: str, limit: int = LOG_SIZE) -> list[Attempt]:
        """The delivery log, newest first."""
        await self.get(webhook_id)
        return await self.repository.log(webhook_id, limit)

    async def send_test(self, webhook_id: str) -> TestSend:
        """Send a ``webhook.test`` event now, once (no retry), active or not; logged like any attempt."""
        webhook = await self.get(webhook_id)
        now = self.clock.time()
        message_id = ids.message_id()
        body = jsonutil.dumps({"type": TEST_EVENT, "timestamp": iso_timestamp(now), "data": {"webhookId": webhook.id}})
        result = await self.sender.send(webhook.url, webhook.secret, message_id, body)
        attempt = Attempt(
            id=ids.new_id("att_"), webhook_id=webhook.id, delivery_id=message_id, event_type=TEST_EVENT, attempt=1,
            attempted_at=iso_timestamp(self.clock.time()), outcome=attempt_outcome(result, will_retry=False),
            status_code=result.status_code, duration_ms=result.duration_ms, error=result.error, next_attempt_at=None,
        )
        await self.repository.write_log(attempt, gone_reason(attempt.attempted_at) if result.gone else None)
        self.metrics.webhook_deliveries.labels(attempt.outcome).inc()
        return TestSend(attempt)
