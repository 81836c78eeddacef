"""An OpenAI-compatible chat-completions client on aiohttp (no vendor SDK).

One ``LLMClient`` per app: it owns one ``aiohttp.ClientSession`` (``start()`` /
``close()``, or ``async with``) and is configured from ``Settings``
(``llm_base_url``, ``llm_api_key``, ``llm_model``, ``llm_max_tokens``,
``llm_temperature``, ``llm_request_timeout_ms``, ``llm_max_retries``).

``complete(messages, tools)`` makes one logical call:

- each HTTP attempt has its own timeout (``llm_request_timeout_ms``);
- 429, 5xx, connection errors and timeouts are retried up to
  ``llm_max_retries`` times with exponential backoff and full jitter, or after
  the provider's ``Retry-After`` (capped) when it sends one; any other 4xx and
  an unparseable 200 fail at once (retrying cannot fix them);
- the whole call, retries included, runs inside the circuit breaker (named
  "llm"), so one failed chat counts once; a call cancelled by the request's
  own deadline (CHAT_REQUEST_TIMEOUT_MS → 504) counts as a failure too, so a
  provider that hangs longer than a chat may wait still opens the breaker;
- every attempt is counted in ``llm_requests_total{model,status}`` (status
  ``success|error|timeout|rate_limited``; ``circuit_open`` when the breaker
  refuses) and timed in ``llm_request_duration_seconds``;
- every failure is raised as ``LLMError`` (502 LLM_ERROR), with a message that
  never contains the API key.

``stream(messages, tools)`` is the same call with ``"stream": true``: it yields
the answer's text as it arrives and, last, the whole ``Completion`` (tool calls
assembled from their deltas, usage from the final chunk, asked for with
``stream_options.include_usage``). Retries and the breaker cover opening the
stream (up to the provider's 200); once text flows a failure ends the stream
with ``LLMCallError`` (nothing is retried after text was shown). The attempt
timeout applies to each wait for data, so a long answer may take longer than
it as long as it keeps coming. Closing the iterator (a visitor who left)
closes the connection, which is how the provider learns to stop.

The wire format (messages, tools, ``Completion``, ``LLMCallError``) is
``llm_protocol.py``; reading a streamed answer is ``llm_stream.py``. Here: the
connection, the attempts, retries and the breaker.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import aiohttp

from folionaut import __version__
from folionaut.chat.llm_protocol import (
    RETRYABLE_STATUSES,
    Completion,
    FunctionTool,
    LLMCallError,
    Message,
    parse_completion,
)
from folionaut.chat.llm_stream import read_stream
from folionaut.core import jsonutil
from folionaut.core.clock import Clock, SystemClock
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings

log = get_logger("chat.llm")

T = TypeVar("T")
SleepFn = Callable[[float], Awaitable[None]]

PROVIDER_MESSAGE_LIMIT = 300


class Breaker(Protocol):
    """What the client needs from ``folionaut.resilience.breaker.CircuitBreaker``."""

    name: str

    def call(self) -> AbstractAsyncContextManager[None]:
        """Raises (on entry) while the circuit is open; records the outcome of the block."""
        ...


# --- failures ----------------------------------------------------------------------------------

def is_breaker_failure(error: BaseException) -> bool:
    """For ``CircuitBreaker(is_failure=...)``: provider trouble counts, a request we got wrong does not."""
    if isinstance(error, LLMCallError):
        return not error.caused_by_request
    if isinstance(error, asyncio.CancelledError):
        # The request's deadline gave up on the provider. With the defaults (30 s per attempt,
        # 60 s per chat) a hanging provider would otherwise answer 504 forever and never trip
        # the breaker. (aiohttp does not cancel handlers when a client disconnects.)
        return True
    return isinstance(error, Exception)


class _Retryable(Exception):
    """One attempt failed in a way another attempt may fix."""

    def __init__(self, error: LLMCallError, status_label: str, retry_after: float | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.status_label = status_label
        self.retry_after = retry_after


# --- client ---------------------------------------------------------------------------------------

class LLMClient:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        breaker: Breaker | None = None,
        *,
        sleep: SleepFn = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Clock | None = None,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        max_retry_after_seconds: float = 20.0,
    ) -> None:
        self._base_url = settings.llm_base_url.rstrip("/")
        self._api_key = settings.llm_api_key
        self.model = settings.llm_model
        self.max_tokens = settings.llm_max_tokens
        self.temperature = settings.llm_temperature
        self.timeout_seconds = settings.llm_request_timeout_ms / 1000
        self.max_retries = settings.llm_max_retries
        self._metrics = metrics
        self._breaker = breaker
        self._sleep = sleep
        self._rng = rng
        self._clock = clock or SystemClock()
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._max_retry_after = max_retry_after_seconds
        self._session: aiohttp.ClientSession | None = None

    @property
    def configured(self) -> bool:
        """False without an API key: the chat service then answers offline."""
        return bool(self._api_key)

    # lifecycle

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json", "User-Agent": f"folionaut/{__version__}"}
            if self._api_key:
                headers["Authorization"] = f"Bearer {self._api_key}"
            # Timeouts are per attempt (see _attempt); the session itself never times out.
            self._session = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=None),
                                                  json_serialize=jsonutil.dumps_str)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> LLMClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # calls

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[FunctionTool | Mapping[str, Any]] | None = None,
        *,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """One chat completion (with retries, inside the breaker). Raises ``LLMCallError``."""
        payload = jsonutil.dumps(self._body(messages, tools, tool_choice, max_tokens, temperature))
        return await self._guarded(lambda: self._with_retries(payload, self._attempt))

    def _body(
        self, messages: Sequence[Message], tools: Sequence[FunctionTool | Mapping[str, Any]] | None,
        tool_choice: str | Mapping[str, Any] | None, max_tokens: int | None, temperature: float | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if tools:
            body["tools"] = [t.to_openai() if isinstance(t, FunctionTool) else dict(t) for t in tools]
            body["tool_choice"] = tool_choice or "auto"
        return body

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` inside the breaker; a refusal becomes ``LLMCallError(reason="circuit_open")``."""
        if self._breaker is None:
            return await call()
        entered = False
        try:
            async with self._breaker.call():
                entered = True
                return await call()
        except Exception as exc:
            if entered:
                raise
            # The breaker refused before anything was sent.
            self._count("circuit_open")
            retry_in = getattr(exc, "retry_in_seconds", None)
            hint = f"; retry in about {max(1, round(retry_in))} s" if retry_in else ""
            raise LLMCallError(f"LLM provider temporarily unavailable (circuit breaker open{hint})",
                               reason="circuit_open", retry_in_seconds=retry_in) from exc

    async def stream(
        self,
        messages: Sequence[Message],
        tools: Sequence[FunctionTool | Mapping[str, Any]] | None = None,
        *,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[str | Completion]:
        """Text deltas as they arrive, then the assembled ``Completion``. Raises ``LLMCallError``."""
        body = self._body(messages, tools, tool_choice, max_tokens, temperature)
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        payload = jsonutil.dumps(body)
        started = time.perf_counter()
        response = await self._guarded(lambda: self._with_retries(payload, self._open_stream))
        try:
            async for event in read_stream(response, self.model, self.timeout_seconds, self._provider_message):
                yield event
        finally:
            response.close()  # unread data means the provider is still writing: drop the connection
            self._metrics.llm_duration.labels(self.model).observe(time.perf_counter() - started)

    async def ping(self, timeout_seconds: float = 2.0) -> bool:
        """Cheap reachability check (``GET {base}/models``): no retries, no breaker, never raises."""
        await self.start()
        assert self._session is not None
        try:
            async with self._session.get(f"{self._base_url}/models",
                                         timeout=aiohttp.ClientTimeout(total=timeout_seconds)) as response:
                await response.read()
                return response.status < 400
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _with_retries(self, payload: bytes, attempt_fn: Callable[[bytes], Awaitable[T]]) -> T:
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return await attempt_fn(payload)
            except _Retryable as failure:
                if attempt + 1 >= attempts:
                    tried = f" ({attempts} attempts)" if attempts > 1 else ""
                    raise LLMCallError(failure.error.message + tried, reason=failure.error.reason,
                                       provider_status=failure.error.provider_status) from None
                delay = self._delay(attempt, failure.retry_after)
                log.warning("LLM attempt failed, retrying", extra={
                    "attempt": attempt + 1, "status": failure.status_label, "delaySeconds": round(delay, 3)})
                await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(0.0, retry_after), self._max_retry_after)
        # Full jitter: uniform in [0, min(cap, base * 2^attempt)] spreads retries of many clients apart.
        return self._rng() * min(self._backoff_max, self._backoff_base * (2 ** attempt))

    async def _attempt(self, payload: bytes) -> Completion:
        await self.start()
        assert self._session is not None
        started = time.perf_counter()
        status_label = "error"
        try:
            try:
                async with self._session.post(
                    f"{self._base_url}/chat/completions", data=payload,
                    headers={"Content-Type": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                ) as response:
                    raw = await response.read()
                    status = response.status
                    headers = response.headers
            except asyncio.CancelledError:
                status_label = "timeout"  # the request's own deadline ran out while the provider was silent
                raise
            except TimeoutError:
                status_label = "timeout"
                raise _Retryable(LLMCallError(
                    f"LLM request timed out after {round(self.timeout_seconds * 1000)} ms", reason="timeout"),
                    status_label) from None
            except aiohttp.ClientError as exc:
                raise _Retryable(LLMCallError(
                    f"Could not reach the LLM provider ({type(exc).__name__})", reason="connection"),
                    status_label) from None

            if status >= 400:
                error = LLMCallError(
                    f"LLM provider returned HTTP {status}{self._provider_message(raw)}",
                    reason="http", provider_status=status)
                if status == 429:
                    status_label = "rate_limited"
                if status in RETRYABLE_STATUSES:
                    raise _Retryable(error, status_label, self._retry_after(headers))
                raise error
            completion = parse_completion(raw, self.model)
            status_label = "success"
            return completion
        finally:
            self._count(status_label)
            self._metrics.llm_duration.labels(self.model).observe(time.perf_counter() - started)

    async def _open_stream(self, payload: bytes) -> aiohttp.ClientResponse:
        """One attempt at opening a stream: the provider's 200 with its body still to read."""
        await self.start()
        assert self._session is not None
        status_label = "error"
        try:
            try:
                response = await self._session.post(
                    f"{self._base_url}/chat/completions", data=payload,
                    headers={"Content-Type": "application/json", "Accept": "text/event-stream"},
                    # Each wait for data is bounded, not the whole answer: it may stream for a while.
                    timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_seconds,
                                                  sock_read=self.timeout_seconds),
                )
            except asyncio.CancelledError:
                status_label = "timeout"
                raise
            except TimeoutError:
                status_label = "timeout"
                raise _Retryable(LLMCallError(
                    f"LLM request timed out after {round(self.timeout_seconds * 1000)} ms", reason="timeout"),
                    status_label) from None
            except aiohttp.ClientError as exc:
                raise _Retryable(LLMCallError(
                    f"Could not reach the LLM provider ({type(exc).__name__})", reason="connection"),
                    status_label) from None
            if response.status >= 400:
                async with response:
                    raw = await response.read()
                error = LLMCallError(f"LLM provider returned HTTP {response.status}{self._provider_message(raw)}",
                                     reason="http", provider_status=response.status)
                if response.status == 429:
                    status_label = "rate_limited"
                if response.status in RETRYABLE_STATUSES:
                    raise _Retryable(error, status_label, self._retry_after(response.headers))
                raise error
            status_label = "success"
            return response
        finally:
            self._count(status_label)

    def _count(self, status: str) -> None:
        self._metrics.llm_requests.labels(self.model, status).inc()

    def _provider_message(self, raw: bytes) -> str:
        """The provider's own error message, shortened and scrubbed of our key."""
        try:
            data = jsonutil.loads(raw)
            text = data["error"]["message"] if isinstance(data.get("error"), dict) else str(data.get("error", ""))
        except (jsonutil.JSONDecodeError, KeyError, TypeError, AttributeError):
            return ""
        text = " ".join(str(text).split())
        if self._api_key:
            text = text.replace(self._api_key, "***")
        if len(text) > PROVIDER_MESSAGE_LIMIT:
            text = text[: PROVIDER_MESSAGE_LIMIT - 1] + "…"
        return f": {text}" if text else ""

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        """Seconds the provider asked us to wait (``retry-after-ms``, or ``Retry-After`` seconds / HTTP date)."""
        millis = headers.get("retry-after-ms")
        if millis:
            try:
                return max(0.0, float(millis) / 1000)
            except ValueError:
                pass
        value = headers.get("Retry-After")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if moment is None:
            return None
        return max(0.0, moment.timestamp() - self._clock.time())
