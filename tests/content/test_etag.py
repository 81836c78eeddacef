"""If-None-Match parsing and weak comparison (RFC 9110 §8.8.3, §13.1.2)."""

from __future__ import annotations

import pytest

from folionaut.http.etag import none_match, parse_entity_tags

ETAG = 'W/"abc123"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('"a"', ['"a"']),
        ('W/"a"', ['"a"']),
        ('"a", W/"b" ,"c"', ['"a"', '"b"', '"c"']),
        ('\t"a",\t"b"\t', ['"a"', '"b"']),
        ('"a", , ,"b"', ['"a"', '"b"']),  # empty list members are tolerated
        (', "a",', ['"a"']),
        ('""', ['""']),
        ('W/"a,b", "c"', ['"a,b"', '"c"']),  # a comma is a legal etagc
        ('"ü"', ['"ü"']),  # obs-text
        ("*", None),
        ("  *  ", None),
    ],
)
def test_parse_valid_lists(header: str, expected: list[str] | None) -> None:
    assert parse_entity_tags(header) == expected


@pytest.mark.parametrize(
    "header",
    ["", "   ", "garbage", "abc123", '"a" junk', '"a" "b"', '"unterminated', 'w/"a"', 'W/ "a"', 'W/a',
     '"a", *', '*, "a"', '"a"b"', '"a\x7f"', '"with space"'],
)
def test_parse_malformed_gives_no_tags(header: str) -> None:
    assert parse_entity_tags(header) == []


@pytest.mark.parametrize(
    "header",
    [ETAG, '"abc123"', 'W/"abc123"', '"x", W/"abc123"', 'W/"x",  "abc123" , W/"y"', "*", ' W/"abc123" '],
)
def test_matches_with_weak_comparison(header: str) -> None:
    assert none_match(header, ETAG)
    assert none_match(header, '"abc123"')  # a strong current tag matches weak and strong alike


@pytest.mark.parametrize(
    "header",
    [None, "", '"abc1234"', 'W/"ABC123"', '"abc12"', 'W/"x", "y"', "abc123", 'W/"abc123" junk',
     'W/"abc123", *', '"abc123" "x"'],
)
def test_does_not_match(header: str | None) -> None:
    assert not none_match(header, ETAG)
