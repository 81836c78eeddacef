"""Conditional requests (RFC 9110 §13.1.2): If-None-Match.

    If-None-Match = "*" / #entity-tag
    entity-tag    = [ "W/" ] DQUOTE *etagc DQUOTE
    etagc         = %x21 / %x23-7E / obs-text

GET uses weak comparison: ``W/"x"`` and ``"x"`` match each other. A header that
does not parse is ignored as a whole (a full 200 is always a safe answer, a
wrong 304 is not), as is ``*`` mixed into a list.
"""

from __future__ import annotations

import re

# An entity-tag; the opaque part (quotes included) is group 2. etagc allows ",",
# so a list cannot be split on commas first. Header text decoded from UTF-8 can
# hold any non-ASCII character where the RFC says obs-text: etagc is everything
# but controls, space, DQUOTE and DEL (a negated class: the ranges up to
# U+10FFFF took 2.5 ms of every start to compile).
_ENTITY_TAG = re.compile(r'(W/)?("[^\x00-\x20\x22\x7f]*")')
_OWS = " \t"


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _skip(header: str, pos: int, chars: str) -> int:
    while pos < len(header) and header[pos] in chars:
        pos += 1
    return pos


def parse_entity_tags(header: str) -> list[str] | None:
    """The listed entity-tags (opaque part, weakness dropped); ``None`` means ``*``.

    Empty list members (``a, , b``) are allowed, as RFC 9110 §5.6.1 asks of
    recipients. Anything malformed makes the whole header yield ``[]``: no match.
    """
    if header.strip(_OWS) == "*":
        return None
    tags: list[str] = []
    pos = _skip(header, 0, _OWS + ",")
    while pos < len(header):
        match = _ENTITY_TAG.match(header, pos)
        if match is None:
            return []
        tags.append(match.group(2))
        pos = _skip(header, match.end(), _OWS)
        if pos < len(header) and header[pos] != ",":
            return []
        pos = _skip(header, pos, _OWS + ",")
    return tags


def none_match(header: str | None, etag: str) -> bool:
    """True when If-None-Match says the client already has ``etag`` (weak comparison)."""
    if header is None:
        return False
    if header == etag:  # the common case, no parsing
        return True
    tags = parse_entity_tags(header)
    return tags is None or _opaque(etag) in tags
