"""SQL for content and its history. The only module that knows the tables."""

from __future__ import annotations

from collections.abc import Sequence

from folionaut.content.models import ContentItem, HistoryEntry
from folionaut.content.paging import Page, PageKey, encode_cursor
from folionaut.core import jsonutil
from folionaut.storage.base import Database, ExecResult, Row, Statement

_COLUMNS = "id, type, slug, data, status, version, sort_order, created_at, updated_at, deleted_at"
_PUBLIC = "status = 'published' AND deleted_at IS NULL"
# Spec order: sortOrder ascending, then newest first. Timestamps have millisecond
# resolution, so rowid (insertion order) breaks ties between same-millisecond creates.
_ORDER = "ORDER BY sort_order ASC, created_at DESC, rowid DESC"
_LISTED = f"{_COLUMNS}, rowid AS list_rowid"
_COUNTER = "SELECT counter FROM folionaut_content_changes WHERE id = 1"


class ContentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- reads -----------------------------------------------------------------

    async def get(self, content_id: str) -> ContentItem | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM content WHERE id = ?", (content_id,))
        return ContentItem.from_row(row) if row else None

    async def get_published(self, content_type: str, slug: str) -> ContentItem | None:
        row = await self.db.fetch_one(
            f"SELECT {_COLUMNS} FROM content WHERE type = ? AND slug = ? AND {_PUBLIC}", (content_type, slug)
        )
        return ContentItem.from_row(row) if row else None

    async def get_by_slug(self, content_type: str, slug: str) -> ContentItem | None:
        """Any status, deleted included ((type, slug) is unique across every row)."""
        row = await self.db.fetch_one(f"SELECT {_COLUMNS} FROM content WHERE type = ? AND slug = ?",
                                      (content_type, slug))
        return ContentItem.from_row(row) if row else None

    async def list_published(self, content_type: str | None = None) -> list[ContentItem]:
        return [ContentItem.from_row(row) for row in await self.published_rows(content_type)]

    async def published_rows(self, content_type: str | None = None) -> list[Row]:
        if content_type is None:
            return await self.db.fetch_all(f"SELECT {_COLUMNS} FROM content WHERE {_PUBLIC} {_ORDER}")
        return await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM content WHERE type = ? AND {_PUBLIC} {_ORDER}", (content_type,))

    async def published_types(self) -> list[tuple[str, int]]:
        rows = await self.db.fetch_all(
            f"SELECT type, count(*) AS n FROM content WHERE {_PUBLIC} GROUP BY type ORDER BY type"
        )
        return [(row["type"], int(row["n"])) for row in rows]

    async def type_status_counts(self) -> list[tuple[str, str, int]]:
        """(type, status, count) of every item not deleted."""
        rows = await self.db.fetch_all(
            "SELECT type, status, count(*) AS n FROM content WHERE deleted_at IS NULL "
            "GROUP BY type, status ORDER BY type, status"
        )
        return [(row["type"], row["status"], int(row["n"])) for row in rows]

    async def list_admin(
        self, content_type: str | None, status: str | None, include_deleted: bool, limit: int, offset: int,
        after: PageKey | None = None,
    ) -> Page:
        where, params = [], []
        if content_type is not None:
            where.append("type = ?")
            params.append(content_type)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if not include_deleted:
            where.append("deleted_at IS NULL")
        return await self._page(where, params, limit, after, offset)

    async def page_published(self, content_type: str | None, limit: int, after: PageKey | None) -> Page:
        where, params = [_PUBLIC], []
        if content_type is not None:
            where.append("type = ?")
            params.append(content_type)
        return await self._page(where, params, limit, after)

    async def _page(self, where: list[str], params: list[object], limit: int, after: PageKey | None,
                    offset: int = 0) -> Page:
        """One page in list order (one more row is read to know whether another page follows).

        After a cursor: the rest of its sort_order group, then the groups after it, each an
        index range (migration 0005); the outer ORDER BY sorts at most 2 × (limit + 1) rows.
        """
        condition = " AND ".join(where) or "1 = 1"
        if after is None:
            rows = await self.db.fetch_all(
                f"SELECT {_LISTED} FROM content WHERE {condition} {_ORDER} LIMIT ? OFFSET ?",
                (*params, limit + 1, offset))
        else:
            rows = await self.db.fetch_all(
                f"SELECT * FROM (SELECT {_LISTED} FROM content WHERE {condition} AND sort_order = ? "
                "AND (created_at < ? OR (created_at = ? AND rowid < ?)) ORDER BY created_at DESC, rowid DESC LIMIT ?) "
                f"UNION ALL SELECT * FROM (SELECT {_LISTED} FROM content WHERE {condition} AND sort_order > ? "
                f"{_ORDER} LIMIT ?) ORDER BY sort_order ASC, created_at DESC, list_rowid DESC LIMIT ?",
                (*params, after.sort_order, after.created_at, after.created_at, after.rowid, limit + 1,
                 *params, after.sort_order, limit + 1, limit + 1))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = encode_cursor(PageKey(int(last["sort_order"] or 0), last["created_at"],
                                                int(last["list_rowid"])))
        return Page([ContentItem.from_row(row) for row in rows], next_cursor)

    async def slugs_starting_with(self, content_type: str, base: str) -> set[str]:
        pattern = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
        rows = await self.db.fetch_all(
            "SELECT slug FROM content WHERE type = ? AND (slug = ? OR slug LIKE ? ESCAPE '\\')",
            (content_type, base, pattern),
        )
        return {row["slug"] for row in rows}

    async def history(self, content_id: str, limit: int, offset: int) -> list[HistoryEntry]:
        rows = await self.db.fetch_all(
            "SELECT id, content_id, version, data, change_type, changed_by, change_summary, created_at "
            "FROM content_history WHERE content_id = ? ORDER BY version DESC, created_at DESC LIMIT ? OFFSET ?",
            (content_id, limit, offset),
        )
        return [HistoryEntry.from_row(row) for row in rows]

    async def history_version(self, content_id: str, version: int) -> HistoryEntry | None:
        row = await self.db.fetch_one(
            "SELECT id, content_id, version, data, change_type, changed_by, change_summary, created_at "
            "FROM content_history WHERE content_id = ? AND version = ? ORDER BY created_at DESC LIMIT 1",
            (content_id, version),
        )
        return HistoryEntry.from_row(row) if row else None

    async def change_counter(self) -> int:
        """Moves on every write to content by anyone (see migration 0003)."""
        row = await self.db.fetch_one(_COUNTER)
        return int(row["counter"]) if row else 0

    async def search(self, query: str, limit: int, published_only: bool = True) -> list[ContentItem]:
        """Full-text search (FTS5, bm25: title weighs most) over published items, or every item not deleted."""
        visible = f"c.{_PUBLIC.replace(' AND ', ' AND c.')}" if published_only else "c.deleted_at IS NULL"
        rows = await self.db.fetch_all(
            f"SELECT {', '.join('c.' + col.strip() for col in _COLUMNS.split(','))} "
            "FROM content_search JOIN content AS c ON c.rowid = content_search.rowid "
            f"WHERE content_search MATCH ? AND {visible} "
            "ORDER BY bm25(content_search, 2.0, 5.0, 1.0) LIMIT ?",
            (query, limit),
        )
        return [ContentItem.from_row(row) for row in rows]

    # --- writes: each returns statements for one atomic batch -------------------

    @staticmethod
    def insert_statement(item: ContentItem) -> Statement:
        return Statement(
            f"INSERT INTO content ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (item.id, item.type, item.slug, jsonutil.dumps_str(item.data), item.status, item.version,
             item.sort_order, item.created_at, item.updated_at, item.deleted_at),
        )

    @staticmethod
    def update_statement(item: ContentItem, expected_version: int) -> Statement:
        """Write the new state only if nobody changed the row since it was read."""
        return Statement(
            "UPDATE content SET slug = ?, data = ?, status = ?, version = ?, sort_order = ?, updated_at = ?, "
            "deleted_at = ? WHERE id = ? AND version = ?",
            (item.slug, jsonutil.dumps_str(item.data), item.status, item.version, item.sort_order,
             item.updated_at, item.deleted_at, item.id, expected_version),
        )

    @staticmethod
    def history_statement(entry: HistoryEntry, only_if_previous_changed: bool) -> Statement:
        """Append a history row; guarded so it lands only with the change it records."""
        guard = " WHERE changes() = 1" if only_if_previous_changed else ""
        return Statement(
            "INSERT INTO content_history (id, content_id, version, data, change_type, changed_by, "
            f"change_summary, created_at) SELECT ?, ?, ?, ?, ?, ?, ?, ?{guard}",
            (entry.id, entry.content_id, entry.version, jsonutil.dumps_str(entry.data), entry.change_type,
             entry.changed_by, entry.change_summary, entry.created_at),
        )

    @staticmethod
    def purge_statements(content_id: str) -> list[Statement]:
        return [
            Statement("DELETE FROM content_history WHERE content_id = ?", (content_id,)),
            Statement("DELETE FROM content WHERE id = ?", (content_id,)),
        ]

    async def write(self, statements: Sequence[Statement]) -> tuple[list[ExecResult], tuple[int, int]]:
        """Run the statements as one atomic batch; also the change counter before and after them,
        read in the same transaction: the counter values in between are this write's own."""
        results = await self.db.batch([Statement(_COUNTER), *statements, Statement(_COUNTER)])
        return results[1:-1], (_counter_of(results[0]), _counter_of(results[-1]))


def _counter_of(result: ExecResult) -> int:
    return int(result.rows[0]["counter"]) if result.rows else 0
