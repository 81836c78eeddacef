"""The tools AI assistants get over the content: the chat's model (published reads) and MCP clients (the owner's).

One definition per tool: its name, title, description, JSON-Schema input and
output schemas and executor. Inputs use the content declarations of
``content/schema.py`` (outputs, ids and cursors: ``tool_schemas.py``) and are
checked by ``core/schema.py``. The input schema is plain JSON Schema, so it
maps directly onto OpenAI function calling (``Tool.to_openai()``) and onto MCP
``tools/list``.

Two views of the same content:

- ``View.PUBLIC`` (the chat's model): published items only, as visitors see them.
  ``list_content`` answers the whole list unless asked for a page with ``offset``
  and ``limit`` (then with ``offset`` and ``total``): the chat cuts a result that
  is too long for the model (``chat/toolresults.py``) and tells it which
  ``offset`` to ask for next.
- ``View.OWNER`` (MCP: every MCP client holds an admin credential, and stdio is
  the owner): drafts, archived and, on request, deleted items; the version
  history; list tools page with an opaque cursor (``nextCursor``).

Write tools (``write_tools``: create, update, delete, restore, publish,
unpublish) go through ``ContentService`` (so history rows, versions and cache
invalidation all happen as for the API) and record ``ToolContext.changed_by``.
Arguments are checked against the schema before a tool runs, and every problem
a caller can fix (bad arguments, validation, not found, conflict) is raised as
``ToolError`` with a message meant for the model or user.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from folionaut.content import tool_schemas as ts
from folionaut.content.models import STATUSES, ContentItem
from folionaut.content.schema import CONTENT_CREATE, CONTENT_UPDATE, NAME, STATUS, VERSION
from folionaut.content.service import ContentService
from folionaut.content.validation import UpdateInput, check_content_id, parse_create, parse_update
from folionaut.core import jsonutil
from folionaut.core.errors import ConflictError, NotFoundError, ValidationError
from folionaut.core.schema import Schema, object_schema, problems

__all__ = [
    "MAX_SEARCH_RESULTS", "Tool", "ToolContext", "ToolError", "ToolRegistry", "View", "all_tools", "read_tools",
    "write_tools",
]

MAX_SEARCH_RESULTS = 20
MAX_PAGE = 100
MAX_OFFSET = 100_000


class View(enum.Enum):
    PUBLIC = "public"  # published items only
    OWNER = "owner"  # every status; deleted items and history on request


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who is calling: write tools record ``changed_by`` in the history."""

    changed_by: str = "assistant"


ToolExecutor = Callable[[dict[str, Any], ToolContext], Awaitable[dict[str, Any]]]


class ToolError(Exception):
    """A failure the caller can act on; reported to it (MCP ``isError``, chat tool result)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    executor: ToolExecutor
    output_schema: dict[str, Any] | None = None
    read_only: bool = True
    destructive: bool = False

    @property
    def parameters(self) -> dict[str, Any]:
        """The input schema under the name OpenAI uses for it."""
        return self.input_schema

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.input_schema}}

    async def call(self, arguments: Mapping[str, Any] | None, context: ToolContext | None = None) -> Any:
        """Check ``arguments`` against the schema, then run the tool; returns a JSON-serialisable dict."""
        args = dict(arguments or {})
        found = problems(self.input_schema, args)
        if found:
            raise ToolError(f"Invalid arguments for {self.name}: " + _described(found))
        try:
            return await self.executor(args, context or ToolContext())
        except ValidationError as exc:
            raise ToolError(f"{exc.message}: {_described(exc.fields)}") from None
        except (NotFoundError, ConflictError) as exc:
            raise ToolError(exc.message) from None


class ToolRegistry:
    """A named set of tools; ``execute`` is what chat and MCP call."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = {tool.name: tool for tool in tools}

    def definitions(self) -> Sequence[Tool]:
        return list(self._tools.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    async def execute(self, name: str, arguments: Mapping[str, Any] | None, context: ToolContext | None = None) -> Any:
        tool = self._tools.get(name)
        if tool is None:
            raise ToolError(f"Unknown tool: {name!r}. Available: {', '.join(self._tools)}")
        return await tool.call(arguments, context)


def _described(fields: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{field}: {', '.join(messages)}" for field, messages in fields.items())


def _object(properties: Mapping[str, Schema], required: Sequence[str] = ()) -> Schema:
    """A tool's input schema: closed, so a misspelt argument is reported, not ignored."""
    return object_schema(properties, tuple(required), closed=True)


# --- paging ------------------------------------------------------------------------------------

def encode_cursor(offset: int, query: Mapping[str, Any]) -> str:
    """An opaque cursor: where the next page starts, and the query it belongs to."""
    raw = jsonutil.dumps({"o": offset, "q": dict(query)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: Mapping[str, Any]) -> int:
    """The offset a cursor we issued for this same query points at (0 without one)."""
    if cursor is None:
        return 0
    try:
        decoded = jsonutil.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        decoded = None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("o"), int) or decoded["o"] < 0:
        raise ToolError("Invalid cursor: pass the nextCursor of a previous answer unchanged")
    if decoded.get("q") != dict(query):
        raise ToolError("Invalid cursor: it belongs to a query with other arguments")
    return decoded["o"]


def _page(items: list[Any], limit: int, offset: int, query: Mapping[str, Any]) -> dict[str, Any]:
    """One more row than the page is fetched, so a next page is announced only when there is one."""
    page: dict[str, Any] = {}
    if len(items) > limit:
        page["nextCursor"] = encode_cursor(offset + limit, query)
    return page


def _offset_page(items: list[ContentItem], args: Mapping[str, Any]) -> dict[str, Any]:
    """The public view's list: whole, or with ``offset``/``limit`` one page of it, with where it starts and how
    many there are in all (what a caller whose answer was cut asks for next)."""
    offset, limit = args.get("offset"), args.get("limit")
    if offset is None and limit is None:
        return {"items": _wire(items)}
    offset, limit = offset or 0, limit or MAX_PAGE
    return {"items": _wire(items[offset:offset + limit]), "offset": offset, "total": len(items)}


def _wire(items: Iterable[ContentItem]) -> list[dict[str, Any]]:
    return [item.to_wire() for item in items]


def _list_output(key: str, entry: Schema, paging: Mapping[str, Schema] | None = None) -> Schema:
    return object_schema({key: {"type": "array", "items": entry}, **(paging or {})}, (key,))


#: What a list paged with cursors adds to its answer (the owner's view).
_CURSOR_PAGING: dict[str, Schema] = {
    "nextCursor": {"type": "string", "description": "Only when there is a next page: pass it back as cursor"}}
#: What a list paged with offset and limit adds to its answer (the public view, when asked for a page).
_OFFSET_PAGING: dict[str, Schema] = {
    "offset": {"type": "integer", "minimum": 0, "description": "Only when offset or limit was given: how many "
                                                               "items come before this page"},
    "total": {"type": "integer", "minimum": 0, "description": "Only when offset or limit was given: how many "
                                                              "items there are in all"}}
_ITEM_OUTPUT = object_schema({"item": ts.ITEM}, ("item",))
_LIMIT = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
          "description": f"Page size (default 50, max {MAX_PAGE})"}
_PUBLIC_PAGING: dict[str, Schema] = {
    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "description": "Skip this many items (paging)"},
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE,
              "description": f"At most this many items (default all, or {MAX_PAGE} when offset is given)"}}


# --- the tools ---------------------------------------------------------------------------------

def read_tools(service: ContentService, view: View = View.PUBLIC) -> list[Tool]:
    """The read-only tools: over published content (chat) or everything the owner has (MCP)."""
    owner = view is View.OWNER

    async def list_types(_args: dict[str, Any], _context: ToolContext) -> dict[str, Any]:
        if not owner:
            return {"types": [{"type": name, "count": count} for name, count in await service.published_types()]}
        types: dict[str, dict[str, Any]] = {}
        for name, status, count in await service.type_status_counts():
            entry = types.setdefault(name, {"type": name, "count": 0, "statuses": {}})
            entry["count"] += count
            entry["statuses"][status] = count
        return {"types": list(types.values())}

    async def list_content(args: dict[str, Any], _context: ToolContext) -> dict[str, Any]:
        if not owner:
            return _offset_page(await service.list_published(args.get("type")), args)
        query = {key: args[key] for key in ("type", "status", "includeDeleted") if args.get(key) is not None}
        limit = args.get("limit") or 50
        offset = decode_cursor(args.get("cursor"), query)
        found = await service.list_admin(args.get("type"), args.get("status"), bool(args.get("includeDeleted")),
                                         limit + 1, offset)
        return {"items": _wire(found[:limit]), **_page(found, limit, offset, query)}

    async def get_content(args: dict[str, Any], _context: ToolContext) -> dict[str, Any]:
        if not owner:
            try:
                item = await service.get_published(args["type"], args["slug"])
            except NotFoundError:
                raise ToolError(f"No published content at {args['type']}/{args['slug']}; "
                                "list_content shows what exists") from None
            return {"item": item.to_wire()}
        if args.get("id") is not None:
            if args.get("type") is not None or args.get("slug") is not None:
                raise ToolError("Give either id, or type and slug; not both")
            return {"item": (await service.get(check_content_id(args["id"]))).to_wire()}
        if args.get("type") is None or args.get("slug") is None:
            raise ToolError("Give the item's id, or its type and slug")
        return {"item": (await service.get_by_slug(args["type"], args["slug"])).to_wire()}

    async def search_content(args: dict[str, Any], _context: ToolContext) -> dict[str, Any]:
        found = await service.search(args["query"], args.get("limit") or 5, published_only=not owner)
        return {"results": _wire(found)}

    async def get_history(args: dict[str, Any], _context: ToolContext) -> dict[str, Any]:
        content_id = check_content_id(args["id"])
        query = {"id": content_id}
        limit = args.get("limit") or 20
        offset = decode_cursor(args.get("cursor"), query)
        entries = await service.history(content_id, limit + 1, offset)
        return {"entries": [entry.to_wire() for entry in entries[:limit]], **_page(entries, limit, offset, query)}

    which = "items of any status (drafts and archived too)" if owner else "published portfolio items"
    type_properties: dict[str, Any] = {"type": {**NAME, "description": "Only items of this type"}}
    if owner:
        type_properties |= {"status": {**STATUS, "description": "Only items with this status"},
                            "includeDeleted": {"type": "boolean", "description": "Include soft-deleted items"},
                            "limit": _LIMIT, "cursor": ts.CURSOR}
    else:
        type_properties |= _PUBLIC_PAGING
    key_properties = {"type": {**NAME, "description": "Content type, e.g. project"},
                      "slug": {**NAME, "description": "The item's slug, e.g. my-project"}}
    types_entry = object_schema({"type": {"type": "string"}, "count": {"type": "integer"}}, ("type", "count"))
    if owner:
        types_entry["properties"]["statuses"] = {"type": "object", "additionalProperties": {"type": "integer"},
                                                 "description": "How many items have each status"}
    tools = [
        Tool("list_types", "Content types",
             f"List the content types of the portfolio (e.g. project, skill, experience) with how many "
             f"{'items (not deleted) each has, per status' if owner else 'published items each has'}.",
             _object({}), list_types, _list_output("types", types_entry)),
        Tool("list_content", "List content",
             f"List {which}, optionally only those of one type{', status' if owner else ''}, in display order"
             + (". Pages: pass nextCursor back as cursor." if owner else "; offset and limit page through long lists."),
             _object(type_properties), list_content,
             _list_output("items", ts.ITEM, _CURSOR_PAGING if owner else _OFFSET_PAGING)),
        Tool("get_content", "Get one item",
             "Get one item by its id, or by type and slug (any status, deleted included)." if owner
             else "Get one published portfolio item by its type and slug.",
             _object({"id": ts.CONTENT_ID, **key_properties}) if owner
             else _object(key_properties, ["type", "slug"]),
             get_content, _ITEM_OUTPUT),
        Tool("search_content", "Search content",
             f"Full-text search over {which}; best matches first.",
             _object({"query": {"type": "string", "minLength": 1, "maxLength": 200,
                                         "description": "Words to look for"},
                               "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS,
                                         "description": "At most this many results (default 5)"}}, ["query"]),
             search_content, _list_output("results", ts.ITEM)),
    ]
    if owner:
        tools.append(Tool(
            "get_history", "Version history",
            "An item's version history, newest first: each version's data, change type and who changed it. "
            "restore_content brings an earlier version back. Pages: pass nextCursor back as cursor.",
            _object({"id": ts.CONTENT_ID, "limit": {**_LIMIT, "description": "Page size (default 20)"},
                              "cursor": ts.CURSOR}, ["id"]),
            get_history, _list_output("entries", ts.HISTORY_ENTRY, _CURSOR_PAGING)))
    return tools


def write_tools(service: ContentService) -> list[Tool]:
    """Changes through the content service; history rows name the context's ``changed_by``."""

    async def create_content(args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        return {"item": (await service.create(parse_create(args), context.changed_by)).to_wire()}

    async def update_content(args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        fields = dict(args)
        content_id = check_content_id(fields.pop("id"))
        return {"item": (await service.update(content_id, parse_update(fields), context.changed_by)).to_wire()}

    async def delete_content(args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        content_id = check_content_id(args["id"])
        await service.delete(content_id, context.changed_by)
        return {"deleted": True, "id": content_id}

    async def restore_content(args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
        item = await service.restore(check_content_id(args["id"]), args["version"], context.changed_by)
        return {"item": item.to_wire()}

    def set_status(status: str | None) -> ToolExecutor:
        async def execute(args: dict[str, Any], context: ToolContext) -> dict[str, Any]:
            change = UpdateInput(status=status or args.get("status") or "draft", version=args.get("version"))
            return {"item": (await service.update(check_content_id(args["id"]), change, context.changed_by)).to_wire()}
        return execute

    expected_version = {"version": VERSION}
    return [
        Tool("create_content", "Create an item", "Create a portfolio item (status draft unless given). Without a "
             "slug, one is made from data.title.",
             _object(CONTENT_CREATE["properties"], CONTENT_CREATE["required"]), create_content, _ITEM_OUTPUT,
             read_only=False),
        Tool("update_content", "Update an item", "Change a portfolio item: any of slug, data (replaced whole), "
             "status, sortOrder. Give version to fail instead of overwriting someone else's change.",
             _object({"id": ts.CONTENT_ID, **CONTENT_UPDATE["properties"]}, ["id"]), update_content, _ITEM_OUTPUT,
             read_only=False),
        Tool("delete_content", "Delete an item", "Delete a portfolio item (soft: restore_content brings it back).",
             _object({"id": ts.CONTENT_ID}, ["id"]), delete_content,
             object_schema({"deleted": {"type": "boolean", "const": True}, "id": {"type": "string"}},
                           ("deleted", "id")),
             read_only=False, destructive=True),
        Tool("restore_content", "Restore a version", "Copy an earlier version's data (see get_history) into a new "
             "version of the item; undeletes it.",
             _object({"id": ts.CONTENT_ID, "version": {**VERSION, "description": "The version to "
                                                                "bring back"}}, ["id", "version"]),
             restore_content, _ITEM_OUTPUT, read_only=False),
        Tool("publish_content", "Publish an item", "Make an item public (status published).",
             _object({"id": ts.CONTENT_ID, **expected_version}, ["id"]), set_status("published"),
             _ITEM_OUTPUT, read_only=False),
        Tool("unpublish_content", "Unpublish an item", "Take an item off the public site: back to draft "
             "(default) or archived.",
             _object({"id": ts.CONTENT_ID,
                               "status": {"type": "string", "enum": [s for s in STATUSES if s != "published"],
                                          "description": "draft (default) or archived"},
                               **expected_version}, ["id"]),
             set_status(None), _ITEM_OUTPUT, read_only=False),
    ]


def all_tools(service: ContentService) -> list[Tool]:
    """Everything an MCP client may get: the owner's reads, then the writes."""
    return [*read_tools(service, View.OWNER), *write_tools(service)]
