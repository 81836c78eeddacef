"""A dump taken while the content service writes is a state that existed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.content.validation import CreateInput, UpdateInput
from folionaut.core.clock import SystemClock
from folionaut.storage.dump import dump_database
from folionaut.storage.migrate import apply_migrations
from folionaut.storage.restore import restore_dump
from folionaut.storage.sqlite import SQLiteDatabase

DUMPS = 5


async def test_dumps_during_writes_restore_to_consistent_states(tmp_path: Path) -> None:
    db = await SQLiteDatabase.open(tmp_path / "live.db")
    await apply_migrations(db)
    service = ContentService(ContentRepository(db), SystemClock())
    writes = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal writes
        created: list[str] = []
        while not stop.is_set():
            if len(created) < 20 or writes % 3 == 0:
                item = await service.create(
                    CreateInput(type="project", slug=None, data={"title": f"Item {writes} ü🚀"},
                                status="published", sort_order=0), changed_by="writer")
                created.append(item.id)
            else:
                await service.update(created[writes % len(created)],
                                     UpdateInput(data={"title": f"Item {writes} edited"}), changed_by="writer")
            writes += 1

    task = asyncio.create_task(writer())
    dumps: list[bytes] = []
    writes_during: list[int] = []
    try:
        for _ in range(DUMPS):
            seen = writes
            for _ in range(2000):  # bounded wait for the writer to move on between dumps
                if writes >= seen + 10 or task.done():
                    break
                await asyncio.sleep(0.005)
            before = writes
            dumps.append(await dump_database(db))
            writes_during.append(writes - before)
    finally:
        stop.set()
        await task
        await db.close()

    assert len(set(dumps)) == DUMPS  # each dump saw a different state
    assert any(writes_during), "the writer never ran while a dump was reading"
    for number, text in enumerate(dumps):
        target = await SQLiteDatabase.open(tmp_path / f"restored-{number}.db")
        try:
            # Restore checks foreign keys: a history row whose content was read from an older state fails here.
            await restore_dump(target, text)
            drift = await target.fetch_all(
                "SELECT c.id, c.version, (SELECT max(h.version) FROM content_history AS h "
                "WHERE h.content_id = c.id) AS latest FROM content AS c "
                "WHERE latest IS NULL OR latest != c.version")
            assert drift == [], f"dump {number}: content and history from different moments"
            counts = await target.fetch_one(
                "SELECT (SELECT count(*) FROM content) AS items, (SELECT count(*) FROM content_search) AS indexed")
            assert counts is not None and counts["items"] == counts["indexed"] > 0
        finally:
            await target.close()
