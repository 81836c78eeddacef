"""What MCP clients read besides tools: the ``folionaut://content`` resources and the prompts.

Resources are the owner's view (every item not deleted, any status, each with
its ``status``), as the read tools are; ``resources/list`` pages with an opaque
cursor. Prompts are written for visitors, so they use published content only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from folionaut.content.schema import is_name
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.core.errors import NotFoundError
from folionaut.mcp.errors import INVALID_PARAMS, RESOURCE_NOT_FOUND, RpcError

__all__ = [
    "JSON_MIME", "PROMPTS", "RESOURCE_PAGE", "RESOURCE_SCHEME", "RESOURCE_TEMPLATES", "get_prompt", "list_resources",
    "read_resource",
]

RESOURCE_SCHEME = "folionaut://content"
JSON_MIME = "application/json"
#: resources/list pages hold this many entries.
RESOURCE_PAGE = 100
_EVERYTHING = 2**31 - 1


def text(payload: Any) -> str:
    return jsonutil.dumps_str(payload)


# --- resources -----------------------------------------------------------------------------------

async def list_resources(service: ContentService, cursor: Any) -> tuple[list[dict[str, Any]], str | None]:
    """One page of resources (the whole, each type, then each item) and the next page's cursor, if any."""
    offset = _cursor_offset(cursor)
    head = [{"uri": RESOURCE_SCHEME, "name": "content", "title": "All content",
             "description": "Every item (not deleted), grouped by type", "mimeType": JSON_MIME}]
    counts: dict[str, dict[str, int]] = {}
    for content_type, status, count in await service.type_status_counts():
        counts.setdefault(content_type, {})[status] = count
    for content_type, statuses in counts.items():
        detail = ", ".join(f"{count} {status}" for status, count in statuses.items())
        head.append({"uri": f"{RESOURCE_SCHEME}/{content_type}", "name": f"content-{content_type}",
                     "title": f"{content_type} items", "description": f"{detail}, in display order",
                     "mimeType": JSON_MIME})
    page = head[offset:offset + RESOURCE_PAGE]
    room = RESOURCE_PAGE - len(page)
    # One item past the page says whether there is a next one.
    items = await service.list_admin(limit=room + 1, offset=max(0, offset - len(head)))
    for item in items[:room]:
        title = item.data.get("title") if isinstance(item.data.get("title"), str) else item.slug
        page.append({"uri": f"{RESOURCE_SCHEME}/{item.type}/{item.slug}", "name": f"{item.type}-{item.slug}",
                     "title": str(title)[:200], "description": f"{item.status} {item.type}", "mimeType": JSON_MIME})
    more = len(items) > room or offset + RESOURCE_PAGE < len(head)
    return page, _encode_offset(offset + RESOURCE_PAGE) if more else None


async def read_resource(service: ContentService, params: dict[str, Any]) -> dict[str, Any]:
    uri = params.get("uri")
    if not isinstance(uri, str):
        raise RpcError(INVALID_PARAMS, "Invalid params: resources/read needs uri (a string)")
    parts = _resource_path(uri)
    if parts is None:
        raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
    if not parts:
        grouped: dict[str, list[Any]] = {}
        for item in await service.list_admin(limit=_EVERYTHING):
            grouped.setdefault(item.type, []).append(item.to_wire())
        payload: Any = grouped
    elif len(parts) == 1:
        items = await service.list_admin(parts[0], limit=_EVERYTHING)
        if not items:  # types are whatever the database holds
            raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri} (no {parts[0]} items)", {"uri": uri})
        payload = [item.to_wire() for item in items]
    else:
        try:
            payload = (await service.get_by_slug(parts[0], parts[1])).to_wire()
        except NotFoundError:
            raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri}) from None
    return {"contents": [{"uri": uri, "mimeType": JSON_MIME, "text": text(payload)}]}


def _resource_path(uri: str) -> list[str] | None:
    """``folionaut://content[/type[/slug]]`` → its path parts; None for anything else."""
    if uri == RESOURCE_SCHEME:
        return []
    if not uri.startswith(RESOURCE_SCHEME + "/"):
        return None
    parts = uri[len(RESOURCE_SCHEME) + 1:].split("/")
    if len(parts) > 2 or not all(is_name(part) for part in parts):
        return None
    return parts


def _encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _cursor_offset(cursor: Any) -> int:
    """The offset of a cursor we issued (0 without one)."""
    if cursor is None:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(cursor.encode()).decode() if isinstance(cursor, str) else ""
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    prefix, _, number = decoded.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise RpcError(INVALID_PARAMS, "Invalid params: unknown cursor")
    return int(number)


RESOURCE_TEMPLATES: list[dict[str, Any]] = [
    {"uriTemplate": RESOURCE_SCHEME + "/{type}", "name": "content-by-type", "title": "Items of one type",
     "description": "Every item (not deleted) of one content type (see resources/list for the types)",
     "mimeType": JSON_MIME},
    {"uriTemplate": RESOURCE_SCHEME + "/{type}/{slug}", "name": "content-item", "title": "One item",
     "description": "One item by type and slug, whatever its status", "mimeType": JSON_MIME},
]


# --- prompts -------------------------------------------------------------------------------------

PROMPTS: list[dict[str, Any]] = [
    {"name": "summarize_portfolio", "title": "Summarize the portfolio",
     "description": "A visitor-friendly summary of the whole published portfolio"},
    {"name": "explain_project", "title": "Explain a project",
     "description": "Explain one published project",
     "arguments": [{"name": "slug", "description": "The project's slug", "required": True}]},
    {"name": "compare_skills", "title": "Compare skills",
     "description": "Compare and group the published skills",
     "arguments": [{"name": "focus", "description": "Optional angle, e.g. backend or leadership",
                    "required": False}]},
]


def _prompt(description: str, body: str) -> dict[str, Any]:
    return {"description": description, "messages": [{"role": "user", "content": {"type": "text", "text": body}}]}


async def get_prompt(service: ContentService, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("name")
    if not isinstance(name, str):
        raise RpcError(INVALID_PARAMS, "Invalid params: prompts/get needs name (a string)")
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
        raise RpcError(INVALID_PARAMS, "Invalid params: prompt arguments must be an object of strings")
    if name == "summarize_portfolio":
        grouped = await service.bundle()
        bundle = {kind: [item.data for item in items] for kind, items in grouped.items()}
        return _prompt("Summarize the portfolio", (
            "Write a short, friendly summary of this portfolio for a visitor: who the owner is, what they "
            "work on and their strongest skills. Use only the content below.\n\n"
            f"```json\n{text(bundle)}\n```"))
    if name == "explain_project":
        slug = arguments.get("slug")
        if not slug:
            raise RpcError(INVALID_PARAMS, "Invalid params: explain_project needs the argument slug")
        if not is_name(slug):
            raise RpcError(INVALID_PARAMS, "Invalid params: slug must be lowercase letters, digits and hyphens")
        try:
            project = await service.get_published("project", slug)
        except NotFoundError:
            raise RpcError(INVALID_PARAMS, f"Invalid params: no published project {slug!r}") from None
        return _prompt(f"Explain the project {slug}", (
            "Explain this project to a visitor: the problem it solves, how it was built, the technologies "
            "used and what is notable about it. Use only the content below.\n\n"
            f"```json\n{text(project.to_wire())}\n```"))
    if name == "compare_skills":
        skills = [item.data for item in await service.list_published("skill")]
        focus = arguments.get("focus")
        ask = f" with a focus on {focus}" if focus else ""
        return _prompt("Compare the skills", (
            f"Compare the skills in this portfolio{ask}: group related ones, say which are strongest and "
            "how they complement each other. Use only the content below.\n\n"
            f"```json\n{text(skills)}\n```"))
    raise RpcError(INVALID_PARAMS, f"Invalid params: unknown prompt {name!r}")
