"""The one JSON encoder (orjson)."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["JSONDecodeError", "dumps", "dumps_str", "loads", "loads_input", "raw"]

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


_LONG_DIGIT_RUN = re.compile(rb"\d{17}")


def loads_input(data: bytes | str) -> Any:
    """``loads`` for what people and programs send us: a whole number too large for 64 bits stays a whole
    number (orjson makes 2^64 a float, which would then pass for one the sender wrote as a float), so
    validation can refuse it. Only a text with 17 digits in a row is parsed again, by the standard library."""
    value = orjson.loads(data)
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_DIGIT_RUN.search(raw) is not None:
        try:
            value = json.loads(raw)
        except RecursionError:  # nested deeper than the standard parser goes: orjson's reading stands
            pass
    return value


def raw(text: str | bytes) -> Any:
    """JSON text to be written as it is inside ``dumps`` output (orjson.Fragment): not parsed, not
    checked. Only for text this encoder wrote (e.g. a stored ``data`` column)."""
    return orjson.Fragment(text)
