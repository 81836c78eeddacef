"""Content items and history entries, with their wire (camelCase) form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from folionaut.core import jsonutil
from folionaut.storage.base import Row

STATUSES = ("draft", "published", "archived")
CHANGE_TYPES = ("created", "updated", "deleted", "restored")
#: What the admin list can be sorted by (wire names); "-" before one means descending.
ADMIN_SORT_KEYS = ("sortOrder", "updatedAt", "createdAt", "title", "slug", "type", "status")
#: Which items the admin list shows: live ones (default), live and soft-deleted, or the trash.
DELETED_FILTERS = ("exclude", "include", "only")


@dataclass(frozen=True, slots=True)
class AdminListQuery:
    """What the admin asks the list for (filters, search, order); paging is given beside it."""

    content_type: str | None = None
    status: str | None = None
    deleted: str = "exclude"  # one of DELETED_FILTERS
    search: str | None = None  # the admin's words; never FTS syntax (the service quotes them)
    sort: str | None = None  # one of ADMIN_SORT_KEYS; None: the spec's order, or relevance when searching
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ContentItem:
    id: str
    type: str
    slug: str
    data: dict[str, Any]
    status: str
    version: int
    sort_order: int
    created_at: str
    updated_at: str
    deleted_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> ContentItem:
        return cls(
            id=row["id"],
            type=row["type"],
            slug=row["slug"],
            data=_json_object(row["data"]),
            status=row["status"],
            version=int(row["version"]),
            sort_order=int(row["sort_order"] or 0),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            deleted_at=row["deleted_at"],
        )

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ContentItem:
        """The inverse of ``to_wire`` (write receipts store items in their wire form)."""
        return cls(
            id=wire["id"], type=wire["type"], slug=wire["slug"], data=wire["data"], status=wire["status"],
            version=int(wire["version"]), sort_order=int(wire["sortOrder"]), created_at=wire["createdAt"],
            updated_at=wire["updatedAt"], deleted_at=wire["deletedAt"],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "slug": self.slug,
            "data": self.data,
            "status": self.status,
            "version": self.version,
            "sortOrder": self.sort_order,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deletedAt": self.deleted_at,
        }


def wire_from_row(row: Row) -> dict[str, Any]:
    """``ContentItem.from_row(row).to_wire()`` for rendering only, without parsing ``data``: the stored
    JSON object text goes into the output as it is (``jsonutil.raw``). A bundle of 10,000 items spent
    half its rebuild parsing every item's data only to encode it again. Text that is not an object
    literal (a value the original wrapped, or a damaged row) takes the parsing path as before."""
    data = row["data"]
    if isinstance(data, str) and data.startswith("{") and data.endswith("}"):
        data = jsonutil.raw(data)
    else:
        data = _json_object(data)
    return {
        "id": row["id"],
        "type": row["type"],
        "slug": row["slug"],
        "data": data,
        "status": row["status"],
        "version": int(row["version"]),
        "sortOrder": int(row["sort_order"] or 0),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "deletedAt": row["deleted_at"],
    }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: str
    content_id: str
    version: int
    data: dict[str, Any]
    change_type: str
    changed_by: str | None
    change_summary: str | None
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> HistoryEntry:
        return cls(
            id=row["id"],
            content_id=row["content_id"],
            version=int(row["version"]),
            data=_json_object(row["data"]),
            change_type=row["change_type"],
            changed_by=row["changed_by"],
            change_summary=row["change_summary"],
            created_at=row["created_at"],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contentId": self.content_id,
            "version": self.version,
            "data": self.data,
            "changeType": self.change_type,
            "changedBy": self.changed_by,
            "changeSummary": self.change_summary,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class ContentChange:
    """What a write did, for listeners (cache invalidation, chat summary)."""

    kind: str  # created | updated | deleted | restored | purged | external (another process wrote)
    content_type: str
    slugs: tuple[str, ...]  # the slug before and after (both, when renamed)
    item: ContentItem | None
    #: Made by another process and told to this one (``content/propagation.py``): not to be passed on.
    remote: bool = False


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A write about to be committed, shown to the recorders that add statements to its batch
    (the webhook outbox: ``ContentService.record_changes_with``)."""

    kind: str  # created | updated | deleted | restored | purged (a hard delete)
    before: ContentItem | None  # None on create
    after: ContentItem  # the item as the change leaves it (as it was, for purged)


def _json_object(raw: object) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    value = jsonutil.loads(raw) if isinstance(raw, str | bytes) else raw
    return value if isinstance(value, dict) else {"value": value}
