"""Tool results given back to the model, kept under a size budget without ever cutting JSON.

A full listing of a large portfolio can be tens of thousands of characters; the
model's context (and the visitor's token budget) should not pay for it, and
cutting the JSON text at a fixed length handed the model invalid JSON with a
third of the items. Instead, in order, until the result fits:

1. long strings inside it are shortened (to 300, then 120 characters), marked
   with "…";
2. a list of items (``items`` or ``results``) is paged: as many whole items as
   fit are kept, and ``truncated`` says how many there were and how to get the
   rest (``list_content`` with ``offset``, or ``get_content`` for one item);
3. what still does not fit becomes a short, valid summary saying so.
"""

from __future__ import annotations

from typing import Any

from folionaut.core import jsonutil

__all__ = ["fit_tool_result"]

_STRING_LIMITS = (300, 120)
_LIST_KEYS = ("items", "results")


def _shorten(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
    if isinstance(value, dict):
        return {key: _shorten(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_shorten(item, limit) for item in value]
    return value


def fit_tool_result(result: Any, limit: int) -> str:
    """``result`` as JSON text of at most ``limit`` characters (always valid JSON)."""
    text = jsonutil.dumps_str(result)
    if len(text) <= limit:
        return text
    for string_limit in _STRING_LIMITS:
        shortened = _shorten(result, string_limit)
        text = jsonutil.dumps_str(shortened)
        if len(text) <= limit:
            return text
    if isinstance(shortened, dict):
        for key in _LIST_KEYS:
            entries = shortened.get(key)
            if isinstance(entries, list) and entries:
                paged = _page(shortened, key, entries, limit)
                if paged is not None:
                    return paged
    summary = {"error": "result too large to show",
               "note": "ask for less: one type with list_content, a search, or one item with get_content"}
    return jsonutil.dumps_str(summary)


def _page(result: dict[str, Any], key: str, entries: list[Any], limit: int) -> str | None:
    """As many whole entries as fit, with a note on the rest; None when not even one fits."""
    total = len(entries)
    offset = result.get("offset", 0) if isinstance(result.get("offset"), int) else 0

    def render(count: int) -> str:
        note = (f"only {count} of {total} shown to keep the answer short; call list_content with "
                f"offset={offset + count} for more, or get_content for one item")
        return jsonutil.dumps_str({**result, key: entries[:count],
                                   "truncated": {"returned": count, "total": total, "note": note}})

    low, high = 0, total  # the largest count that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return render(low) if low > 0 else None
