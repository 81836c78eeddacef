"""The outbox: every content change writes its webhook event in its own transaction.

``WebhookOutbox.record`` is a content-service recorder
(``ContentService.record_changes_with``): it adds one statement to the batch
that writes the change, inserting one ``webhook_events`` row. The event
therefore commits exactly when the change does, whichever path made it (admin
API, the admin web app, MCP tools, restore of a version), and a process that
dies right after the commit leaves the event in the database for the next
dispatcher to deliver. The row is written whether or not any webhook exists:
fan-out (``dispatcher.py``) decides who gets it, a moment later.

Which events a change is
========================
A change has one *lifecycle* event and, when it changes what the public site
shows, one *visibility* event:

- lifecycle: ``content.created``, ``content.deleted`` (soft or hard),
  ``content.restored``, else ``content.updated``;
- visibility: ``content.published`` when the item was not public before and is
  after (public: status ``published`` and not deleted), ``content.unpublished``
  the other way round.

A webhook gets **one** delivery per change if it subscribes to any of the
change's events, typed with the most specific one it subscribes to, in this
order: created, deleted, restored, then published/unpublished, then updated.
So an update that edits data *and* publishes is ``content.published`` to a
webhook that takes it (or ``*``) and ``content.updated`` to one that only takes
updates; a build hook subscribed to both builds once, not twice. A restore of
an item that was not deleted is also an update (its data changed).
"""

from __future__ import annotations

from typing import Any

from folionaut.content.models import ChangeRecord, ContentItem
from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, now_iso
from folionaut.storage.base import Statement

__all__ = ["WebhookOutbox", "event_data", "event_types"]

_LIFECYCLE = {
    "created": "content.created", "deleted": "content.deleted", "purged": "content.deleted",
    "restored": "content.restored", "updated": "content.updated",
}


def _public(item: ContentItem | None) -> bool:
    return item is not None and item.status == "published" and item.deleted_at is None


def event_types(change: ChangeRecord) -> tuple[str, ...]:
    """The change's event types, most specific first (empty: nothing to tell)."""
    before = change.before
    if change.kind == "purged" and before is not None and before.deleted_at is not None:
        return ()  # a hard delete of an item already deleted: that was told when it was deleted
    after = None if change.kind == "purged" else change.after
    was, now = _public(before), _public(after)
    visibility = ("content.published",) if now and not was else ("content.unpublished",) if was and not now else ()
    lifecycle = _LIFECYCLE[change.kind]
    if lifecycle == "content.updated":
        return (*visibility, lifecycle)
    edited = change.kind == "restored" and before is not None and before.deleted_at is None
    return (lifecycle, *visibility, *(("content.updated",) if edited else ()))


def event_data(item: ContentItem) -> dict[str, Any]:
    """The body's ``data``: which item, and where it now stands."""
    return {"id": item.id, "type": item.type, "slug": item.slug, "status": item.status, "version": item.version}


class WebhookOutbox:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def record(self, change: ChangeRecord, guarded: bool) -> list[Statement]:
        """The statement that writes the change's event (one row), or none when it has no event."""
        types = event_types(change)
        if not types:
            return []
        guard = " WHERE changes() = 1" if guarded else ""
        return [Statement(
            f"INSERT INTO webhook_events (id, types, data, occurred_at) SELECT ?, ?, ?, ?{guard}",
            (ids.new_id("evt_"), jsonutil.dumps_str(list(types)), jsonutil.dumps_str(event_data(change.after)),
             now_iso(self.clock)),
        )]
