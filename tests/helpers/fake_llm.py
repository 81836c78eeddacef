"""A fake OpenAI-compatible chat-completions server for tests.

It speaks the real wire format (``POST {base}/chat/completions``,
``GET {base}/models``) on 127.0.0.1 port 0 and answers from a per-test script:

    async with FakeLLM() as llm:
        llm.enqueue(answer("Hello!"), server_error(), rate_limited(retry_after="2"))
        settings = test_settings(llm_base_url=llm.base_url, llm_api_key="sk-test")
        ...
        assert llm.requests[0].body["model"] == "gpt-4o-mini"

Each scripted item answers exactly one chat-completions request, in order. An
item may also be a function ``(request) -> Scripted`` to answer from what the
client sent (for example echo a tool result). When the queue is empty the
``default`` item answers (``None``: a 500 saying the script ran out, so a test
that forgot to script a call fails loudly rather than hanging).

Streaming: a request with ``"stream": true`` gets the same scripted answer as
server-sent events of ``chat.completion.chunk`` objects, as the real API sends
them: a first chunk with the role, ``choices[0].delta.content`` pieces (the
``chunks`` of ``answer(...)``, else the content cut in a few pieces), tool calls
as ``delta.tool_calls`` entries whose ``function.arguments`` arrive in pieces,
a chunk with ``finish_reason``, the usage in a last chunk with empty
``choices`` when ``stream_options.include_usage`` is set, then ``data: [DONE]``.
``delay`` waits between chunks and ``hang_after`` stops writing after that
many text chunks, until the client goes away (``client_gone`` is then set
and ``disconnects`` counted) or the hang ends.

Like the real API it rejects (400, without consuming the script) a request that
is not JSON, lacks ``model``/``messages``, or breaks the tool-message ordering
rules, so a chat service that builds a wrong conversation fails here too. With
``api_key`` set it answers 401 to any other bearer token.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
# A hang never outlives this, so a test that forgets to close cannot stall teardown for long.
MAX_HANG_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received, as the client sent it."""

    method: str
    path: str
    headers: Mapping[str, str]
    raw_body: bytes
    body: Any  # parsed JSON, or None when the body was not JSON

    @property
    def authorization(self) -> str | None:
        return self.headers.get("Authorization")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or []) if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        return [tool.get("function", {}).get("name", "") for tool in self.tools]


@dataclass(frozen=True, slots=True)
class Scripted:
    """One scripted answer. Build with the functions below rather than by hand."""

    kind: str  # "answer" | "tool_calls" | "error" | "hang" | "malformed" | "drop"
    content: str | None = None
    tool_calls: tuple[dict[str, Any], ...] = ()
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    error_body: Any = None
    seconds: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model: str | None = None
    raw: bytes = b""
    chunks: tuple[str, ...] | None = None  # streamed text pieces (default: content cut in a few pieces)
    delay: float = 0.0  # seconds between streamed chunks
    hang_after: int | None = None  # stop streaming after this many text chunks, until the client leaves


Responder = Scripted | Callable[[RecordedRequest], Scripted]


# --- builders -------------------------------------------------------------------------------------

def answer(
    content: str,
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    model: str | None = None,
    chunks: Iterable[str] | None = None,
    delay: float = 0.0,
    hang_after: int | None = None,
) -> Scripted:
    """A plain assistant answer (finish_reason "stop"). Token counts default to a rough estimate.
    ``chunks`` (joined they must equal ``content``), ``delay`` and ``hang_after`` shape a streamed answer."""
    pieces = tuple(chunks) if chunks is not None else None
    if pieces is not None and "".join(pieces) != content:
        raise ValueError("the chunks must join to the content")
    return Scripted("answer", content=content, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                    model=model, chunks=pieces, delay=delay, hang_after=hang_after)


def tool_call(name: str, arguments: Mapping[str, Any] | str | None = None, *, call_id: str | None = None) -> dict:
    """One entry of an assistant message's ``tool_calls`` (arguments become a JSON string, as on the wire)."""
    args = arguments if isinstance(arguments, str) else json.dumps(dict(arguments or {}))
    return {"id": call_id or "", "type": "function", "function": {"name": name, "arguments": args}}


def tool_calls(
    *calls: dict[str, Any],
    content: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> Scripted:
    """An assistant turn asking for tools (finish_reason "tool_calls"); build calls with ``tool_call``."""
    return Scripted("tool_calls", content=content, tool_calls=tuple(calls),
                    prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)


def http_error(status: int, message: str = "", *, error_type: str = "server_error",
               code: str | None = None, headers: Mapping[str, str] | None = None) -> Scripted:
    """An HTTP error with OpenAI's error body ``{"error": {message, type, param, code}}``."""
    body = {"error": {"message": message or f"fake provider error {status}", "type": error_type,
                      "param": None, "code": code}}
    return Scripted("error", status=status, headers=dict(headers or {}), error_body=body)


def server_error(status: int = 500,
                 message: str = "The server had an error while processing your request.") -> Scripted:
    return http_error(status, message, error_type="server_error")


def bad_request(message: str = "Invalid request", code: str | None = None) -> Scripted:
    return http_error(400, message, error_type="invalid_request_error", code=code)


def rate_limited(retry_after: str | None = "1", *, retry_after_ms: str | None = None) -> Scripted:
    """429 as OpenAI sends it; ``retry_after`` is the raw Retry-After header value (seconds or HTTP date)."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    return http_error(429, "Rate limit reached for requests", error_type="requests",
                      code="rate_limit_exceeded", headers=headers)


def hang(seconds: float = MAX_HANG_SECONDS) -> Scripted:
    """Accept the request and answer nothing for ``seconds`` (past any sane client timeout)."""
    return Scripted("hang", seconds=min(seconds, MAX_HANG_SECONDS))


def malformed(raw: bytes = b'{"id": "chatcmpl-broken", "choices": [') -> Scripted:
    """A 200 whose body is not valid JSON."""
    return Scripted("malformed", raw=raw)


def drop_connection() -> Scripted:
    """Close the connection without any response (a connection error on the client)."""
    return Scripted("drop")


class RecordingSleep:
    """Stands in for ``asyncio.sleep`` in clients under test: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --- server ---------------------------------------------------------------------------------------

class FakeLLM:
    def __init__(self, *, model: str = DEFAULT_MODEL, api_key: str | None = None, prefix: str = "/v1") -> None:
        self.model = model
        self.api_key = api_key
        self.prefix = prefix.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self.default: Responder | None = None
        self._queue: deque[Responder] = deque()
        self._ids = itertools.count(1)
        self._released = asyncio.Event()
        self.client_gone = asyncio.Event()  # a streaming client closed the connection mid-answer
        self.disconnects = 0
        self._runner: web.AppRunner | None = None
        self._port = 0

    # lifecycle

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(f"{self.prefix}/chat/completions", self._chat_completions)
        app.router.add_get(f"{self.prefix}/models", self._models)
        # A short shutdown timeout: hanging handlers are released by close() anyway.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self.base_url

    async def close(self) -> None:
        self._released.set()  # let any hanging handler finish now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.prefix}"

    # scripting

    def enqueue(self, *responses: Responder) -> None:
        self._queue.extend(responses)

    def extend(self, responses: Iterable[Responder]) -> None:
        self._queue.extend(responses)

    @property
    def pending(self) -> int:
        """Scripted responses not used yet."""
        return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # handlers

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        recorded = RecordedRequest(request.method, request.path, dict(request.headers), raw, body)
        self.requests.append(recorded)
        return recorded

    def _auth_failure(self, recorded: RecordedRequest) -> web.Response | None:
        if self.api_key is None or recorded.authorization == f"Bearer {self.api_key}":
            return None
        # The real API masks the key it echoes; so do we.
        return _error_response(401, "Incorrect API key provided: sk-***. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.", "invalid_request_error",
                               "invalid_api_key")

    async def _models(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        failure = self._auth_failure(recorded)
        if failure is not None:
            return failure
        return web.json_response({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 1_700_000_000, "owned_by": "fake-llm"},
        ]})

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        failure = self._auth_failure(recorded)
        if failure is not None:
            return failure
        problem = _validate_chat_request(recorded.body)
        if problem is not None:
            return _error_response(400, problem, "invalid_request_error", None)

        responder = self._queue.popleft() if self._queue else self.default
        if responder is None:
            return _error_response(500, "fake LLM: no scripted response left for this request", "server_error", None)
        scripted = responder(recorded) if callable(responder) else responder
        return await self._render(request, recorded, scripted)

    async def _render(self, request: web.Request, recorded: RecordedRequest, scripted: Scripted) -> web.StreamResponse:
        if scripted.kind == "error":
            return web.json_response(scripted.error_body, status=scripted.status, headers=scripted.headers)
        if scripted.kind == "hang":
            try:
                await asyncio.wait_for(self._released.wait(), timeout=scripted.seconds)
            except TimeoutError:
                pass
            return _error_response(500, "fake LLM: hang ended", "server_error", None)
        if scripted.kind == "malformed":
            return web.Response(body=scripted.raw, status=200, content_type="application/json")
        if scripted.kind == "drop":
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=500)  # never reaches the client
        if isinstance(recorded.body, dict) and recorded.body.get("stream") is True:
            return await self._stream(request, recorded, scripted)
        return web.json_response(self._completion_body(recorded, scripted))

    async def _stream(self, request: web.Request, recorded: RecordedRequest, scripted: Scripted) -> web.StreamResponse:
        whole = self._completion_body(recorded, scripted)
        message, finish_reason = whole["choices"][0]["message"], whole["choices"][0]["finish_reason"]
        base = {"id": whole["id"], "object": "chat.completion.chunk", "created": whole["created"],
                "model": whole["model"], "system_fingerprint": "fp_fake"}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            await self._send(response, chunk({"role": "assistant", "content": ""}))
            content = scripted.content or ""
            pieces = scripted.chunks if scripted.chunks is not None else _cut(content)
            for number, piece in enumerate(pieces):
                if scripted.hang_after is not None and number >= scripted.hang_after:
                    await self._hang_until_gone(request, MAX_HANG_SECONDS)
                    return response
                if scripted.delay:
                    await asyncio.sleep(scripted.delay)
                await self._send(response, chunk({"content": piece}))
            for index, call in enumerate(message.get("tool_calls") or ()):
                arguments = call["function"]["arguments"]
                await self._send(response, chunk({"tool_calls": [{
                    "index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}]}))
                for piece in _cut(arguments):
                    await self._send(response, chunk({"tool_calls": [{"index": index,
                                                                       "function": {"arguments": piece}}]}))
            await self._send(response, chunk({}, finish_reason))
            options = recorded.body.get("stream_options") if isinstance(recorded.body, dict) else None
            if isinstance(options, dict) and options.get("include_usage"):
                await self._send(response, {**base, "choices": [], "usage": whole["usage"]})
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionResetError:
            self._client_left()
        return response

    @staticmethod
    async def _send(response: web.StreamResponse, payload: dict[str, Any]) -> None:
        await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

    async def _hang_until_gone(self, request: web.Request, seconds: float) -> None:
        """Write nothing until the client closes the connection (or the hang ends), checking every 10 ms."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline and not self._released.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                self._client_left()
                return
            await asyncio.sleep(0.01)

    def _client_left(self) -> None:
        self.disconnects += 1
        self.client_gone.set()

    def _completion_body(self, recorded: RecordedRequest, scripted: Scripted) -> dict[str, Any]:
        number = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": scripted.content, "refusal": None}
        finish_reason = "stop"
        if scripted.kind == "tool_calls":
            calls = []
            for index, call in enumerate(scripted.tool_calls):
                call_id = call.get("id") or f"call_fake{number:04d}x{index}"
                calls.append({**call, "id": call_id})
            message["tool_calls"] = calls
            finish_reason = "tool_calls"
        prompt_tokens = scripted.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = max(1, len(recorded.raw_body) // 4)
        completion_tokens = scripted.completion_tokens
        if completion_tokens is None:
            text = (scripted.content or "") + json.dumps([c["function"] for c in scripted.tool_calls])
            completion_tokens = max(1, len(text) // 4)
        requested_model = recorded.body.get("model") if isinstance(recorded.body, dict) else None
        return {
            "id": f"chatcmpl-fake{number:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": scripted.model or self.model or requested_model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
            "system_fingerprint": "fp_fake",
        }


def _cut(text: str, size: int = 7) -> tuple[str, ...]:
    """Text in pieces of ``size`` characters, as a streamed answer arrives."""
    return tuple(text[index:index + size] for index in range(0, len(text), size)) if text else ()


def _error_response(status: int, message: str, error_type: str, code: str | None) -> web.Response:
    body = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return web.json_response(body, status=status)


_ROLES = {"system", "developer", "user", "assistant", "tool"}


def _validate_chat_request(body: Any) -> str | None:
    """The checks the real API makes that a client is most likely to get wrong."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    open_calls: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"Invalid value for 'messages[{index}].role'"
        role = message["role"]
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in open_calls:
                return ("Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                        "message with 'tool_calls'.")
            open_calls.discard(call_id)
            continue
        if open_calls:
            return ("An assistant message with 'tool_calls' must be followed by tool messages responding to "
                    "each 'tool_call_id'. The following tool_call_ids did not have response messages: "
                    + ", ".join(sorted(open_calls)))
        if role == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                if not isinstance(call, dict) or not call.get("id") or call.get("type") != "function":
                    return f"Invalid value for 'messages[{index}].tool_calls'"
                if not isinstance(call.get("function", {}).get("arguments"), str):
                    return f"Invalid type for 'messages[{index}].tool_calls.function.arguments': expected a string"
                open_calls.add(call["id"])
        elif not isinstance(message.get("content"), str | list):
            return f"Invalid type for 'messages[{index}].content': expected a string or array"
    if open_calls:
        return ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                "'tool_call_id'. The following tool_call_ids did not have response messages: "
                + ", ".join(sorted(open_calls)))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return "Invalid type for 'tools': expected an array"
        for index, tool in enumerate(tools):
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or tool.get("type") != "function" or not function.get("name"):
                return f"Invalid value for 'tools[{index}]'"
            if "parameters" in function and not isinstance(function["parameters"], dict):
                return f"Invalid type for 'tools[{index}].function.parameters': expected an object"
    return None
