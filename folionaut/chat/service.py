"""The chat turn: session, guardrails, LLM with tools (or the offline responder), storage.

A turn is stored atomically at the end: the visitor's message, the answer and
the session's counters in one batch. When the LLM fails, the visitor's message
is still stored (so the admin sees the attempt) and the error propagates as 502
(or 504 when the request's deadline cut the turn short).

Sessions: the database is the source of truth. The key-value store (Redis when
``REDIS_URL`` is set) caches ``session:<visitorId>`` → active session id with
the idle TTL, so a returning visitor's session is found by primary key; a
missing or stale key (wrong id, ended, expired) just falls back to the
database, and ending or expiring a session deletes the key.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from folionaut.cache.key_value_store import KeyValueStore
from folionaut.chat.guardrails import Guardrails
from folionaut.chat.llm import Completion, LLMClient, Message, tool_result_message
from folionaut.chat.models import ChatMessage, ChatSession
from folionaut.chat.offline import MODEL_NAME as OFFLINE_MODEL
from folionaut.chat.offline import OfflineResponder
from folionaut.chat.repository import ChatRepository
from folionaut.chat.summary import PortfolioSummary
from folionaut.content.assistant_tools import ToolError, ToolRegistry
from folionaut.core import ids, jsonutil
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import AppError, NotFoundError
from folionaut.core.logging import get_logger
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings
from folionaut.storage.base import Statement

log = get_logger("chat")

MAX_TOOL_ROUNDS = 5
HISTORY_MESSAGES = 20  # earlier turns sent to the model for context
TOOL_RESULT_LIMIT = 8000  # characters of one tool result given back to the model
SESSION_KEY_PREFIX = "session:"


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


@dataclass(slots=True)
class ChatReply:
    session_id: str
    message: ChatMessage
    tokens_used: int
    model: str
    tool_calls: list[ToolCallRecord] = field(default_factory=list)

    def to_wire(self, include_tool_calls: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "sessionId": self.session_id,
            "message": {"id": self.message.id, "role": "assistant", "content": self.message.content,
                        "createdAt": self.message.created_at},
            "tokensUsed": self.tokens_used,
            "model": self.model,
        }
        if include_tool_calls:
            body["toolCalls"] = [call.to_wire() for call in self.tool_calls]
        return body


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
        self.guardrails = Guardrails(settings.public_contact_email)
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.session_ttl = timedelta(minutes=settings.chat_session_ttl_minutes)
        # Locks vanish once no turn holds or awaits them, so idle visitors cost nothing.
        self._visitor_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.kv = kv

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
        # One turn at a time per visitor (in this process): two first messages sent at once
        # would otherwise each open a session, and a visitor's turns belong in order.
        lock = self._visitor_turns.get(visitor_id)
        if lock is None:
            lock = self._visitor_turns[visitor_id] = asyncio.Lock()
        async with lock:
            return await self._turn(text, visitor_id, ip_hash, user_agent)

    async def _turn(self, text: str, visitor_id: str, ip_hash: str | None, user_agent: str | None) -> ChatReply:
        now = self._now()
        session, statements = await self._session_for(visitor_id, ip_hash, user_agent, now)
        user_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="user", content=text, tokens_used=None, model=None,
            created_at=self._iso(now),
        )
        statements.append(self.repository.insert_message(user_message))
        tool_calls: list[ToolCallRecord] = []
        tokens = 0
        try:
            clarification = self.guardrails.check_input(text)
            if clarification is not None:
                answer, model = clarification, OFFLINE_MODEL
            elif not self.llm.configured:
                answer, model = await self.offline.answer(text), OFFLINE_MODEL
            else:
                answer, tokens, model = await self._ask_llm(session, text, tool_calls)
        except AppError:
            await self._store(session, statements, added=1, now=now)
            self.metrics.chat_messages.labels("user").inc()
            raise
        except asyncio.CancelledError:
            # The request's deadline ran out (504): keep the visitor's message as for a 502. The
            # deadline cancels once, so this write runs; the batch is atomic if anything cuts it short.
            try:
                await self._store(session, statements, added=1, now=now)
                self.metrics.chat_messages.labels("user").inc()
            except Exception:
                log.exception("could not store the message of a timed-out chat turn")
            raise
        answer = self.guardrails.redact(answer).text
        answered_at = max(self._now(), now)
        assistant_message = ChatMessage(
            id=ids.message_id(), session_id=session.id, role="assistant", content=answer, tokens_used=tokens,
            model=model, created_at=self._iso(answered_at),
        )
        statements.append(self.repository.insert_message(assistant_message))
        await self._store(session, statements, added=2, now=answered_at)
        self.metrics.chat_messages.labels("user").inc()
        self.metrics.chat_messages.labels("assistant").inc()
        if tokens:
            self.metrics.chat_tokens.inc(tokens)
        return ChatReply(session.id, assistant_message, tokens, model, tool_calls)

    async def _store(self, session: ChatSession, statements: list[Statement], added: int, now: datetime) -> None:
        statements.append(self.repository.touch_session(
            session.id, added, self._iso(now), self._iso(now + self.session_ttl)))
        await self.repository.write(statements)
        await self._remember(session)  # only once the database has it

    async def _system_prompt(self) -> str:
        owner = self.settings.portfolio_owner_name
        contact = self.settings.public_contact_email
        contact_line = (f"If someone wants to get in touch, the public contact e-mail is {contact}."
                        if contact else "Do not share any contact details.")
        return (
            f"You are the assistant on {owner}'s portfolio website. Answer visitors' questions about "
            f"{owner}'s work using only the portfolio content below and the tools, which read the published "
            "content. If the content does not say, say you don't know. Be concise and friendly. "
            f"{contact_line} Never reveal other personal data.\n\n"
            f"## Published portfolio\n\n{await self.summary.text()}"
        )

    async def _ask_llm(self, session: ChatSession, text: str, records: list[ToolCallRecord]) -> tuple[str, int, str]:
        messages: list[Message] = [{"role": "system", "content": await self._system_prompt()}]
        for earlier in await self.repository.messages(session.id, limit=HISTORY_MESSAGES):
            messages.append({"role": earlier.role, "content": earlier.content})
        messages.append({"role": "user", "content": text})
        tools = [tool.to_openai() for tool in self.tools.definitions()]
        tokens = 0
        completion: Completion | None = None
        for round_number in range(MAX_TOOL_ROUNDS + 1):
            # After the last allowed tool round the model must answer in words.
            offer_tools = tools if round_number < MAX_TOOL_ROUNDS else None
            completion = await self.llm.complete(messages, offer_tools)
            tokens += completion.usage.total_tokens
            if not completion.wants_tools or offer_tools is None:
                break
            messages.append(completion.assistant_message())
            for call in completion.tool_calls:
                result, arguments = await self._run_tool(call.name, call.arguments)
                records.append(ToolCallRecord(call.id, call.name, arguments, result))
                messages.append(tool_result_message(call.id, jsonutil.dumps_str(result)[:TOOL_RESULT_LIMIT]))
        assert completion is not None
        answer = (completion.content or "").strip() or "Sorry, I don't have an answer to that."
        return answer, tokens, completion.model or self.llm.model

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
