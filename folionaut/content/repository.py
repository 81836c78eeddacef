"""SQL for content and its history. The only module that knows the tables."""

from __future__ import annotations

from collections.abc import Sequence

from folionaut.content.models import AdminListQuery, ContentItem, HistoryEntry
from folionaut.content.paging import Page, PageKey, encode_cursor, encode_offset_cursor
from folionaut.core import jsonutil
from folionaut.storage.base import Database, ExecResult, Row, Statement

_COLUMNS = "id, type, slug, data, status, version, sort_order, created_at, updated_at, deleted_at"
_PUBLIC = "status = 'published' AND deleted_at IS NULL"
# Spec order: sortOrder ascending, then newest first. Timestamps have millisecond
# resolution, so rowid (insertion order) breaks ties between same-millisecond creates.
_ORDER = "ORDER BY sort_order ASC, created_at DESC, rowid DESC"
_ADMIN_SORT_COLUMNS = {
    "sortOrder": "c.sort_order", "updatedAt": "c.updated_at", "createdAt": "c.created_at",
    "title": "lower(coalesce(CAST(json_extract(c.data, '$.title') AS TEXT), ''))", "slug": "c.slug",
    "type": "c.type", "status": "c.status",
}
_C_COLUMNS = ", ".join("c." + column.strip() for column in _COLUMNS.split(","))
_HISTORY_COLUMNS = "id, content_id, version, data, change_type, changed_by, change_summary, created_at"
_LISTED = f"{_C_COLUMNS}, c.rowid AS list_rowid"
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

    @staticmethod
    def _admin_where(query: AdminListQuery, match: str | None) -> tuple[str, str, list[object]]:
        """FROM and WHERE of an admin listing; ``match`` is a safe FTS5 query (the service builds it)."""
        source = "content AS c"
        where: list[str] = []
        params: list[object] = []
        if match is not None:
            source = "content_search JOIN content AS c ON c.rowid = content_search.rowid"
            where.append("content_search MATCH ?")
            params.append(match)
        if query.content_type is not None:
            where.append("c.type = ?")
            params.append(query.content_type)
        if query.status is not None:
            where.append("c.status = ?")
            params.append(query.status)
        if query.deleted == "exclude":
            where.append("c.deleted_at IS NULL")
        elif query.deleted == "only":
            where.append("c.deleted_at IS NOT NULL")
        return source, " AND ".join(where) or "1 = 1", params

    async def list_admin(self, query: AdminListQuery, match: str | None, limit: int, offset: int) -> list[ContentItem]:
        source, where, params = self._admin_where(query, match)
        if query.sort is not None:
            direction = "DESC" if query.descending else "ASC"
            order = f"ORDER BY {_ADMIN_SORT_COLUMNS[query.sort]} {direction}, c.rowid {direction}"
        elif match is not None:
            order = "ORDER BY bm25(content_search, 2.0, 5.0, 1.0), c.rowid DESC"
        else:
            order = "ORDER BY c.sort_order ASC, c.created_at DESC, c.rowid DESC"
        rows = await self.db.fetch_all(
            f"SELECT {_C_COLUMNS} FROM {source} WHERE {where} {order} LIMIT ? OFFSET ?", (*params, limit, offset))
        return [ContentItem.from_row(row) for row in rows]

    async def page_admin(self, query: AdminListQuery, match: str | None, limit: int, offset: int,
                         after: PageKey | None) -> Page:
        """A page of the admin listing with the cursor of the next. In the spec's order (no sort, no
        search) the cursor is a key (keyset paging); sorted or searched, it carries the position."""
        if query.sort is not None or match is not None:
            items = await self.list_admin(query, match, limit + 1, offset)
            more = len(items) > limit
            return Page(items[:limit], encode_offset_cursor(offset + limit) if more else None)
        source, where, params = self._admin_where(query, None)
        return await self._page(source, where, params, limit, after, offset)

    async def page_published(self, content_type: str | None, limit: int, after: PageKey | None) -> Page:
        where, params = "c.status = 'published' AND c.deleted_at IS NULL", []
        if content_type is not None:
            where += " AND c.type = ?"
            params.append(content_type)
        return await self._page("content AS c", where, params, limit, after)

    async def _page(self, source: str, where: str, params: list[object], limit: int, after: PageKey | None,
                    offset: int = 0) -> Page:
        """One page in list order (one more row is read to know whether another page follows).

        After a cursor: the rest of its sort_order group, then the groups after it, each an
        index range (migration 0008); the outer ORDER BY sorts at most 2 × (limit + 1) rows.
        """
        order = "ORDER BY c.sort_order ASC, c.created_at DESC, c.rowid DESC"
        if after is None:
            rows = await self.db.fetch_all(
                f"SELECT {_LISTED} FROM {source} WHERE {where} {order} LIMIT ? OFFSET ?", (*params, limit + 1, offset))
        else:
            rows = await self.db.fetch_all(
                f"SELECT * FROM (SELECT {_LISTED} FROM {source} WHERE {where} AND c.sort_order = ? "
                "AND (c.created_at < ? OR (c.created_at = ? AND c.rowid < ?)) "
                "ORDER BY c.created_at DESC, c.rowid DESC LIMIT ?) "
                f"UNION ALL SELECT * FROM (SELECT {_LISTED} FROM {source} WHERE {where} AND c.sort_order > ? "
                f"{order} LIMIT ?) ORDER BY sort_order ASC, created_at DESC, list_rowid DESC LIMIT ?",
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

    async def count_admin(self, query: AdminListQuery, match: str | None) -> int:
        source, where, params = self._admin_where(query, match)
        row = await self.db.fetch_one(f"SELECT count(*) AS n FROM {source} WHERE {where}", params)
        return int(row["n"]) if row else 0

    async def counts(self) -> list[tuple[str, str, bool, int]]:
        """(type, status, deleted, count) for every combination that has items."""
        rows = await self.db.fetch_all(
            "SELECT type, status, deleted_at IS NOT NULL AS deleted, count(*) AS n FROM content "
            "GROUP BY type, status, deleted ORDER BY type, status, deleted")
        return [(row["type"], row["status"], bool(row["deleted"]), int(row["n"])) for row in rows]

    async def recent_changes(self, limit: int) -> list[tuple[HistoryEntry, str, str]]:
        """The latest history entries with their item's type and slug, newest first."""
        rows = await self.db.fetch_all(
            "SELECT h.id, h.content_id, h.version, h.data, h.change_type, h.changed_by, h.change_summary, "
            "h.created_at, c.type AS item_type, c.slug AS item_slug "
            "FROM content_history AS h JOIN content AS c ON c.id = h.content_id "
            "ORDER BY h.created_at DESC, h.rowid DESC LIMIT ?", (limit,))
        return [(HistoryEntry.from_row(row), row["item_type"], row["item_slug"]) for row in rows]

    async def slugs_starting_with(self, content_type: str, base: str) -> set[str]:
        pattern = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
        rows = await self.db.fetch_all(
            "SELECT slug FROM content WHERE type = ? AND (slug = ? OR slug LIKE ? ESCAPE '\\')",
            (content_type, base, pattern),
        )
        return {row["slug"] for row in rows}

    async def history(self, content_id: str, limit: int, offset: int) -> list[HistoryEntry]:
        rows = await self.db.fetch_all(
            f"SELECT {_HISTORY_COLUMNS} "
            "FROM content_history WHERE content_id = ? ORDER BY version DESC, created_at DESC LIMIT ? OFFSET ?",
            (content_id, limit, offset),
        )
        return [HistoryEntry.from_row(row) for row in rows]

    async def history_version(self, content_id: str, version: int) -> HistoryEntry | None:
        row = await self.db.fetch_one(
            f"SELECT {_HISTORY_COLUMNS} "
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
            f"SELECT {_C_COLUMNS} "
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
