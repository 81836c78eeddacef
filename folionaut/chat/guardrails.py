"""Chat guardrails: blank input gets a fixed answer; PII is redacted from the model's answer.

Redaction replaces e-mail addresses (except allow-listed ones, compared
case-insensitively), phone numbers and US social security numbers with
``[REDACTED EMAIL]``, ``[REDACTED PHONE]`` and ``[REDACTED SSN]``.

Phone detection is shape-based to keep false positives low: a portfolio answer
is full of years, date ranges, versions, prices and issue numbers. A number is
a phone when it has a phone's shape (North American 3-3-4 with separators, a
``+`` country code with 8–15 digits, a national trunk ``0`` prefix), or when a
word like "phone", "call" or "tel" directly introduces 7–15 digits that do not
read as a date or year range.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

CLARIFICATION_ANSWER = (
    "I didn't receive a clear message. Could you please ask a question about the portfolio, "
    "such as projects, skills, or experience?"
)

EMAIL_MARK = "[REDACTED EMAIL]"
PHONE_MARK = "[REDACTED PHONE]"
SSN_MARK = "[REDACTED SSN]"

# Characters that render as nothing; a message made only of them (and spaces) is blank.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def is_blank(message: str) -> bool:
    return not message.translate(_INVISIBLE).strip()


def check_input(message: str) -> str | None:
    """The fixed clarification answer for blank input (answered without the LLM), else None."""
    return CLARIFICATION_ANSWER if is_blank(message) else None


# --- patterns ---------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![A-Za-z0-9\-])"
)
# "name [at] example [dot] com": a common way to slip an address past a filter.
_EMAIL_OBFUSCATED = re.compile(
    r"(?<![\w.+\-])[\w.+\-]+\s*[\[(]\s*at\s*[\])]\s*[\w\-]+(?:\s*[\[(]\s*dot\s*[\])]\s*[\w\-]+)+",
    re.IGNORECASE,
)

_SSN = re.compile(r"(?<![\w\-/.#$])\d{3}-\d{2}-\d{4}(?!\w|[\-.]\d)")
_SSN_CONTEXT = re.compile(
    r"\b(?:ssn|ss#|social\s+security(?:\s+(?:number|no\.?|#))?)[^\w\n]{0,5}(?:is\s+|:\s*)?"
    r"(?P<num>\d{3}[\s.\-]?\d{2}[\s.\-]?\d{4})(?!\w|[\-.]\d)",
    re.IGNORECASE,
)

# Not preceded by what makes a number part of a word, version, path, price, reference or range.
_NUMBER_START = r"(?<![\w+.\-/#$€£])"
_NUMBER_END = r"(?!\w|[\-./]\d|\s*%)"

_PHONE_NANP = re.compile(
    _NUMBER_START
    + r"(?:\+?1[\s.\-]?)?"  # country code
    + r"(?:\(\d{3}\)[\s.\-]?|\d{3}[\s.\-])"  # area code, separated or in brackets
    + r"\d{3}[\s.\-]\d{4}"
    + _NUMBER_END
)
_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+(])(?:\(\+\d{1,3}\)|\+\d{1,3})(?:[\s.\-]?\(?\d{1,5}\)?){1,6}" + _NUMBER_END
)
# National format with a trunk 0: "020 7946 0958", "07700 900123".
_PHONE_TRUNK = re.compile(
    _NUMBER_START + r"\(?0\d{1,4}\)?[\s\-]\d{3,4}[\s\-]?\d{3,4}" + _NUMBER_END
)
# A phone word directly introducing a number ("call me at 555-1234", "Tel.: 5551234567").
_PHONE_CONTEXT = re.compile(
    r"\b(?:phone|telephone|tel|mobile|cell|cellphone|fax|whatsapp|sms|call|text|ring)\b\.?"
    r"[^\d\n.!?;]{0,20}?(?P<num>\+?\(?\d[\d\s().\-]{5,22}\d)" + _NUMBER_END,
    re.IGNORECASE,
)

_YEAR_RANGE = re.compile(r"^(?:19|20)\d{2}\s*[\-\u2013\u2014]\s*(?:(?:19|20)\d{2}|\d{2})$")
_DATE = re.compile(r"^(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4})$")
_DOTTED = re.compile(r"^\d+(?:\.\d+)+$")
_PHONE_DOTTED = re.compile(r"^\d{3}\.\d{3}\.\d{4}$")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _reads_as_non_phone(candidate: str) -> bool:
    """Number shapes that a phone word may precede but that are not phones."""
    text = candidate.strip()
    if _YEAR_RANGE.match(text) or _DATE.match(text):
        return True
    # versions, IPs, decimals: dots only, unless it is the 3.3.4 phone shape
    return bool(_DOTTED.match(text)) and not _PHONE_DOTTED.match(text)


def _international_ok(candidate: str) -> bool:
    groups = re.findall(r"\d+", candidate)
    if not 8 <= _digits(candidate) <= 15:
        return False
    # "+37.774912" is a coordinate, not a phone: dots need at least three groups.
    return "." not in candidate or len(groups) >= 3


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    mark: str | None  # None: keep the text (an allow-listed e-mail)
    kind: str
    rank: int  # lower wins overlaps


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str
    emails: int = 0
    phones: int = 0
    ssns: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.emails or self.phones or self.ssns)


def _normalise_email(candidate: str) -> str:
    text = re.sub(r"\s*[\[(]\s*at\s*[\])]\s*", "@", candidate, flags=re.IGNORECASE)
    text = re.sub(r"\s*[\[(]\s*dot\s*[\])]\s*", ".", text, flags=re.IGNORECASE)
    return text.strip().lower()


def _find_spans(text: str, allowed: frozenset[str]) -> list[_Span]:
    spans: list[_Span] = []
    for pattern in (_EMAIL, _EMAIL_OBFUSCATED):
        for match in pattern.finditer(text):
            keep = _normalise_email(match.group()) in allowed
            spans.append(_Span(match.start(), match.end(), None if keep else EMAIL_MARK, "email", 0))
    for match in _SSN.finditer(text):
        spans.append(_Span(match.start(), match.end(), SSN_MARK, "ssn", 1))
    for match in _SSN_CONTEXT.finditer(text):
        spans.append(_Span(match.start("num"), match.end("num"), SSN_MARK, "ssn", 1))
    for pattern in (_PHONE_NANP, _PHONE_TRUNK):
        for match in pattern.finditer(text):
            if 10 <= _digits(match.group()) <= 11:
                spans.append(_Span(match.start(), match.end(), PHONE_MARK, "phone", 2))
    for match in _PHONE_INTERNATIONAL.finditer(text):
        if _international_ok(match.group()):
            spans.append(_Span(match.start(), match.end(), PHONE_MARK, "phone", 2))
    for match in _PHONE_CONTEXT.finditer(text):
        number = match.group("num").rstrip(" (")
        if 7 <= _digits(number) <= 15 and not _reads_as_non_phone(number):
            start = match.start("num")
            spans.append(_Span(start, start + len(number), PHONE_MARK, "phone", 3))
    return spans


def redact_pii(text: str, allowed_emails: Iterable[str] = ()) -> Redaction:
    """Replace e-mails (not allow-listed), phone numbers and SSNs in ``text``."""
    allowed = frozenset(email.strip().lower() for email in allowed_emails if email and email.strip())
    chosen: list[_Span] = []
    # E-mails first (they may hold digits), then SSNs, then phones; longer spans win within a rank.
    for span in sorted(_find_spans(text, allowed), key=lambda s: (s.rank, -(s.end - s.start), s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in chosen):
            chosen.append(span)
    chosen.sort(key=lambda s: s.start)

    parts: list[str] = []
    counts = {"email": 0, "phone": 0, "ssn": 0}
    cursor = 0
    for span in chosen:
        parts.append(text[cursor:span.start])
        if span.mark is None:
            parts.append(text[span.start:span.end])
        else:
            parts.append(span.mark)
            counts[span.kind] += 1
        cursor = span.end
    parts.append(text[cursor:])
    return Redaction("".join(parts), emails=counts["email"], phones=counts["phone"], ssns=counts["ssn"])


def redact(text: str, allowed_emails: Iterable[str] = ()) -> str:
    """``redact_pii`` when only the redacted text is needed."""
    return redact_pii(text, allowed_emails).text


class Guardrails:
    """The chat service's guardrails, configured with the one public contact e-mail."""

    def __init__(self, public_contact_email: str = "") -> None:
        self.allowed_emails: tuple[str, ...] = (public_contact_email,) if public_contact_email else ()

    def check_input(self, message: str) -> str | None:
        return check_input(message)

    def redact(self, answer: str) -> Redaction:
        return redact_pii(answer, self.allowed_emails)
