"""Validation of content input, shared by the HTTP API and the MCP tools.

Each function returns clean values or raises ``ValidationError`` whose
``fields`` maps every bad field to its problems, all at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from folionaut.content.models import STATUSES
from folionaut.core.errors import ValidationError

NAME_PATTERN = re.compile(r"^[a-z0-9-]{1,100}$")
NAME_RULE = "Must be 1-100 characters of lowercase letters, digits and hyphens"
ID_PREFIX = "content_"
MAX_SORT_ORDER = 2**31 - 1
MAX_VERSION = 2**53  # JSON numbers stay exact up to here


@dataclass(frozen=True, slots=True)
class CreateInput:
    type: str
    slug: str | None
    data: dict[str, Any]
    status: str
    sort_order: int


@dataclass(frozen=True, slots=True)
class UpdateInput:
    slug: str | None = None
    data: dict[str, Any] | None = None
    status: str | None = None
    sort_order: int | None = None
    version: int | None = None

    def changed_fields(self) -> list[str]:
        return [name for name, value in (("slug", self.slug), ("data", self.data), ("status", self.status),
                                         ("sortOrder", self.sort_order)) if value is not None]


class _Problems:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, problem: str) -> None:
        self.fields.setdefault(field, []).append(problem)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError(self.fields)


class _Missing:
    """Marks a field without a value."""


MISSING: Any = _Missing()


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for "Expected X, received Y" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _field(body: dict[str, Any], name: str) -> Any:
    # JSON null counts as absent: "no value" for an optional field (MCP clients and
    # forms send nulls), "Required" for a required one.
    value = body.get(name)
    return MISSING if value is None else value


def _expected(problems: _Problems, field: str, wanted: str, value: object) -> None:
    problems.add(field, f"Expected {wanted}, received {json_type_name(value)}")


def _check_name(problems: _Problems, field: str, value: object, required: bool) -> str | None:
    if value is MISSING:
        if required:
            problems.add(field, "Required")
        return None
    if not isinstance(value, str):
        _expected(problems, field, "string", value)
        return None
    if not NAME_PATTERN.match(value):
        problems.add(field, NAME_RULE)
        return None
    return value


def _check_data(problems: _Problems, value: object, required: bool) -> dict[str, Any] | None:
    if value is MISSING:
        if required:
            problems.add("data", "Required")
        return None
    if not isinstance(value, dict):
        _expected(problems, "data", "object", value)
        return None
    if not value:
        problems.add("data", "Must not be empty")
        return None
    return value


def _check_status(problems: _Problems, value: object) -> str | None:
    if value is MISSING:
        return None
    if not isinstance(value, str) or value not in STATUSES:
        problems.add("status", "Expected one of: " + ", ".join(STATUSES))
        return None
    return value


def _check_int(problems: _Problems, field: str, value: object, low: int, high: int) -> int | None:
    if value is MISSING:
        return None
    # bool is an int in Python but not in JSON; 1.5 and 2.0 are JSON numbers but not integers.
    if isinstance(value, bool) or not isinstance(value, int):
        _expected(problems, field, "integer", value)
        return None
    if not low <= value <= high:
        problems.add(field, f"Must be between {low} and {high}")
        return None
    return value


def _require_object(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError({"body": [f"Expected object, received {json_type_name(body)}"]})
    return body


# Unknown body fields are ignored, not rejected (as the original did), so a client
# that sends back a whole item it read (id, createdAt, …) keeps working.

def parse_create(body: object) -> CreateInput:
    body = _require_object(body)
    problems = _Problems()
    content_type = _check_name(problems, "type", _field(body, "type"), required=True)
    slug = _check_name(problems, "slug", _field(body, "slug"), required=False)
    data = _check_data(problems, _field(body, "data"), required=True)
    status = _check_status(problems, _field(body, "status"))
    sort_order = _check_int(problems, "sortOrder", _field(body, "sortOrder"), -MAX_SORT_ORDER, MAX_SORT_ORDER)
    if slug is None and "slug" not in problems.fields and data is not None and not slug_from_title(data):
        problems.add("slug", "Required when data.title is missing or has no letters or digits")
    problems.raise_if_any()
    assert content_type is not None and data is not None
    return CreateInput(content_type, slug, data, status or "draft", sort_order or 0)


def parse_update(body: object) -> UpdateInput:
    body = _require_object(body)
    problems = _Problems()
    update = UpdateInput(
        slug=_check_name(problems, "slug", _field(body, "slug"), required=False),
        data=_check_data(problems, _field(body, "data"), required=False),
        status=_check_status(problems, _field(body, "status")),
        sort_order=_check_int(problems, "sortOrder", _field(body, "sortOrder"), -MAX_SORT_ORDER, MAX_SORT_ORDER),
        version=_check_int(problems, "version", _field(body, "version"), 1, MAX_VERSION),
    )
    if not problems.fields and not update.changed_fields():
        problems.add("body", "Provide at least one of: slug, data, status, sortOrder")
    problems.raise_if_any()
    return update


def parse_restore(body: object) -> int:
    body = _require_object(body)
    problems = _Problems()
    version = _check_int(problems, "version", _field(body, "version"), 1, MAX_VERSION)
    if version is None and "version" not in problems.fields:
        problems.add("version", "Required")
    problems.raise_if_any()
    assert version is not None
    return version


def check_content_id(value: str, field: str = "id") -> str:
    if not value.startswith(ID_PREFIX) or len(value) > 100 or len(value) == len(ID_PREFIX):
        raise ValidationError({field: [f"Must be a content id starting with {ID_PREFIX!r}"]})
    return value


def check_name(value: object, field: str) -> str:
    problems = _Problems()
    name = _check_name(problems, field, MISSING if value is None else value, required=True)
    problems.raise_if_any()
    assert name is not None
    return name


def check_status_filter(value: object) -> str | None:
    problems = _Problems()
    status = _check_status(problems, MISSING if value is None else value)
    problems.raise_if_any()
    return status


def _title_of(data: dict[str, Any]) -> str:
    title = data.get("title")
    return title if isinstance(title, str) else ""


def slugify(text: str, max_length: int = 100) -> str:
    """``"Héllo, World!"`` → ``"hello-world"``; at most ``max_length`` chars, cut at a hyphen."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut else slug[:max_length]
        slug = slug.strip("-")
    return slug


def slug_from_title(data: dict[str, Any]) -> str:
    return slugify(_title_of(data))
