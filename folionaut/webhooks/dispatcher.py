"""The dispatcher: a long-lived task in every process with the services open, delivering the outbox.

Each turn of its loop (at least once a second, at once after a local content
change, a finished delivery or a due retry):

1. **Fan-out**: outbox rows become deliveries, one per active webhook that
   subscribes to one of the event's types and existed when it happened, typed
   with the most specific of them (``outbox.py``). A webhook with
   ``debounceSeconds`` gets its delivery ``debounceSeconds`` later, and a later
   change folds into a delivery still waiting (latest state, one delivery),
   postponing it again, but never past ``DEBOUNCE_LIMIT_FACTOR`` ×
   ``debounceSeconds`` after the burst's first change.
2. **Claim**: due deliveries are claimed in the database with a lease of
   ``WEBHOOK_TIMEOUT_SECONDS`` + ``LEASE_MARGIN_SECONDS`` (at most 25 s), so
   with several instances or workers each delivery is sent by exactly one of
   them; a delivery claimed by a process that died is claimed again once its
   lease expires, by any process (a restarted one included: within 30 s).
3. **Deliver** (``sender.py``) and record the outcome with an attempt line in
   the webhook's log: 2xx delivered; ``410 Gone`` switches the webhook off (its
   pending deliveries are dropped); any other failure is retried with
   exponential backoff and ±20 % jitter (``WEBHOOK_RETRY_BASE_SECONDS`` × 2^n,
   a receiver's Retry-After honoured), up to ``MAX_ATTEMPTS`` attempts within
   ``RETRY_WINDOW_SECONDS`` of the first change (about 23 hours with the
   default 5 s base), then failed.

Delivery is at least once: a process killed after the receiver answered but
before the outcome was written sends it again later, under the same
``webhook-id``, which receivers deduplicate by. Closing (shutdown) does not
wait for deliveries in flight: they are cancelled and handed back to the queue.

``FOLIONAUT_TEST_WEBHOOK_STALL`` (``STALL_ENV``) is a test hook, never set in
production: the dispatcher fans out but claims nothing, so a test can kill the
process with deliveries queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from dataclasses import dataclass

from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import DatabaseError
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.webhooks.models import Attempt, ClaimedDelivery, Webhook
from folionaut.webhooks.repository import NewDelivery, OutboxEvent, WebhookRepository
from folionaut.webhooks.sender import SendResult, WebhookSender

__all__ = [
    "DEBOUNCE_LIMIT_FACTOR", "LEASE_MARGIN_SECONDS", "MAX_ATTEMPTS", "POLL_SECONDS", "RETRY_WINDOW_SECONDS",
    "STALL_ENV", "RetryPolicy", "WebhookDispatcher", "attempt_outcome",
]

log = get_logger("webhooks")

#: Test hook (see the module docstring). Never set in production.
STALL_ENV = "FOLIONAUT_TEST_WEBHOOK_STALL"
POLL_SECONDS = 1.0
#: After a wake-up, how long to let more changes arrive before the turn.
GATHER_SECONDS = 0.05
MAX_IN_FLIGHT = 8
FANOUT_PAGE = 100
FANOUT_PAGES_PER_TURN = 10
LEASE_MARGIN_SECONDS = 10.0
MAX_ATTEMPTS = 15
RETRY_WINDOW_SECONDS = 24 * 3600.0
DEBOUNCE_LIMIT_FACTOR = 10
JITTER = 0.2
#: How long closing may spend handing interrupted deliveries back.
RELEASE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 5.0
    max_attempts: int = MAX_ATTEMPTS
    window_seconds: float = RETRY_WINDOW_SECONDS

    def next_attempt_at(self, attempts: int, first_queued_at: float, now: float, retry_after: float | None,
                        rng: random.Random) -> float | None:
        """When to try again after ``attempts`` failed attempts, or None: give up."""
        if attempts >= self.max_attempts:
            return None
        delay = self.base_seconds * 2 ** (attempts - 1) * rng.uniform(1 - JITTER, 1 + JITTER)
        if retry_after is not None:
            delay = max(delay, retry_after)
        at = now + delay
        return None if at - first_queued_at > self.window_seconds else at


def attempt_outcome(result: SendResult, will_retry: bool) -> str:
    if result.delivered:
        return "delivered"
    if result.gone:
        return "disabled"
    return "retrying" if will_retry else "failed"


def gone_reason(when: str) -> str:
    return f"The receiver answered 410 Gone at {when}; set active to true to deliver again"


class WebhookDispatcher:
    def __init__(self, repository: WebhookRepository, sender: WebhookSender, clock: Clock, metrics: Metrics,
                 policy: RetryPolicy, *, rng: random.Random | None = None) -> None:
        self.repository = repository
        self.sender = sender
        self.clock = clock
        self.metrics = metrics
        self.policy = policy
        self.lease_seconds = sender.timeout_seconds + LEASE_MARGIN_SECONDS
        self._rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[asyncio.Task[None], ClaimedDelivery] = {}
        self._stalled = bool(os.environ.get(STALL_ENV, "").strip())
        self._failing = False

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._stalled:
            log.warning("webhook deliveries stalled by %s (a test hook)", STALL_ENV)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-dispatcher")

    @property
    def in_flight(self) -> int:
        """Deliveries this process is sending now."""
        return len(self._in_flight)

    def wake(self) -> None:
        """Look at the queue now (a content change was committed, a retry may be due)."""
        self._wake.set()

    async def close(self) -> None:
        """Stop at once: the loop is cancelled and deliveries in flight are handed back to the queue."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        interrupted = dict(self._in_flight)
        for flight in interrupted:
            flight.cancel()
        await asyncio.gather(*interrupted, return_exceptions=True)
        unfinished = [delivery for flight, delivery in interrupted.items() if flight.cancelled()]
        if not unfinished:
            return
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_SECONDS):
                for delivery in unfinished:
                    await self.repository.release(delivery)
        except (TimeoutError, DatabaseError):
            log.warning("%d interrupted webhook deliveries will be retried when their lease expires (%g s)",
                        len(unfinished), self.lease_seconds)

    # --- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = POLL_SECONDS
            try:
                wait = await self.run_once()
                if self._failing:
                    log.info("webhook deliveries resumed: the database answers again")
                    self._failing = False
            except DatabaseError as exc:  # an outage: keep polling, say so once
                if not self._failing:
                    log.warning("webhook deliveries paused: %s", exc.message)
                    self._failing = True
            except Exception:  # never let one bad turn end deliveries for good
                log.exception("webhook dispatcher turn failed")
            woken = False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    woken = await self._wake.wait()
            if woken:  # a burst of changes gathers into one turn: one fan-out write, not one per change
                await asyncio.sleep(GATHER_SECONDS)

    async def run_once(self) -> float:
        """One turn: fan out, claim what is due, start delivering it. Returns how long to wait before the next."""
        status = await self.repository.status()  # idle, this one query is the whole turn
        if status.events:
            for _ in range(FANOUT_PAGES_PER_TURN):
                if await self._fan_out() < FANOUT_PAGE:
                    break
            status = await self.repository.status()
        self.metrics.webhook_queue_depth.set(status.events + status.deliveries)
        now = self.clock.time()
        if status.next_due is None or self._stalled:
            return POLL_SECONDS
        if status.next_due > now:
            return max(0.05, min(POLL_SECONDS, status.next_due - now))
        free = MAX_IN_FLIGHT - len(self._in_flight)
        if free <= 0:
            return POLL_SECONDS  # a delivery landing wakes the loop
        claimed = await self.repository.claim(ids.new_id("lease_"), now, now + self.lease_seconds, free)
        for delivery in claimed:
            flight = asyncio.get_running_loop().create_task(self._deliver(delivery), name="webhook-delivery")
            self._in_flight[flight] = delivery
            flight.add_done_callback(self._landed)
        return 0.05 if claimed else POLL_SECONDS

    def _landed(self, flight: asyncio.Task[None]) -> None:
        self._in_flight.pop(flight, None)
        if not flight.cancelled() and (error := flight.exception()) is not None:
            log.error("webhook delivery task failed: %r", error)
        self._wake.set()

    # --- fan-out -----------------------------------------------------------------------------

    async def _fan_out(self) -> int:
        events = await self.repository.outbox(FANOUT_PAGE)
        if not events:
            return 0
        webhooks = await self.repository.active()
        deliveries = [delivery for event in events for webhook in webhooks
                      if (delivery := self._delivery(event, webhook)) is not None]
        now = self.clock.time()
        await self.repository.fan_out([event.id for event in events], deliveries, now, iso_timestamp(now))
        return len(events)

    @staticmethod
    def _delivery(event: OutboxEvent, webhook: Webhook) -> NewDelivery | None:
        if webhook.created_at > event.occurred_at:
            return None  # the webhook did not exist when the change happened
        event_type = next((kind for kind in event.types if webhook.subscribes_to(kind)), None)
        if event_type is None:
            return None
        payload = jsonutil.dumps_str({"type": event_type, "timestamp": event.occurred_at, "data": event.data})
        return NewDelivery(webhook.id, event.id, event_type, payload, webhook.debounce_seconds,
                           webhook.debounce_seconds * DEBOUNCE_LIMIT_FACTOR)

    # --- one delivery ------------------------------------------------------------------------

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        result = await self.sender.send(delivery.url, delivery.secret, delivery.id, delivery.payload.encode())
        now = self.clock.time()
        next_at = None
        if not result.delivered and not result.gone:
            next_at = self.policy.next_attempt_at(delivery.attempts, delivery.first_queued_at, now,
                                                  result.retry_after, self._rng)
        outcome = attempt_outcome(result, next_at is not None)
        attempt = Attempt(
            id=ids.new_id("att_"), webhook_id=delivery.webhook_id, delivery_id=delivery.id,
            event_type=delivery.event_type, attempt=delivery.attempts, attempted_at=iso_timestamp(now),
            outcome=outcome, status_code=result.status_code, duration_ms=result.duration_ms, error=result.error,
            next_attempt_at=None if next_at is None else iso_timestamp(next_at),
        )
        disable = gone_reason(attempt.attempted_at) if result.gone else None
        try:
            await self.repository.finish(delivery, attempt, next_attempt_at=next_at, disable_reason=disable)
        except DatabaseError as exc:
            log.warning("could not record a webhook delivery's outcome (%s); it is retried when its lease expires",
                        exc.message, extra={"webhook": delivery.webhook_id, "delivery": delivery.id})
        self.metrics.webhook_deliveries.labels(outcome).inc()
        log.info("webhook delivery %s", outcome, extra={
            "webhook": delivery.webhook_id, "delivery": delivery.id, "event": delivery.event_type,
            "attempt": delivery.attempts, "statusCode": result.status_code, "durationMs": result.duration_ms,
            **({"error": result.error} if result.error else {})})
