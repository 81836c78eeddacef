"""A streamed chat completion: the provider's server-sent events, read as they arrive.

``read_stream`` turns the ``data:`` lines of chat-completion chunks into the
answer's text deltas and, last, the whole ``Completion``: tool calls put
together from their pieces (by index), usage from the final chunk (asked for
with ``stream_options.include_usage``). Keep-alive comments and event names
are skipped; ``[DONE]`` ends it. A stall longer than the attempt timeout, a
broken connection, a chunk that is not JSON or an error chunk ends the stream
with ``LLMCallError`` (nothing is retried once text was shown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from folionaut.chat.llm_protocol import Completion, LLMCallError, ToolCall, Usage, usage_of
from folionaut.core import jsonutil

__all__ = ["read_stream"]


async def read_stream(response: aiohttp.ClientResponse, model: str, stall_timeout_seconds: float,
                      provider_message: Callable[[bytes], str]) -> AsyncIterator[str | Completion]:
    """Server-sent events of chat-completion chunks → text deltas, then the assembled Completion.
    ``provider_message`` renders an error chunk's text (shortened, scrubbed of the API key)."""
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    usage = Usage()
    finish_reason: str | None = None
    try:
        async for raw_line in response.content:
            line = raw_line.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue  # blank separators, comments (keep-alives), event names
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = jsonutil.loads(data)
            except jsonutil.JSONDecodeError:
                raise LLMCallError("LLM provider sent an invalid stream chunk (not JSON)",
                                   reason="invalid_response") from None
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                raise LLMCallError(f"LLM provider failed mid-stream{provider_message(data.encode())}",
                                   reason="http")
            model = str(chunk.get("model") or model)
            if isinstance(chunk.get("usage"), dict):
                usage = usage_of(chunk["usage"])
            for choice in chunk.get("choices") or ():
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                finish_reason = choice.get("finish_reason") or finish_reason
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if isinstance(text, str) and text:
                    content.append(text)
                    yield text
                for call in delta.get("tool_calls") or ():
                    slot = calls.setdefault(int(call.get("index", len(calls))),
                                            {"id": "", "name": "", "arguments": []})
                    function = call.get("function") or {}
                    slot["id"] = call.get("id") or slot["id"]
                    slot["name"] = function.get("name") or slot["name"]
                    if function.get("arguments"):
                        slot["arguments"].append(str(function["arguments"]))
    except TimeoutError:
        raise LLMCallError(f"LLM stream stalled for {round(stall_timeout_seconds * 1000)} ms",
                           reason="timeout") from None
    except aiohttp.ClientError as exc:
        raise LLMCallError(f"LLM stream broke off ({type(exc).__name__})", reason="connection") from None
    tool_calls = tuple(ToolCall(id=slot["id"] or f"call_{index}", name=slot["name"],
                                arguments="".join(slot["arguments"]) or "{}")
                       for index, slot in sorted(calls.items()))
    yield Completion(content="".join(content) or None, tool_calls=tool_calls, finish_reason=finish_reason,
                     usage=usage, model=model)
