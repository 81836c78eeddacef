"""The migrations shipped inside the package, and the table that records which are applied.

Files are ``migrations/NNNN_name.sql`` next to this module. Shared by ``migrate``
(which applies them) and ``adopt`` (which records the baseline of an original
Folionaut database instead of applying it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_TABLE = "folionaut_migrations"
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_MIGRATIONS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
    "version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    # Files beside this module: the package is always files on disk (a wheel's install, the zipapp's
    # extraction), and importlib.resources cost every start ~3 ms of imports to say the same.
    folder = Path(__file__).with_name("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE_PATTERN.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)
