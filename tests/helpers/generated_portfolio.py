"""A portfolio of any size, written straight into an SQLite file (no HTTP, no service).

Used by the scale tests and by ``scripts/bench.py --items N``: N published items
(1–3 KB of JSON each) over 8 types, each with its "created" history row, as the
service would have stored them, in one transaction. Deterministic for a seed
(ids, text and timestamps), so two databases made alike are byte-for-byte
comparable through a dump.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from folionaut.storage.migrate import apply_migrations
from folionaut.storage.sqlite import SQLiteDatabase

__all__ = ["TYPES", "content_rows", "create_portfolio_database", "insert_items", "new_portfolio_database"]

TYPES = ("project", "experience", "skill", "education", "testimonial", "post", "talk", "award")
_WORDS = ("async data platform design latency cache edge stream typed schema tests deploy metrics query "
          "service portfolio render search graph team mentor build review ship scale python rust web api "
          "cloud storage queue secure audit migrate model content frontend mobile").split()
_ID_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(_ID_ALPHABET) for _ in range(21))


def _timestamp(offset_ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=offset_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def content_rows(count: int, *, seed: int = 23, start: int = 0,
                 status: str = "published") -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    """(content row, history row) pairs for items number ``start`` … ``start + count - 1``."""
    rng = random.Random(f"{seed}:{start}")
    for number in range(start, start + count):
        kind = TYPES[number % len(TYPES)]
        target = rng.randint(1000, 3000)  # bytes of JSON per item
        data: dict[str, object] = {
            "title": f"{kind.title()} {number}: {_sentence(rng, 3)[:-1]}",
            "summary": _sentence(rng, rng.randint(12, 20)),
            "tags": rng.sample(_WORDS, 4),
            "url": f"https://example.com/{kind}/{number}",
            "year": 2010 + number % 15,
        }
        paragraphs: list[str] = []
        data["body"] = paragraphs
        while len(json.dumps(data)) < target:
            paragraphs.append(_sentence(rng, rng.randint(10, 30)))
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        content_id = _id(rng, "content_")
        created = _timestamp(number * 1000)
        yield ((content_id, kind, f"{kind}-{number}", text, status, 1, number % 20, created, created, None),
               (_id(rng, "hist_"), content_id, 1, text, "created", "admin", "Created", created))


def insert_items(path: Path, count: int, *, seed: int = 23, start: int = 0, status: str = "published") -> None:
    """Add ``count`` generated items (and their history) to an existing Folionaut database, in one transaction."""
    rows = list(content_rows(count, seed=seed, start=start, status=status))
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany("INSERT INTO content (id, type, slug, data, status, version, sort_order, created_at, "
                             "updated_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [c for c, _ in rows])
            conn.executemany("INSERT INTO content_history (id, content_id, version, data, change_type, changed_by, "
                             "change_summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [h for _, h in rows])
    finally:
        conn.close()


async def new_portfolio_database(path: Path, items: int, *, seed: int = 23) -> Path:
    """A new Folionaut database at ``path`` (migrations applied) holding ``items`` published items."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await SQLiteDatabase.open(path)
    try:
        await apply_migrations(db)
    finally:
        await db.close()
    insert_items(path, items, seed=seed)
    return path


def create_portfolio_database(path: Path, items: int, *, seed: int = 23) -> Path:
    """``new_portfolio_database`` outside an event loop (scripts)."""
    return asyncio.run(new_portfolio_database(path, items, seed=seed))
