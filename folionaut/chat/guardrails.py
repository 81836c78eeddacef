"""Chat guardrails: blank input gets a fixed answer; personal data is redacted.

Redaction replaces e-mail addresses, phone numbers, IBANs, payment card numbers
and US social security numbers with ``[REDACTED EMAIL]``, ``[REDACTED PHONE]``,
``[REDACTED IBAN]``, ``[REDACTED CARD]`` and ``[REDACTED SSN]``. The owner's
public contact details (``PUBLIC_CONTACT_EMAIL``, ``PUBLIC_CONTACT_PHONE``) are
never replaced. It runs on visitors' messages (before they are stored or sent
to the model), on tool results and on answers, streamed ones included
(``StreamRedactor`` holds back a short tail so a number split across chunks is
still caught).

What counts as what:

- e-mails: plain and internationalised (``josé@españa.es``, ``用户@例子.广告``)
  addresses, and the obfuscated forms ``name [at] example [dot] com``,
  ``name(at)example(dot)com``, ``name at example dot com``;
- IBANs: two letters, two check digits and 11–30 more, accepted only when the
  ISO 13616 mod-97 checksum holds;
- cards: 13–19 digits, bare or in the usual 4-4-4-4 / 4-6-5 groups, with a
  card network's prefix and a valid Luhn checksum;
- phones: shape first, then the numbering plan. A number with a ``+``/``00``
  country code must be a possible number for that country; one with a trunk
  ``0`` must be a possible (with separators) or valid (bare) national number in
  one of the trunk-prefix countries we cover (UK, DE, FR, NL, IT, JP, AU, IN,
  BR); North American 3-3-4 numbers count by shape (fictional 555 numbers are
  still someone's number in a message); the countries without a trunk prefix
  (ES, PT, IT mobiles, IN mobiles, BR without the 0) count when the grouping is
  the country's usual one and the number is valid there. A phone word (phone,
  call, tel, Telefon, teléfono, …) directly before 7–15 digits also makes them a
  phone. The numbering plans come from ``phonenumbers`` (the lite build: no
  carrier or geocoding data), imported on first use so start-up does not pay
  for it.

False positives are kept low on purpose: portfolio answers are full of years
and year ranges, dates, times, versions, IP addresses, UUIDs, ISBNs,
coordinates, prices, percentages, counts and order or issue numbers, and none
of those shapes pass the checks above.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

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


# --- e-mails -----------------------------------------------------------------------------------------

# \w is Unicode-aware, so internationalised local parts and domains match too.
_LABEL = r"[^\W_](?:[\w\-]*[^\W_])?"
_EMAIL = re.compile(
    r"(?<![\w.+\-])[^\W_][\w.%+\-]*@" + _LABEL + r"(?:\." + _LABEL + r")*\.(?:[^\W\d_]{2,}|xn--[a-z0-9\-]+)"
    r"(?![\w\-])"
)
_AT_BRACKETED = r"\s*[\[({<]\s*at\s*[\])}>]\s*"
_DOT_BRACKETED = r"\s*[\[({<]\s*dot\s*[\])}>]\s*"
# "name [at] example [dot] com", "jane(at)corp.io": a bracketed "at", any kind of dot.
_EMAIL_BRACKETED = re.compile(
    r"(?<![\w.+\-])[\w.+\-]+" + _AT_BRACKETED + r"[\w\-]+(?:(?:" + _DOT_BRACKETED + r"|\.)[\w\-]+)+",
    re.IGNORECASE,
)
# "jane dot doe at example dot com": both words spelled out, ending in a plausible top-level domain.
_EMAIL_SPELLED = re.compile(
    r"(?<![\w.+\-])(?P<local>[\w+\-]+(?:\s+dot\s+[\w+\-]+)*)\s+at\s+[\w\-]+(?:\s+dot\s+[\w\-]+)*"
    r"\s+dot\s+(?P<tld>[A-Za-z]{2,6})(?![\w\-])",
    re.IGNORECASE,
)
# Words that come before "at" in ordinary prose ("she worked at example dot com").
_NOT_LOCAL_PARTS = frozenset(
    "me us him her them you it is was be been and or but worked work works working based lives live living "
    "studied study job jobs intern engineer developer lead role team found find look looking available "
    "here there now then home office".split()
)

# --- SSNs, IBANs, cards -----------------------------------------------------------------------------

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


# --- phones -----------------------------------------------------------------------------------------

_SEP = r"(?:[ \u00a0]?[.\-/\u2013][ \u00a0]?|[ \u00a0])"
# A run of digit groups joined by single separators, with an optional +country code or (area code).
_PHONE_RUN = re.compile(
    r"(?<![\w+.\-/#$€£@:\u2013])"
    r"(?:\(\+\d{1,4}\)|\+)?[ \u00a0]?(?:\(\d{1,5}\)|\d+)"
    r"(?:" + _SEP + r"(?:\(\d{1,5}\)|\d+)|[ \u00a0]?\(\d{1,5}\)|(?<=\))\d+)*"
)
# A phone word directly introducing a number ("call me at 555-1234", "Tel.: 5551234567", "Telefon 030…").
_PHONE_CONTEXT = re.compile(
    r"(?<!\w)(?:phone|telephone|tel|tlf|mobile|mob|cell|cellphone|fax|whatsapp|signal|sms|call|text|ring|"
    r"t[ée]l[ée]phone|portable|telefon|handy|tel[ée]fono|telefone|m[óo]vil|celular|cellulare|telemóvel|"
    r"電話|携帯|☎|📞)(?!\w)\.?"
    r"[^\d\n.!?;]{0,20}?(?P<num>\+?\(?\d[\d\s().\-]{5,22}\d)(?!\w|[\-./]\d|\s*%)",
    re.IGNORECASE,
)

_YEAR_RANGE = re.compile(r"^(?:19|20)\d{2}\s*[\-\u2013\u2014/]\s*(?:(?:19|20)\d{2}|\d{2})$")
_DATE = re.compile(r"^(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4})$")
_DOTTED = re.compile(r"^\d+(?:\.\d+)+$")
_PHONE_DOTTED = re.compile(r"^(?:\d{3}\.\d{3}\.\d{4}|0\d(?:\.\d{2}){4})$")
_NANP = re.compile(r"^(?:\+?1[\s.\-]?)?(?:\(\d{3}\)[\s.\-]?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}$")
_ISBN_CONTEXT = re.compile(r"isbn(?:-1[03])?[:\s]*$", re.IGNORECASE)
# Words after a number that make it a quantity, not a number to call.
_COUNT_WORDS = frozenset(
    "users visitors downloads installs views requests people customers members items lines stars km miles "
    "euros eur dollars usd pounds gbp reais rupees yen units copies words pages hours records rows".split()
)

#: Countries covered, split by whether their national format starts with a trunk 0.
TRUNK_ZERO_REGIONS = ("GB", "DE", "FR", "NL", "IT", "JP", "AU", "IN", "BR")
# The usual groupings of national numbers without a trunk 0: (region, first digits, digit groups).
_NO_TRUNK_SHAPES: tuple[tuple[str, str, frozenset[tuple[int, ...]]], ...] = (
    ("ES", "6789", frozenset({(3, 3, 3), (3, 2, 2, 2), (2, 3, 2, 2)})),
    ("PT", "29", frozenset({(3, 3, 3), (2, 3, 4), (2, 3, 2, 2)})),
    ("IT", "3", frozenset({(3, 3, 4), (3, 7), (3, 4, 3), (3, 3, 2, 2)})),
    ("IN", "6789", frozenset({(5, 5), (3, 3, 4), (4, 3, 3), (2, 4, 4)})),
    ("BR", "123456789", frozenset({(2, 5, 4), (2, 4, 4)})),
)


@functools.cache
def _phonenumbers() -> ModuleType:
    import phonenumbers  # the numbering plans: imported on first use, not at start-up

    return phonenumbers


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _groups(text: str) -> tuple[int, ...]:
    return tuple(len(group) for group in re.findall(r"\d+", text))


def _reads_as_non_phone(candidate: str) -> bool:
    """Number shapes that are not phones even after a phone word: dates, year ranges, versions, decimals."""
    text = candidate.strip()
    if _YEAR_RANGE.match(text) or _DATE.match(text):
        return True
    return bool(_DOTTED.match(text)) and not _PHONE_DOTTED.match(text)


def _isbn10(candidate: str) -> bool:
    parts = re.split(r"[\s\-]", candidate.strip())
    digits = _digits(candidate)
    if len(parts) != 4 or len(digits) != 10:
        return False
    return sum((10 - index) * int(char) for index, char in enumerate(digits)) % 11 == 0


def _possible_international(candidate: str) -> bool:
    pn = _phonenumbers()
    digits = _digits(candidate)
    if candidate.lstrip("( ").startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15:
        return False
    try:
        number = pn.parse("+" + digits, None)
    except pn.NumberParseException:
        return False
    return bool(pn.is_possible_number(number))


def _national_in(candidate: str, regions: Iterable[str], *, valid: bool) -> bool:
    pn = _phonenumbers()
    for region in regions:
        try:
            number = pn.parse(candidate, region)
        except pn.NumberParseException:
            continue
        if pn.is_valid_number(number) if valid else pn.is_possible_number(number):
            return True
    return False


def _is_phone(candidate: str) -> bool:
    """Whether a run of digit groups (already not part of a word, price or reference) is a phone number."""
    text = candidate.strip()
    digits = _digits(text)
    if not 7 <= len(digits) <= 17 or _reads_as_non_phone(text) or _isbn10(text):
        return False
    if "." in text and not _PHONE_DOTTED.match(text) and not text.startswith(("+", "(+", "00")):
        return False  # dots are versions, decimals and addresses, but for the 3.3.4 and French shapes
    if text.startswith(("+", "(+")):
        # "+37.774912" is a coordinate: a dotted international number needs three groups.
        return ("." not in text or len(_groups(text)) >= 3) and _possible_international(text)
    if text.startswith(("00", "(00")) and len(digits) >= 11:
        return _possible_international(text)
    if _NANP.match(text):
        return True
    separated = len(_groups(text)) > 1
    if digits.startswith("0"):
        if len(digits) < 9:
            return False
        if separated:
            return _national_in(text, TRUNK_ZERO_REGIONS, valid=False)
        return len(digits) >= 10 and _national_in(text, TRUNK_ZERO_REGIONS, valid=True)
    if not separated:
        return False  # a bare run without a trunk 0 or country code is a count or a reference
    groups = _groups(text)
    return any(digits[0] in first_digits and groups in shapes and _national_in(text, (region,), valid=True)
               for region, first_digits, shapes in _NO_TRUNK_SHAPES)


def _sub_runs(run: str) -> list[tuple[int, int]]:
    """Windows of a run that failed as a whole, longest first. Runs are split only where a list
    separator ("/", "–") or a space before "+" or "(" joins two numbers: splitting at every space
    would find a phone inside any long number (an IBAN that failed its checksum, say)."""
    separators = list(re.finditer(r"[ \u00a0]*[/\u2013][ \u00a0]*|[ \u00a0]+(?=[+(])", run))
    starts = [0] + [match.end() for match in separators]
    ends = [match.start() for match in separators] + [len(run)]
    windows = [(starts[i], ends[j]) for i in range(len(starts)) for j in range(i, len(ends))
               if (i, j) != (0, len(ends) - 1)]
    windows.sort(key=lambda window: (window[0] - window[1], window[0]))
    return windows


# --- spans ------------------------------------------------------------------------------------------

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


def _normalise_email(candidate: str) -> str:
    text = re.sub(r"\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+", "@", candidate, flags=re.IGNORECASE)
    text = re.sub(r"\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+", ".", text, flags=re.IGNORECASE)
    return text.strip().lower()


class Redactor:
    """Finds and replaces personal data, leaving the allow-listed public contact details alone."""

    def __init__(self, allowed_emails: Iterable[str] = (), allowed_phones: Iterable[str] = ()) -> None:
        self.allowed_emails = frozenset(e.strip().lower() for e in allowed_emails if e and e.strip())
        # A public phone is kept in any of its written forms: +44…, 0044…, 0… or the bare national number.
        self._allowed_phone_digits: frozenset[str] = frozenset(
            form for phone in allowed_phones if phone and phone.strip() for form in _phone_forms(phone))

    def _phone_allowed(self, candidate: str) -> bool:
        return _digits(candidate) in self._allowed_phone_digits

    def _phone_span(self, start: int, end: int, candidate: str, rank: int) -> Span:
        mark = None if self._phone_allowed(candidate) else PHONE_MARK
        return Span(start, end, mark, "phone", rank)

    def find(self, text: str) -> list[Span]:
        """Non-overlapping spans to replace (or keep), in order."""
        spans: list[Span] = []
        for pattern in (_EMAIL, _EMAIL_BRACKETED, _EMAIL_SPELLED):
            for match in pattern.finditer(text):
                if pattern is _EMAIL_SPELLED:
                    local = match.group("local").split()
                    if local[-1].lower() in _NOT_LOCAL_PARTS or local[0].lower() in _NOT_LOCAL_PARTS:
                        continue
                keep = _normalise_email(match.group()) in self.allowed_emails
                spans.append(Span(match.start(), match.end(), None if keep else EMAIL_MARK, "email", 0))
        for match in _IBAN.finditer(text):
            if _iban_ok(match.group()):
                spans.append(Span(match.start(), match.end(), IBAN_MARK, "iban", 1))
        for match in _CARD.finditer(text):
            if _card_ok(match.group()):
                spans.append(Span(match.start(), match.end(), CARD_MARK, "card", 1))
        for match in _SSN.finditer(text):
            spans.append(Span(match.start(), match.end(), SSN_MARK, "ssn", 2))
        for match in _SSN_CONTEXT.finditer(text):
            spans.append(Span(match.start("num"), match.end("num"), SSN_MARK, "ssn", 2))
        if any(char.isdigit() for char in text):
            spans.extend(self._phones(text))
        chosen: list[Span] = []
        # E-mails first (they may hold digits), then IBANs and cards, SSNs, then phones; longer spans win in a rank.
        for span in sorted(spans, key=lambda s: (s.rank, -(s.end - s.start), s.start)):
            if all(span.end <= other.start or span.start >= other.end for other in chosen):
                chosen.append(span)
        chosen.sort(key=lambda s: s.start)
        return chosen

    def _phones(self, text: str) -> Iterator[Span]:
        for match in _PHONE_RUN.finditer(text):
            run, start = match.group(), match.start()
            # Trailing spaces are not part of the number; what follows decides whether it is a quantity.
            run = run.rstrip(" \u00a0")
            after = text[start + len(run):start + len(run) + 20]
            if after and (after[0].isalnum() or after[0] in "_%"):
                continue  # part of a word or a percentage
            if _ISBN_CONTEXT.search(text[max(0, start - 12):start]):
                continue
            if after.strip().split(" ", 1)[0].lower().strip(".,;:!?)") in _COUNT_WORDS:
                continue
            if _is_phone(run):
                yield self._phone_span(start, start + len(run), run, 3)
                continue
            if len(_groups(run)) > 1:
                taken: list[tuple[int, int]] = []
                for left, right in _sub_runs(run):
                    if any(left < end and right > begin for begin, end in taken):
                        continue
                    piece = run[left:right]
                    if piece[:1] in "+(" or piece[:1].isdigit():
                        if _is_phone(piece):
                            taken.append((left, right))
                            yield self._phone_span(start + left, start + right, piece, 3)
        for match in _PHONE_CONTEXT.finditer(text):
            number = match.group("num").rstrip(" (")
            if 7 <= len(_digits(number)) <= 15 and not _reads_as_non_phone(number):
                begin = match.start("num")
                yield self._phone_span(begin, begin + len(number), number, 4)

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


def _phone_forms(phone: str) -> set[str]:
    """The digit strings a published phone may be written as."""
    digits = _digits(phone)
    forms = {digits}
    pn = _phonenumbers()
    try:
        number = pn.parse(phone if phone.strip().startswith("+") else "+" + digits.removeprefix("00"), None)
    except pn.NumberParseException:
        return forms
    national = str(number.national_number)
    country = str(number.country_code)
    forms |= {national, "0" + national, country + national, "00" + country + national}
    return forms


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
