"""Finding phone numbers in text, with few false positives on portfolio prose.

Shape first, then the numbering plan. A run of digit groups (not part of a
word, price, percentage, ISBN or count) is a phone when:

- it has a ``+``/``00`` country code and is a possible number for that country;
- it has a trunk ``0`` and is a possible (with separators) or valid (bare)
  national number in one of the trunk-prefix countries we cover (UK, DE, FR,
  NL, IT, JP, AU, IN, BR);
- it is a North American 3-3-4 number (by shape: fictional 555 numbers are
  still someone's number in a message);
- it is grouped as numbers usually are in a country without a trunk prefix
  (ES, PT, IT mobiles, IN mobiles, BR without the 0) and valid there.

A phone word (phone, call, tel, Telefon, teléfono, …) directly before 7–15
digits also makes them a phone. Years and year ranges, dates, times,
versions, IP addresses, UUIDs, ISBNs, coordinates, prices, percentages, counts
and order or issue numbers pass none of these. The numbering plans come from
``phonenumbers`` (the lite build: no carrier or geocoding data), imported on
first use so start-up does not pay for it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from types import ModuleType

__all__ = ["TRUNK_ZERO_REGIONS", "digits_of", "find_phones", "phone_forms"]

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


def digits_of(text: str) -> str:
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
    digits = digits_of(candidate)
    if len(parts) != 4 or len(digits) != 10:
        return False
    return sum((10 - index) * int(char) for index, char in enumerate(digits)) % 11 == 0


def _possible_international(candidate: str) -> bool:
    pn = _phonenumbers()
    digits = digits_of(candidate)
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
    digits = digits_of(text)
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


def find_phones(text: str) -> Iterator[tuple[int, int, int]]:
    """(start, end, rank) of each phone number in ``text``, overlaps included: rank 3 for a number
    found by its shape, 4 for one a phone word introduces (the caller keeps the better of overlaps)."""
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
            yield start, start + len(run), 3
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
                        yield start + left, start + right, 3
    for match in _PHONE_CONTEXT.finditer(text):
        number = match.group("num").rstrip(" (")
        if 7 <= len(digits_of(number)) <= 15 and not _reads_as_non_phone(number):
            begin = match.start("num")
            yield begin, begin + len(number), 4


def phone_forms(phone: str) -> set[str]:
    """The digit strings a published phone may be written as."""
    digits = digits_of(phone)
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
