"""Validation of content input, shared by the HTTP API and the MCP tools.

The field rules are the declarations in ``content/schema.py``; this module adds
the rules that span fields. Each function returns clean values or raises
``ValidationError`` whose ``fields`` maps every bad field to its problems, all
at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from folionaut.content.models import ADMIN_SORT_KEYS
from folionaut.content.schema import (
    CONTENT_CREATE,
    CONTENT_UPDATE,
    CONTENT_UPDATE_FIELDS,
    ID_PREFIX,
    NAME,
    RESTORE,
    STATUS,
)
from folionaut.core.errors import ValidationError
from folionaut.core.schema import BODY, Schema, object_schema, problems

__all__ = [
    "MAX_SEARCH_CHARS", "CreateInput", "UpdateInput", "check_admin_sort", "check_content_id", "check_name",
    "check_search", "check_status_filter", "parse_create", "parse_restore", "parse_update", "slug_from_title",
    "slugify",
]

MAX_SEARCH_CHARS = 200


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


# Unknown body fields are ignored, not rejected (as the original did), so a client
# that sends back a whole item it read (id, createdAt, …) keeps working.

def _checked(schema: Schema, body: object) -> tuple[dict[str, Any], dict[str, list[str]]]:
    found = problems(schema, body)
    if BODY in found:
        raise ValidationError(found)
    assert isinstance(body, dict)
    return body, found


def _value(body: dict[str, Any], name: str, found: dict[str, list[str]]) -> Any:
    """The field's value if present and valid, else None."""
    return None if name in found else body.get(name)


def parse_create(body: object) -> CreateInput:
    values, found = _checked(CONTENT_CREATE, body)
    data = _value(values, "data", found)
    if values.get("slug") is None and "slug" not in found and data is not None and not slug_from_title(data):
        found["slug"] = ["Required when data.title is missing or has no letters or digits"]
    if found:
        raise ValidationError(found)
    return CreateInput(values["type"], values.get("slug"), data, values.get("status") or "draft",
                       values.get("sortOrder") or 0)


def parse_update(body: object) -> UpdateInput:
    values, found = _checked(CONTENT_UPDATE, body)
    update = UpdateInput(**{attribute: _value(values, name, found) for name, attribute in (
        ("slug", "slug"), ("data", "data"), ("status", "status"), ("sortOrder", "sort_order"), ("version", "version"))})
    if not found and not update.changed_fields():
        found[BODY] = ["Provide at least one of: " + ", ".join(CONTENT_UPDATE_FIELDS)]
    if found:
        raise ValidationError(found)
    return update


def parse_restore(body: object) -> int:
    values, found = _checked(RESTORE, body)
    if found:
        raise ValidationError(found)
    return int(values["version"])


def check_content_id(value: str, field: str = "id") -> str:
    if not value.startswith(ID_PREFIX) or len(value) > 100 or len(value) == len(ID_PREFIX):
        raise ValidationError({field: [f"Must be a content id starting with {ID_PREFIX!r}"]})
    return value


def check_name(value: object, field: str) -> str:
    """A type or slug from a path or query parameter."""
    found = problems(object_schema({field: NAME}, (field,)), {field: value})
    if found:
        raise ValidationError(found)
    assert isinstance(value, str)
    return value


def check_status_filter(value: object) -> str | None:
    found = problems(object_schema({"status": STATUS}), {"status": value})
    if found:
        raise ValidationError(found)
    return value if isinstance(value, str) else None


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


def check_admin_sort(value: str | None) -> tuple[str | None, bool]:
    """``"-updatedAt"`` → ``("updatedAt", True)``; None → the default order."""
    if value is None:
        return None, False
    key = value.removeprefix("-")
    if key not in ADMIN_SORT_KEYS:
        raise ValidationError.single("sort", "Expected one of: " + ", ".join(ADMIN_SORT_KEYS)
                                     + " (a leading - sorts descending)")
    return key, value.startswith("-")


def check_search(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_SEARCH_CHARS:
        raise ValidationError.single("q", f"Must be at most {MAX_SEARCH_CHARS} characters")
    return value
