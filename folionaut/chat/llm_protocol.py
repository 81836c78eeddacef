"""The OpenAI chat-completions format as the LLM client speaks it.

What goes out (messages, function tools) and what comes back: a ``Completion``
(its text, its tool calls with their arguments as the model wrote them, why it
finished, token usage and model), parsed from a whole JSON response by
``parse_completion`` or assembled from a stream by ``llm_stream.read_stream``;
and ``LLMCallError``, every way a call can fail, with the cause kept apart so
callers and the breaker can tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from folionaut.core import jsonutil
from folionaut.core.errors import LLMError

__all__ = [
    "PROVIDER_FAULT_STATUSES", "RETRYABLE_STATUSES", "Completion", "FunctionTool", "LLMCallError", "Message",
    "ToolCall", "Usage", "arguments_text", "parse_completion", "tool_result_message", "usage_of",
]

Message = dict[str, Any]  # one OpenAI chat message: {"role": ..., "content": ..., ...}

# Statuses worth another attempt: rate limiting and server-side trouble.
RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# 4xx that mean "the provider cannot be used" (bad key, no access) rather than
# "this one request was wrong"; they count against the breaker.
PROVIDER_FAULT_STATUSES = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A JSON-schema function tool, as sent in ``tools``."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": dict(self.parameters)}}


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the JSON text exactly as the model produced it

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; raises ValueError when the model produced bad JSON or a non-object."""
        try:
            value = jsonutil.loads(self.arguments) if self.arguments.strip() else {}
        except jsonutil.JSONDecodeError as exc:
            raise ValueError(f"tool call {self.name} has invalid JSON arguments") from exc
        if not isinstance(value, dict):
            raise ValueError(f"tool call {self.name} arguments must be a JSON object")
        return value

    def to_openai(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    """The first choice of a chat completion."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    finish_reason: str | None
    usage: Usage
    model: str

    @property
    def wants_tools(self) -> bool:
        return bool(self.tool_calls)

    def assistant_message(self) -> Message:
        """This turn as a message to append before the tool results of the next round."""
        message: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return message


def tool_result_message(call_id: str, content: str) -> Message:
    """The message answering one tool call (``content`` is usually JSON text)."""
    return {"role": "tool", "tool_call_id": call_id, "content": content}


class LLMCallError(LLMError):
    """``LLMError`` with what went wrong, so callers and the breaker can tell causes apart."""

    def __init__(self, message: str, *, reason: str, provider_status: int | None = None,
                 retry_in_seconds: float | None = None) -> None:
        if retry_in_seconds:
            super().__init__(message, retry_after=max(1, math.ceil(retry_in_seconds)))
        else:
            super().__init__(message)
        self.reason = reason  # "http" | "timeout" | "connection" | "invalid_response" | "circuit_open"
        self.provider_status = provider_status
        self.retry_in_seconds = retry_in_seconds

    @property
    def caused_by_request(self) -> bool:
        """A 4xx that says our request was wrong (not the provider failing)."""
        status = self.provider_status
        return (status is not None and 400 <= status < 500
                and status not in RETRYABLE_STATUSES and status not in PROVIDER_FAULT_STATUSES)


def parse_completion(raw: bytes, default_model: str) -> Completion:
    """A whole (not streamed) chat-completion response; raises ``LLMCallError`` when it has no usable choice."""
    try:
        data = jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        raise LLMCallError("LLM provider returned an invalid response (not JSON)",
                           reason="invalid_response") from None
    try:
        choice = data["choices"][0]
        message = choice["message"]
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise TypeError("content")
        calls = tuple(
            ToolCall(id=str(call["id"]), name=str(call["function"]["name"]),
                     arguments=arguments_text(call["function"].get("arguments")))
            for call in message.get("tool_calls") or ()
        )
        usage = usage_of(data.get("usage") or {})
        finish_reason = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise LLMCallError("LLM provider returned an invalid response (no usable choice)",
                           reason="invalid_response") from None
    return Completion(content=content, tool_calls=calls,
                      finish_reason=str(finish_reason) if finish_reason is not None else None,
                      usage=usage, model=str(data.get("model") or default_model))


def usage_of(data: Mapping[str, Any]) -> Usage:
    prompt, completion = int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0)
    return Usage(prompt, completion, int(data.get("total_tokens") or 0) or prompt + completion)


def arguments_text(arguments: Any) -> str:
    # Some OpenAI-compatible servers send an object instead of the JSON string; accept both.
    if arguments is None:
        return "{}"
    return arguments if isinstance(arguments, str) else jsonutil.dumps_str(arguments)
