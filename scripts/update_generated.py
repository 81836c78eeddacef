#!/usr/bin/env python3
"""Rewrite every file generated from the settings declarations: config.toml and README's table.

    .venv/bin/python scripts/update_generated.py

Both come from ``folionaut.settings.Settings`` (each setting is declared once, as a
field there). tests/core/test_settings.py and tests/dist/test_readme.py fail while
either file differs from its rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from folionaut.settings import render_config_toml, render_settings_table  # noqa: E402

BEGIN, END = "<!-- settings-table:begin -->\n", "<!-- settings-table:end -->"


def with_table(readme: str) -> str:
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit("update_generated: README.md lacks the settings-table markers")
    return head + BEGIN + render_settings_table() + END + tail


def rewrite(path: Path, render: str) -> None:
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    if render != before:
        path.write_text(render, encoding="utf-8")
        print(f"{path.name}: updated")
    else:
        print(f"{path.name}: already current")


def main() -> int:
    rewrite(ROOT / "config.toml", render_config_toml())
    readme = ROOT / "README.md"
    rewrite(readme, with_table(readme.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
