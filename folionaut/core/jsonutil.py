"""The one JSON encoder (orjson)."""

from __future__ import annotations

from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_str(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def raw(text: str | bytes) -> Any:
    """JSON text to be written as it is inside ``dumps`` output (orjson.Fragment): not parsed, not
    checked. Only for text this encoder wrote (e.g. a stored ``data`` column)."""
    return orjson.Fragment(text)
