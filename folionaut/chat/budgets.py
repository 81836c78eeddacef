"""Chat budgets: how much one session and one day of chat may ask of the LLM provider.

Budgets (0 switches one off): visitor messages per session
(``CHAT_MAX_MESSAGES_PER_SESSION``), LLM tokens per session
(``CHAT_SESSION_TOKEN_BUDGET``, from the tokens stored with its messages) and
per UTC day (``CHAT_DAILY_TOKEN_BUDGET``: the day's total under
``chat:tokens:YYYY-MM-DD`` in the key-value store, so shared by every instance
with Redis), counted from the provider's usage (estimated when a provider
reports none). A used-up budget refuses the turn with 429 RATE_LIMIT_EXCEEDED
and ``Retry-After`` (the session's expiry, or midnight UTC), counted in
``chat_budget_exceeded_total{budget}``. Token budgets guard what the provider
costs: the offline responder costs nothing and is never refused for them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from folionaut.cache.key_value_store import KeyValueStore
from folionaut.chat.llm_protocol import Completion, Message, Usage
from folionaut.chat.models import ChatSession
from folionaut.chat.repository import ChatRepository
from folionaut.core.errors import RateLimitedError
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings

__all__ = ["DAILY_TOKENS_KEY_PREFIX", "ChatBudgets", "estimated_usage"]

DAILY_TOKENS_KEY_PREFIX = "chat:tokens:"
_DAY_KEY_TTL_SECONDS = 2 * 86_400  # the day's total outlives the day, whatever the instances' clocks say


class ChatBudgets:
    def __init__(self, settings: Settings, repository: ChatRepository, counters: KeyValueStore, metrics: Metrics,
                 *, metered: bool) -> None:
        self.settings = settings
        self.repository = repository
        self.counters = counters
        self.metrics = metrics
        #: Whether turns cost provider tokens (an LLM is configured); the offline responder's do not.
        self.metered = metered

    @staticmethod
    def _day_key(now: datetime) -> str:
        return DAILY_TOKENS_KEY_PREFIX + now.strftime("%Y-%m-%d")

    async def tokens_today(self, now: datetime) -> int:
        raw = await self.counters.get(self._day_key(now))
        return int(raw) if raw else 0

    async def check(self, session: ChatSession, fresh: bool, now: datetime) -> int:
        """Refuse the turn (429) when a budget is used up; returns the session's tokens so far."""
        settings = self.settings
        asked, tokens = (0, 0) if fresh else await self.repository.usage(session.id)
        until_expiry = max(1, math.ceil((datetime.fromisoformat(session.expires_at.replace("Z", "+00:00"))
                                         - now).total_seconds())) if not fresh else 1
        if settings.chat_max_messages_per_session and asked >= settings.chat_max_messages_per_session:
            self._refuse("session_messages", until_expiry,
                         f"This chat has reached its limit of {settings.chat_max_messages_per_session} messages; "
                         "a new one starts after it has been idle for a while")
        if settings.chat_session_token_budget and self.metered and tokens >= settings.chat_session_token_budget:
            self._refuse("session_tokens", until_expiry,
                         "This chat has used up its budget; a new one starts after it has been idle for a while")
        if settings.chat_daily_token_budget and self.metered:
            if await self.tokens_today(now) >= settings.chat_daily_token_budget:
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
                self._refuse("daily_tokens", max(1, math.ceil((midnight - now).total_seconds())),
                             "The chat assistant has used up today's budget; please try again tomorrow")
        return tokens

    def _refuse(self, budget: str, retry_after: int, message: str) -> None:
        self.metrics.chat_budget_exceeded.labels(budget).inc()
        raise RateLimitedError(retry_after, message)

    async def count(self, tokens: int, now: datetime) -> int:
        """Add to the day's total (every instance's, with Redis); returns the new total."""
        if not tokens:
            return await self.tokens_today(now)
        return await self.counters.increment(self._day_key(now), tokens, _DAY_KEY_TTL_SECONDS)

    def exhausted(self, session_tokens: int, turn_tokens: int, day_total: int) -> bool:
        """Whether a token budget ran out during a turn (then the model answers without more tools)."""
        settings = self.settings
        return bool((settings.chat_session_token_budget
                     and session_tokens + turn_tokens >= settings.chat_session_token_budget)
                    or (settings.chat_daily_token_budget and day_total >= settings.chat_daily_token_budget))


def estimated_usage(messages: Iterable[Message], completion: Completion) -> Usage:
    """About four characters a token: enough to keep budgets meaningful when a provider reports nothing."""
    prompt = sum(len(str(message.get("content") or "")) for message in messages) // 4
    answer = len(completion.content or "") // 4 + sum(len(call.arguments) for call in completion.tool_calls) // 4
    return Usage(prompt, answer, prompt + answer)
