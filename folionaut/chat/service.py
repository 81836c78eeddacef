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

Budgets (``budgets.py``) may refuse the turn before it starts (429); a budget
running out between tool rounds makes the model answer without more tools.
Tool results are kept under ``TOOL_RESULT_LIMIT`` characters by
``fit_tool_result`` (shortened or paged, always valid JSON). Every reply names
its sources (``sources.py``).

A turn is stored atomically at the end: the visitor's message, the answer and
the session's counters in one batch. When the LLM fails, the visitor's message
is still stored (so the admin sees the attempt) and the error propagates as 502
(or 504 when the request's deadline cut the turn short); the provider's own
error text is logged, never shown. With ``CHAT_FALLBACK=offline`` the offline
responder answers instead, and the reply says ``degraded``.

Sessions are found, stored and expired by ``sessions.py``; the events and the
reply a turn produces are ``replies.py``.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from folionaut.cache.key_value_store import KeyValueStore, MemoryKeyValueStore
from folionaut.chat.budgets import ChatBudgets, estimated_usage
from folionaut.chat.guardrails import Guardrails, StreamRedactor
from folionaut.chat.llm import LLMClient
from folionaut.chat.llm_protocol import Completion, Message, Usage, tool_result_message
from folionaut.chat.models import ChatMessage, ChatSession
from folionaut.chat.offline import MODEL_NAME as OFFLINE_MODEL
from folionaut.chat.offline import OfflineResponder
from folionaut.chat.replies import ChatEvent, ChatReply, Delta, Done, Started, ToolCallRecord, ToolUse
from folionaut.chat.repository import ChatRepository
from folionaut.chat.sessions import ChatSessions, iso
from folionaut.chat.sources import Key, Source, collect_candidates, named_in_answer, source_of, sources_of
from folionaut.chat.summary import PortfolioSummary
from folionaut.chat.toolresults import fit_tool_result
from folionaut.content.assistant_tools import ToolError, ToolRegistry
from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock
from folionaut.core.errors import AppError, LLMError
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings

__all__ = ["ChatService"]

log = get_logger("chat")

MAX_TOOL_ROUNDS = 5
HISTORY_MESSAGES = 20  # earlier turns sent to the model for context
OFFLINE_HISTORY_MESSAGES = 8  # earlier turns the offline responder reads for follow-ups
TOOL_RESULT_LIMIT = 8000  # characters of one tool result given back to the model
_OFFLINE_PIECE = re.compile(r"\S+\s*|\s+")  # the offline answer streams a few words at a time


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
        self.metrics = metrics
        self.sessions = ChatSessions(repository, clock, timedelta(minutes=settings.chat_session_ttl_minutes), kv)
        # The day's token total: shared through Redis when configured, else counted in this process.
        self.budgets = ChatBudgets(settings, repository, kv if kv is not None else MemoryKeyValueStore(clock),
                                   metrics, metered=llm.configured)
        # Locks vanish once no turn holds or awaits them, so idle visitors cost nothing.
        self._visitor_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # --- the admin's view of sessions ------------------------------------------------------------

    async def list_sessions(self, status: str | None, limit: int, offset: int) -> list[ChatSession]:
        return await self.sessions.find(status, limit, offset)

    async def get_session(self, session_id: str) -> tuple[ChatSession, list[ChatMessage]]:
        return await self.sessions.with_messages(session_id)

    async def end_session(self, session_id: str) -> None:
        await self.sessions.end(session_id)

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
        now = self.sessions.now()
        session, statements = await self.sessions.for_turn(visitor_id, ip_hash, user_agent, now)
        fresh = bool(statements) and session.message_count == 0
        session_tokens = await self.budgets.check(session, fresh, now)
        if self.settings.chat_redact_input:
            text = self.guardrails.redact_text(text)
        user_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="user", content=text, tokens_used=None, model=None,
            created_at=iso(now),
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
            await self.sessions.store(session, statements, added=1, now=now)
            self.metrics.chat_messages.labels("user").inc()
            raise
        except (asyncio.CancelledError, GeneratorExit):
            # The request's deadline ran out (504) or the visitor left: keep the visitor's message as for
            # a 502. The write is shielded so the cancellation cannot cut it; the batch is atomic anyway.
            try:
                await asyncio.shield(self.sessions.store(session, statements, added=1, now=now))
                self.metrics.chat_messages.labels("user").inc()
            except Exception:
                log.exception("could not store the message of an interrupted chat turn")
            raise
        if not run.shown and not run.answer_parts:
            tail = "Sorry, I don't have an answer to that."
            run.answer_parts.append(tail)
            yield Delta(tail)

        answer = "".join(run.answer_parts).strip()
        answered_at = max(self.sessions.now(), now)
        assistant_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="assistant", content=answer,
            tokens_used=run.usage.total_tokens, model=run.model, created_at=iso(answered_at),
        )
        statements.append(self.repository.insert_message(assistant_message))
        await self.sessions.store(session, statements, added=2, now=answered_at)
        self.metrics.chat_messages.labels("user").inc()
        self.metrics.chat_messages.labels("assistant").inc()
        if run.usage.total_tokens:
            self.metrics.chat_tokens.inc(run.usage.total_tokens)
        yield Done(ChatReply(session.id, assistant_message, run.usage.total_tokens, run.model, run.tool_calls,
                             run.sources, run.usage, run.degraded))

    # --- answers --------------------------------------------------------------------------------

    async def _offline(self, session: ChatSession, text: str, run: _Run) -> AsyncIterator[ChatEvent]:
        history = [(m.role, m.content) for m in await self.repository.messages(session.id,
                                                                               limit=OFFLINE_HISTORY_MESSAGES)]
        answer = await self.offline.answer(text, history)
        run.model = OFFLINE_MODEL
        run.sources = sources_of(answer.sources)
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
        candidates: dict[Key, Source] = {}
        fetched: list[Key] = []  # items a tool fetched one by one (get_content)
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # After the last allowed tool round, or once a budget ran out, the model must answer in words.
            day_total = await self.budgets.tokens_today(self.sessions.now()) if round_number else 0
            over = round_number > 0 and self.budgets.exhausted(session_tokens, run.usage.total_tokens, day_total)
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
                usage = estimated_usage(messages, completion)
            run.add_usage(usage)
            await self.budgets.count(usage.total_tokens, self.sessions.now())
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
                for key in collect_candidates(result, candidates):
                    if call.name == "get_content" and key not in fetched:
                        fetched.append(key)
                yield ToolUse(record)
                messages.append(tool_result_message(call.id, fit_tool_result(result, TOOL_RESULT_LIMIT)))
        tail = run.finish()
        if tail:
            yield Delta(tail)
        run.sources = await self._llm_sources("".join(run.answer_parts), candidates, fetched)

    async def _llm_sources(self, answer: str, candidates: dict[Key, Source], fetched: list[Key]) -> list[Source]:
        published = (source_of(item) for items in (await self.summary.items()).values() for item in items)
        return named_in_answer(answer, candidates, fetched, published)

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
