#!/usr/bin/env python3
"""Rewrite README.md's configuration table from folionaut.settings.SETTINGS.

    .venv/bin/python scripts/update_readme.py

tests/dist/test_readme.py fails while the README's table differs from this rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from folionaut.settings import render_settings_table  # noqa: E402

BEGIN, END = "<!-- settings-table:begin -->\n", "<!-- settings-table:end -->"


def with_table(readme: str) -> str:
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit("update_readme: README.md lacks the settings-table markers")
    return head + BEGIN + render_settings_table() + END + tail


def main() -> int:
    path = ROOT / "README.md"
    before = path.read_text(encoding="utf-8")
    after = with_table(before)
    if after != before:
        path.write_text(after, encoding="utf-8")
        print("README.md: configuration table updated")
    else:
        print("README.md: configuration table already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
