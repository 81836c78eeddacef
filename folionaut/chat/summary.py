"""The compact markdown summary of the published portfolio for the system prompt.

Rebuilt lazily and cached until the next content write (the content service's
change listener clears it), so a chat turn does not re-read every item.
"""

from __future__ import annotations

from typing import Any

from folionaut.content.models import ContentChange, ContentItem
from folionaut.content.service import ContentService

MAX_ITEMS_PER_TYPE = 15
MAX_LINE = 160
_SUMMARY_FIELDS = ("description", "summary", "excerpt", "role", "company", "tagline", "subtitle")


def _one_line(item: ContentItem) -> str:
    data: dict[str, Any] = item.data
    title = data.get("title") or data.get("name") or item.slug
    parts = [f"**{title}**"]
    for name in _SUMMARY_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
            break
    line = " — ".join(str(part) for part in parts)
    line = " ".join(line.split())
    if len(line) > MAX_LINE:
        line = line[: MAX_LINE - 1].rstrip() + "…"
    return f"- {line} (`{item.type}/{item.slug}`)"


class PortfolioSummary:
    def __init__(self, service: ContentService) -> None:
        self._service = service
        self._cached: str | None = None
        self._items: dict[str, list[ContentItem]] | None = None
        self._generation = 0
        service.on_change(self._invalidate)

    async def _invalidate(self, change: ContentChange) -> None:
        self._generation += 1
        self._cached = None
        self._items = None

    async def items(self) -> dict[str, list[ContentItem]]:
        """The published items by type (what the summary is made of), cached alike."""
        if self._items is not None:
            return self._items
        generation = self._generation
        grouped = await self._service.bundle()
        if generation == self._generation:
            self._items = grouped
        return grouped

    async def text(self) -> str:
        if self._cached is not None:
            return self._cached
        generation = self._generation
        grouped = await self.items()
        if not grouped:
            text = "_No published content yet._"
        else:
            sections = []
            for content_type in sorted(grouped):
                items = grouped[content_type]
                lines = [_one_line(item) for item in items[:MAX_ITEMS_PER_TYPE]]
                if len(items) > MAX_ITEMS_PER_TYPE:
                    lines.append(f"- …and {len(items) - MAX_ITEMS_PER_TYPE} more (use the tools)")
                sections.append(f"### {content_type} ({len(items)})\n" + "\n".join(lines))
            text = "\n\n".join(sections)
        if generation == self._generation:
            self._cached = text
        return text
