"""The MCP server core: JSON-RPC 2.0 in, JSON-RPC 2.0 out, independent of transport.

Two eras of the protocol are spoken side by side:

- Handshake revisions (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25): the
  client sends ``initialize`` (we answer with its version if we speak it, else
  our newest handshake version), then ``notifications/initialized``; the
  negotiated version lives in a ``ConnectionState`` that the transport keeps
  (one per stdio process, one per HTTP session; ``revisions.py``). What the revisions differ in,
  and what we therefore send or accept:

  ============================  ==========  ==========  =================
  revision                      batches     tool        ``title``, tool
                                            annotations ``outputSchema``,
                                                        ``structuredContent``
  ============================  ==========  ==========  =================
  2024-11-05                    yes [1]_    no          no
  2025-03-26                    yes         yes         no
  2025-06-18, 2025-11-25        no          yes         yes
  ============================  ==========  ==========  =================

  .. [1] 2024-11-05 is plain JSON-RPC 2.0, which has batches; 2025-03-26 made
     them explicit and 2025-06-18 removed them.
- The stateless revision (2026-07-28): no handshake and no session. Every
  request carries ``params._meta`` with ``io.modelcontextprotocol/protocolVersion``
  and ``io.modelcontextprotocol/clientCapabilities``; ``server/discover`` tells
  a client what we support; every result carries ``resultType`` (and the
  cacheable ones ``ttlMs``/``cacheScope``); ``ping`` is gone; no batches.

Who is connected is the ``ConnectionState``'s principal (``access/models.py``):
every MCP client reads as the owner (drafts, archived and deleted items,
history), and only a principal with the write scope sees and may call the
write tools (a read-scoped token gets read tools, resources and prompts).

Tool failures (bad arguments, validation, not found) are results with
``isError: true`` so the model can correct itself; protocol misuse (and a write
tool called without the write scope) gets a JSON-RPC error. ``tools/call`` list
tools and ``resources/list`` page with opaque cursors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from folionaut import __version__
from folionaut.access.models import Principal, Scope
from folionaut.content.assistant_tools import ToolContext, ToolError, ToolRegistry, all_tools
from folionaut.content.service import ContentService
from folionaut.core import jsonutil
from folionaut.core.logging import get_logger
from folionaut.mcp.catalog import PROMPTS, RESOURCE_TEMPLATES, get_prompt, list_resources, read_resource, text
from folionaut.mcp.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    error_response,
)
from folionaut.mcp.revisions import (
    ANNOTATION_VERSIONS,
    BATCH_VERSIONS,
    HANDSHAKE_VERSIONS,
    LATEST_HANDSHAKE_VERSION,
    MODERN_VERSIONS,
    SERVER_INFO_META_KEY,
    STRUCTURED_CONTENT_VERSIONS,
    SUPPORTED_VERSIONS,
    TITLE_VERSIONS,
    ConnectionState,
    check_envelope,
    modern_version_of,
)

__all__ = ["CHANGED_BY", "McpServer"]

log = get_logger("mcp")

CHANGED_BY = "mcp"

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
    "Folionaut holds a portfolio: items of some type (project, skill, experience, ...) each with a slug, a "
    "status (draft, published or archived; only published items are public) and JSON data. Read it with "
    "list_types, list_content, get_content, search_content and get_history, or the folionaut://content "
    "resources. With write access, change it with create_content, update_content, delete_content, "
    "publish_content, unpublish_content and restore_content: every change is a new version, and "
    "restore_content brings back any earlier one."
)


@dataclass(slots=True)
class _Call:
    method: str
    params: dict[str, Any]
    version: str
    modern: bool
    state: ConnectionState = field(default_factory=ConnectionState)


class McpServer:
    """Answers MCP messages for one content service; transports own framing and sessions."""

    def __init__(self, service: ContentService, channel: str = CHANGED_BY, *, name: str = "folionaut",
                 version: str = __version__) -> None:
        self.service = service
        self.channel = channel  # history's changedBy for the owner's own credentials
        self.tools = ToolRegistry(all_tools(service))
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
            message = jsonutil.loads_input(raw)
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
                "serverInfo": _titled(self.server_info, version), "instructions": INSTRUCTIONS}

    def _discover(self) -> dict[str, Any]:
        return {"supportedVersions": list(SUPPORTED_VERSIONS), "capabilities": self.capabilities,
                "instructions": INSTRUCTIONS}

    # --- methods ------------------------------------------------------------------------------

    async def _dispatch(self, call: _Call) -> dict[str, Any]:
        params = call.params
        if call.method == "server/discover":
            return self._discover()
        if call.method == "tools/list":
            _no_cursor(params)
            return {"tools": [self._tool_entry(tool, call.version) for tool in self.tools.definitions()
                              if tool.read_only or call.state.principal.allows(Scope.WRITE)]}
        if call.method == "tools/call":
            return await self._call_tool(params, call.version, call.state.principal)
        if call.method == "resources/list":
            resources, next_cursor = await list_resources(self.service, params.get("cursor"))
            listed: dict[str, Any] = {"resources": [_titled(entry, call.version) for entry in resources]}
            return {**listed, "nextCursor": next_cursor} if next_cursor else listed
        if call.method == "resources/templates/list":
            _no_cursor(params)
            return {"resourceTemplates": [_titled(entry, call.version) for entry in RESOURCE_TEMPLATES]}
        if call.method == "resources/read":
            return await read_resource(self.service, params)
        if call.method == "prompts/list":
            _no_cursor(params)
            return {"prompts": [_titled(entry, call.version) for entry in PROMPTS]}
        if call.method == "prompts/get":
            return await get_prompt(self.service, params)
        raise RpcError(METHOD_NOT_FOUND, f"Method not found: {call.method}")  # pragma: no cover

    @staticmethod
    def _tool_entry(tool: Any, version: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
        if version in TITLE_VERSIONS:
            entry["title"] = tool.title
            if tool.output_schema is not None:
                entry["outputSchema"] = tool.output_schema
        if version in ANNOTATION_VERSIONS:
            entry["annotations"] = {"title": tool.title, "readOnlyHint": tool.read_only,
                                    "destructiveHint": tool.destructive, "idempotentHint": tool.read_only,
                                    "openWorldHint": False}
        return entry

    async def _call_tool(self, params: dict[str, Any], version: str, principal: Principal) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise RpcError(INVALID_PARAMS, "Invalid params: tools/call needs name (a string)")
        arguments = params.get("arguments")
        if arguments is not None and not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "Invalid params: arguments must be an object")
        tool = self.tools.get(name)
        if tool is None:
            raise RpcError(INVALID_PARAMS, f"Unknown tool: {name}")
        if not tool.read_only and not principal.allows(Scope.WRITE):
            raise RpcError(INVALID_PARAMS, f"Tool {name} changes content and needs write access; this connection "
                                           f"({principal.label}) may only read")
        try:
            output = await tool.call(arguments, ToolContext(principal.changed_by(self.channel)))
        except ToolError as exc:
            return {"content": [{"type": "text", "text": exc.message}], "isError": True}
        except Exception:
            log.exception("MCP tool %s failed", name)
            return {"content": [{"type": "text", "text": f"{name} failed because of a server error; "
                                                         "try again later"}], "isError": True}
        result: dict[str, Any] = {"content": [{"type": "text", "text": text(output)}], "isError": False}
        if version in STRUCTURED_CONTENT_VERSIONS:
            result["structuredContent"] = output
        return result

def _no_cursor(params: dict[str, Any]) -> None:
    # These lists fit in one page, so we never hand out a cursor: any cursor is one we did not issue.
    if params.get("cursor") is not None:
        raise RpcError(INVALID_PARAMS, "Invalid params: unknown cursor")


def _titled(entry: dict[str, Any], version: str) -> dict[str, Any]:
    """``title`` exists from 2025-06-18 on; older revisions get the entry without it."""
    if version in TITLE_VERSIONS or "title" not in entry:
        return entry
    return {key: value for key, value in entry.items() if key != "title"}


