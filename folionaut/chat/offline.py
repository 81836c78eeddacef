"""The offline responder: answers chat from the portfolio itself when no LLM is configured.

Deterministic: the same question over the same content always gives the same
answer. It pulls the meaningful words out of the question, searches the
published content with them (and lists a content type the question names),
and writes a short answer from the best matches' title, description and link,
or says politely that nothing matched and which kinds of content exist.
The chat service labels these answers with model ``local``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

MODEL_NAME = "local"

Item = Any  # a dict {"type", "slug", "data"} or an object with those attributes (ContentItem)
SearchFn = Callable[[str, int], Awaitable[Sequence[Item]]]
ListTypesFn = Callable[[], Awaitable[Sequence[str | tuple[str, int]]]]
ListContentFn = Callable[[str], Awaitable[Sequence[Item]]]

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_GREETINGS = {"hi", "hello", "hey", "hiya", "howdy", "greetings", "yo", "morning", "evening", "afternoon"}
# Words that say nothing about what to look for.
_STOPWORDS = _GREETINGS | set(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't could couldn't did didn't do does doesn't doing don't down during each few for
    from further get got had hadn't has hasn't have haven't having he he'd he's her here here's hers herself him
    himself his how how's i i'd i'm i've if in into is isn't it it's its itself just know let's like list me more
    most much my myself no nor not of off on once only or other ought our ours ourselves out over own please same
    say she she'd she's should shouldn't show so some such tell than thank thanks that that's the their theirs them
    themselves then there there's these they they'd they're this those through to too under until up us very was
    wasn't we we'd we're were weren't what what's when when's where where's which while who who's whom why why's
    will with won't would wouldn't you you'd you're your yours yourself anything something everything give find
    want wanted need info information details detail portfolio owner site website work worked works working done
    made make ever also any other else really build built builds building use used uses using write wrote
    written create created""".split()
)
_TITLE_FIELDS = ("title", "name", "headline", "label")
_DESCRIPTION_FIELDS = ("description", "summary", "excerpt", "tagline", "bio", "about", "content", "body")
_LINK_FIELDS = ("url", "link", "href", "website", "demo", "demoUrl", "liveUrl", "github", "githubUrl", "repo",
                "repoUrl", "repository")
# Everyday words for the usual content types, used when a question names no type outright.
_TYPE_HINTS = {
    "experience": {"work", "worked", "job", "jobs", "career", "employer", "employers", "company", "companies", "role"},
    "contact": {"contact", "email", "reach", "hire", "touch"},
    "skill": {"skill", "skills", "tech", "technologies", "stack", "languages", "tools"},
    "education": {"study", "studied", "degree", "university", "school", "college"},
    "project": {"built", "build", "projects", "apps"},
}
_MAX_KEYWORDS = 8
_MAX_FALLBACK_SEARCHES = 4
_DESCRIPTION_LIMIT = 200


def _field(item: Item, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _shorten(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"


def _humanize(slug: str) -> str:
    return " ".join(part.capitalize() for part in slug.split("-") if part) or slug


def describe_item(item: Item) -> tuple[str, str, str]:
    """(title, description, link) of a content item, each possibly empty but the title."""
    data = _field(item, "data")
    data = data if isinstance(data, Mapping) else {}
    title = next((_text(data.get(name)) for name in _TITLE_FIELDS if _text(data.get(name))), "")
    if not title:
        role, company = _text(data.get("role")), _text(data.get("company") or data.get("organization"))
        title = f"{role} at {company}" if role and company else role or company
    if not title:
        title = _humanize(str(_field(item, "slug") or ""))
    description = next((_text(data.get(name)) for name in _DESCRIPTION_FIELDS if _text(data.get(name))), "")
    link = next((_text(data.get(name)) for name in _LINK_FIELDS
                 if _text(data.get(name)).startswith(("https://", "http://"))), "")
    return title, _shorten(description), link


def keywords(question: str, ignore: Sequence[str] = ()) -> list[str]:
    """The words of ``question`` worth searching for, in order, without duplicates."""
    skip = _STOPWORDS | {word.lower() for word in ignore}
    found: list[str] = []
    for word in _WORD.findall(question.lower()):
        word = word.strip("'")
        if len(word) < 2 and not word.isdigit():
            continue
        if word in skip or word.removesuffix("'s") in skip or word in found:
            continue
        found.append(word)
    return found[:_MAX_KEYWORDS]


def _type_named(word: str, types: Sequence[str]) -> str | None:
    for name in types:
        if word in (name, f"{name}s", f"{name}es"):
            return name
        if word.endswith("ies") and word[:-3] + "y" == name:
            return name
    return None


class OfflineResponder:
    def __init__(
        self,
        search: SearchFn,
        list_types: ListTypesFn | None = None,
        list_content: ListContentFn | None = None,
        *,
        owner_name: str = "",
        max_results: int = 3,
    ) -> None:
        self._search = search
        self._list_types = list_types
        self._list_content = list_content
        self._owner = owner_name.strip()
        self._max_results = max_results

    async def answer(self, question: str) -> str:
        types = await self._types()
        owner_words = _WORD.findall(self._owner.lower()) if self._owner else []
        words = keywords(question, ignore=owner_words)
        named_types = [name for word in words if (name := _type_named(word, types))]
        topic = [word for word in words if not _type_named(word, types)]
        if not named_types and not topic and self._list_content is not None:
            said = set(_WORD.findall(question.lower()))
            named_types = [name for name in types if _TYPE_HINTS.get(name, set()) & said]
            if named_types:
                items = list(await self._list_content(named_types[0]))
                if items:
                    return self._found(items[: self._max_results], [named_types[0]])
        if not words:
            if set(_WORD.findall(question.lower())) & _GREETINGS:
                return self._greeting(types)
            return self._nothing_found(question.strip(), types)

        items: list[Item] = []
        if topic:
            items = await self._find(topic)
            if named_types:
                # Prefer the kind of content the question asked for, keeping search order otherwise.
                items.sort(key=lambda item: _field(item, "type") not in named_types)
        elif named_types and self._list_content is not None:
            items = list(await self._list_content(named_types[0]))
        else:
            items = await self._find(words)

        if not items:
            return self._nothing_found(" ".join(topic or words), types)
        return self._found(items[: self._max_results], topic or words)

    async def _types(self) -> list[str]:
        if self._list_types is None:
            return []
        names = [entry[0] if isinstance(entry, tuple) else entry for entry in await self._list_types()]
        return sorted({str(name) for name in names})

    async def _find(self, words: list[str]) -> list[Item]:
        limit = self._max_results * 2
        results = list(await self._search(" ".join(words), limit))
        if not results and len(words) > 1:
            # A search that needs every word may find nothing for the whole phrase; try the words alone.
            for word in words[:_MAX_FALLBACK_SEARCHES]:
                results.extend(await self._search(word, limit))
        unique: list[Item] = []
        seen: set[tuple[str, str]] = set()
        for item in results:
            key = (str(_field(item, "type")), str(_field(item, "slug")))
            if key not in seen:
                seen.add(key)
                unique.append(item)
        return unique

    def _whose(self) -> str:
        return f"{self._owner}'s portfolio" if self._owner else "the portfolio"

    def _types_sentence(self, types: list[str]) -> str:
        if self._list_types is None:
            # Without a way to list types we cannot say the portfolio is empty, only suggest.
            return "Try asking about projects, skills or experience."
        if not types:
            return f"There is no published content in {self._whose()} yet."
        return "You can ask about: " + ", ".join(types) + "."

    def _greeting(self, types: list[str]) -> str:
        return f"Hi! I can answer questions about {self._whose()}. {self._types_sentence(types)}"

    def _nothing_found(self, subject: str, types: list[str]) -> str:
        subject = _shorten(" ".join(subject.split()), 80)
        about = f' about "{subject}"' if subject else ""
        return f"I couldn't find anything{about} in {self._whose()}. {self._types_sentence(types)}"

    def _found(self, items: list[Item], words: list[str]) -> str:
        lines = [f'Here is what I found in {self._whose()} about "{" ".join(words)}":']
        for item in items:
            title, description, link = describe_item(item)
            line = f"- {title} ({_field(item, 'type')})"
            if description:
                line += f": {description}"
            if link:
                line += f" {link}"
            lines.append(line)
        return "\n".join(lines)


async def compose_offline_answer(
    question: str,
    search: SearchFn,
    list_types: ListTypesFn | None = None,
    list_content: ListContentFn | None = None,
    *,
    owner_name: str = "",
) -> str:
    """One-shot form of ``OfflineResponder(...).answer(question)``."""
    return await OfflineResponder(search, list_types, list_content, owner_name=owner_name).answer(question)
