"""The read-cache interface.

Public content reads are cached as the exact response bytes plus their ETag, so
a hit costs no SQL, no JSON encoding and no hashing. Keys live under
``content:`` (``content:bundle``, ``content:list:<type>``, ``content:item:<type>:<slug>``)
so an operator can flush them with ``redis-cli KEYS "content:*"``.

An entry also carries the encoded variants made of its body (gzip, zstd: one
per content coding, made once and kept with the bytes, ``variants``) and what
the HTTP layer serialised for it (``prepared``); they live and die with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "CacheEntry", "ContentCache", "bundle_key", "item_key", "keys_touched_by", "list_key", "page_key",
]


@dataclass(slots=True)
class CacheEntry:
    body: bytes
    etag: str  # the full weak ETag header value, W/"…"
    #: The content coding of ``body``: "identity" for the rendered body, else its variant's coding.
    coding: str = field(default="identity", compare=False)
    #: Encoded representations of ``body`` by content coding ("gzip", "zstd"); each has its own ETag.
    variants: dict[str, CacheEntry] = field(default_factory=dict, compare=False, repr=False)
    #: What the HTTP layer made of this representation (its serialised heads); opaque here.
    prepared: object = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        """Bytes held: the body and every variant's body."""
        return len(self.body) + sum(len(variant.body) for variant in self.variants.values() if variant is not self)


class ContentCache(Protocol):
    def peek(self, key: str) -> CacheEntry | None:
        """An in-process hit without awaiting anything (the hot path), else None: then ``get``."""
        ...

    async def get(self, key: str) -> CacheEntry | None: ...

    async def set(self, key: str, entry: CacheEntry) -> None: ...

    def resized(self, key: str, entry: CacheEntry) -> None:
        """``entry`` (cached under ``key``) gained a variant: count its bytes, evict if over the bound."""
        ...

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


def page_key(content_type: str | None, generation: int, limit: int, cursor: str | None) -> str:
    """One page of a list (``?limit=…&cursor=…``). Pages are told apart from the lists they are cut
    from by a generation that moves whenever the list is invalidated, so no page outlives its list."""
    return f"{list_key(content_type)}:page:{generation}:{limit}:{cursor or ''}"


def item_key(content_type: str, slug: str) -> str:
    return f"content:item:{content_type}:{slug}"


def keys_touched_by(content_type: str, *slugs: str) -> list[str]:
    """Every cached read that a write to an item of this type (with these slugs) can change."""
    return [bundle_key(), list_key(None), list_key(content_type), *(item_key(content_type, s) for s in slugs)]
