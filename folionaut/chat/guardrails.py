"""Chat guardrails: blank input gets a fixed answer; personal data is redacted.

Redaction replaces e-mail addresses, phone numbers, IBANs, payment card numbers
and US social security numbers with ``[REDACTED EMAIL]``, ``[REDACTED PHONE]``,
``[REDACTED IBAN]``, ``[REDACTED CARD]`` and ``[REDACTED SSN]``. The owner's
public contact details (``PUBLIC_CONTACT_EMAIL``, ``PUBLIC_CONTACT_PHONE``) are
never replaced. It runs on visitors' messages (before they are stored or sent
to the model), on tool results and on answers, streamed ones included
(``StreamRedactor`` holds back a short tail so a number split across chunks is
still caught).

What counts as what is decided by ``emails.py``, ``phones.py`` and
``account_numbers.py`` (IBANs, cards, SSNs); here their findings become
non-overlapping spans (e-mails first, as they may hold digits; then IBANs and
cards, SSNs, phones; the longer span wins within a kind). False positives are
kept low on purpose: portfolio answers are full of years and year ranges,
dates, times, versions, IP addresses, UUIDs, ISBNs, coordinates, prices,
percentages, counts and order or issue numbers, and none of those shapes pass
those checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from folionaut.chat.account_numbers import find_cards, find_ibans, find_ssns
from folionaut.chat.emails import find_emails
from folionaut.chat.phones import digits_of, find_phones, phone_forms

__all__ = [
    "CARD_MARK",
    "CLARIFICATION_ANSWER",
    "EMAIL_MARK",
    "IBAN_MARK",
    "PHONE_MARK",
    "SSN_MARK",
    "Guardrails",
    "Redaction",
    "Redactor",
    "StreamRedactor",
    "check_input",
    "is_blank",
    "redact",
    "redact_pii",
]

CLARIFICATION_ANSWER = (
    "I didn't receive a clear message. Could you please ask a question about the portfolio, "
    "such as projects, skills, or experience?"
)

EMAIL_MARK = "[REDACTED EMAIL]"
PHONE_MARK = "[REDACTED PHONE]"
SSN_MARK = "[REDACTED SSN]"
IBAN_MARK = "[REDACTED IBAN]"
CARD_MARK = "[REDACTED CARD]"

# Characters that render as nothing; a message made only of them (and spaces) is blank.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def is_blank(message: str) -> bool:
    return not message.translate(_INVISIBLE).strip()


def check_input(message: str) -> str | None:
    """The fixed clarification answer for blank input (answered without the LLM), else None."""
    return CLARIFICATION_ANSWER if is_blank(message) else None


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    mark: str | None  # None: keep the text (the owner's public contact details)
    kind: str
    rank: int  # lower wins overlaps


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str
    emails: int = 0
    phones: int = 0
    ssns: int = 0
    ibans: int = 0
    cards: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.emails or self.phones or self.ssns or self.ibans or self.cards)


class Redactor:
    """Finds and replaces personal data, leaving the allow-listed public contact details alone."""

    def __init__(self, allowed_emails: Iterable[str] = (), allowed_phones: Iterable[str] = ()) -> None:
        self.allowed_emails = frozenset(e.strip().lower() for e in allowed_emails if e and e.strip())
        # A public phone is kept in any of its written forms: +44…, 0044…, 0… or the bare national number.
        self._allowed_phone_digits: frozenset[str] = frozenset(
            form for phone in allowed_phones if phone and phone.strip() for form in phone_forms(phone))

    def find(self, text: str) -> list[Span]:
        """Non-overlapping spans to replace (or keep), in order."""
        spans: list[Span] = [
            Span(start, end, None if address in self.allowed_emails else EMAIL_MARK, "email", 0)
            for start, end, address in find_emails(text)]
        spans.extend(Span(start, end, IBAN_MARK, "iban", 1) for start, end in find_ibans(text))
        spans.extend(Span(start, end, CARD_MARK, "card", 1) for start, end in find_cards(text))
        spans.extend(Span(start, end, SSN_MARK, "ssn", 2) for start, end in find_ssns(text))
        if any(char.isdigit() for char in text):
            allowed = self._allowed_phone_digits
            spans.extend(Span(start, end, None if digits_of(text[start:end]) in allowed else PHONE_MARK, "phone", rank)
                         for start, end, rank in find_phones(text))
        chosen: list[Span] = []
        # E-mails first (they may hold digits), then IBANs and cards, SSNs, then phones; longer spans win in a rank.
        for span in sorted(spans, key=lambda s: (s.rank, -(s.end - s.start), s.start)):
            if all(span.end <= other.start or span.start >= other.end for other in chosen):
                chosen.append(span)
        chosen.sort(key=lambda s: s.start)
        return chosen

    def redact(self, text: str) -> Redaction:
        """Replace what ``find`` found; counts say how many of each kind were replaced."""
        if not text:
            return Redaction(text)
        return _apply(text, self.find(text), 0, len(text))

    def redact_text(self, text: str) -> str:
        return self.redact(text).text

    def redact_value(self, value: Any) -> Any:
        """A JSON-like value with every string in it redacted (keys kept)."""
        if isinstance(value, str):
            return self.redact(value).text
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(item) for item in value]
        return value

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self)


def _apply(text: str, spans: list[Span], start: int, end: int) -> Redaction:
    """``text[start:end]`` with the spans inside it replaced (a span reaching in from before is cut at start)."""
    parts: list[str] = []
    counts = {"email": 0, "phone": 0, "ssn": 0, "iban": 0, "card": 0}
    cursor = start
    for span in spans:
        if span.end <= start or span.start >= end:
            continue
        parts.append(text[cursor:max(cursor, span.start)])
        if span.mark is None:
            parts.append(text[max(cursor, span.start):span.end])
        else:
            parts.append(span.mark)
            counts[span.kind] += 1
        cursor = span.end
    parts.append(text[cursor:end])
    return Redaction("".join(parts), emails=counts["email"], phones=counts["phone"], ssns=counts["ssn"],
                     ibans=counts["iban"], cards=counts["card"])


class StreamRedactor:
    """Redaction for text that arrives in pieces.

    ``push`` returns the redacted text that is safe to send now and keeps back the
    last ``HOLD`` characters (cut at a space, never inside a match), so a phone
    or e-mail split across chunks is still seen whole; ``finish`` returns the
    rest. The text sent so far stays as left context, so "call me at" in one
    chunk still introduces the number in the next.
    """

    HOLD = 64  # longer than any phone, card or IBAN, and than nearly every e-mail address
    CONTEXT = 64

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""
        self._context = ""
        self.counts = Redaction("")

    def push(self, chunk: str) -> str:
        self._pending += chunk
        if len(self._pending) <= self.HOLD:
            return ""
        text = self._context + self._pending
        offset = len(self._context)
        spans = self._redactor.find(text)
        cut = len(text) - self.HOLD
        space = text.rfind(" ", offset, cut + 1)
        if space > offset:
            cut = space
        for span in spans:
            if span.start < cut < span.end:
                cut = span.start
        if cut <= offset:
            return ""
        return self._emit(text, spans, offset, cut)

    def finish(self) -> str:
        if not self._pending:
            return ""
        text = self._context + self._pending
        return self._emit(text, self._redactor.find(text), len(self._context), len(text))

    def _emit(self, text: str, spans: list[Span], offset: int, cut: int) -> str:
        result = _apply(text, spans, offset, cut)
        counts = self.counts
        self.counts = Redaction("", counts.emails + result.emails, counts.phones + result.phones,
                                counts.ssns + result.ssns, counts.ibans + result.ibans, counts.cards + result.cards)
        self._context = text[:cut][-self.CONTEXT:]
        self._pending = text[cut:]
        return result.text


def redact_pii(text: str, allowed_emails: Iterable[str] = (), allowed_phones: Iterable[str] = ()) -> Redaction:
    """Replace personal data in ``text``, keeping the allow-listed e-mails and phones."""
    return Redactor(allowed_emails, allowed_phones).redact(text)


def redact(text: str, allowed_emails: Iterable[str] = (), allowed_phones: Iterable[str] = ()) -> str:
    """``redact_pii`` when only the redacted text is needed."""
    return redact_pii(text, allowed_emails, allowed_phones).text


class Guardrails(Redactor):
    """The chat service's guardrails, configured with the owner's public contact details."""

    def __init__(self, public_contact_email: str = "", public_contact_phone: str = "") -> None:
        super().__init__((public_contact_email,) if public_contact_email else (),
                         (public_contact_phone,) if public_contact_phone else ())

    def check_input(self, message: str) -> str | None:
        return check_input(message)
