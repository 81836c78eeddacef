"""Sources: the published items a reply used, as ``{type, slug, title}``.

For an offline answer they are the items it was written from. For the LLM's
answer: the items a tool fetched one by one (``get_content``), then any item —
found by a tool or published — whose title the answer names, at most
``MAX_SOURCES``. A title is the item's title, name, label, headline, role or
company, else its slug.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_SOURCES", "Source", "collect_candidates", "named_in_answer", "source_of", "sources_of"]

MAX_SOURCES = 10

Key = tuple[str, str]  # (type, slug)


@dataclass(frozen=True, slots=True)
class Source:
    """An item a reply used."""

    type: str
    slug: str
    title: str

    def to_wire(self) -> dict[str, str]:
        return {"type": self.type, "slug": self.slug, "title": self.title}


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def source_of(item: Any) -> Source:
    data = _field(item, "data")
    data = data if isinstance(data, Mapping) else {}
    title = next((str(data[name]) for name in ("title", "name", "label", "headline", "role", "company")
                  if isinstance(data.get(name), str) and data[name].strip()), str(_field(item, "slug")))
    return Source(str(_field(item, "type")), str(_field(item, "slug")), " ".join(title.split()))


def sources_of(items: Iterable[Any]) -> list[Source]:
    return [source_of(item) for item in items][:MAX_SOURCES]


def collect_candidates(result: Any, into: dict[Key, Source]) -> list[Key]:
    """Add the items in a tool result to ``into``; returns their keys."""
    if not isinstance(result, Mapping):
        return []
    keys: list[Key] = []
    found: list[Any] = []
    if isinstance(result.get("item"), Mapping):
        found.append(result["item"])
    for key in ("items", "results"):
        if isinstance(result.get(key), list):
            found.extend(entry for entry in result[key] if isinstance(entry, Mapping))
    for item in found:
        if "type" in item and "slug" in item:
            source = source_of(item)
            key = (source.type, source.slug)
            into.setdefault(key, source)
            keys.append(key)
    return keys


def named_in_answer(answer: str, candidates: Mapping[Key, Source], fetched: Iterable[Key],
                    published: Iterable[Source]) -> list[Source]:
    """The sources of an LLM answer: the items a tool fetched one by one, then any item (found by a
    tool, or published) whose title the answer names."""
    chosen = [candidates[key] for key in fetched]
    lowered = answer.lower()
    known = dict(candidates)
    for source in published:
        known.setdefault((source.type, source.slug), source)
    for source in known.values():
        if len(chosen) >= MAX_SOURCES:
            break
        title = source.title.lower()
        if source not in chosen and len(title) >= 3 and re.search(
                r"(?<!\w)" + re.escape(title) + r"(?!\w)", lowered):
            chosen.append(source)
    return chosen
