"""Content rules: slugs, versions, history, concurrency.

Every change is one atomic batch: the content row and the history row holding
the item as it is after the change, and a write receipt when the write has one
(``content/receipts.py``: under an idempotency key, or on a database where an
answer can be lost). Updates are compare-and-set on the version read, so two
concurrent writers can never produce the same version number; without an
explicit expected version the service simply re-reads and retries.

A write with a receipt first looks for an earlier write under the same key and
answers with its item (``receipt.replayed``); a write whose answer was lost is
looked up by its receipt and, if it did not apply, sent again.

Recorders (``record_changes_with``) add their own statements to a change's
batch, so what they record commits with the change or not at all: the webhook
outbox is one (``folionaut/webhooks/outbox.py``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from folionaut.content.models import (
    AdminListQuery,
    ChangeRecord,
    ContentChange,
    ContentItem,
    HistoryEntry,
    wire_from_row,
)
from folionaut.content.own_writes import OwnWrites
from folionaut.content.paging import Page, PageKey, decode_cursor
from folionaut.content.receipts import RECEIPT_TTL_SECONDS, ReceiptRepository, StoredReceipt, WriteReceipt
from folionaut.content.repository import ContentRepository
from folionaut.content.validation import CreateInput, UpdateInput, slug_from_title
from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, iso_timestamp, now_iso
from folionaut.core.errors import ConflictError, DatabaseError, NotFoundError, ValidationError
from folionaut.core.logging import get_logger
from folionaut.storage.base import ExecResult, Statement
from folionaut.storage.errors import AmbiguousWriteError, ConstraintViolation

log = get_logger("content")

ChangeListener = Callable[[ContentChange], Awaitable[None]]
#: Statements to add to a change's batch. The flag says the change may not apply (a compare-and-set), so
#: each statement must guard itself with ``WHERE changes() = 1`` on the statement before it; each must
#: write exactly one row when the change applies, so the guards after it still hold.
ChangeRecorder = Callable[[ChangeRecord, bool], Sequence[Statement]]

# Concurrent writers to one item retry their compare-and-set this many times.
MAX_WRITE_ATTEMPTS = 64
# A write whose answer was lost is looked up and, if it did not apply, sent again this many times.
MAX_RESENDS = 3
_FIELD_LABELS = {"slug": "slug", "data": "data", "status": "status", "sortOrder": "sort order"}
_WORD = re.compile(r"\w+", re.UNICODE)


class ContentService:
    def __init__(self, repository: ContentRepository, clock: Clock, audit_log: bool = True) -> None:
        self.repository = repository
        self.receipts = ReceiptRepository(repository.db)
        self._own_writes = OwnWrites()
        self.clock = clock
        self.audit_log = audit_log
        # Where a write's answer can be lost, every write carries a receipt to look it up by.
        self._receipt_every_write = repository.db.outcome_can_be_unknown
        self._listeners: list[ChangeListener] = []
        self._recorders: list[ChangeRecorder] = []

    def record_changes_with(self, recorder: ChangeRecorder) -> None:
        """Add ``recorder``'s statements to the batch of every change from now on."""
        self._recorders.append(recorder)

    def _recorded(self, kind: str, before: ContentItem | None, after: ContentItem, *, guarded: bool) -> list[Statement]:
        change = ChangeRecord(kind, before, after)
        return [statement for recorder in self._recorders for statement in recorder(change, guarded)]

    def on_change(self, listener: ChangeListener) -> None:
        """Run ``listener`` after every committed write, before the write returns."""
        self._listeners.append(listener)

    async def _notify(self, change: ContentChange) -> None:
        for listener in self._listeners:
            await listener(change)

    async def changed_elsewhere(self, change: ContentChange) -> None:
        """Another process (a sibling worker, another instance) made ``change``: tell the listeners."""
        await self._notify(replace(change, remote=True, item=None))

    async def watch_external_changes(self, interval_seconds: float = 1.0) -> None:
        """Run forever: tell the listeners when content changed outside this service.

        Another instance, ``folionaut mcp`` or ``folionaut restore`` writing to the
        same database moves the change counter; the listeners then drop everything
        they cached (kind ``external``). This service's own writes move it too, but
        ``OwnWrites`` knows those values (``content/own_writes.py``): they already
        dropped just the keys they touched. A move it cannot account for while one
        of our writes is finishing is looked at again on the next poll.
        """
        last: int | None = None  # unknown until the first read succeeds (the database may be away at start)
        while True:
            try:
                current = await self.repository.change_counter()
            except DatabaseError as exc:  # an outage is reported by requests and probes; keep watching
                log.debug("change watch skipped: %s", exc.message)
            else:
                if last is None or current == last:
                    last = current
                elif current > last and self._own_writes.cover(last, current):
                    last = current
                elif not (self._own_writes.in_flight and current > last):  # else: perhaps ours, decide next time
                    last = current
                    self._own_writes.forget_up_to(current)
                    await self._notify(ContentChange("external", "*", (), None))
            await asyncio.sleep(interval_seconds)

    async def _write(self, statements: list[Statement]) -> list[ExecResult]:
        self._own_writes.in_flight += 1
        try:
            results, own = await self.repository.write(statements)
        finally:
            self._own_writes.in_flight -= 1
        self._own_writes.add(*own)
        return results

    # --- public reads ------------------------------------------------------------

    async def list_published(self, content_type: str | None = None) -> list[ContentItem]:
        return await self.repository.list_published(content_type)

    async def bundle(self) -> dict[str, list[ContentItem]]:
        grouped: dict[str, list[ContentItem]] = {}
        for item in await self.repository.list_published():
            grouped.setdefault(item.type, []).append(item)
        return grouped

    async def published_wire(self, content_type: str | None = None) -> list[dict[str, Any]]:
        """Published items in their wire form, for rendering (``wire_from_row``: data not parsed)."""
        return [wire_from_row(row) for row in await self.repository.published_rows(content_type)]

    async def bundle_wire(self) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for item in await self.published_wire():
            grouped.setdefault(item["type"], []).append(item)
        return grouped

    async def get_published(self, content_type: str, slug: str) -> ContentItem:
        item = await self.repository.get_published(content_type, slug)
        if item is None:
            raise NotFoundError(f"Content not found: {content_type}/{slug}")
        return item

    async def published_types(self) -> list[tuple[str, int]]:
        return await self.repository.published_types()

    async def search_published(self, query: str, limit: int = 5) -> list[ContentItem]:
        return await self.search(query, limit, published_only=True)

    async def search(self, query: str, limit: int = 5, *, published_only: bool) -> list[ContentItem]:
        """Best matches first, among published items or (for the owner) every item not deleted."""
        match = _fts_query(query, "OR")
        if match is None:
            return []
        return await self.repository.search(match, limit, published_only)

    # --- admin reads -------------------------------------------------------------

    async def get(self, content_id: str) -> ContentItem:
        item = await self.repository.get(content_id)
        if item is None:
            raise NotFoundError(f"Content not found: {content_id}")
        return item

    async def get_by_slug(self, content_type: str, slug: str) -> ContentItem:
        """Any status, deleted included."""
        item = await self.repository.get_by_slug(content_type, slug)
        if item is None:
            raise NotFoundError(f"Content not found: {content_type}/{slug}")
        return item

    async def type_status_counts(self) -> list[tuple[str, str, int]]:
        return await self.repository.type_status_counts()

    async def list_admin(
        self, content_type: str | None = None, status: str | None = None, include_deleted: bool = False,
        limit: int = 50, offset: int = 0,
    ) -> list[ContentItem]:
        query = AdminListQuery(content_type, status, "include" if include_deleted else "exclude")
        items, _ = await self.find_admin(query, limit, offset)
        return items

    async def find_admin(self, query: AdminListQuery | None = None, limit: int = 50, offset: int = 0,
                         *, with_total: bool = False) -> tuple[list[ContentItem], int | None]:
        """A page of items of any status, and (when asked) how many match in all.

        Search matches every word (prefix match) in the slug, title or any text of
        the data, across every status; with no words to search for, nothing matches.
        """
        query = query or AdminListQuery()
        match = _fts_query(query.search, "AND") if query.search is not None else None
        if query.search is not None and match is None:
            return [], 0 if with_total else None
        items = await self.repository.list_admin(query, match, limit, offset)
        total = None
        if with_total:
            # A short first page is the whole list: no count query needed.
            total = offset + len(items) if len(items) < limit and (items or offset == 0) else \
                await self.repository.count_admin(query, match)
        return items, total

    async def page_admin(self, query: AdminListQuery | None = None, limit: int = 50, offset: int = 0,
                         cursor: str | None = None, *, with_total: bool = False) -> tuple[Page, int | None]:
        """``find_admin`` a page at a time: the page carries the cursor of the next one (keyset in the
        spec's order, the position when sorted or searched; ``content/paging.py``)."""
        query = query or AdminListQuery()
        match = _fts_query(query.search, "AND") if query.search is not None else None
        if query.search is not None and match is None:
            return Page([], None), 0 if with_total else None
        after: PageKey | None = None
        if cursor is not None:
            position = decode_cursor(cursor)
            if isinstance(position, int):
                offset = position
            elif query.sort is not None or match is not None:
                raise ValidationError.single("cursor", "This cursor belongs to the list in its default order")
            else:
                after = position
        page = await self.repository.page_admin(query, match, limit, offset, after)
        total = None
        if with_total:
            total = offset + len(page.items) if page.next_cursor is None and after is None and (
                page.items or offset == 0) else await self.repository.count_admin(query, match)
        return page, total

    async def page_published(self, content_type: str | None, limit: int, cursor: str | None) -> Page:
        position = decode_cursor(cursor) if cursor is not None else None
        if isinstance(position, int):
            raise ValidationError.single("cursor", "Not a cursor of this list")
        return await self.repository.page_published(content_type, limit, position)

    async def counts(self) -> list[tuple[str, str, bool, int]]:
        """(type, status, deleted, count) for each combination that has items."""
        return await self.repository.counts()

    async def recent_changes(self, limit: int = 10) -> list[tuple[HistoryEntry, str, str]]:
        """The latest changes to any item, newest first, with the item's type and slug."""
        return await self.repository.recent_changes(limit)

    async def history(self, content_id: str, limit: int = 50, offset: int = 0) -> list[HistoryEntry]:
        await self.get(content_id)
        return await self.repository.history(content_id, limit, offset)

    # --- writes ------------------------------------------------------------------

    def _history(self, item: ContentItem, change_type: str, changed_by: str, summary: str) -> HistoryEntry:
        return HistoryEntry(
            id=ids.history_id(), content_id=item.id, version=item.version, data=item.data,
            change_type=change_type, changed_by=changed_by, change_summary=summary, created_at=item.updated_at,
        )

    def _receipt(self, receipt: WriteReceipt | None) -> WriteReceipt | None:
        return receipt if receipt is not None or not self._receipt_every_write else WriteReceipt.for_one_write()

    async def _find(self, receipt: WriteReceipt) -> StoredReceipt | None:
        """The receipt in the database under ``receipt``'s key: this write's own, or an earlier one's
        (then ``receipt.replayed``); a different request under the same key is a conflict."""
        stored = await self.receipts.find(receipt.key, iso_timestamp(self.clock.time() - RECEIPT_TTL_SECONDS))
        if stored is None:
            return None
        if stored.fingerprint != receipt.fingerprint:
            raise ConflictError("This Idempotency-Key was already used with a different request; use a new key")
        if stored.write_id != receipt.write_id:
            receipt.replayed = True
        return stored

    async def _earlier(self, receipt: WriteReceipt | None) -> StoredReceipt | None:
        """The receipt of an earlier write under this key (answer with its item), or None."""
        if receipt is None or receipt.single_use:
            return None
        return await self._find(receipt)

    async def _apply(self, change: list[Statement], recorded: list[Statement], receipt: WriteReceipt | None,
                     outcome: ContentItem | None) -> bool | StoredReceipt:
        """Commit the change atomically, with its receipt and what the recorders add. True: it is in
        the database. False: its guard matched no row (its last statement changed no row, nor then its
        receipt). A ``StoredReceipt``: an earlier write under the receipt's key got there first."""
        statements = [*change, *recorded]
        last = len(change) - 1  # changes one row exactly when the change applied
        if receipt is not None:
            # Expired receipts go first, so an expired one cannot block its key being used again; the
            # receipt right after the change, so its guard (and the recorders' after it) sees the change.
            now = self.clock.time()
            statements = [
                self.receipts.prune_statement(iso_timestamp(now - RECEIPT_TTL_SECONDS)),
                *change, self.receipts.record_statement(receipt, outcome, iso_timestamp(now)), *recorded,
            ]
            last += 1
        resent = False
        for resend in range(MAX_RESENDS + 1):
            try:
                results = await self._write(statements)
            except AmbiguousWriteError as exc:
                if receipt is None or resend == MAX_RESENDS:
                    raise
                # Did it apply? Its receipt says; if not, sending it again is safe (the key is unique).
                log.warning("a write's answer was lost (%s); looking it up by its receipt", exc.message)
                if (stored := await self._find(receipt)) is not None:
                    return True if stored.write_id == receipt.write_id else stored
                resent = True
                continue
            except ConstraintViolation:
                # The receipt's key may be what was taken: by this write's own earlier attempt, or another's.
                if receipt is None or (stored := await self._find(receipt)) is None:
                    raise
                return True if stored.write_id == receipt.write_id else stored
            if results[last].rows_affected == 1:
                return True
            if receipt is not None and (resent or not receipt.single_use):
                # The guard missed: because an attempt of this write, or an earlier one, already applied?
                if (stored := await self._find(receipt)) is not None:
                    return True if stored.write_id == receipt.write_id else stored
            return False
        raise AssertionError("unreachable")  # the loop returns or raises

    async def create(self, request: CreateInput, changed_by: str, receipt: WriteReceipt | None = None) -> ContentItem:
        receipt = self._receipt(receipt)
        if (earlier := await self._earlier(receipt)) is not None:
            return _item_of(earlier)
        for _ in range(MAX_WRITE_ATTEMPTS):
            slug = request.slug or await self._free_slug(request.type, slug_from_title(request.data))
            now = now_iso(self.clock)
            item = ContentItem(
                id=ids.content_id(), type=request.type, slug=slug, data=request.data, status=request.status,
                version=1, sort_order=request.sort_order, created_at=now, updated_at=now, deleted_at=None,
            )
            statements = [self.repository.insert_statement(item)]
            if self.audit_log:
                statements.append(self.repository.history_statement(
                    self._history(item, "created", changed_by, "Created"), only_if_previous_changed=False))
            try:
                applied = await self._apply(statements, self._recorded("created", None, item, guarded=False),
                                            receipt, item)
            except ConstraintViolation:
                if request.slug is not None:
                    raise ConflictError(f"Content already exists: {request.type}/{request.slug}") from None
                continue  # someone took the generated slug meanwhile: pick the next one
            if isinstance(applied, StoredReceipt):
                return _item_of(applied)
            await self._notify(ContentChange("created", item.type, (item.slug,), item))
            return item
        raise ConflictError("Could not find a free slug; please give one explicitly")

    async def _free_slug(self, content_type: str, base: str) -> str:
        taken = await self.repository.slugs_starting_with(content_type, base)
        if base not in taken:
            return base
        number = 2
        while True:
            suffix = f"-{number}"
            candidate = base[: 100 - len(suffix)].rstrip("-") + suffix
            if candidate not in taken:
                return candidate
            number += 1

    async def update(self, content_id: str, request: UpdateInput, changed_by: str,
                     receipt: WriteReceipt | None = None) -> ContentItem:
        receipt = self._receipt(receipt)
        if (earlier := await self._earlier(receipt)) is not None:
            return _item_of(earlier)
        expected = request.version
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = await self.get(content_id)
            if current.deleted_at is not None:
                raise NotFoundError(f"Content not found: {content_id} (it is deleted; restore it first)")
            if expected is not None and current.version != expected:
                raise ConflictError(
                    f"Version conflict: the item is at version {current.version}, not {expected}")
            changed = [
                name for name, new, old in (
                    ("slug", request.slug, current.slug), ("data", request.data, current.data),
                    ("status", request.status, current.status), ("sortOrder", request.sort_order, current.sort_order),
                ) if new is not None and not _same_json(new, old)
            ]
            if not changed:
                return current
            item = replace(
                current,
                slug=request.slug if request.slug is not None else current.slug,
                data=request.data if request.data is not None else current.data,
                status=request.status if request.status is not None else current.status,
                sort_order=request.sort_order if request.sort_order is not None else current.sort_order,
                version=current.version + 1,
                updated_at=now_iso(self.clock),
            )
            summary = "Updated " + ", ".join(_FIELD_LABELS[name] for name in changed)
            applied = await self._compare_and_set(current, item, "updated", changed_by, summary, receipt)
            if isinstance(applied, StoredReceipt):
                return _item_of(applied)
            if applied:
                await self._notify(ContentChange("updated", item.type, tuple({current.slug, item.slug}), item))
                return item
            if expected is not None:
                raise ConflictError("Version conflict: the item changed while being updated")
        raise ConflictError("The item is being changed by too many writers at once; try again")

    async def _compare_and_set(
        self, current: ContentItem, item: ContentItem, change_type: str, changed_by: str, summary: str,
        receipt: WriteReceipt | None,
    ) -> bool | StoredReceipt:
        statements: list[Statement] = [self.repository.update_statement(item, current.version)]
        if self.audit_log:
            statements.append(self.repository.history_statement(
                self._history(item, change_type, changed_by, summary), only_if_previous_changed=True))
        try:
            return await self._apply(statements, self._recorded(change_type, current, item, guarded=True),
                                     receipt, item)
        except ConstraintViolation:
            raise ConflictError(f"Content already exists: {item.type}/{item.slug}") from None

    async def delete(self, content_id: str, changed_by: str, hard: bool = False,
                     receipt: WriteReceipt | None = None) -> None:
        receipt = self._receipt(receipt)
        if await self._earlier(receipt) is not None:
            return
        if hard:
            current = await self.get(content_id)
            applied = await self._apply(self.repository.purge_statements(content_id),
                                        self._recorded("purged", current, current, guarded=False), receipt, None)
            if isinstance(applied, StoredReceipt):
                return
            if not applied:  # purged by someone else meanwhile
                raise NotFoundError(f"Content not found: {content_id}")
            await self._notify(ContentChange("purged", current.type, (current.slug,), None))
            return
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = await self.get(content_id)
            if current.deleted_at is not None:
                raise NotFoundError(f"Content not found: {content_id} (already deleted)")
            now = now_iso(self.clock)
            item = replace(current, version=current.version + 1, updated_at=now, deleted_at=now)
            applied = await self._compare_and_set(current, item, "deleted", changed_by, "Deleted", receipt)
            if applied is True:
                await self._notify(ContentChange("deleted", item.type, (item.slug,), item))
            if applied:  # applied now, or by an earlier delete under the same key
                return
        raise ConflictError("The item is being changed by too many writers at once; try again")

    async def restore(self, content_id: str, version: int, changed_by: str,
                      receipt: WriteReceipt | None = None) -> ContentItem:
        """Copy the data of an earlier version into a new version (and undelete)."""
        receipt = self._receipt(receipt)
        if (earlier := await self._earlier(receipt)) is not None:
            return _item_of(earlier)
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = await self.get(content_id)
            snapshot = await self.repository.history_version(content_id, version)
            if snapshot is None:
                raise NotFoundError(f"Version {version} not found for content {content_id}")
            item = replace(
                current, data=snapshot.data, version=current.version + 1, updated_at=now_iso(self.clock),
                deleted_at=None,
            )
            applied = await self._compare_and_set(current, item, "restored", changed_by,
                                                  f"Restored version {version}", receipt)
            if isinstance(applied, StoredReceipt):
                return _item_of(applied)
            if applied:
                await self._notify(ContentChange("restored", item.type, (item.slug,), item))
                return item
        raise ConflictError("The item is being changed by too many writers at once; try again")


def _item_of(earlier: StoredReceipt) -> ContentItem:
    if earlier.outcome is None:  # a permanent delete's receipt, under the key of a create or update
        raise ConflictError("This Idempotency-Key was already used with a different request; use a new key")
    return earlier.outcome


def _fts_query(text: str, operator: str) -> str | None:
    """The admin's or visitor's words as an FTS5 query: each word quoted (so user text can never
    be FTS syntax) and prefix-matched, joined by AND or OR; None when there is no word."""
    words = _WORD.findall(text.lower())[:16]
    if not words:
        return None
    return f" {operator} ".join(f'"{word}"*' for word in words)


def _same_json(new: object, old: object) -> bool:
    """Equal as the client sees them. Python's == says {"n": 1} == {"n": 1.0} == {"n": True}
    and ignores key order, but each of those renders differently, so each is a change."""
    if isinstance(new, dict | list) or isinstance(old, dict | list):
        return jsonutil.dumps(new) == jsonutil.dumps(old)
    return type(new) is type(old) and new == old
