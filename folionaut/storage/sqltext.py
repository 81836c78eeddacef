"""Splitting SQL scripts into single statements (libSQL batches take one each)."""

from __future__ import annotations

import sqlite3

__all__ = ["code_of", "split_statements"]


def split_statements(script: str) -> list[tuple[int, str]]:
    """Split a script into ``(first_line_number, statement)`` pairs.

    Uses SQLite's own notion of a complete statement, so semicolons inside
    strings and ``CREATE TRIGGER … BEGIN … END;`` bodies are handled, and so
    are two statements on one line (each is its own pair, with that line's number).
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
            statements += _one_by_one(start_line, text)
            buffer = []
    tail = "".join(buffer).strip()
    if tail:
        statements.append((start_line, tail))
    return statements


def _one_by_one(line: int, text: str) -> list[tuple[int, str]]:
    """The statements of ``text`` (complete, ending on its last line), with their first lines' numbers."""
    found: list[tuple[int, str]] = []

    def add(start: int, statement: str) -> None:
        if code_of(statement):  # not just a comment (`COMMIT; -- end; really`)
            first = start + len(statement) - len(statement.lstrip())
            found.append((line + text.count("\n", 0, first), statement.strip()))

    start = 0
    end = text.find(";")
    while end != -1 and text.find(";", end + 1) != -1:  # more than one semicolon: maybe more than one statement
        if sqlite3.complete_statement(text[start:end + 1]):
            add(start, text[start:end + 1])
            start = end + 1
        end = text.find(";", end + 1)
    add(start, text[start:])
    return found


def code_of(sql: str) -> str:
    """``sql`` from its first token: leading whitespace and ``--`` and ``/* */`` comments removed, so a
    statement is told by its first word however it is dressed (``/**/ ATTACH …``)."""
    position = 0
    while True:
        while position < len(sql) and sql[position].isspace():
            position += 1
        if sql.startswith("--", position):
            end = sql.find("\n", position)
            position = len(sql) if end == -1 else end + 1
        elif sql.startswith("/*", position):
            end = sql.find("*/", position + 2)
            position = len(sql) if end == -1 else end + 2
        else:
            return sql[position:]
