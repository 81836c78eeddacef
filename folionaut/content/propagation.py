"""Content changes, passed to every other process serving the same content, and taken from them.

A write invalidates this process's cached reads before it returns
(``ContentService`` listeners). ``ChangePropagation`` is one more listener: it
tells the change (its kind, type and slugs) to the other processes, which run
their own listeners on it (``ContentService.changed_elsewhere``), so their
caches drop the same keys:

- to the sibling workers of this server (``resilience/siblings.py``), waiting
  until each has dropped them: when the write is acknowledged, no worker of
  this server serves the old bytes;
- to every other instance through Redis pub/sub (``resilience/redis_bus.py``),
  published before the write is acknowledged and handled as it arrives: other
  instances serve the new bytes within milliseconds. A process whose Redis
  subscription was lost drops everything it cached once it is back, as it may
  have missed changes.

Changes told to this process are marked ``remote`` and never passed on. Without
any of these (one process), the only other writers are other programs on the
same database, which the change counter's watch still catches within a second
(it stays, under all of this, for writers that tell no one: ``folionaut mcp``,
``restore``, a SQL shell).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from folionaut.content.models import ContentChange
from folionaut.content.service import ContentService
from folionaut.core.logging import get_logger
from folionaut.resilience.siblings import Siblings

if TYPE_CHECKING:  # the Redis client is imported only when REDIS_URL is set (start-up time)
    from folionaut.resilience.redis_bus import RedisBus

__all__ = ["ChangePropagation"]

log = get_logger("content")

KIND = "content-changed"


def _encode(change: ContentChange) -> dict[str, Any]:
    return {"kind": change.kind, "type": change.content_type, "slugs": list(change.slugs)}


def _decode(body: dict[str, Any]) -> ContentChange | None:
    kind, content_type, slugs = body.get("kind"), body.get("type"), body.get("slugs")
    if not isinstance(kind, str) or not isinstance(content_type, str) or not isinstance(slugs, list):
        return None
    return ContentChange(kind, content_type, tuple(str(slug) for slug in slugs), None, remote=True)


class ChangePropagation:
    def __init__(self, service: ContentService, siblings: Siblings | None, bus: RedisBus | None) -> None:
        self.service = service
        self.siblings = siblings
        self.bus = bus
        service.on_change(self._changed_here)
        for channel in (siblings, bus):
            if channel is not None:
                channel.on(KIND, self._told)
        if bus is not None:
            bus.on_resubscribed(self._may_have_missed_changes)

    async def _changed_here(self, change: ContentChange) -> None:
        if change.remote or change.kind == "external":  # every process watches for outside writes itself
            return
        body = _encode(change)
        if self.siblings is not None:
            await self.siblings.tell(KIND, body)
        if self.bus is not None:
            await self.bus.publish(KIND, body)

    async def _may_have_missed_changes(self) -> None:
        await self.service.changed_elsewhere(ContentChange("external", "*", (), None))

    async def _told(self, body: dict[str, Any]) -> None:
        change = _decode(body)
        if change is not None:
            await self.service.changed_elsewhere(change)
