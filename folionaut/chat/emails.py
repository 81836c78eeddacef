"""Finding e-mail addresses in text: plain, internationalised and obfuscated.

Plain and internationalised (``josé@españa.es``, ``用户@例子.广告``) addresses,
and the obfuscated forms ``name [at] example [dot] com``,
``name(at)example(dot)com`` and ``name at example dot com`` (the last only when
both words are spelled out, it ends in a plausible top-level domain and the word
before "at" is not ordinary prose: "she worked at example dot com" is not an
address).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["find_emails", "normalise_email"]

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


def normalise_email(candidate: str) -> str:
    """An address as written, obfuscated or not, in its plain lower-case form."""
    text = re.sub(r"\s*[\[({<]\s*at\s*[\])}>]\s*|\s+at\s+", "@", candidate, flags=re.IGNORECASE)
    text = re.sub(r"\s*[\[({<]\s*dot\s*[\])}>]\s*|\s+dot\s+", ".", text, flags=re.IGNORECASE)
    return text.strip().lower()


def find_emails(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, normalised address) of each e-mail address in ``text``, overlaps included."""
    for pattern in (_EMAIL, _EMAIL_BRACKETED, _EMAIL_SPELLED):
        for match in pattern.finditer(text):
            if pattern is _EMAIL_SPELLED:
                local = match.group("local").split()
                if local[-1].lower() in _NOT_LOCAL_PARTS or local[0].lower() in _NOT_LOCAL_PARTS:
                    continue
            yield match.start(), match.end(), normalise_email(match.group())
