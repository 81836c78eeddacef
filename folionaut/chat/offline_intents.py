"""Reading a visitor's question for the offline responder: what it asks and what it names.

A question is read once into a ``Question``: its words, its intents (who,
where based, education, current role, experience, projects, featured, latest,
posts, talks, skills and levels, links, contact, when), found from its words in
English and the common words of a few other languages (es, fr, de, pt, it, nl,
and some CJK) and from a few phrases; the items it names (a project's title, a
company, a skill, a link); the keywords worth searching for; whether it is
about the portfolio's owner; and an ordinal ("the second one") for follow-ups.
The patterns that mark a request for more, a follow-up, an off-topic request
or a question about the assistant itself live here too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from folionaut.chat.portfolio import Entry, Portfolio, words

__all__ = [
    "ASSISTANT_QUESTIONS", "CURRENT_PHRASES", "FOLLOW_UP_WORDS", "GREETINGS", "MORE", "OFF_TOPIC",
    "PRONOUN_FOLLOW_UP", "SINGULAR_LATEST", "STOPWORDS", "THANKS", "YES_NO_STARTS", "Owner", "Question",
    "keywords", "named_entries", "read_question",
]

_MAX_KEYWORDS = 8

GREETINGS = {"hi", "hello", "hey", "hiya", "howdy", "greetings", "yo", "morning", "evening", "afternoon", "hola",
             "bonjour", "salut", "hallo", "olá", "ola", "ciao", "hoi", "servus", "moin"}
THANKS = {"thanks", "thank", "thx", "cheers", "ty", "gracias", "merci", "danke", "obrigado", "obrigada", "grazie",
          "bedankt", "bye", "goodbye"}
# Words that say nothing about what to look for.
STOPWORDS = GREETINGS | set(
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
CURRENT_PHRASES = re.compile(
    r"\bwhat (?:does|do) (?:\w+ ){0,3}do\b|\bwhere (?:does|do) (?:\w+ ){0,3}work\b|\bwork(?:s|ing)? (?:now|currently)\b"
    r"|\bcurrent(?:ly)? (?:job|role|position|employer|company|title)\b|\bjob title\b")
_WHO_PHRASES = re.compile(r"\bwho (?:is|are|'s)\b|\btell me about (?:her|him|them|yourself|\w+ \w+)\s*[?.!]*$"
                          r"|\babout (?:her|him|them)\b|\bintroduce\b")
_LOCATION_PHRASES = re.compile(r"\bwhere (?:is|are|'s) \w+(?: \w+)? (?:based|located|living|from)\b|\bwhere .* live\b"
                               r"|\bwhere (?:is|are) (?:she|he|they|\w+) from\b|\bwhere (?:is|are) (?:she|he|they)\b")
MORE = re.compile(r"^(?:(?:and |ok |okay |please |can you |could you )*(?:show|give|list|tell)?(?: me)? ?"
                  r"(?:some |any |the )?(?:more|others?|the rest|rest|next(?: page)?|what else|anything else)"
                  r"(?: please| ones| items| of them)?[?.! ]*|what else[\w ]*\??"
                  r"|(?:and |are there )?(?:any )?more\??)$")
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3, "fifth": 4,
             "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7, "ninth": 8, "9th": 8,
             "tenth": 9, "10th": 9, "last": -1, "latter": -1, "former": 0}
FOLLOW_UP_WORDS = {"one", "more", "about", "that", "this", "it", "detail", "details", "elaborate", "expand",
                   "describe", "explain"}
PRONOUN_FOLLOW_UP = re.compile(r"\b(?:tell me more|more about (?:it|that|this)|more details|what about it|"
                               r"elaborate|expand on (?:it|that)|and that one)\b")
OFF_TOPIC = re.compile(
    r"\b(?:weather|forecast|recipe|recipes|cook|cooking|joke|jokes|poem|poems|song|lyrics|capital of|president|"
    r"prime minister|stock price|stocks|bitcoin|crypto|football|soccer|basketball|nba|nfl|movie|movies|film|films|"
    r"translate|horoscope|lottery|meaning of life|homework|news|election|sports|tv show|restaurant|"
    r"girlfriend|boyfriend|dating|religion|politics)\b"
    r"|\bwrite (?:me )?(?:a|an|some) (?:poem|story|essay|song|function|script|program|letter|haiku|code)\b"
    r"|\d+\s*[-+*/×x^]\s*\d+\s*(?:=|\?|$)",
    re.IGNORECASE,
)
ASSISTANT_QUESTIONS = re.compile(r"\b(?:who|what) are you\b|\bare you (?:a |an )?(?:bot|ai|human|robot)\b"
                                 r"|\bwhat can you do\b|\bhow can you help\b")
YES_NO_STARTS = {"does", "do", "is", "are", "can", "has", "have", "did", "was", "would", "could"}
SINGULAR_LATEST = re.compile(r"\b(?:latest|newest|most recent|last|recent)\s+(?:blog\s+)?(?:post|article|entry|"
                             r"project|talk|piece)\b(?!s)")


def keywords(question: str, ignore: Sequence[str] = ()) -> list[str]:
    """The words of ``question`` worth searching for, in order, without duplicates."""
    skip = STOPWORDS | {word.lower() for word in ignore}
    found: list[str] = []
    for word in words(question):
        if len(word) < 2 and not word.isdigit():
            continue
        if word in skip or word.removesuffix("'s") in skip or word in found:
            continue
        found.append(word)
    return found[:_MAX_KEYWORDS]


@dataclass(slots=True)
class Question:
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


#: Who the answers speak of when neither the profile nor PORTFOLIO_OWNER_NAME names anyone.
UNNAMED_OWNER = "the owner"


@dataclass(frozen=True, slots=True)
class Owner:
    full_name: str

    @property
    def full(self) -> str:
        return self.full_name or "The portfolio owner"

    @property
    def first(self) -> str:
        return self.full_name.split()[0] if self.full_name else UNNAMED_OWNER

    def capitalised(self, text: str) -> str:
        """``text`` with every line that starts with the unnamed owner starting a sentence: answers
        write ``first`` alike mid-sentence and first ("the owner's projects:")."""
        if self.full_name:
            return text
        return "\n".join(UNNAMED_OWNER.capitalize() + line[len(UNNAMED_OWNER):] if line.startswith(UNNAMED_OWNER)
                         else line for line in text.split("\n"))

    @property
    def whose(self) -> str:
        return f"{self.first}'s" if self.full_name else "the"

    @property
    def words(self) -> list[str]:
        return words(self.full_name)


def read_question(text: str, portfolio: Portfolio, owner: Owner) -> Question:
    """What ``text`` asks, worked out once."""
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
    if CURRENT_PHRASES.search(lowered):
        intents.add("current")
    if _WHO_PHRASES.search(lowered):
        intents.add("who")
    if _LOCATION_PHRASES.search(lowered):
        intents.add("location")
    entities = [entry for entry in named_entries(text, portfolio) if entry.kind != "profile"]
    ignore = [*owner.words, *(w for signals in _INTENT_WORDS.values() for w in signals)]
    about_owner = bool(token_set & (_OWNER_WORDS | set(owner.words)))
    ordinal = next((_ORDINALS[token] for token in tokens if token in _ORDINALS), None)
    if ordinal is None:
        number = re.search(r"(?:number|no\.?|#)\s*(\d{1,2})\b", lowered)
        if number and int(number.group(1)) >= 1:
            ordinal = int(number.group(1)) - 1
    return Question(text, lowered, tokens, intents, entities, keywords(text, ignore), about_owner,
                    ordinal=ordinal)


def named_entries(text: str, portfolio: Portfolio) -> list[Entry]:
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
