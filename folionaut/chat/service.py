"""The chat turn: session, budgets, guardrails, LLM with tools (or the offline responder), storage.

``turn()`` is the one way a turn runs: an async iterator of events that knows
nothing about HTTP — ``Started`` once the session and budgets allow the turn,
``Delta`` with answer text as it comes (streamed from the provider, or the
offline answer in pieces), ``ToolUse`` for each tool call, and one ``Done``
with the stored reply (sources, usage, ``degraded``). Failures are raised as
``AppError``s. ``chat()`` runs the same turn to its end for a JSON reply.

Privacy: with ``CHAT_REDACT_INPUT`` the visitor's message is redacted before it
is stored or sent (and so never re-sent as history); tool results are redacted
before the model or the visitor sees them; answers are redacted, streamed ones
through ``StreamRedactor``; the owner's public e-mail and phone are kept.

Budgets (0 switches one off): visitor messages per session, LLM tokens per
session and per UTC day (the day's total in the key-value store, so shared by
every instance with Redis), counted from the provider's usage. A used-up budget
refuses the turn with 429 RATE_LIMIT_EXCEEDED and ``Retry-After`` (the session's
expiry, or midnight UTC), counted in ``chat_budget_exceeded_total{budget}``; a
budget running out between tool rounds makes the model answer without more
tools. Tool results are kept under ``TOOL_RESULT_LIMIT`` characters by
``fit_tool_result`` (shortened or paged, always valid JSON).

A turn is stored atomically at the end: the visitor's message, the answer and
the session's counters in one batch. When the LLM fails, the visitor's message
is still stored (so the admin sees the attempt) and the error propagates as 502
(or 504 when the request's deadline cut the turn short); the provider's own
error text is logged, never shown. With ``CHAT_FALLBACK=offline`` the offline
responder answers instead, and the reply says ``degraded``.

Sessions: the database is the source of truth. The key-value store (Redis when
``REDIS_URL`` is set) caches ``session:<visitorId>`` → active session id with
the idle TTL, so a returning visitor's session is found by primary key; a
missing or stale key (wrong id, ended, expired) just falls back to the
database, and ending or expiring a session deletes the key.
"""

from __future__ import annotations

import asyncio
import math
import re
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from folionaut.cache.key_value_store import KeyValueStore, MemoryKeyValueStore
from folionaut.chat.guardrails import Guardrails, StreamRedactor
from folionaut.chat.llm import LLMClient
from folionaut.chat.llm_protocol import Completion, Message, Usage, tool_result_message
from folionaut.chat.models import ChatMessage, ChatSession
from folionaut.chat.offline import MODEL_NAME as OFFLINE_MODEL
from folionaut.chat.offline import OfflineResponder
from folionaut.chat.portfolio import item_key
from folionaut.chat.repository import ChatRepository
from folionaut.chat.summary import PortfolioSummary
from folionaut.chat.toolresults import fit_tool_result
from folionaut.content.assistant_tools import ToolError, ToolRegistry
from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import AppError, LLMError, NotFoundError, RateLimitedError
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings
from folionaut.storage.base import Statement

log = get_logger("chat")

MAX_TOOL_ROUNDS = 5
HISTORY_MESSAGES = 20  # earlier turns sent to the model for context
OFFLINE_HISTORY_MESSAGES = 8  # earlier turns the offline responder reads for follow-ups
TOOL_RESULT_LIMIT = 8000  # characters of one tool result given back to the model
SESSION_KEY_PREFIX = "session:"
DAILY_TOKENS_KEY_PREFIX = "chat:tokens:"
MAX_SOURCES = 10
_OFFLINE_PIECE = re.compile(r"\S+\s*|\s+")  # the offline answer streams a few words at a time


def session_key(visitor_id: str) -> str:
    """The KV key caching a visitor's active session id (``redis-cli KEYS "session:*"``)."""
    return SESSION_KEY_PREFIX + visitor_id


@dataclass(frozen=True, slots=True)
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any] | str
    result: Any

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments, "result": self.result}


@dataclass(frozen=True, slots=True)
class Source:
    """An item a reply used."""

    type: str
    slug: str
    title: str

    def to_wire(self) -> dict[str, str]:
        return {"type": self.type, "slug": self.slug, "title": self.title}


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


# --- the events of a turn ---------------------------------------------------------------------------

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


class ChatService:
    def __init__(
        self, repository: ChatRepository, llm: LLMClient, tools: ToolRegistry, summary: PortfolioSummary,
        offline: OfflineResponder, settings: Settings, clock: Clock, metrics: Metrics,
        kv: KeyValueStore | None = None,
    ) -> None:
        self.repository = repository
        self.llm = llm
        self.tools = tools
        self.summary = summary
        self.offline = offline
        self.guardrails = Guardrails(settings.public_contact_email, settings.public_contact_phone)
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.session_ttl = timedelta(minutes=settings.chat_session_ttl_minutes)
        # Locks vanish once no turn holds or awaits them, so idle visitors cost nothing.
        self._visitor_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.kv = kv
        # The day's token total: shared through Redis when configured, else counted in this process.
        self._counters: KeyValueStore = kv if kv is not None else MemoryKeyValueStore(clock)

    # --- sessions -------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), tz=UTC)

    @staticmethod
    def _iso(moment: datetime) -> str:
        return iso_timestamp(moment.timestamp())

    async def _session_for(
        self, visitor_id: str, ip_hash: str | None, user_agent: str | None, now: datetime
    ) -> tuple[ChatSession, list[Statement]]:
        """The visitor's active session, or a new one (with the statements that create it)."""
        statements: list[Statement] = []
        session = await self._active_session(visitor_id)
        if session is not None and session.expires_at > self._iso(now):
            return session, statements
        if session is not None:  # idle too long: mark it and start afresh
            statements.append(self.repository.expire_statement(session.id))
        stamp = self._iso(now)
        session = ChatSession(
            id=ids.session_id(), visitor_id=visitor_id, ip_hash=ip_hash, user_agent=(user_agent or "")[:500] or None,
            message_count=0, status="active", created_at=stamp, last_active_at=stamp,
            expires_at=self._iso(now + self.session_ttl),
        )
        statements.append(self.repository.insert_session(session))
        return session, statements

    async def _active_session(self, visitor_id: str) -> ChatSession | None:
        """The visitor's active session: by the cached id when the cache is right, else from the database."""
        if self.kv is not None:
            cached = await self.kv.get(session_key(visitor_id))
            if cached is not None:
                session = await self.repository.get_session(cached.decode("utf-8", "replace"))
                if session is not None and session.status == "active" and session.visitor_id == visitor_id:
                    return session
        return await self.repository.active_session_for(visitor_id)

    async def _remember(self, session: ChatSession) -> None:
        if self.kv is not None:
            await self.kv.set(session_key(session.visitor_id), session.id.encode(),
                              self.session_ttl.total_seconds())

    async def _forget(self, visitor_ids: list[str]) -> None:
        if self.kv is not None:
            for visitor_id in visitor_ids:
                await self.kv.delete(session_key(visitor_id))

    async def _expire_idle(self) -> None:
        await self._forget(await self.repository.expire_idle(self._iso(self._now())))

    async def list_sessions(self, status: str | None, limit: int, offset: int) -> list[ChatSession]:
        await self._expire_idle()
        return await self.repository.list_sessions(status, limit, offset)

    async def get_session(self, session_id: str) -> tuple[ChatSession, list[ChatMessage]]:
        await self._expire_idle()
        session = await self.repository.get_session(session_id)
        if session is None:
            raise NotFoundError(f"Chat session not found: {session_id}")
        return session, await self.repository.messages(session_id)

    async def end_session(self, session_id: str) -> None:
        session = await self.repository.get_session(session_id)
        if session is None:
            raise NotFoundError(f"Chat session not found: {session_id}")
        await self.repository.end_session(session_id)
        await self._forget([session.visitor_id])

    # --- a chat turn -----------------------------------------------------------------------

    async def chat(
        self, text: str, visitor_id: str, ip_hash: str | None = None, user_agent: str | None = None
    ) -> ChatReply:
        """A whole turn, for a JSON reply."""
        reply: ChatReply | None = None
        async for event in self.turn(text, visitor_id, ip_hash, user_agent, stream=False):
            if isinstance(event, Done):
                reply = event.reply
        assert reply is not None  # a turn ends with Done or raises
        return reply

    async def turn(
        self, text: str, visitor_id: str, ip_hash: str | None = None, user_agent: str | None = None,
        *, stream: bool = True,
    ) -> AsyncIterator[ChatEvent]:
        """One turn as events (see the module docstring). ``stream`` asks the provider to stream."""
        # One turn at a time per visitor (in this process): two first messages sent at once
        # would otherwise each open a session, and a visitor's turns belong in order.
        lock = self._visitor_turns.get(visitor_id)
        if lock is None:
            lock = self._visitor_turns[visitor_id] = asyncio.Lock()
        async with lock:
            async for event in self._turn(text, visitor_id, ip_hash, user_agent, stream):
                yield event

    async def _turn(
        self, text: str, visitor_id: str, ip_hash: str | None, user_agent: str | None, stream: bool,
    ) -> AsyncIterator[ChatEvent]:
        now = self._now()
        session, statements = await self._session_for(visitor_id, ip_hash, user_agent, now)
        fresh = bool(statements) and session.message_count == 0
        session_tokens = await self._check_budgets(session, fresh, now)
        if self.settings.chat_redact_input:
            text = self.guardrails.redact_text(text)
        user_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="user", content=text, tokens_used=None, model=None,
            created_at=self._iso(now),
        )
        statements.append(self.repository.insert_message(user_message))
        yield Started(session.id)

        run = _Run(self.guardrails.stream())
        try:
            clarification = self.guardrails.check_input(text)
            if clarification is not None:
                run.model = OFFLINE_MODEL
                async for event in self._offline_text(clarification, run):
                    yield event
            elif not self.llm.configured:
                async for event in self._offline(session, text, run):
                    yield event
            else:
                try:
                    async for event in self._ask_llm(session, text, run, stream, session_tokens):
                        yield event
                except LLMError as exc:
                    self._log_llm_failure(exc)
                    if self.settings.chat_fallback != "offline" or run.shown:
                        raise self._public_error(exc) from None
                    self.metrics.chat_degraded.inc()
                    run.degraded, run.tool_calls, run.sources = True, [], []
                    async for event in self._offline(session, text, run):
                        yield event
        except AppError:
            await self._store(session, statements, added=1, now=now)
            self.metrics.chat_messages.labels("user").inc()
            raise
        except (asyncio.CancelledError, GeneratorExit):
            # The request's deadline ran out (504) or the visitor left: keep the visitor's message as for
            # a 502. The write is shielded so the cancellation cannot cut it; the batch is atomic anyway.
            try:
                await asyncio.shield(self._store(session, statements, added=1, now=now))
                self.metrics.chat_messages.labels("user").inc()
            except Exception:
                log.exception("could not store the message of an interrupted chat turn")
            raise
        if not run.shown and not run.answer_parts:
            tail = "Sorry, I don't have an answer to that."
            run.answer_parts.append(tail)
            yield Delta(tail)

        answer = "".join(run.answer_parts).strip()
        answered_at = max(self._now(), now)
        assistant_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="assistant", content=answer,
            tokens_used=run.usage.total_tokens, model=run.model, created_at=self._iso(answered_at),
        )
        statements.append(self.repository.insert_message(assistant_message))
        await self._store(session, statements, added=2, now=answered_at)
        self.metrics.chat_messages.labels("user").inc()
        self.metrics.chat_messages.labels("assistant").inc()
        if run.usage.total_tokens:
            self.metrics.chat_tokens.inc(run.usage.total_tokens)
        yield Done(ChatReply(session.id, assistant_message, run.usage.total_tokens, run.model, run.tool_calls,
                             run.sources, run.usage, run.degraded))

    # --- budgets ------------------------------------------------------------------------------

    def _day_key(self, now: datetime) -> str:
        return DAILY_TOKENS_KEY_PREFIX + now.strftime("%Y-%m-%d")

    async def _tokens_today(self, now: datetime) -> int:
        raw = await self._counters.get(self._day_key(now))
        return int(raw) if raw else 0

    async def _check_budgets(self, session: ChatSession, fresh: bool, now: datetime) -> int:
        """Refuse the turn (429) when a budget is used up; returns the session's tokens so far."""
        settings = self.settings
        asked, tokens = (0, 0) if fresh else await self.repository.usage(session.id)
        until_expiry = max(1, math.ceil((datetime.fromisoformat(session.expires_at.replace("Z", "+00:00"))
                                         - now).total_seconds())) if not fresh else 1
        if settings.chat_max_messages_per_session and asked >= settings.chat_max_messages_per_session:
            self._refuse("session_messages", until_expiry,
                         f"This chat has reached its limit of {settings.chat_max_messages_per_session} messages; "
                         "a new one starts after it has been idle for a while")
        # Token budgets guard what the provider costs; the offline responder costs nothing.
        if settings.chat_session_token_budget and self.llm.configured and tokens >= settings.chat_session_token_budget:
            self._refuse("session_tokens", until_expiry,
                         "This chat has used up its budget; a new one starts after it has been idle for a while")
        if settings.chat_daily_token_budget and self.llm.configured:
            if await self._tokens_today(now) >= settings.chat_daily_token_budget:
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                self._refuse("daily_tokens", max(1, math.ceil((midnight - now).total_seconds())),
                             "The chat assistant has used up today's budget; please try again tomorrow")
        return tokens

    def _refuse(self, budget: str, retry_after: int, message: str) -> None:
        self.metrics.chat_budget_exceeded.labels(budget).inc()
        raise RateLimitedError(retry_after, message)

    async def _count_tokens(self, tokens: int) -> int:
        """Add to the day's total (every instance's, with Redis); returns the new total."""
        if not tokens:
            return await self._tokens_today(self._now())
        return await self._counters.increment(self._day_key(self._now()), tokens, 2 * 86_400)

    def _over_budget(self, session_tokens: int, turn_tokens: int, day_total: int) -> bool:
        settings = self.settings
        return bool((settings.chat_session_token_budget
                     and session_tokens + turn_tokens >= settings.chat_session_token_budget)
                    or (settings.chat_daily_token_budget and day_total >= settings.chat_daily_token_budget))

    # --- answers --------------------------------------------------------------------------------

    async def _offline(self, session: ChatSession, text: str, run: _Run) -> AsyncIterator[ChatEvent]:
        history = [(m.role, m.content) for m in await self.repository.messages(session.id,
                                                                                limit=OFFLINE_HISTORY_MESSAGES)]
        answer = await self.offline.answer(text, history)
        run.model = OFFLINE_MODEL
        run.sources = _sources(answer.sources)
        async for event in self._offline_text(answer.text, run):
            yield event

    async def _offline_text(self, text: str, run: _Run) -> AsyncIterator[ChatEvent]:
        """The offline answer as a stream: a few words at a time, redacted like any answer."""
        pieces = _OFFLINE_PIECE.findall(text)
        for index in range(0, len(pieces), 4):
            delta = run.push("".join(pieces[index:index + 4]))
            if delta:
                yield Delta(delta)
        delta = run.finish()
        if delta:
            yield Delta(delta)

    def _log_llm_failure(self, error: LLMError) -> None:
        reason = getattr(error, "reason", "error")
        log.warning("LLM call failed: %s", error.message, extra={"reason": reason})

    @staticmethod
    def _public_error(error: LLMError) -> LLMError:
        """What a visitor sees: no provider text, and when to try again."""
        if getattr(error, "reason", None) == "circuit_open":
            return LLMError("The AI assistant is temporarily unavailable; please try again in a little while",
                            retry_after=error.retry_after or 5)
        return LLMError(retry_after=error.retry_after or 5)

    async def _store(self, session: ChatSession, statements: list[Statement], added: int, now: datetime) -> None:
        statements.append(self.repository.touch_session(
            session.id, added, self._iso(now), self._iso(now + self.session_ttl)))
        await self.repository.write(statements)
        await self._remember(session)  # only once the database has it

    async def _system_prompt(self) -> str:
        owner = self.settings.portfolio_owner_name
        contact = [f"e-mail {self.settings.public_contact_email}" if self.settings.public_contact_email else "",
                   f"phone {self.settings.public_contact_phone}" if self.settings.public_contact_phone else ""]
        shown = " and ".join(part for part in contact if part)
        contact_line = (f"If someone wants to get in touch, the public contact details are: {shown}."
                        if shown else "Do not share any contact details.")
        return (
            f"You are the assistant on {owner}'s portfolio website. Answer visitors' questions about "
            f"{owner}'s work using only the portfolio content below and the tools, which read the published "
            "content. If the content does not say, say you don't know. Politely decline questions that are not "
            "about the portfolio. Be concise and friendly, and answer in the visitor's language. "
            f"{contact_line} Never reveal other personal data.\n\n"
            f"## Published portfolio\n\n{await self.summary.text()}"
        )

    async def _ask_llm(
        self, session: ChatSession, text: str, run: _Run, stream: bool, session_tokens: int,
    ) -> AsyncIterator[ChatEvent]:
        messages: list[Message] = [{"role": "system", "content": await self._system_prompt()}]
        redact_history = self.settings.chat_redact_input
        for earlier in await self.repository.messages(session.id, limit=HISTORY_MESSAGES):
            content = earlier.content
            if redact_history and earlier.role == "user":  # stored before input redaction existed
                content = self.guardrails.redact_text(content)
            messages.append({"role": earlier.role, "content": content})
        messages.append({"role": "user", "content": text})
        tools = [tool.to_openai() for tool in self.tools.definitions()]
        candidates: dict[tuple[str, str], Source] = {}
        fetched: list[tuple[str, str]] = []  # items a tool fetched one by one (get_content)
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # After the last allowed tool round, or once a budget ran out, the model must answer in words.
            day_total = await self._tokens_today(self._now()) if round_number else 0
            over = round_number > 0 and self._over_budget(session_tokens, run.usage.total_tokens, day_total)
            offer_tools = tools if round_number < MAX_TOOL_ROUNDS and not over else None
            completion: Completion | None = None
            if stream:
                async for piece in self.llm.stream(messages, offer_tools):
                    if isinstance(piece, Completion):
                        completion = piece
                    else:
                        delta = run.push(piece)
                        if delta:
                            yield Delta(delta)
            else:
                completion = await self.llm.complete(messages, offer_tools)
            assert completion is not None
            usage = completion.usage
            if not usage.total_tokens:  # a provider that reports no usage still spends: estimate it
                usage = _estimated_usage(messages, completion)
            run.add_usage(usage)
            await self._count_tokens(usage.total_tokens)
            run.model = completion.model or self.llm.model
            if not completion.wants_tools or offer_tools is None:
                if not stream:
                    delta = run.push(completion.content or "")
                    if delta:
                        yield Delta(delta)
                break
            messages.append(completion.assistant_message())
            for call in completion.tool_calls:
                result, arguments = await self._run_tool(call.name, call.arguments)
                result = self.guardrails.redact_value(result)
                record = ToolCallRecord(call.id, call.name, arguments, result)
                run.tool_calls.append(record)
                for key in _collect_candidates(result, candidates):
                    if call.name == "get_content" and key not in fetched:
                        fetched.append(key)
                yield ToolUse(record)
                messages.append(tool_result_message(call.id, fit_tool_result(result, TOOL_RESULT_LIMIT)))
        tail = run.finish()
        if tail:
            yield Delta(tail)
        run.sources = await self._llm_sources("".join(run.answer_parts), candidates, fetched)

    async def _llm_sources(self, answer: str, candidates: dict[tuple[str, str], Source],
                           fetched: list[tuple[str, str]]) -> list[Source]:
        """Items the answer used: those a tool fetched one by one, then any item (found by a tool or
        published) whose title the answer names."""
        chosen = [candidates[key] for key in fetched]
        lowered = answer.lower()
        known = dict(candidates)
        for items in (await self.summary.items()).values():
            for item in items:
                known.setdefault(item_key(item), _source(item))
        for source in known.values():
            if len(chosen) >= MAX_SOURCES:
                break
            title = source.title.lower()
            if source not in chosen and len(title) >= 3 and re.search(
                    r"(?<!\w)" + re.escape(title) + r"(?!\w)", lowered):
                chosen.append(source)
        return chosen

    async def _run_tool(self, name: str, raw_arguments: str) -> tuple[Any, dict[str, Any] | str]:
        """Run one tool call; any failure becomes a result the model can read, never a failed request."""
        try:
            arguments = jsonutil.loads(raw_arguments) if raw_arguments.strip() else {}
        except jsonutil.JSONDecodeError:
            return {"error": "arguments were not valid JSON"}, raw_arguments
        if not isinstance(arguments, dict):
            return {"error": "arguments must be a JSON object"}, raw_arguments
        try:
            return await self.tools.execute(name, arguments), arguments
        except (ToolError, AppError) as exc:
            return {"error": exc.message}, arguments
        except Exception as exc:  # a tool bug must not fail the visitor's request
            log.exception("tool %s failed", name)
            return {"error": f"tool failed: {type(exc).__name__}"}, arguments


@dataclass(slots=True)
class _Run:
    """What one turn has produced so far."""

    redactor: StreamRedactor
    answer_parts: list[str] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = OFFLINE_MODEL
    degraded: bool = False

    @property
    def shown(self) -> bool:
        """Whether the visitor has seen any of the answer (then a failure cannot be papered over)."""
        return bool(self.answer_parts)

    def push(self, text: str) -> str:
        safe = self.redactor.push(text)
        if safe:
            self.answer_parts.append(safe)
        return safe

    def finish(self) -> str:
        safe = self.redactor.finish()
        if safe:
            self.answer_parts.append(safe)
        return safe

    def add_usage(self, usage: Usage) -> None:
        self.usage = Usage(self.usage.prompt_tokens + usage.prompt_tokens,
                           self.usage.completion_tokens + usage.completion_tokens,
                           self.usage.total_tokens + usage.total_tokens)


def _estimated_usage(messages: Iterable[Message], completion: Completion) -> Usage:
    # About four characters a token: enough to keep budgets meaningful when a provider reports nothing.
    prompt = sum(len(str(message.get("content") or "")) for message in messages) // 4
    answer = len(completion.content or "") // 4 + sum(len(call.arguments) for call in completion.tool_calls) // 4
    return Usage(prompt, answer, prompt + answer)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _source(item: Any) -> Source:
    data = _field(item, "data")
    data = data if isinstance(data, Mapping) else {}
    title = next((str(data[name]) for name in ("title", "name", "label", "headline", "role", "company")
                  if isinstance(data.get(name), str) and data[name].strip()), str(_field(item, "slug")))
    return Source(str(_field(item, "type")), str(_field(item, "slug")), " ".join(title.split()))


def _sources(items: Iterable[Any]) -> list[Source]:
    return [_source(item) for item in items][:MAX_SOURCES]


def _collect_candidates(result: Any, into: dict[tuple[str, str], Source]) -> list[tuple[str, str]]:
    """Add the items in a tool result to ``into``; returns their keys."""
    if not isinstance(result, Mapping):
        return []
    keys: list[tuple[str, str]] = []
    found: list[Any] = []
    if isinstance(result.get("item"), Mapping):
        found.append(result["item"])
    for key in ("items", "results"):
        if isinstance(result.get(key), list):
            found.extend(entry for entry in result[key] if isinstance(entry, Mapping))
    for item in found:
        if "type" in item and "slug" in item:
            source = _source(item)
            key = (source.type, source.slug)
            into.setdefault(key, source)
            keys.append(key)
    return keys
