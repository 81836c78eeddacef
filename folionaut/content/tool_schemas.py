"""JSON Schemas the assistant tools add to the content declarations: their outputs, ids and cursors.

Inputs reuse ``content/schema.py`` (the same rules as the admin API) and are
checked by ``core/schema.py``. Output schemas are what MCP clients validate
``structuredContent`` against (revisions 2025-06-18 on), so each one is exact
and self-contained (no ``$ref``): a field the tools return is a field declared
here.
"""

from __future__ import annotations

from folionaut.content.models import CHANGE_TYPES, STATUSES
from folionaut.content.schema import ID_PREFIX
from folionaut.core.schema import Schema

__all__ = ["CONTENT_ID", "CURSOR", "HISTORY_ENTRY", "ITEM"]

CONTENT_ID: Schema = {"type": "string", "pattern": f"^{ID_PREFIX}", "minLength": len(ID_PREFIX) + 1, "maxLength": 100,
                      "x-message": f"Must be a content id starting with {ID_PREFIX!r}",
                      "description": f"The item's id ({ID_PREFIX}…), as returned by the other tools"}
CURSOR: Schema = {"type": "string", "minLength": 1, "maxLength": 500,
                  "description": "nextCursor of the previous page, to get the next one"}

_TIMESTAMP: Schema = {"type": "string", "description": "ISO 8601, UTC"}
ITEM: Schema = {
    "type": "object",
    "required": ["id", "type", "slug", "data", "status", "version", "sortOrder", "createdAt", "updatedAt",
                 "deletedAt"],
    "properties": {
        "id": {"type": "string"}, "type": {"type": "string"}, "slug": {"type": "string"},
        "data": {"type": "object"}, "status": {"type": "string", "enum": list(STATUSES)},
        "version": {"type": "integer"}, "sortOrder": {"type": "integer"},
        "createdAt": _TIMESTAMP, "updatedAt": _TIMESTAMP,
        "deletedAt": {"type": ["string", "null"], "description": "Set when soft-deleted"},
    },
}
HISTORY_ENTRY: Schema = {
    "type": "object",
    "required": ["id", "contentId", "version", "data", "changeType", "changedBy", "changeSummary", "createdAt"],
    "properties": {
        "id": {"type": "string"}, "contentId": {"type": "string"}, "version": {"type": "integer"},
        "data": {"type": "object", "description": "The item's data as it was after this change"},
        "changeType": {"type": "string", "enum": list(CHANGE_TYPES)},
        "changedBy": {"type": ["string", "null"]}, "changeSummary": {"type": ["string", "null"]},
        "createdAt": _TIMESTAMP,
    },
}
