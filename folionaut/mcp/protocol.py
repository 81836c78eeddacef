"""The MCP server core: JSON-RPC 2.0 in, JSON-RPC 2.0 out, independent of transport.

Two eras of the protocol are spoken side by side:

- Handshake revisions (2025-03-26, 2025-06-18, 2025-11-25): the client sends
  ``initialize`` (we answer with its version if we speak it, else our newest
  handshake version), then ``notifications/initialized``; the negotiated
  version lives in a ``ConnectionState`` that the transport keeps (one per
  stdio process, one per HTTP session). Only 2025-03-26 allows batches.
- The stateless revision (2026-07-28): no handshake and no session. Every
  request carries ``params._meta`` with ``io.modelcontextprotocol/protocolVersion``
  and ``io.modelcontextprotocol/clientCapabilities``; ``server/discover`` tells
  a client what we support; every result carries ``resultType`` (and the
  cacheable ones ``ttlMs``/``cacheScope``); ``ping`` is gone; no batches.

Tool failures (bad arguments, validation, not found) are results with
``isError: true`` so the model can correct itself; protocol misuse gets a
JSON-RPC error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from folionaut import __version__
from folionaut.content.assistant_tools import ToolError, ToolRegistry, all_tools
from folionaut.content.schema import is_name
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.core.errors import NotFoundError
from folionaut.core.logging import get_logger

log = get_logger("mcp")

HANDSHAKE_VERSIONS: tuple[str, ...] = ("2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
SUPPORTED_VERSIONS: tuple[str, ...] = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[-1]
#: Revisions that allow JSON-RPC batches (2025-06-18 removed them).
BATCH_VERSIONS: tuple[str, ...] = ("2025-03-26",)
#: ``structuredContent`` in tool results exists from this revision on.
STRUCTURED_CONTENT_VERSIONS: tuple[str, ...] = ("2025-06-18", "2025-11-25", *MODERN_VERSIONS)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo"

CHANGED_BY = "mcp"
RESOURCE_SCHEME = "folionaut://content"
JSON_MIME = "application/json"

COMMON_METHODS = frozenset({
    "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read",
    "prompts/list", "prompts/get",
})
HANDSHAKE_METHODS = COMMON_METHODS | {"initialize", "ping"}
MODERN_METHODS = COMMON_METHODS | {"server/discover"}
#: Results a 2026-07-28 client may cache: they carry ttlMs and cacheScope.
CACHEABLE_METHODS = frozenset({
    "tools/list", "resources/list", "resources/templates/list", "resources/read", "prompts/list", "server/discover",
})

INSTRUCTIONS = (
    "Folionaut holds a portfolio: items of some type (project, skill, experience, ...) each with a slug and "
    "JSON data. Read published content with list_types, list_content, get_content and search_content or the "
    "folionaut://content resources; change it with create_content, update_content and delete_content "
    "(every change is versioned and can be restored by an admin)."
)


class RpcError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_error(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def error_response(request_id: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": RpcError(code, message, data).to_error()}


def unsupported_version_error(requested: Any, request_id: Any = None) -> dict[str, Any]:
    return error_response(request_id, UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
                          {"supported": list(SUPPORTED_VERSIONS), "requested": requested})


@dataclass(slots=True)
class ConnectionState:
    """What a handshake negotiated; one per stdio process or HTTP session."""

    protocol_version: str | None = None
    client_info: dict[str, Any] | None = None
    initialized: bool = False  # notifications/initialized seen

    @property
    def allows_batches(self) -> bool:
        return self.protocol_version in BATCH_VERSIONS


@dataclass(frozen=True, slots=True)
class Envelope:
    """The per-request fields of a 2026-07-28 request."""

    protocol_version: str
    client_capabilities: Any
    client_info: Any = None


def modern_version_of(message: Any) -> Any:
    """The protocol version a request's ``_meta`` envelope names, or None when it has none."""
    if not isinstance(message, dict):
        return None
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta.get(PROTOCOL_VERSION_META_KEY) if isinstance(meta, dict) else None


def check_envelope(params: Mapping[str, Any] | None) -> Envelope:
    """Validate a 2026-07-28 request's ``_meta`` envelope (raises RpcError)."""
    meta = params.get("_meta") if params else None
    if not isinstance(meta, dict):
        raise RpcError(INVALID_PARAMS, f"params._meta must be an object with {PROTOCOL_VERSION_META_KEY!r} "
                                       f"and {CLIENT_CAPABILITIES_META_KEY!r}")
    missing = [key for key in (PROTOCOL_VERSION_META_KEY, CLIENT_CAPABILITIES_META_KEY) if key not in meta]
    if missing:
        raise RpcError(INVALID_PARAMS, f"params._meta is missing: {', '.join(missing)}")
    version = meta[PROTOCOL_VERSION_META_KEY]
    if not isinstance(version, str):
        raise RpcError(INVALID_PARAMS, "the protocol version in params._meta must be a string")
    if version not in MODERN_VERSIONS:
        raise RpcError(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
                       {"supported": list(SUPPORTED_VERSIONS), "requested": version})
    return Envelope(version, meta[CLIENT_CAPABILITIES_META_KEY], meta.get(CLIENT_INFO_META_KEY))


def _text(payload: Any) -> str:
    return jsonutil.dumps_str(payload)


@dataclass(slots=True)
class _Call:
    method: str
    params: dict[str, Any]
    version: str
    modern: bool
    state: ConnectionState = field(default_factory=ConnectionState)


class McpServer:
    """Answers MCP messages for one content service; transports own framing and sessions."""

    def __init__(self, service: ContentService, changed_by: str = CHANGED_BY, *, name: str = "folionaut",
                 version: str = __version__) -> None:
        self.service = service
        self.tools = ToolRegistry(all_tools(service, changed_by))
        self.server_info = {"name": name, "title": "Folionaut portfolio", "version": version}
        self.capabilities: dict[str, Any] = {
            "tools": {"listChanged": False},
            "resources": {"listChanged": False, "subscribe": False},
            "prompts": {"listChanged": False},
        }

    # --- entry points -------------------------------------------------------------------------

    async def handle_text(self, raw: bytes | str, state: ConnectionState) -> Any | None:
        """Parse one JSON text and answer it; None when nothing is owed (notifications only)."""
        try:
            message = jsonutil.loads(raw)
        except (jsonutil.JSONDecodeError, ValueError, RecursionError):
            return error_response(None, PARSE_ERROR, "Parse error: the message is not valid JSON")
        return await self.handle(message, state)

    async def handle(self, message: Any, state: ConnectionState) -> Any | None:
        """Answer one decoded message or batch (a list); None when nothing is owed."""
        if isinstance(message, list):
            return await self._batch(message, state)
        return await self._single(message, state)

    async def _batch(self, messages: list[Any], state: ConnectionState) -> Any | None:
        if not messages:
            return error_response(None, INVALID_REQUEST, "Invalid Request: empty batch")
        if not state.allows_batches:
            version = state.protocol_version or "this connection"
            return error_response(None, INVALID_REQUEST,
                                  f"Invalid Request: JSON-RPC batches are not supported in {version} "
                                  f"(only in {', '.join(BATCH_VERSIONS)})")
        replies = []
        for message in messages:
            if isinstance(message, dict) and message.get("method") == "initialize":
                reply: Any = error_response(message.get("id"), INVALID_REQUEST,
                                            "Invalid Request: initialize must not be part of a batch")
            else:
                reply = await self._single(message, state)
            if reply is not None:
                replies.append(reply)
        return replies or None

    async def _single(self, message: Any, state: ConnectionState) -> dict[str, Any] | None:
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return error_response(None, INVALID_REQUEST, "Invalid Request: expected a JSON-RPC 2.0 object")
        if "method" not in message:
            if "result" in message or "error" in message:
                return None  # a response to a request we never send: nothing to do
            return error_response(message.get("id"), INVALID_REQUEST, "Invalid Request: missing method")
        method = message["method"]
        if "id" not in message:
            if isinstance(method, str):
                self._notification(method, state)
            return None
        request_id = message["id"]
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return error_response(None, INVALID_REQUEST, "Invalid Request: id must be a string or an integer")
        if not isinstance(method, str):
            return error_response(request_id, INVALID_REQUEST, "Invalid Request: method must be a string")
        try:
            result = await self._request(method, message.get("params"), state)
        except RpcError as exc:
            return {"jsonrpc": "2.0", "id": request_id, "error": exc.to_error()}
        except Exception:
            log.exception("MCP request %s failed", method)
            return error_response(request_id, INTERNAL_ERROR, "Internal error")
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    def _notification(self, method: str, state: ConnectionState) -> None:
        if method == "notifications/initialized" and state.protocol_version is not None:
            state.initialized = True
        # Everything else (cancelled, progress, roots changed, ...) needs nothing from us:
        # every request is answered before the next is read.

    async def _request(self, method: str, params: Any, state: ConnectionState) -> dict[str, Any]:
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: params must be an object")
        if modern_version_of({"params": params}) is not None and method != "initialize":
            envelope = check_envelope(params)
            if method not in MODERN_METHODS:
                raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
            result = await self._dispatch(_Call(method, params, envelope.protocol_version, True, state))
            return self._modern_result(method, result)
        if method == "server/discover":
            check_envelope(params)  # raises: discover is a 2026-07-28 request and needs its envelope
        if method not in HANDSHAKE_METHODS:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method}")
        if method == "initialize":
            return self._initialize(params, state)
        if method == "ping":
            return {}
        if state.protocol_version is None:
            raise RpcError(INVALID_REQUEST, "Invalid Request: send initialize first (or use protocol version "
                                            f"{MODERN_VERSIONS[-1]} with the per-request _meta envelope)")
        return await self._dispatch(_Call(method, params, state.protocol_version, False, state))

    def _modern_result(self, method: str, result: dict[str, Any]) -> dict[str, Any]:
        result = {**result, "resultType": "complete"}
        if method in CACHEABLE_METHODS:
            # Content can change at any moment and requires the admin key: nothing is cacheable or shareable.
            result.setdefault("ttlMs", 0)
            result.setdefault("cacheScope", "private")
        meta = dict(result.get("_meta") or {})
        meta[SERVER_INFO_META_KEY] = self.server_info
        result["_meta"] = meta
        return result

    # --- lifecycle ----------------------------------------------------------------------------

    def _initialize(self, params: dict[str, Any], state: ConnectionState) -> dict[str, Any]:
        if state.protocol_version is not None:
            raise RpcError(INVALID_REQUEST, "Invalid Request: the connection is already initialized")
        requested = params.get("protocolVersion")
        if not isinstance(requested, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: initialize needs protocolVersion (a string)")
        client_info = params.get("clientInfo")
        if client_info is not None and not isinstance(client_info, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: clientInfo must be an object")
        # Our answer is the client's version when we speak it, else the newest handshake version we do.
        version = requested if requested in HANDSHAKE_VERSIONS else LATEST_HANDSHAKE_VERSION
        state.protocol_version = version
        state.client_info = client_info
        log.info("MCP client initialized", extra={
            "protocolVersion": version,
            "client": str((client_info or {}).get("name", "unknown"))[:100],
        })
        return {"protocolVersion": version, "capabilities": self.capabilities,
                "serverInfo": self.server_info, "instructions": INSTRUCTIONS}

    def _discover(self) -> dict[str, Any]:
        return {"supportedVersions": list(SUPPORTED_VERSIONS), "capabilities": self.capabilities,
                "instructions": INSTRUCTIONS}

    # --- methods ------------------------------------------------------------------------------

    async def _dispatch(self, call: _Call) -> dict[str, Any]:
        params = call.params
        _check_cursor(params)
        if call.method == "server/discover":
            return self._discover()
        if call.method == "tools/list":
            return {"tools": [self._tool_entry(tool) for tool in self.tools.definitions()]}
        if call.method == "tools/call":
            return await self._call_tool(params, call.version)
        if call.method == "resources/list":
            return {"resources": await self._resources()}
        if call.method == "resources/templates/list":
            return {"resourceTemplates": RESOURCE_TEMPLATES}
        if call.method == "resources/read":
            return await self._read_resource(params)
        if call.method == "prompts/list":
            return {"prompts": PROMPTS}
        if call.method == "prompts/get":
            return await self._get_prompt(params)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {call.method}")  # pragma: no cover

    @staticmethod
    def _tool_entry(tool: Any) -> dict[str, Any]:
        return {
            "name": tool.name,
            "description": tool.description,
            "inputSchema": tool.input_schema,
            "annotations": {"readOnlyHint": tool.read_only, "destructiveHint": tool.name == "delete_content",
                            "idempotentHint": tool.read_only, "openWorldHint": False},
        }

    async def _call_tool(self, params: dict[str, Any], version: str) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: tools/call needs name (a string)")
        arguments = params.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
        if name not in self.tools:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        try:
            output = await self.tools.execute(name, arguments)
        except ToolError as exc:
            return {"content": [{"type": "text", "text": exc.message}], "isError": True}
        except Exception:
            log.exception("MCP tool %s failed", name)
            return {"content": [{"type": "text", "text": f"{name} failed because of a server error; "
                                                         "try again later"}], "isError": True}
        result: dict[str, Any] = {"content": [{"type": "text", "text": _text(output)}], "isError": False}
        if version in STRUCTURED_CONTENT_VERSIONS:
            result["structuredContent"] = output
        return result

    async def _resources(self) -> list[dict[str, Any]]:
        resources = [{"uri": RESOURCE_SCHEME, "name": "content", "title": "All published content",
                      "description": "Every published item, grouped by type", "mimeType": JSON_MIME}]
        for content_type, count in await self.service.published_types():
            resources.append({"uri": f"{RESOURCE_SCHEME}/{content_type}", "name": f"content-{content_type}",
                              "title": f"Published {content_type} items",
                              "description": f"{count} published {content_type} item(s) in display order",
                              "mimeType": JSON_MIME})
        for item in await self.service.list_published():
            title = item.data.get("title") if isinstance(item.data.get("title"), str) else item.slug
            resources.append({"uri": f"{RESOURCE_SCHEME}/{item.type}/{item.slug}",
                              "name": f"{item.type}-{item.slug}", "title": str(title)[:200],
                              "mimeType": JSON_MIME})
        return resources

    async def _read_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        uri = params.get("uri")
        if not isinstance(uri, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: resources/read needs uri (a string)")
        parts = _resource_path(uri)
        if parts is None:
            raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
        if not parts:
            grouped = await self.service.bundle()
            payload: Any = {kind: [item.to_wire() for item in items] for kind, items in grouped.items()}
        elif len(parts) == 1:
            items = await self.service.list_published(parts[0])
            if not items:  # types are whatever the database has published
                raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri} (no published {parts[0]} items)",
                               {"uri": uri})
            payload = [item.to_wire() for item in items]
        else:
            try:
                payload = (await self.service.get_published(parts[0], parts[1])).to_wire()
            except NotFoundError:
                raise RpcError(RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri}) from None
        return {"contents": [{"uri": uri, "mimeType": JSON_MIME, "text": _text(payload)}]}

    async def _get_prompt(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: prompts/get needs name (a string)")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, dict) or not all(isinstance(v, str) for v in arguments.values()):
            raise RpcError(INVALID_PARAMS, "Invalid params: prompt arguments must be an object of strings")
        if name == "summarize_portfolio":
            grouped = await self.service.bundle()
            bundle = {kind: [item.data for item in items] for kind, items in grouped.items()}
            return _prompt("Summarize the portfolio", (
                "Write a short, friendly summary of this portfolio for a visitor: who the owner is, what they "
                "work on and their strongest skills. Use only the content below.\n\n"
                f"```json\n{_text(bundle)}\n```"))
        if name == "explain_project":
            slug = arguments.get("slug")
            if not slug:
                raise RpcError(INVALID_PARAMS, "Invalid params: explain_project needs the argument slug")
            if not is_name(slug):
                raise RpcError(INVALID_PARAMS, "Invalid params: slug must be lowercase letters, digits and hyphens")
            try:
                project = await self.service.get_published("project", slug)
            except NotFoundError:
                raise RpcError(INVALID_PARAMS, f"Invalid params: no published project {slug!r}") from None
            return _prompt(f"Explain the project {slug}", (
                "Explain this project to a visitor: the problem it solves, how it was built, the technologies "
                "used and what is notable about it. Use only the content below.\n\n"
                f"```json\n{_text(project.to_wire())}\n```"))
        if name == "compare_skills":
            skills = [item.data for item in await self.service.list_published("skill")]
            focus = arguments.get("focus")
            ask = f" with a focus on {focus}" if focus else ""
            return _prompt("Compare the skills", (
                f"Compare the skills in this portfolio{ask}: group related ones, say which are strongest and "
                "how they complement each other. Use only the content below.\n\n"
                f"```json\n{_text(skills)}\n```"))
        raise RpcError(INVALID_PARAMS, f"Invalid params: unknown prompt {name!r}")


def _check_cursor(params: dict[str, Any]) -> None:
    # Every list fits in one page, so we never hand out a cursor: any cursor is one we did not issue.
    if params.get("cursor") is not None:
        raise RpcError(INVALID_PARAMS, "Invalid params: unknown cursor")


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


def _prompt(description: str, text: str) -> dict[str, Any]:
    return {"description": description, "messages": [{"role": "user", "content": {"type": "text", "text": text}}]}


RESOURCE_TEMPLATES: list[dict[str, Any]] = [
    {"uriTemplate": RESOURCE_SCHEME + "/{type}", "name": "content-by-type", "title": "Published items of one type",
     "description": "Published items of one content type (see resources/list for the types)", "mimeType": JSON_MIME},
    {"uriTemplate": RESOURCE_SCHEME + "/{type}/{slug}", "name": "content-item", "title": "One published item",
     "description": "One published item by type and slug", "mimeType": JSON_MIME},
]

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
