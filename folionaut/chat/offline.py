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

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from folionaut.chat.language import detect_language, note_for
from folionaut.chat.portfolio import Entry, Portfolio, format_date, item_key, words

__all__ = ["MODEL_NAME", "OfflineAnswer", "OfflineResponder", "keywords"]

MODEL_NAME = "local"

Item = Any  # a ContentItem, or a mapping with "type", "slug", "data"
ListItemsFn = Callable[[], Awaitable[Sequence[Item]]]
SearchFn = Callable[[str, int], Awaitable[Sequence[Item]]]
Turn = tuple[str, str]  # (role, content) of an earlier message in the session, oldest first

_DESCRIPTION_LIMIT = 200
_MAX_KEYWORDS = 8

_GREETINGS = {"hi", "hello", "hey", "hiya", "howdy", "greetings", "yo", "morning", "evening", "afternoon", "hola",
              "bonjour", "salut", "hallo", "olá", "ola", "ciao", "hoi", "servus", "moin"}
_THANKS = {"thanks", "thank", "thx", "cheers", "ty", "gracias", "merci", "danke", "obrigado", "obrigada", "grazie",
           "bedankt", "bye", "goodbye"}
# Words that say nothing about what to look for.
_STOPWORDS = _GREETINGS | set(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't could couldn't did didn't do does doesn't doing don't down during each few for
    from further get got had hadn't has hasn't have haven't having he he'd he's her here here's hers herself him
    himself his how how's i i'd i'm i've if in into is isn't it it's its itself just know knows let's like list me
    more most much my myself no nor not of off on once only or other ought our ours ourselves out over own please
    same say she she'd she's should shouldn't show so some such tell than thank thanks that that's the their theirs
    them themselves then there there's these they they'd they're this those through to too under until up us very
    was wasn't we we'd we're were weren't what what's when when's where where's which while who who's whom why
    why's will with won't would wouldn't you you'd you're your yours yourself anything something everything give
    find want wanted need info information details detail portfolio owner site website work worked works working
    done made make ever also else really use used uses using any one ones many much good well kind kinds type
    types sort lot lots can could able person people""".split()
)
_OWNER_WORDS = {"she", "he", "they", "her", "his", "their", "him", "them", "hers", "theirs", "owner", "person"}

# --- intents: words that signal them (English, then the usual words of es, fr, de, pt, it, nl, and a few CJK) ---

_INTENT_WORDS: dict[str, frozenset[str]] = {
    "contact": frozenset("contact email e-mail mail reach touch hire hiring phone telephone call contacto contactar "
                         "correo contato contatar kontakt kontaktieren contatto contattare joindre contacter courriel "
                         "telefon teléfono téléphone telefone telefono 連絡 連絡先 メール 联系 연락".split()),
    "education": frozenset("study studied studies degree degrees university universities college school education "
                           "educated graduate graduated graduation major alma diploma bachelor master masters phd "
                           "estudió estudios estudio universidad études étudié université studium studiert "
                           "universität ausbildung estudou universidade formação studiato università studeerde "
                           "universiteit opleiding 学歴 学位".split()),
    "current": frozenset("now currently current present today nowadays presently actualmente actuellement "
                         "aktuell derzeit atualmente attualmente momenteel".split()),
    "experience": frozenset("experience experiences worked jobs job career employers employer companies company "
                            "history resume cv previous previously past roles positions background employment "
                            "experiencia trabajo trabajó expérience travaillé erfahrung berufserfahrung gearbeitet "
                            "experiência trabalhou esperienza lavorato ervaring gewerkt 経歴 经历 경력".split()),
    "location": frozenset("based live lives living located location city country timezone reside resides hometown "
                          "dónde donde vive où habite wo wohnt lebt onde mora dove abita waar woont".split()),
    "who": frozenset("who who's whois introduce introduction bio biography yourself quién quien qui wer quem chi "
                     "wie".split()),
    "skill": frozenset("know knows familiar skill skills tech technologies technology stack languages language "
                       "tools tool frameworks framework proficient proficiency expert expertise level levels good "
                       "strong strengths "
                       "program programs programming code codes coding fluent habilidades compétences "
                       "fähigkeiten kenntnisse competências competenze vaardigheden スキル 技能 기술".split()),
    "post": frozenset("blog blogs post posts article articles write wrote written writing writes essay essays publish "
                      "published artículo artículos artículos article articles artikel artigo artigos articolo "
                      "articoli ブログ 博客".split()),
    "talk": frozenset("talk talks spoke speak speaking speaker conference conferences presentation presentations "
                      "keynote keynotes meetup charla charlas conférence vortrag vorträge palestra intervento "
                      "lezing".split()),
    "project": frozenset("project projects built build builds building apps app side portfolio pieces products "
                         "product created creations made proyecto proyectos projet projets projekt projekte projeto "
                         "projetos progetto progetti project projecten プロジェクト 项目 프로젝트".split()),
    "featured": frozenset("featured feature highlight highlights highlighted best notable top favorite favourite "
                          "favorites favourites proud showcase pinned destacados destacado vedette hervorgehoben "
                          "destaque evidenza uitgelicht".split()),
    "latest": frozenset("latest recent recently newest last new newer último última últimos dernier dernière "
                        "neueste letzte neuester recente ultimo ultima nieuwste laatste 最新".split()),
    "link": frozenset("github gitlab linkedin twitter mastodon bluesky website homepage links link online social "
                      "socials profiles profile url urls find site".split()),
    "when": frozenset("when dates date year years long since cuándo quand wann quando wanneer".split()),
}
_EDUCATION_PHRASES = re.compile(r"\bgo to (?:school|university|college)\b|\bwhere did \w+ (?:study|go)\b")
_CURRENT_PHRASES = re.compile(
    r"\bwhat (?:does|do) (?:\w+ ){0,3}do\b|\bwhere (?:does|do) (?:\w+ ){0,3}work\b|\bwork(?:s|ing)? (?:now|currently)\b"
    r"|\bcurrent(?:ly)? (?:job|role|position|employer|company|title)\b|\bjob title\b")
_WHO_PHRASES = re.compile(r"\bwho (?:is|are|'s)\b|\btell me about (?:her|him|them|yourself|\w+ \w+)\s*[?.!]*$"
                          r"|\babout (?:her|him|them)\b|\bintroduce\b")
_LOCATION_PHRASES = re.compile(r"\bwhere (?:is|are|'s) \w+(?: \w+)? (?:based|located|living|from)\b|\bwhere .* live\b"
                               r"|\bwhere (?:is|are) (?:she|he|they|\w+) from\b|\bwhere (?:is|are) (?:she|he|they)\b")
_MORE = re.compile(r"^(?:(?:and |ok |okay |please |can you |could you )*(?:show|give|list|tell)?(?: me)? ?"
                   r"(?:some |any |the )?(?:more|others?|the rest|rest|next(?: page)?|what else|anything else)"
                   r"(?: please| ones| items| of them)?[?.! ]*|what else[\w ]*\??"
                   r"|(?:and |are there )?(?:any )?more\??)$")
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
             "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7, "ninth": 8, "9th": 8,
             "tenth": 9, "10th": 9, "last": -1, "latter": -1, "former": 0}
_FOLLOW_UP_WORDS = {"one", "more", "about", "that", "this", "it", "detail", "details", "elaborate", "expand",
                    "describe", "explain"}
_PRONOUN_FOLLOW_UP = re.compile(r"\b(?:tell me more|more about (?:it|that|this)|more details|what about it|"
                                r"elaborate|expand on (?:it|that)|and that one)\b")
_OFF_TOPIC = re.compile(
    r"\b(?:weather|forecast|recipe|recipes|cook|cooking|joke|jokes|poem|poems|song|lyrics|capital of|president|"
    r"prime minister|stock price|stocks|bitcoin|crypto|football|soccer|basketball|nba|nfl|movie|movies|film|films|"
    r"translate|horoscope|lottery|meaning of life|homework|news|election|sports|tv show|restaurant|"
    r"girlfriend|boyfriend|dating|religion|politics)\b"
    r"|\bwrite (?:me )?(?:a|an|some) (?:poem|story|essay|song|function|script|program|letter|haiku|code)\b"
    r"|\d+\s*[-+*/×x^]\s*\d+\s*(?:=|\?|$)",
    re.IGNORECASE,
)
_ASSISTANT_QUESTIONS = re.compile(r"\b(?:who|what) are you\b|\bare you (?:a |an )?(?:bot|ai|human|robot)\b"
                                  r"|\bwhat can you do\b|\bhow can you help\b")
_SKILL_GROUPS = ("language", "database", "framework", "frontend", "backend", "infrastructure", "cloud", "tool")
_YES_NO_STARTS = {"does", "do", "is", "are", "can", "has", "have", "did", "was", "would", "could"}
_URL_LABELS = {"url": "Website", "link": "Link", "href": "Link", "website": "Website", "homepage": "Website",
               "github": "GitHub", "githuburl": "GitHub", "repo": "Repository", "repourl": "Repository",
               "repository": "Repository", "source": "Source", "demo": "Demo", "demourl": "Demo", "liveurl": "Live",
               "live": "Live", "slides": "Slides", "video": "Video"}
_SINGULAR_LATEST = re.compile(r"\b(?:latest|newest|most recent|last|recent)\s+(?:blog\s+)?(?:post|article|entry|"
                              r"project|talk|piece)\b(?!s)")


def keywords(question: str, ignore: Sequence[str] = ()) -> list[str]:
    """The words of ``question`` worth searching for, in order, without duplicates."""
    skip = _STOPWORDS | {word.lower() for word in ignore}
    found: list[str] = []
    for word in words(question):
        if len(word) < 2 and not word.isdigit():
            continue
        if word in skip or word.removesuffix("'s") in skip or word in found:
            continue
        found.append(word)
    return found[:_MAX_KEYWORDS]


def _shorten(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True, slots=True)
class OfflineAnswer:
    text: str
    sources: tuple[Item, ...] = ()


@dataclass(slots=True)
class _Question:
    """What was asked, worked out once."""

    text: str
    lowered: str
    tokens: list[str]
    intents: set[str]
    entities: list[Entry]
    keywords: list[str]
    about_owner: bool
    language: str = "en"
    ordinal: int | None = None


@dataclass(slots=True)
class _Reply:
    lines: list[str]
    used: list[Entry] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


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

    # --- the entry point ------------------------------------------------------------------

    async def answer(self, question: str, history: Sequence[Turn] = ()) -> OfflineAnswer:
        portfolio = Portfolio(await self._list_items())
        owner = self._owner(portfolio)
        language = detect_language(question)
        reply = await self._reply(question, history, portfolio, owner)
        text = reply.text
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

    async def _reply(self, text: str, history: Sequence[Turn], portfolio: Portfolio, owner: _Owner) -> _Reply:
        question = self._read(text, portfolio, owner)
        if not question.tokens and not question.text.strip():
            return self._greeting(portfolio, owner)
        # Follow-ups first: they refer to the previous answer, not to words of their own.
        if _MORE.match(question.lowered.strip()):
            paged = await self._next_page(history, portfolio, owner)
            if paged is not None:
                return paged
        follow_up = self._follow_up(question, history, portfolio)
        if follow_up is not None:
            return follow_up
        return await self._answer(question, portfolio, owner, offset=0)

    # --- reading the question -----------------------------------------------------------------

    def _read(self, text: str, portfolio: Portfolio, owner: _Owner) -> _Question:
        lowered = " ".join(text.lower().split())
        tokens = words(text)
        token_set = set(tokens)
        intents = {intent for intent, signals in _INTENT_WORDS.items() if token_set & signals}
        # CJK has no spaces: look for the signal inside the text.
        for intent, signals in _INTENT_WORDS.items():
            if any(len(signal) > 1 and not signal.isascii() and signal in text for signal in signals):
                intents.add(intent)
        if _EDUCATION_PHRASES.search(lowered):
            intents.add("education")
        if _CURRENT_PHRASES.search(lowered):
            intents.add("current")
        if _WHO_PHRASES.search(lowered):
            intents.add("who")
        if _LOCATION_PHRASES.search(lowered):
            intents.add("location")
        entities = [entry for entry in self._named(text, portfolio) if entry.kind != "profile"]
        ignore = [*owner.words, *(w for signals in _INTENT_WORDS.values() for w in signals)]
        about_owner = bool(token_set & (_OWNER_WORDS | set(owner.words)))
        ordinal = next((_ORDINALS[token] for token in tokens if token in _ORDINALS), None)
        if ordinal is None:
            number = re.search(r"(?:number|no\.?|#)\s*(\d{1,2})\b", lowered)
            if number and int(number.group(1)) >= 1:
                ordinal = int(number.group(1)) - 1
        return _Question(text, lowered, tokens, intents, entities, keywords(text, ignore), about_owner,
                         ordinal=ordinal)

    @staticmethod
    def _named(text: str, portfolio: Portfolio) -> list[Entry]:
        """Entries the question names: by title, name, company or school. Names of three letters or
        fewer ("Go", "C", "R") count only as written, so "where did she go" names no language."""
        found: list[tuple[int, Entry]] = []
        lowered = text.lower()
        taken: list[tuple[int, int]] = []
        aliases: list[tuple[str, Entry]] = []
        for entry in portfolio.entries:
            names = {entry.name, entry.title}
            if entry.kind in ("experience", "education", "talk") and entry.company:
                names.add(entry.company)
            for name in names:
                if len(name) >= 1:
                    aliases.append((name, entry))
        for name, entry in sorted(aliases, key=lambda alias: -len(alias[0])):
            haystack, needle = (text, name) if len(name) <= 3 else (lowered, name.lower())
            for match in re.finditer(r"(?<![\w+#])" + re.escape(needle) + r"(?![\w+#]|\.\w)", haystack):
                if any(match.start() < end and match.end() > start for start, end in taken):
                    continue
                taken.append((match.start(), match.end()))
                found.append((match.start(), entry))
                break
        unique: list[Entry] = []
        for _, entry in sorted(found, key=lambda hit: hit[0]):
            if entry not in unique:
                unique.append(entry)
        return unique

    # --- follow-ups ---------------------------------------------------------------------------

    @staticmethod
    def _last_list(history: Sequence[Turn], portfolio: Portfolio) -> list[Entry]:
        """The items of the most recent answer that listed several (a detail in between does not count:
        "tell me about the first one", then "and the second?"), else those the previous answer named."""
        answers = [content for role, content in history if role == "assistant"][-4:]
        for answer in reversed(answers):
            listed = [entry for line in answer.splitlines() if line.startswith(("- ", "• ", "* "))
                      for entry in portfolio.mentioned_in(line[2:])[:1]]
            if len(listed) > 1:
                return list(dict.fromkeys(listed))
        return portfolio.mentioned_in(answers[-1]) if answers else []

    def _follow_up(self, question: _Question, history: Sequence[Turn], portfolio: Portfolio) -> _Reply | None:
        listed = self._last_list(history, portfolio)
        if not listed:
            return None
        token_set = set(question.tokens)
        if question.ordinal is not None and (token_set & _FOLLOW_UP_WORDS or len(question.tokens) <= 4):
            if question.entities and question.entities[0] not in listed:
                return None  # "the first project" after talking about something else: not a follow-up
            index = question.ordinal
            if index >= len(listed):
                return _Reply([f"The previous answer listed only {len(listed)} item"
                               f"{'s' if len(listed) != 1 else ''}: {_join([e.title for e in listed])}."], listed)
            return self._detail(listed[index])
        if not question.entities and _PRONOUN_FOLLOW_UP.search(question.lowered) and len(question.tokens) <= 8:
            return self._detail(listed[0])
        return None

    async def _next_page(self, history: Sequence[Turn], portfolio: Portfolio, owner: _Owner) -> _Reply | None:
        """"Show more": the question before the run of "more"s, answered from where the last page stopped."""
        shown = 0
        turns = list(history)
        while turns:
            role, content = turns.pop()
            if role == "assistant":
                shown += sum(line.startswith("- ") for line in content.splitlines())
                continue
            if _MORE.match(" ".join(content.lower().split())):
                continue
            reply = await self._answer(self._read(content, portfolio, owner), portfolio, owner, offset=shown)
            if reply.used:
                return reply
            return _Reply(["That was everything I found — there is nothing more to show."])
        return None

    # --- answering ----------------------------------------------------------------------------

    async def _answer(self, question: _Question, portfolio: Portfolio, owner: _Owner, *, offset: int) -> _Reply:
        intents, entities, token_set = question.intents, question.entities, set(question.tokens)
        if _ASSISTANT_QUESTIONS.search(question.lowered):
            return self._greeting(portfolio, owner)
        if _OFF_TOPIC.search(question.text) and not entities:
            return self._decline(owner)
        if not intents and not entities and token_set <= _GREETINGS | _STOPWORDS:
            if token_set & _GREETINGS or not token_set:
                return self._greeting(portfolio, owner)
        if token_set and token_set <= _THANKS | _STOPWORDS | set(owner.words) and token_set & _THANKS:
            return _Reply([f"You're welcome! Anything else you'd like to know about {owner.first}'s work?"])

        if "contact" in intents and not (entities and entities[0].kind == "link"):
            return self._contact(portfolio, owner)
        if entities:
            reply = self._about_entities(question, portfolio, owner, offset)
            if reply is not None:
                return reply
        if "education" in intents:
            return self._education(portfolio, owner)
        if "current" in intents and (intents & {"experience", "who"} or "work" in token_set or "do" in token_set
                                     or _CURRENT_PHRASES.search(question.lowered)):
            return self._current_role(portfolio, owner)
        placed = self._placed(question, portfolio)
        if placed:
            return _Reply([f"- {self._line(entry)}" for entry in placed], placed)
        if "location" in intents or ("where" in token_set and question.about_owner and not intents - {"when"}):
            return self._location(portfolio, owner)
        if "post" in intents:
            return self._posts(question, portfolio, owner, offset)
        if "talk" in intents:
            return self._listing(portfolio.newest_first("talk"), offset, f"{owner.first}'s talks, newest first:",
                                 f"I couldn't find any talks in {owner.whose} portfolio.")
        if "featured" in intents and ("project" in intents or not intents - {"featured"}):
            return self._featured(portfolio, owner, offset)
        if "project" in intents:
            return self._projects(question, portfolio, owner, offset)
        if "experience" in intents:
            return self._experience(question, portfolio, owner, offset)
        if "skill" in intents:
            return await self._skills(question, portfolio, owner)
        if "link" in intents:
            return self._links(portfolio, owner)
        if "who" in intents or (question.about_owner and not question.keywords):
            return self._who(portfolio, owner)
        if "current" in intents:
            return self._current_role(portfolio, owner)
        return await self._search_answer(question, portfolio, owner, offset)

    @staticmethod
    def _placed(question: _Question, portfolio: Portfolio) -> list[Entry]:
        """Roles and schools in a place the question names ("where did she work in London?")."""
        asks_where = question.intents & {"experience", "education", "location", "current"} or set(
            question.tokens) & {"work", "worked", "where", "live", "lived", "study", "studied"}
        if not question.keywords or not asks_where:
            return []
        wanted = set(question.keywords)
        return [entry for entry in portfolio.entries if entry.kind in ("experience", "education")
                and entry.location and wanted & set(words(entry.location))]

    def _about_entities(self, question: _Question, portfolio: Portfolio, owner: _Owner, offset: int) -> _Reply | None:
        intents = question.intents
        entity = question.entities[0]
        if entity.kind == "skill":
            term = entity.name
            if "project" in intents:
                return self._projects(question, portfolio, owner, offset, term=term)
            if "post" in intents:
                return self._posts(question, portfolio, owner, offset, term=term)
            return self._skill_level(entity, question, portfolio, owner)
        if entity.kind in ("project", "post", "talk") and intents & {"project", "post", "talk"} and len(
                question.entities) == 1 and entity.kind not in intents and not intents & {"featured", "latest"}:
            # "Which projects use Tidewatch's stack?" is rare; "projects like X" names X as a topic.
            return self._detail(entity)
        if len(question.entities) > 1 and not intents - {"when", "who"}:
            return _Reply([self._line(e) for e in question.entities[: self._page_size]], question.entities)
        return self._detail(entity)

    # --- the answers ----------------------------------------------------------------------------

    def _greeting(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        topics = self._topics(portfolio)
        return _Reply([f"Hi! I'm the assistant on {owner.whose} portfolio. You can ask me about {topics}."])

    def _decline(self, owner: _Owner) -> _Reply:
        return _Reply([f"Sorry, I can only answer questions about {owner.whose} portfolio — for example "
                       f"{owner.first}'s projects, experience, skills or how to get in touch."])

    @staticmethod
    def _topics(portfolio: Portfolio) -> str:
        names = {"project": "projects", "experience": "experience", "skill": "skills", "post": "blog posts",
                 "education": "education", "talk": "talks", "link": "links"}
        topics = [names[kind] for kind in portfolio.kinds if kind in names]
        if not topics:
            return "the portfolio (there is no published content yet)"
        return _join([*topics, "how to get in touch"])

    def _who(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        profile = portfolio.profile
        used: list[Entry] = [profile] if profile else []
        parts: list[str] = []
        headline = profile.first(("headline", "title", "role", "tagline", "jobTitle")) if profile else ""
        location = profile.location if profile else ""
        intro = owner.full
        if headline:
            intro += f" is {_article(headline)} {headline}"
        if location:
            intro += f" based in {location}" if headline else f" is based in {location}"
        if headline or location:
            parts.append(_sentence(intro))
        bio = profile.first(("bio", "summary", "about", "description")) if profile else ""
        if bio:
            parts.append(_sentence(_shorten(bio, 300)))
        current = [entry for entry in portfolio.experience() if entry.is_current]
        if current:
            used.append(current[0])
            parts.append(f"Currently: {current[0].title}.")
        if not parts:
            if not portfolio.entries:
                return _Reply([f"There is no published content in {owner.whose} portfolio yet."])
            return _Reply([f"This is {owner.whose} portfolio. You can ask me about {self._topics(portfolio)}."])
        return _Reply([" ".join(parts)], used)

    def _location(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        profile = portfolio.profile
        if profile and profile.location:
            return _Reply([f"{owner.first} is based in {profile.location}."], [profile])
        current = [entry for entry in portfolio.experience() if entry.is_current and entry.location]
        if current:
            return _Reply([f"{owner.first} works in {current[0].location} ({current[0].title})."], [current[0]])
        return _Reply([f"{owner.whose.capitalize()} portfolio doesn't say where {owner.first} is based."])

    def _education(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        entries = sorted(portfolio.of_kind("education"), key=lambda e: (_newest(e.sort_date), e.order))
        if not entries:
            return _Reply([f"{owner.whose.capitalize()} portfolio doesn't list any education."])
        lines = [f"{owner.first}'s education:"] + [f"- {self._line(entry)}" for entry in entries]
        return _Reply(lines, entries)

    def _current_role(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        roles = portfolio.experience()
        current = [entry for entry in roles if entry.is_current]
        if current:
            first = current[0]
            since = f" since {format_date(first.start)}" if first.start else ""
            where = f" in {first.location}" if first.location else ""
            text = f"{owner.first} currently works as {first.role or first.title}"
            text += f" at {first.company}" if first.company and first.role else ""
            text += f"{since}{where}."
            if first.summary:
                text += " " + _sentence(_shorten(first.summary))
            lines = [text]
            if len(current) > 1:
                lines.append("Also current: " + "; ".join(entry.title for entry in current[1:]) + ".")
            return _Reply(lines, current)
        if roles:
            latest = roles[0]
            period = f" ({latest.period})" if latest.period else ""
            return _Reply([f"{owner.first}'s most recent role was {latest.title}{period}."], [latest])
        profile = portfolio.profile
        headline = profile.first(("headline", "title", "role", "jobTitle")) if profile else ""
        if profile and headline:
            return _Reply([f"{owner.first} is {_article(headline)} {headline}."], [profile])
        return _Reply([f"{owner.whose.capitalize()} portfolio doesn't list a current role."])

    def _experience(self, question: _Question, portfolio: Portfolio, owner: _Owner, offset: int) -> _Reply:
        roles = portfolio.experience()
        token_set = set(question.tokens)
        if roles and token_set & {"first", "earliest", "oldest"}:
            first = sorted(roles, key=lambda e: (e.start_sort or "9999", e.order))[0]
            return _Reply([f"{owner.first}'s first listed role: {self._line(first)}"], [first])
        return self._listing(roles, offset, f"{owner.first}'s experience, most recent first:",
                             f"{owner.whose.capitalize()} portfolio doesn't list any work experience.")

    def _featured(self, portfolio: Portfolio, owner: _Owner, offset: int) -> _Reply:
        projects = portfolio.of_kind("project")
        featured = [entry for entry in projects if entry.featured]
        if featured:
            return self._listing(featured, offset, f"{owner.first}'s featured projects:", "")
        if projects:
            reply = self._listing(projects, offset, f"No project is marked as featured; here are {owner.first}'s "
                                                    "projects:", "")
            return reply
        return _Reply([f"{owner.whose.capitalize()} portfolio doesn't list any projects."])

    def _projects(self, question: _Question, portfolio: Portfolio, owner: _Owner, offset: int,
                  term: str = "") -> _Reply:
        projects = portfolio.of_kind("project")
        latest = "latest" in question.intents
        if latest:
            projects = portfolio.newest_first("project")
        topic = term or " ".join(question.keywords)
        if topic:
            matching = _matching(projects, topic)
            if matching:
                return self._listing(matching, offset, f"{owner.first}'s projects with {topic}:", "")
            if term:
                return _Reply([f"I couldn't find a project of {owner.first}'s that uses {term}."])
        if latest and projects and _SINGULAR_LATEST.search(question.lowered):
            return _Reply([f"{owner.first}'s most recent project: {self._line(projects[0])}"], projects[:1])
        intro = f"{owner.first}'s projects, newest first:" if latest else f"{owner.first}'s projects:"
        return self._listing(projects, offset, intro, f"{owner.whose.capitalize()} portfolio doesn't list any "
                                                      "projects.")

    def _posts(self, question: _Question, portfolio: Portfolio, owner: _Owner, offset: int, term: str = "") -> _Reply:
        posts = portfolio.newest_first("post")
        if not posts:
            return _Reply([f"{owner.whose.capitalize()} portfolio doesn't have any blog posts."])
        topic = term or " ".join(k for k in question.keywords if k not in ("blog", "posts"))
        if topic:
            matching = _matching(posts, topic)
            if matching:
                return self._listing(matching, offset, f"{owner.first}'s posts about {topic}, newest first:", "")
            if term:
                return _Reply([f"I couldn't find a post of {owner.first}'s about {term}."])
        if _SINGULAR_LATEST.search(question.lowered):
            latest = posts[0]
            return _Reply([f"{owner.first}'s latest post is {self._line(latest)}"], [latest])
        return self._listing(posts, offset, f"{owner.first}'s blog posts, newest first:", "")

    async def _skills(self, question: _Question, portfolio: Portfolio, owner: _Owner) -> _Reply:
        skills = portfolio.of_kind("skill")
        groups = {word for group in _SKILL_GROUPS for word in (group, group + "s")}
        unknown = [word for word in question.keywords
                   if word not in ("skill", "skills", "level") and word not in groups]
        if unknown and set(question.tokens) & {"know", "knows", "use", "uses", "used", "experience", "good", "level",
                                                "familiar", "proficient", "worked", "program", "code", "can"}:
            return await self._unknown_skill(unknown, question, portfolio, owner)
        if not skills:
            return _Reply([f"{owner.whose.capitalize()} portfolio doesn't list any skills."])
        # "Which languages…": the skills whose category says so, when skills have categories.
        for group in _SKILL_GROUPS:
            if {group, group + "s"} & set(question.tokens):
                grouped = [entry for entry in skills if group in entry.category.lower()]
                if grouped:
                    skills = grouped
                    break
        by_level: dict[str, list[Entry]] = {}
        for entry in sorted(skills, key=lambda e: (-e.level_rank, e.order)):
            level = entry.first(("level", "proficiency", "rating")) or ""
            by_level.setdefault(level.capitalize() if level else "", []).append(entry)
        lines = [f"{owner.first}'s skills" + (" by level:" if any(by_level) else ":")]
        for level, entries in by_level.items():
            names = ", ".join(entry.name for entry in entries)
            lines.append(f"- {level}: {names}" if level else f"- {names}")
        return _Reply(lines, sorted(skills, key=lambda e: (-e.level_rank, e.order)))

    def _skill_level(self, skill: Entry, question: _Question, portfolio: Portfolio, owner: _Owner) -> _Reply:
        level = skill.level
        yes = "Yes — " if question.tokens[:1] and question.tokens[0] in _YES_NO_STARTS else ""
        if level:
            text = f"{yes}{owner.first}'s level in {skill.name}: {level}."
        else:
            text = f"{yes}{skill.name} is one of {owner.first}'s skills."
        uses = [entry for entry in portfolio.entries if entry.kind in ("project", "experience", "post", "talk")
                and _mentions(entry, skill.name)]
        lines = [text]
        if uses:
            more = f" (and {len(uses) - 4} more)" if len(uses) > 4 else ""
            lines.append(f"It comes up in: {'; '.join(entry.title for entry in uses[:4])}{more}.")
        return _Reply(lines, [skill, *uses[:4]])

    async def _unknown_skill(self, unknown: list[str], question: _Question, portfolio: Portfolio,
                             owner: _Owner) -> _Reply:
        shown = _as_written(question.text, unknown[0])
        found = [entry for entry in portfolio.entries if entry.kind != "profile" and _mentions(entry, unknown[0])]
        if found:
            return _Reply([f"{shown} isn't listed among {owner.first}'s skills, but it comes up in: "
                           f"{_join([entry.title for entry in found[:4]])}."], found[:4])
        return _Reply([f"No — I don't see {shown} among {owner.first}'s skills, projects or posts."])

    def _links(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        entries = portfolio.of_kind("link")
        lines = [f"You can find {owner.first} online:"]
        used: list[Entry] = []
        for entry in entries:
            if entry.url:
                lines.append(f"- {entry.name}: {entry.url}")
                used.append(entry)
        profile = portfolio.profile
        if profile:
            listed = {line.rsplit(" ", 1)[-1] for line in lines}
            for label, url in profile.urls:
                if url not in listed:
                    lines.append(f"- {_URL_LABELS.get(label.lower(), label.capitalize())}: {url}")
                    if profile not in used:
                        used.append(profile)
        if len(lines) == 1:
            return _Reply([f"{owner.whose.capitalize()} portfolio doesn't list any links."])
        return _Reply(lines, used)

    def _contact(self, portfolio: Portfolio, owner: _Owner) -> _Reply:
        lines: list[str] = []
        used: list[Entry] = []
        if self._contact_email and self._contact_phone:
            lines.append(f"You can reach {owner.first} by e-mail at {self._contact_email} or by phone on "
                         f"{self._contact_phone}.")
        elif self._contact_email:
            lines.append(f"You can reach {owner.first} by e-mail at {self._contact_email}.")
        elif self._contact_phone:
            lines.append(f"You can reach {owner.first} by phone on {self._contact_phone}.")
        contact_items = portfolio.of_kind("contact")
        used.extend(contact_items)
        social = [entry for entry in portfolio.of_kind("link") if entry.url and
                  any(word in entry.name.lower() for word in ("linkedin", "mastodon", "twitter", "bluesky"))]
        if social:
            places = _join([f"{entry.name} ({entry.url})" for entry in social[:2]])
            lines.append(f"Or find {owner.first} on {places}.")
            used.extend(social[:2])
        if not lines:
            return _Reply([f"{owner.first} hasn't published contact details here. " + (
                self._links(portfolio, owner).text if portfolio.of_kind("link") else "")])
        if portfolio.profile and (self._contact_email or self._contact_phone):
            used.insert(0, portfolio.profile)
        return _Reply(lines, used)

    def _detail(self, entry: Entry) -> _Reply:
        """Everything useful about one item."""
        lines = [self._line(entry, full=True)]
        tags = entry.tags
        if tags and entry.kind in ("project", "post", "talk", "experience"):
            label = {"project": "Built with", "experience": "Tech"}.get(entry.kind, "Tags")
            lines.append(f"{label}: {', '.join(tags)}.")
        if entry.featured and entry.kind == "project":
            lines.append("It is one of the featured projects.")
        for label, url in entry.urls[1:3]:
            lines.append(f"{_URL_LABELS.get(label.lower(), label.capitalize())}: {url}")
        return _Reply(lines, [entry])

    def _line(self, entry: Entry, *, full: bool = False) -> str:
        """One item in one line: its title and the fields that matter for its kind."""
        limit = 400 if full else _DESCRIPTION_LIMIT
        summary = _shorten(entry.summary, limit) if entry.summary else ""
        kind = entry.kind
        if kind == "experience":
            extras = ", ".join(part for part in (entry.period, entry.location) if part)
            text = entry.title + (f" ({extras})" if extras else "")
        elif kind == "education":
            text = entry.title + (f" ({entry.period})" if entry.period else "")
        elif kind == "skill":
            text = entry.name + (f" — {entry.level}" if entry.level else "")
        elif kind in ("post", "talk"):
            when = entry.date or entry.start
            where = entry.company if kind == "talk" else ""
            extras = ", ".join(part for part in (where, format_date(when) if when else "") if part)
            text = f"“{entry.title}”" + (f" ({extras})" if extras else "")
        elif kind == "link":
            return f"{entry.name}: {entry.url}" if entry.url else entry.name
        else:
            when = entry.date
            text = entry.title + (f" ({format_date(when)})" if when else "")
        if summary:
            text += f": {_sentence(summary)}" if kind != "project" else f" — {_sentence(summary)}"
        elif not text.endswith("."):
            text += "."
        if entry.url and kind not in ("link",):
            text += f" {entry.url}"
        return text

    def _listing(self, entries: Sequence[Entry], offset: int, intro: str, empty: str) -> _Reply:
        if not entries:
            return _Reply([empty] if empty else ["I couldn't find anything for that."])
        page = list(entries[offset: offset + self._page_size])
        if not page:
            return _Reply(["That was everything — there is nothing more to show."])
        lines = [intro if offset == 0 else intro.rstrip(":") + " (continued):"]
        lines.extend(f"- {self._line(entry)}" for entry in page)
        left = len(entries) - offset - len(page)
        if left > 0:
            lines.append(f"There {'is' if left == 1 else 'are'} {left} more — ask \"show more\" to see "
                         f"{'it' if left == 1 else 'them'}.")
        return _Reply(lines, page)

    async def _search_answer(self, question: _Question, portfolio: Portfolio, owner: _Owner, offset: int) -> _Reply:
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
            subject = f' about "{_shorten(" ".join(terms), 80)}"' if terms else ""
            return _Reply([f"I couldn't find anything{subject} in {owner.whose} portfolio. "
                           f"You can ask about {self._topics(portfolio)}."])
        return self._decline(owner)

    # --- whose portfolio ------------------------------------------------------------------------

    def _owner(self, portfolio: Portfolio) -> _Owner:
        profile = portfolio.profile
        name = profile.first(("name", "fullName", "full_name")) if profile else ""
        if not name and self._owner_setting and self._owner_setting.lower() != "the portfolio owner":
            name = self._owner_setting
        return _Owner(name)


@dataclass(frozen=True, slots=True)
class _Owner:
    full_name: str

    @property
    def full(self) -> str:
        return self.full_name or "The portfolio owner"

    @property
    def first(self) -> str:
        return self.full_name.split()[0] if self.full_name else "the owner"

    @property
    def whose(self) -> str:
        return f"{self.first}'s" if self.full_name else "the"

    @property
    def words(self) -> list[str]:
        return words(self.full_name)


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def _newest(sortable: str) -> tuple[int, ...]:
    return (1,) if not sortable else (0, *(-ord(char) for char in sortable))


def _mentions(entry: Entry, term: str) -> bool:
    lowered = term.lower()
    return lowered in entry.words or any(tag.lower() == lowered for tag in entry.tags) or (
        " " in lowered and lowered in " ".join(sorted(entry.words)))


def _matching(entries: Sequence[Entry], topic: str) -> list[Entry]:
    terms = [term for term in words(topic) if term not in _STOPWORDS]
    if not terms:
        return []
    return [entry for entry in entries if all(_mentions(entry, term) for term in terms)]


def _as_written(text: str, word: str) -> str:
    match = re.search(re.escape(word), text, re.IGNORECASE)
    return match.group() if match else word
