"""Content input, declared once.

These JSON Schema declarations are what the admin API validates
(``content/validation.py``), what MCP tools publish as their ``inputSchema``
(``content/assistant_tools.py``) and what the OpenAPI document shows
(``ContentCreate``, ``ContentUpdate``, ``RestoreRequest`` in ``http/openapi.py``).
Change a rule here and all three change together.

Rules that span fields stay in code, in ``validation.py``: a create without a
slug needs a ``data.title`` with letters or digits; an update must change
something. Unknown fields in a body are ignored (as the original did), so a
client that sends back a whole item it read keeps working; MCP tools close
their schemas instead (``closed=True``) so a model learns of a misspelt argument.
"""

from __future__ import annotations

import re

from folionaut.content.models import STATUSES
from folionaut.core.schema import Schema, object_schema

__all__ = [
    "CONTENT_CREATE", "CONTENT_UPDATE", "CONTENT_UPDATE_FIELDS", "DATA", "ID_PREFIX", "MAX_DATA_DEPTH",
    "MAX_DATA_INTEGER", "MAX_SORT_ORDER", "MAX_VERSION",
    "NAME", "NAME_PATTERN", "NAME_RULE", "RESTORE", "SORT_ORDER", "STATUS", "VERSION", "is_name",
]

NAME_RULE = "Must be 1-100 characters of lowercase letters, digits and hyphens"
NAME_PATTERN = re.compile(r"[a-z0-9-]{1,100}")
ID_PREFIX = "content_"
MAX_SORT_ORDER = 2**31 - 1
MAX_VERSION = 2**53  # JSON numbers stay exact up to here
#: Objects and arrays nested at most this deep in an item's data (serialising fails near 254 levels).
MAX_DATA_DEPTH = 64
#: Whole numbers in an item's data stay within plus or minus this (exact in JSON everywhere).
MAX_DATA_INTEGER = 2**53

NAME: Schema = {"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$", "minLength": 1, "maxLength": 100,
                "x-message": NAME_RULE}
DATA: Schema = {"type": "object", "minProperties": 1, "x-maxDepth": MAX_DATA_DEPTH, "x-integerLimit": MAX_DATA_INTEGER,
                "description": 'The item\'s fields, e.g. {"title": "…", "description": "…"}: objects and arrays '
                               f'nested at most {MAX_DATA_DEPTH} deep, whole numbers within ±2^53'}
STATUS: Schema = {"type": "string", "enum": list(STATUSES), "description": "Only published items are public"}
SORT_ORDER: Schema = {"type": "integer", "minimum": -MAX_SORT_ORDER, "maximum": MAX_SORT_ORDER,
                      "description": "Display order, lowest first"}
VERSION: Schema = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION,
                   "description": "The version you read; a different current version is a conflict (409)"}

CONTENT_CREATE: Schema = object_schema({
    "type": {**NAME, "description": "Content type, e.g. project"},
    "slug": {**NAME, "description": "URL slug; default: slugified data.title, made unique with -2, -3…"},
    "data": DATA,
    "status": {**STATUS, "default": "draft"},
    "sortOrder": {**SORT_ORDER, "default": 0},
}, ("type", "data"))

#: The fields an update may change (at least one of them).
CONTENT_UPDATE_FIELDS = ("slug", "data", "status", "sortOrder")
CONTENT_UPDATE: Schema = object_schema({
    "slug": NAME, "data": {**DATA, "description": "Replaces the item's data whole"}, "status": STATUS,
    "sortOrder": SORT_ORDER, "version": VERSION,
}, minProperties=1, description="Partial update; at least one of slug, data, status, sortOrder.")

RESTORE: Schema = object_schema({"version": {**VERSION, "description": "The version whose data to bring back"}},
                                ("version",))


def is_name(value: str) -> bool:
    """A valid type or slug (the whole string: "nl\\n" is not one)."""
    return NAME_PATTERN.fullmatch(value) is not None
