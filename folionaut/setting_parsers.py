"""How raw setting values (environment strings, TOML values, flags) become typed ones.

Each parser takes the raw value and returns the typed one, or raises
``ValueError``; its ``expected`` attribute says what a valid value looks like,
for the one-line message ``settings.py`` makes of a bad one.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from folionaut.core.workers import MAX_WORKERS, available_cores

__all__ = [
    "CHAT_FALLBACKS", "ENVIRONMENTS", "LOG_FORMATS", "LOG_LEVELS", "parse_admin_key", "parse_bool", "parse_choice",
    "parse_email", "parse_env", "parse_fallback", "parse_float", "parse_int", "parse_log_format", "parse_log_level",
    "parse_origins", "parse_phone", "parse_str", "parse_url", "parse_workers",
]

ENVIRONMENTS = ("development", "production", "test")
TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def parse_int(low: int, high: int) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        if isinstance(raw, bool):
            raise ValueError
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip())
        if not low <= value <= high:
            raise ValueError
        return value

    parse.expected = f"an integer from {low} to {high}"  # type: ignore[attr-defined]
    return parse


def parse_workers(raw: object) -> int:
    """A number of worker processes, or ``auto``: one per CPU core this process may use."""
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return available_cores()
    return parse_int(1, MAX_WORKERS)(raw)


parse_workers.expected = f"an integer from 1 to {MAX_WORKERS}, or auto"  # type: ignore[attr-defined]


def parse_float(low: float, high: float) -> Callable[[object], float]:
    def parse(raw: object) -> float:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw) if isinstance(raw, int | float) else float(str(raw).strip())
        if not low <= value <= high or value != value:
            raise ValueError
        return value

    parse.expected = f"a number from {low:g} to {high:g}"  # type: ignore[attr-defined]
    return parse


def parse_bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError


parse_bool.expected = "true/false, 1/0 or yes/no"  # type: ignore[attr-defined]


def parse_str(raw: object) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError
    return str(raw).strip()


parse_str.expected = "a string"  # type: ignore[attr-defined]


def parse_url(*schemes: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = parse_str(raw)
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise ValueError
        if parts.scheme not in ("file", "unix") and not parts.hostname:
            raise ValueError
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
        return value

    parse.expected = (  # type: ignore[attr-defined]
        "a URL starting with " + ", ".join(f"{s}:" if s == "file" else f"{s}://" for s in schemes)
    )
    return parse


def parse_admin_key(raw: object) -> str:
    value = parse_str(raw)
    if value and len(value) < 32:
        raise ValueError
    return value


parse_admin_key.expected = "at least 32 characters"  # type: ignore[attr-defined]


def parse_origins(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    origins = tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())
    for origin in origins:
        if origin != "*" and not urlsplit(origin).netloc:
            raise ValueError
    return origins


parse_origins.expected = "a comma-separated list of origins such as https://example.com"  # type: ignore[attr-defined]


def parse_email(raw: object) -> str:
    value = parse_str(raw)
    if value and ("@" not in value or " " in value or value.startswith("@") or value.endswith("@")):
        raise ValueError
    return value


parse_email.expected = "an e-mail address"  # type: ignore[attr-defined]




def parse_phone(raw: object) -> str:
    value = parse_str(raw)
    if not value:
        return value
    digits = sum(char.isdigit() for char in value)
    if not 7 <= digits <= 15 or any(not (char.isdigit() or char in "+ ()-./") for char in value):
        raise ValueError
    return value


parse_phone.expected = "a phone number such as +44 20 7946 0000"  # type: ignore[attr-defined]


LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text", "auto")
CHAT_FALLBACKS = ("none", "offline")


def parse_choice(*choices: str) -> Callable[[object], str]:
    """One of ``choices``, case-insensitively (returned in lower case)."""

    def parse(raw: object) -> str:
        value = parse_str(raw).lower()
        if value not in choices:
            raise ValueError
        return value

    parse.expected = "one of " + ", ".join(choices)  # type: ignore[attr-defined]
    return parse


parse_env = parse_choice(*ENVIRONMENTS)
parse_log_level = parse_choice(*LOG_LEVELS)
parse_log_format = parse_choice(*LOG_FORMATS)
parse_fallback = parse_choice(*CHAT_FALLBACKS)
