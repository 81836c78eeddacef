"""Query and path parameter parsing; every problem becomes a VALIDATION_ERROR."""

from __future__ import annotations

from aiohttp import web

from folionaut.core.errors import ValidationError

_TRUE = {"true", "1"}
_FALSE = {"false", "0"}


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError.single(name, "Expected true, false, 1 or 0")


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() also takes "1_0", "١٢" (Arabic-Indic digits) and surrounding spaces.
    digits = raw[1:] if raw[:1] == "-" else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20:
        raise ValidationError.single(name, "Expected an integer written in ASCII digits 0-9")
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError.single(name, f"Must be between {low} and {high}")
    return value


def query_str(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    return raw if raw not in (None, "") else None
