"""The read-cache interface.

Public content reads are cached as the exact response bytes plus their ETag, so
a hit costs no SQL, no JSON encoding and no hashing. Keys live under
``content:`` (``content:bundle``, ``content:list:<type>``, ``content:item:<type>:<slug>``)
so an operator can flush them with ``redis-cli KEYS "content:*"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CacheEntry:
    body: bytes
    etag: str  # the full weak ETag header value, W/"…"


class ContentCache(Protocol):
    async def get(self, key: str) -> CacheEntry | None: ...

    async def set(self, key: str, entry: CacheEntry) -> None: ...

    async def delete(self, *keys: str) -> None:
        """Remove keys; must have taken effect before it returns."""
        ...

    async def clear(self) -> None:
        """Remove every ``content:*`` key."""
        ...

    async def close(self) -> None: ...


def bundle_key() -> str:
    return "content:bundle"


def list_key(content_type: str | None) -> str:
    return f"content:list:{content_type or '*'}"


def item_key(content_type: str, slug: str) -> str:
    return f"content:item:{content_type}:{slug}"


def keys_touched_by(content_type: str, *slugs: str) -> list[str]:
    """Every cached read that a write to an item of this type (with these slugs) can change."""
    return [bundle_key(), list_key(None), list_key(content_type), *(item_key(content_type, s) for s in slugs)]
