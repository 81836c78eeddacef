"""The tools AI assistants get over the content: the chat's model (read-only) and MCP clients (read and write).

One definition per tool: its name, description, JSON-Schema input schema and
executor. The schema is plain JSON Schema, so it maps directly onto OpenAI
function calling (``Tool.to_openai()``) and onto MCP ``tools/list``.

Content fields use the declarations of ``content/schema.py``, and arguments
are checked against the schema (``core/schema.py``) before a tool runs; every
problem a caller can fix (bad arguments, validation, not found, conflict)
is raised as ``ToolError`` with a message meant for the model or user.
Reads see published content only; writes go through ``ContentService`` (so
history rows, versions and cache invalidation all happen as for the API).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from folionaut.content.models import ContentItem
from folionaut.content.schema import CONTENT_CREATE, CONTENT_UPDATE, ID_PREFIX, NAME
from folionaut.content.service import ContentService
from folionaut.content.validation import check_content_id, parse_create, parse_update
from folionaut.core.errors import ConflictError, NotFoundError, ValidationError
from folionaut.core.schema import object_schema, problems

__all__ = ["MAX_SEARCH_RESULTS", "Tool", "ToolError", "ToolRegistry", "all_tools", "read_tools", "write_tools"]

ToolExecutor = Callable[[dict[str, Any]], Awaitable[Any]]

MAX_SEARCH_RESULTS = 20


class ToolError(Exception):
    """A failure the caller can act on; reported to it (MCP ``isError``, chat tool result)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    input_schema: dict[str, Any]
    executor: ToolExecutor
    read_only: bool = True

    @property
    def parameters(self) -> dict[str, Any]:
        """The input schema under the name OpenAI uses for it."""
        return self.input_schema

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.input_schema}}

    async def call(self, arguments: Mapping[str, Any] | None) -> Any:
        """Check ``arguments`` against the schema, then run the tool; returns a JSON-serialisable dict."""
        args = dict(arguments or {})
        found = problems(self.input_schema, args)
        if found:
            raise ToolError(f"Invalid arguments for {self.name}: " + _described(found))
        try:
            return await self.executor(args)
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

    async def execute(self, name: str, arguments: Mapping[str, Any] | None) -> Any:
        tool = self._tools.get(name)
        if tool is None:
            raise ToolError(f"Unknown tool: {name!r}. Available: {', '.join(self._tools)}")
        return await tool.call(arguments)


def _described(fields: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{field}: {', '.join(messages)}" for field, messages in fields.items())


def _object(properties: dict[str, Any], required: Sequence[str] = ()) -> dict[str, Any]:
    """A tool's input schema: closed, so a misspelt argument is reported, not ignored."""
    return object_schema(properties, tuple(required), closed=True)


def _items(items: Iterable[ContentItem]) -> list[dict[str, Any]]:
    return [item.to_wire() for item in items]


# --- the tools ---------------------------------------------------------------------------------

def read_tools(service: ContentService) -> list[Tool]:
    """The four read-only tools over published content (chat and MCP)."""

    async def list_types(_args: dict[str, Any]) -> dict[str, Any]:
        return {"types": [{"type": name, "count": count} for name, count in await service.published_types()]}

    async def list_content(args: dict[str, Any]) -> dict[str, Any]:
        return {"items": _items(await service.list_published(args.get("type")))}

    async def get_content(args: dict[str, Any]) -> dict[str, Any]:
        try:
            item = await service.get_published(args["type"], args["slug"])
        except NotFoundError:
            raise ToolError(f"No published content at {args['type']}/{args['slug']}; "
                            "list_content shows what exists") from None
        return {"item": item.to_wire()}

    async def search_content(args: dict[str, Any]) -> dict[str, Any]:
        found = await service.search_published(args["query"], args.get("limit") or 5)
        return {"results": _items(found)}

    return [
        Tool("list_types", "List the content types of the portfolio (e.g. project, skill, experience) "
             "with how many published items each has.", _object({}), list_types),
        Tool("list_content", "List published portfolio items, optionally only those of one type, "
             "in display order.", _object({"type": {**NAME, "description": "Only items of this type"}}),
             list_content),
        Tool("get_content", "Get one published portfolio item by its type and slug.",
             _object({"type": {**NAME, "description": "Content type, e.g. project"},
                      "slug": {**NAME, "description": "The item's slug, e.g. my-project"}}, ["type", "slug"]),
             get_content),
        Tool("search_content", "Full-text search over published portfolio items; best matches first.",
             _object({"query": {"type": "string", "minLength": 1, "maxLength": 200,
                                "description": "Words to look for"},
                      "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS,
                                "description": "At most this many results (default 5)"}}, ["query"]),
             search_content),
    ]


def write_tools(service: ContentService, changed_by: str) -> list[Tool]:
    """create/update/delete through the content service; history rows name ``changed_by``."""

    async def create_content(args: dict[str, Any]) -> dict[str, Any]:
        item = await service.create(parse_create(args), changed_by)
        return {"item": item.to_wire()}

    async def update_content(args: dict[str, Any]) -> dict[str, Any]:
        fields = dict(args)
        content_id = check_content_id(fields.pop("id"))
        item = await service.update(content_id, parse_update(fields), changed_by)
        return {"item": item.to_wire()}

    async def delete_content(args: dict[str, Any]) -> dict[str, Any]:
        content_id = check_content_id(args["id"])
        await service.delete(content_id, changed_by)
        return {"deleted": True, "id": content_id}

    content_id = {"type": "string", "minLength": len(ID_PREFIX) + 1, "maxLength": 100,
                  "description": f"The item's id ({ID_PREFIX}…), as returned by the other tools"}
    return [
        Tool("create_content", "Create a portfolio item (status draft unless given). Without a slug, "
             "one is made from data.title.",
             _object(CONTENT_CREATE["properties"], CONTENT_CREATE["required"]), create_content, read_only=False),
        Tool("update_content", "Change a portfolio item: any of slug, data (replaced whole), status, "
             "sortOrder. Give version to fail instead of overwriting someone else's change.",
             _object({"id": content_id, **CONTENT_UPDATE["properties"]}, ["id"]), update_content, read_only=False),
        Tool("delete_content", "Delete a portfolio item (soft: an admin can restore it from its history).",
             _object({"id": content_id}, ["id"]), delete_content, read_only=False),
    ]


def all_tools(service: ContentService, changed_by: str) -> list[Tool]:
    return [*read_tools(service), *write_tools(service, changed_by)]
