"""The MCP revisions we speak and what a transport needs before any server exists.

The versions of both eras (``protocol.py`` explains them), the connection state a
transport keeps per stdio process or HTTP session, and reading a request's
version and ``_meta`` envelope. Kept apart from ``protocol.py`` (the server, its
tools and catalog) so the HTTP transport and its session store load with every
start while the server itself loads with the first MCP request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from folionaut.access.models import Principal
from folionaut.mcp.errors import INVALID_PARAMS, UNSUPPORTED_PROTOCOL_VERSION, RpcError, error_response

__all__ = [
    "ANNOTATION_VERSIONS",
    "BATCH_VERSIONS",
    "CLIENT_CAPABILITIES_META_KEY",
    "CLIENT_INFO_META_KEY",
    "HANDSHAKE_VERSIONS",
    "LATEST_HANDSHAKE_VERSION",
    "MODERN_VERSIONS",
    "PROTOCOL_VERSION_META_KEY",
    "SERVER_INFO_META_KEY",
    "STRUCTURED_CONTENT_VERSIONS",
    "SUPPORTED_VERSIONS",
    "TITLE_VERSIONS",
    "ConnectionState",
    "Envelope",
    "check_envelope",
    "modern_version_of",
    "unsupported_version_error",
]

HANDSHAKE_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
SUPPORTED_VERSIONS: tuple[str, ...] = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
LATEST_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[-1]
#: Revisions that allow JSON-RPC batches (2025-06-18 removed them).
BATCH_VERSIONS: tuple[str, ...] = ("2024-11-05", "2025-03-26")
#: Tool ``annotations`` exist from 2025-03-26 on.
ANNOTATION_VERSIONS: tuple[str, ...] = ("2025-03-26", "2025-06-18", "2025-11-25", *MODERN_VERSIONS)
#: ``title`` (tools, resources, prompts, serverInfo), tool ``outputSchema`` and ``structuredContent``: 2025-06-18 on.
STRUCTURED_CONTENT_VERSIONS: tuple[str, ...] = ("2025-06-18", "2025-11-25", *MODERN_VERSIONS)
TITLE_VERSIONS = STRUCTURED_CONTENT_VERSIONS

PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_META_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_META_KEY = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_META_KEY = "io.modelcontextprotocol/serverInfo"


def unsupported_version_error(requested: Any, request_id: Any = None) -> dict[str, Any]:
    return error_response(request_id, UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version",
                          {"supported": list(SUPPORTED_VERSIONS), "requested": requested})


@dataclass(slots=True)
class ConnectionState:
    """Who is connected and what a handshake negotiated; one per stdio process or HTTP session
    (one per request on the stateless revision)."""

    principal: Principal
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
