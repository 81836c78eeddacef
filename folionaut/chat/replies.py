"""What a chat turn produces: its events as they happen, and the reply it ends with.

A turn (``ChatService.turn``) is an async iterator of events that knows nothing
about HTTP: ``Started`` once the session and budgets allow the turn, ``Delta``
with answer text as it comes (already redacted), ``ToolUse`` for each tool call
the model made, and one ``Done`` with the stored ``ChatReply`` (sources, usage,
``degraded``). ``to_wire`` is the reply as the API sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from folionaut.chat.llm_protocol import Usage
from folionaut.chat.models import ChatMessage
from folionaut.chat.sources import Source

__all__ = ["ChatEvent", "ChatReply", "Delta", "Done", "Started", "ToolCallRecord", "ToolUse"]


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any] | str
    result: Any

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments, "result": self.result}


@dataclass(slots=True)
class ChatReply:
    session_id: str
    message: ChatMessage
    tokens_used: int
    model: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    degraded: bool = False

    def to_wire(self, include_tool_calls: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sessionId": self.session_id,
            "message": {"id": self.message.id, "role": "assistant", "content": self.message.content,
                        "createdAt": self.message.created_at},
            "tokensUsed": self.tokens_used,
            "usage": {"promptTokens": self.usage.prompt_tokens, "completionTokens": self.usage.completion_tokens,
                      "totalTokens": self.usage.total_tokens},
            "model": self.model,
            "sources": [source.to_wire() for source in self.sources],
            "degraded": self.degraded,
        }
        if include_tool_calls:
            body["toolCalls"] = [call.to_wire() for call in self.tool_calls]
        return body


@dataclass(frozen=True, slots=True)
class Started:
    """The turn may run (session found or made, budgets allow it)."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Delta:
    """More answer text (already redacted)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolUse:
    """A tool call the model made, with its (redacted) result."""

    call: ToolCallRecord


@dataclass(frozen=True, slots=True)
class Done:
    reply: ChatReply


ChatEvent = Started | Delta | ToolUse | Done
