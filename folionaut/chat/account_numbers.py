"""Finding the numbers of a person's accounts in text: IBANs, payment cards and US SSNs.

- IBANs: two letters, two check digits and 11–30 more, accepted only when the
  ISO 13616 mod-97 checksum holds;
- cards: 13–19 digits, bare or in the usual 4-4-4-4 / 4-6-5 groups, with a
  card network's prefix and length and a valid Luhn checksum;
- SSNs: the 3-2-4 dashed shape, or any 9 digits right after "SSN" or "social
  security number".

The checksums keep long numbers in portfolio text (ids, order numbers, ISBNs)
as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["find_cards", "find_ibans", "find_ssns"]

_SSN = re.compile(r"(?<![\w\-/.#$])\d{3}-\d{2}-\d{4}(?!\w|[\-.]\d)")
_SSN_CONTEXT = re.compile(
    r"\b(?:ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?)[^\w\n]{0,5}(?:is\s+|:\s*)?"
    r"(?P<num>\d{3}[\s.\-]?\d{2}[\s.\-]?\d{4})(?!\w|[\-.]\d)",
    re.IGNORECASE,
)
_IBAN = re.compile(r"(?<![\w\-])[A-Z]{2}\d{2}(?:[ \u00a0]?[A-Z0-9]{4}){2,7}(?:[ \u00a0]?[A-Z0-9]{1,3})?(?![\w\-])")
_CARD = re.compile(r"(?<![\w.\-+/#$€£])\d{4}(?:[ \-]?\d){9,15}(?![\w]|[.\-/]\d)")
_CARD_GROUPINGS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4)}
# Card networks: (prefix, lengths). Amex is 15 digits, Diners 14–19, the rest 16 (Visa also 13 and 19).
_CARD_NETWORKS = (
    (re.compile(r"^3[47]"), {15}),
    (re.compile(r"^3(?:0[0-5]|[68])"), {14, 15, 16, 17, 18, 19}),
    (re.compile(r"^4"), {13, 16, 19}),
    (re.compile(r"^(?:5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720))"), {16}),
    (re.compile(r"^(?:6011|64[4-9]|65|62|35)"), {16, 17, 18, 19}),
)


def _iban_ok(candidate: str) -> bool:
    compact = "".join(candidate.split())
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(char, 36)) for char in rearranged)
    return int(number) % 97 == 1


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if not any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_NETWORKS):
        return False
    if not _luhn_ok(digits):
        return False
    groups = tuple(len(group) for group in re.split(r"[ \-]", candidate))
    return len(groups) == 1 or groups in _CARD_GROUPINGS


def find_ibans(text: str) -> Iterator[tuple[int, int]]:
    for match in _IBAN.finditer(text):
        if _iban_ok(match.group()):
            yield match.start(), match.end()


def find_cards(text: str) -> Iterator[tuple[int, int]]:
    for match in _CARD.finditer(text):
        if _card_ok(match.group()):
            yield match.start(), match.end()


def find_ssns(text: str) -> Iterator[tuple[int, int]]:
    for match in _SSN.finditer(text):
        yield match.start(), match.end()
    for match in _SSN_CONTEXT.finditer(text):
        yield match.start("num"), match.end("num")
