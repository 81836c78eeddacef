"""Splitting SQL scripts into single statements (libSQL batches take one each)."""

from __future__ import annotations

import sqlite3


def split_statements(script: str) -> list[tuple[int, str]]:
    """Split a script into ``(first_line_number, statement)`` pairs.

    Uses SQLite's own notion of a complete statement, so semicolons inside
    strings and ``CREATE TRIGGER … BEGIN … END;`` bodies are handled.
    """
    statements: list[tuple[int, str]] = []
    buffer: list[str] = []
    start_line = 0
    # Lines end at "\n" only (not str.splitlines' \r, \x0c, \u2028, …), so the
    # numbers match editors and the sqlite3 shell even when data holds such characters.
    pieces = script.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    for number, line in enumerate(lines, start=1):
        if not buffer:
            if not line.strip() or line.lstrip().startswith("--"):
                continue
            start_line = number
        buffer.append(line)
        text = "".join(buffer)
        if sqlite3.complete_statement(text):
            statements.append((start_line, text.strip()))
            buffer = []
    tail = "".join(buffer).strip()
    if tail:
        statements.append((start_line, tail))
    return statements
