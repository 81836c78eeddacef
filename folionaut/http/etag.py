"""Conditional requests (RFC 9110 §13.1): If-None-Match and If-Match."""

from __future__ import annotations

import re

_TAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def parse_entity_tags(header: str) -> list[str] | None:
    """The listed entity-tags (opaque part, weakness dropped); ``None`` means ``*``."""
    if header.strip() == "*":
        return None
    return [match.group(2) for match in _TAG.finditer(header)]


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match says the client already has ``etag`` (weak comparison)."""
    if header is None:
        return False
    if header == etag:  # the common case, no parsing
        return True
    tags = parse_entity_tags(header)
    return tags is None or _opaque(etag) in tags
