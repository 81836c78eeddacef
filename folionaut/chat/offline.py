"""The offline responder: answers chat from the portfolio itself when no LLM is configured.

Deterministic: the same question over the same content and conversation always
gives the same answer. A question is read in three steps:

1. what it refers to: an item named in it (a project's title, a company, a
   skill, a link), or, for a follow-up ("tell me more about the second one",
   "show more"), the items of the previous answer in the session;
2. what it asks: one of a few intents (who, where based, education, current
   role, experience, projects, featured projects, latest posts, talks, skills
   and levels, links, contact), found from its words in English and the
   common words of a few other languages;
3. the answer, written from the fields portfolios usually hold (title, name,
   summary, description, location, company, role, start and end dates, level,
   links, featured, publication date, tags; see ``portfolio.Entry``).

Lists show ``page_size`` entries and say how many more there are ("show more"
pages on). Questions about something else (the weather, a poem) are declined
politely; a question in another language gets a short note in that language
that the answer is in English. What the answer used is returned as its
sources. The chat service labels these answers with model ``local``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from folionaut.chat.language import detect_language, note_for
from folionaut.chat.offline_answers import TopicAnswers
from folionaut.chat.offline_format import Reply, detail, join_names, line, listing, shorten
from folionaut.chat.offline_intents import (
    ASSISTANT_QUESTIONS,
    CURRENT_PHRASES,
    FOLLOW_UP_WORDS,
    GREETINGS,
    MORE,
    OFF_TOPIC,
    PRONOUN_FOLLOW_UP,
    STOPWORDS,
    THANKS,
    Owner,
    Question,
    read_question,
)
from folionaut.chat.portfolio import Entry, Portfolio, item_key, words

__all__ = ["MODEL_NAME", "OfflineAnswer", "OfflineResponder"]

MODEL_NAME = "local"

Item = Any  # a ContentItem, or a mapping with "type", "slug", "data"
ListItemsFn = Callable[[], Awaitable[Sequence[Item]]]
SearchFn = Callable[[str, int], Awaitable[Sequence[Item]]]
Turn = tuple[str, str]  # (role, content) of an earlier message in the session, oldest first


@dataclass(frozen=True, slots=True)
class OfflineAnswer:
    text: str
    sources: tuple[Item, ...] = ()


class OfflineResponder:
    def __init__(
        self,
        list_items: ListItemsFn,
        search: SearchFn | None = None,
        *,
        owner_name: str = "",
        contact_email: str = "",
        contact_phone: str = "",
        page_size: int = 5,
    ) -> None:
        self._list_items = list_items
        self._search = search
        self._owner_setting = owner_name.strip()
        self._contact_email = contact_email.strip()
        self._contact_phone = contact_phone.strip()
        self._page_size = page_size
        self._answers = TopicAnswers(page_size, self._contact_email, self._contact_phone)

    # --- the entry point ------------------------------------------------------------------

    async def answer(self, question: str, history: Sequence[Turn] = ()) -> OfflineAnswer:
        portfolio = Portfolio(await self._list_items())
        owner = self._owner(portfolio)
        language = detect_language(question)
        reply = await self._reply(question, history, portfolio, owner)
        text = owner.capitalised(reply.text)
        note = note_for(language) if language != "en" else ""
        if note:
            text = f"{note}\n\n{text}"
        sources: list[Item] = []
        seen: set[tuple[str, str]] = set()
        for entry in reply.used:
            key = (entry.type, entry.slug)
            if key not in seen:
                seen.add(key)
                sources.append(entry.item)
        return OfflineAnswer(text, tuple(sources))

    async def _reply(self, text: str, history: Sequence[Turn], portfolio: Portfolio, owner: Owner) -> Reply:
        question = read_question(text, portfolio, owner)
        if not question.tokens and not question.text.strip():
            return self._answers.greeting(portfolio, owner)
        # Follow-ups first: they refer to the previous answer, not to words of their own.
        if MORE.match(question.lowered.strip()):
            paged = await self._next_page(history, portfolio, owner)
            if paged is not None:
                return paged
        follow_up = self._follow_up(question, history, portfolio)
        if follow_up is not None:
            return follow_up
        return await self._answer(question, portfolio, owner, offset=0)

    # --- follow-ups ---------------------------------------------------------------------------

    @staticmethod
    def _last_list(history: Sequence[Turn], portfolio: Portfolio) -> list[Entry]:
        """The items of the most recent answer that listed several (a detail in between does not count:
        "tell me about the first one", then "and the second?"), else those the previous answer named."""
        answers = [content for role, content in history if role == "assistant"][-4:]
        for answer in reversed(answers):
            listed = [entry for row in answer.splitlines() if row.startswith(("- ", "• ", "* "))
                      for entry in portfolio.mentioned_in(row[2:])[:1]]
            if len(listed) > 1:
                return list(dict.fromkeys(listed))
        return portfolio.mentioned_in(answers[-1]) if answers else []

    def _follow_up(self, question: Question, history: Sequence[Turn], portfolio: Portfolio) -> Reply | None:
        listed = self._last_list(history, portfolio)
        if not listed:
            return None
        token_set = set(question.tokens)
        if question.ordinal is not None and (token_set & FOLLOW_UP_WORDS or len(question.tokens) <= 4):
            if question.entities and question.entities[0] not in listed:
                return None  # "the first project" after talking about something else: not a follow-up
            index = question.ordinal
            if index >= len(listed):
                return Reply([f"The previous answer listed only {len(listed)} item"
                              f"{'s' if len(listed) != 1 else ''}: {join_names([e.title for e in listed])}."], listed)
            return detail(listed[index])
        if not question.entities and PRONOUN_FOLLOW_UP.search(question.lowered) and len(question.tokens) <= 8:
            return detail(listed[0])
        return None

    async def _next_page(self, history: Sequence[Turn], portfolio: Portfolio, owner: Owner) -> Reply | None:
        """"Show more": the question before the run of "more"s, answered from where the last page stopped."""
        shown = 0
        turns = list(history)
        while turns:
            role, content = turns.pop()
            if role == "assistant":
                shown += sum(row.startswith("- ") for row in content.splitlines())
                continue
            if MORE.match(" ".join(content.lower().split())):
                continue
            reply = await self._answer(read_question(content, portfolio, owner), portfolio, owner, offset=shown)
            if reply.used:
                return reply
            return Reply(["That was everything I found — there is nothing more to show."])
        return None

    # --- answering ----------------------------------------------------------------------------

    async def _answer(self, question: Question, portfolio: Portfolio, owner: Owner, *, offset: int) -> Reply:
        intents, entities, token_set = question.intents, question.entities, set(question.tokens)
        if ASSISTANT_QUESTIONS.search(question.lowered):
            return self._answers.greeting(portfolio, owner)
        if OFF_TOPIC.search(question.text) and not entities:
            return self._answers.decline(owner)
        if not intents and not entities and token_set <= GREETINGS | STOPWORDS:
            if token_set & GREETINGS or not token_set:
                return self._answers.greeting(portfolio, owner)
        if token_set and token_set <= THANKS | STOPWORDS | set(owner.words) and token_set & THANKS:
            return Reply([f"You're welcome! Anything else you'd like to know about {owner.first}'s work?"])

        if "contact" in intents and not (entities and entities[0].kind == "link"):
            return self._answers.contact(portfolio, owner)
        if entities:
            reply = self._about_entities(question, portfolio, owner, offset)
            if reply is not None:
                return reply
        if "education" in intents:
            return self._answers.education(portfolio, owner)
        if "current" in intents and (intents & {"experience", "who"} or "work" in token_set or "do" in token_set
                                     or CURRENT_PHRASES.search(question.lowered)):
            return self._answers.current_role(portfolio, owner)
        placed = self._placed(question, portfolio)
        if placed:
            return Reply([f"- {line(entry)}" for entry in placed], placed)
        if "location" in intents or ("where" in token_set and question.about_owner and not intents - {"when"}):
            return self._answers.location(portfolio, owner)
        if "post" in intents:
            return self._answers.posts(question, portfolio, owner, offset)
        if "talk" in intents:
            return self._listing(portfolio.newest_first("talk"), offset, f"{owner.first}'s talks, newest first:",
                                 f"I couldn't find any talks in {owner.whose} portfolio.")
        if "featured" in intents and ("project" in intents or not intents - {"featured"}):
            return self._answers.featured(portfolio, owner, offset)
        if "project" in intents:
            return self._answers.projects(question, portfolio, owner, offset)
        if "experience" in intents:
            return self._answers.experience(question, portfolio, owner, offset)
        if "skill" in intents:
            return await self._answers.skills(question, portfolio, owner)
        if "link" in intents:
            return self._answers.links(portfolio, owner)
        if "who" in intents or (question.about_owner and not question.keywords):
            return self._answers.who(portfolio, owner)
        if "current" in intents:
            return self._answers.current_role(portfolio, owner)
        return await self._search_answer(question, portfolio, owner, offset)

    @staticmethod
    def _placed(question: Question, portfolio: Portfolio) -> list[Entry]:
        """Roles and schools in a place the question names ("where did she work in London?")."""
        asks_where = question.intents & {"experience", "education", "location", "current"} or set(
            question.tokens) & {"work", "worked", "where", "live", "lived", "study", "studied"}
        if not question.keywords or not asks_where:
            return []
        wanted = set(question.keywords)
        return [entry for entry in portfolio.entries if entry.kind in ("experience", "education")
                and entry.location and wanted & set(words(entry.location))]

    def _about_entities(self, question: Question, portfolio: Portfolio, owner: Owner, offset: int) -> Reply | None:
        intents = question.intents
        entity = question.entities[0]
        if entity.kind == "skill":
            term = entity.name
            if "project" in intents:
                return self._answers.projects(question, portfolio, owner, offset, term=term)
            if "post" in intents:
                return self._answers.posts(question, portfolio, owner, offset, term=term)
            return self._answers.skill_level(entity, question, portfolio, owner)
        if entity.kind in ("project", "post", "talk") and intents & {"project", "post", "talk"} and len(
                question.entities) == 1 and entity.kind not in intents and not intents & {"featured", "latest"}:
            # "Which projects use Tidewatch's stack?" is rare; "projects like X" names X as a topic.
            return detail(entity)
        if len(question.entities) > 1 and not intents - {"when", "who"}:
            return Reply([line(e) for e in question.entities[: self._page_size]], question.entities)
        return detail(entity)

    async def _search_answer(self, question: Question, portfolio: Portfolio, owner: Owner, offset: int) -> Reply:
        terms = question.keywords
        found: list[Entry] = []
        if terms and self._search is not None:
            results = list(await self._search(" ".join(terms), self._page_size * 4))
            for item in results:
                entry = portfolio.get(item_key(item))
                if entry is not None and entry not in found and entry.kind != "profile":
                    found.append(entry)
        if not found and terms:
            found = [entry for entry in portfolio.entries if entry.kind != "profile" and entry.words & set(terms)]
        if found:
            return self._listing(found, offset, f'Here is what I found in {owner.whose} portfolio about '
                                                f'"{" ".join(terms)}":', "")
        if question.about_owner or set(question.tokens) & set(owner.words):
            subject = f' about "{shorten(" ".join(terms), 80)}"' if terms else ""
            return Reply([f"I couldn't find anything{subject} in {owner.whose} portfolio. "
                          f"You can ask about {self._answers.topics(portfolio)}."])
        return self._answers.decline(owner)

    # --- whose portfolio ------------------------------------------------------------------------

    def _owner(self, portfolio: Portfolio) -> Owner:
        profile = portfolio.profile
        name = profile.first(("name", "fullName", "full_name")) if profile else ""
        if not name and self._owner_setting and self._owner_setting.lower() != "the portfolio owner":
            name = self._owner_setting
        return Owner(name)

    def _listing(self, entries: Sequence[Entry], offset: int, intro: str, empty: str) -> Reply:
        return listing(entries, offset, intro, empty, self._page_size)
