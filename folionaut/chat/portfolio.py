"""The published portfolio as the offline responder reads it: items, their kinds and their fields.

Portfolios are free-form JSON, but they hold the same few things under a
handful of usual names: a title or name, a summary or description, a location,
a company and role with start and end dates, a skill level, links, a
"featured" flag, a publication date and tags. ``Entry`` reads those under any
of their usual names (``startDate``, ``start_date``, ``from``…), and ``kind``
maps the many names content types get (``blog``, ``posts``, ``articles``…) onto
the few the responder answers about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Entry", "Portfolio", "format_date", "item_key", "words"]

Item = Any  # a ContentItem, or a mapping with "type", "slug", "data" (tests)

_WORD = re.compile(r"[^\W_]+(?:[-'.+#][^\W_]+)*[+#]*", re.UNICODE)

#: Content type names (singular, lower case) → the kind the responder answers about.
KINDS: dict[str, tuple[str, ...]] = {
    "profile": ("profile", "about", "bio", "me", "person", "author", "owner", "intro", "introduction", "hero"),
    "experience": ("experience", "job", "work", "position", "employment", "career", "role", "workexperience",
                   "work-experience", "work-history"),
    "education": ("education", "degree", "school", "study", "studies", "course", "certification", "certificate",
                  "qualification"),
    "project": ("project", "portfolio", "case-study", "casestudy", "app", "product", "side-project"),
    "skill": ("skill", "technology", "tech", "tool", "language", "stack", "competence", "expertise"),
    "post": ("post", "blog", "blog-post", "blogpost", "article", "writing", "note", "essay", "publication"),
    "talk": ("talk", "speaking", "presentation", "conference", "keynote", "workshop"),
    "link": ("link", "social", "social-link", "profile-link", "network"),
    "contact": ("contact", "contact-info", "contacts"),
}
_KIND_OF_TYPE = {name: kind for kind, names in KINDS.items() for name in names}

_TITLE = ("title", "name", "headline", "label", "heading")
_SUMMARY = ("summary", "description", "excerpt", "tagline", "subtitle", "bio", "about", "abstract", "content", "body",
            "text", "details")
_LOCATION = ("location", "city", "based", "basedIn", "based_in", "place", "region", "country")
_COMPANY = ("company", "organization", "organisation", "employer", "client", "companyName", "institution",
            "school", "university", "event", "conference", "venue")
_ROLE = ("role", "position", "jobTitle", "job_title", "occupation", "currentRole", "current_role")
_START = ("startDate", "start_date", "start", "from", "since", "startedAt", "started")
_END = ("endDate", "end_date", "end", "to", "until", "endedAt", "ended", "graduationDate", "graduated")
_LEVEL = ("level", "proficiency", "rating", "expertise", "mastery")
_YEARS = ("years", "yearsOfExperience", "years_of_experience", "experienceYears")
_DATE = ("publishedAt", "published_at", "published", "date", "publishDate", "publicationDate", "postedAt", "year",
         "releasedAt", "released", "launchedAt")
_URL = ("url", "link", "href", "website", "homepage", "demo", "demoUrl", "liveUrl", "live", "github", "githubUrl",
        "repo", "repoUrl", "repository", "source", "slides", "video")
_TAGS = ("tags", "technologies", "tech", "stack", "techStack", "tools", "skills", "keywords", "languages", "topics")
_FEATURED = ("featured", "isFeatured", "highlight", "highlighted", "pinned", "starred")
_DEGREE = ("degree", "qualification", "diploma", "title")
_FIELD = ("field", "fieldOfStudy", "field_of_study", "major", "subject", "area", "study")
_CATEGORY = ("category", "group", "kind", "area")
_PRESENT_WORDS = {"present", "now", "current", "today", "ongoing", "heute", "actual", "actualidad", "atual"}

_LEVEL_RANK = {"expert": 5, "master": 5, "native": 5, "fluent": 4, "advanced": 4, "proficient": 4, "strong": 4,
               "senior": 4, "intermediate": 3, "working": 3, "competent": 3, "familiar": 2, "basic": 2,
               "beginner": 1, "novice": 1, "learning": 1}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")


def words(text: str) -> list[str]:
    """Lower-case words, keeping names like C++, C#, Node.js and folio-rs whole."""
    return [word.strip(".'") for word in _WORD.findall(text.lower()) if word.strip(".'")]


def item_key(item: Item) -> tuple[str, str]:
    return (str(_attribute(item, "type")), str(_attribute(item, "slug")))


def _attribute(item: Item, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def format_date(value: str) -> str:
    """``2024-03-12`` → ``12 Mar 2024``, ``2021-03`` → ``Mar 2021``; anything else as written."""
    match = _ISO_DATE.match(value.strip())
    if not match:
        return value.strip()
    year, month, day = match.groups()
    if month and 1 <= int(month) <= 12:
        if day and 1 <= int(day) <= 31:
            return f"{int(day)} {_MONTHS[int(month) - 1]} {year}"
        return f"{_MONTHS[int(month) - 1]} {year}"
    return year


def _sortable_date(value: str) -> str:
    """A string that sorts chronologically (ISO-ish dates sort as text); '' when unknown."""
    match = _ISO_DATE.match(value.strip())
    if not match:
        found = re.search(r"(19|20)\d{2}", value)
        return found.group() if found else ""
    year, month, day = match.groups()
    return f"{year}-{int(month or 0):02d}-{int(day or 0):02d}"


def _kind_of(content_type: str) -> str:
    name = content_type.lower().strip()
    for candidate in (name, name.removesuffix("s"), name.removesuffix("es"), name[:-3] + "y" if name.endswith("ies")
                      else name):
        if candidate in _KIND_OF_TYPE:
            return _KIND_OF_TYPE[candidate]
    return name


@dataclass(slots=True, eq=False)  # compared and hashed by identity: one Entry per item
class Entry:
    """One published item with its fields read under their usual names."""

    item: Item
    type: str
    slug: str
    kind: str
    data: Mapping[str, Any]
    order: int
    _words: frozenset[str] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, item: Item, order: int) -> Entry:
        data = _attribute(item, "data")
        content_type = str(_attribute(item, "type") or "")
        return cls(item, content_type, str(_attribute(item, "slug") or ""), _kind_of(content_type),
                   data if isinstance(data, Mapping) else {}, order)

    def first(self, names: Sequence[str]) -> str:
        for name in names:
            value = _text(self.data.get(name))
            if value:
                return value
        return ""

    # --- the usual fields -----------------------------------------------------------------

    @property
    def title(self) -> str:
        if self.kind == "experience":
            role, company = self.role, self.company
            if role and company:
                return f"{role} at {company}"
        if self.kind == "education":
            degree, school = self.degree, self.company
            if degree and school:
                return f"{degree}, {school}"
        title = self.first(_TITLE)
        if title:
            return title
        role, company = self.role, self.company
        if role or company:
            return f"{role} at {company}" if role and company else role or company
        return " ".join(part.capitalize() for part in self.slug.split("-") if part) or self.slug

    @property
    def name(self) -> str:
        """The bare name (a skill's, a project's) without composed parts."""
        return self.first(_TITLE) or self.title

    @property
    def summary(self) -> str:
        return self.first(_SUMMARY)

    @property
    def location(self) -> str:
        return self.first(_LOCATION)

    @property
    def company(self) -> str:
        return self.first(_COMPANY)

    @property
    def role(self) -> str:
        role = self.first(_ROLE)
        if not role and self.kind == "experience":
            role = self.first(("title",))
        return role

    @property
    def degree(self) -> str:
        degree = self.first(_DEGREE)
        subject = self.first(_FIELD)
        if degree and subject and subject.lower() not in degree.lower():
            return f"{degree} in {subject}"
        return degree or subject

    @property
    def start(self) -> str:
        return self.first(_START)

    @property
    def end(self) -> str:
        return self.first(_END)

    @property
    def is_current(self) -> bool:
        flag = self.data.get("current", self.data.get("isCurrent", self.data.get("present")))
        if isinstance(flag, bool):
            return flag
        end = self.end
        return bool(self.start) and (not end or end.lower() in _PRESENT_WORDS)

    @property
    def period(self) -> str:
        start, end = self.start, self.end
        if not start and not end:
            return ""
        if self.is_current:
            return f"{format_date(start)} – present" if start else "current"
        if start and end:
            return f"{format_date(start)} – {format_date(end)}"
        return format_date(start or end)

    @property
    def level(self) -> str:
        level = self.first(_LEVEL)
        years = self.first(_YEARS)
        if years:
            level = f"{level}, {years} years" if level else f"{years} years"
        return level

    @property
    def level_rank(self) -> int:
        level = self.first(_LEVEL).lower()
        if level in _LEVEL_RANK:
            return _LEVEL_RANK[level]
        try:  # numeric levels: 1–5 or percentages
            value = float(level.rstrip("%"))
        except ValueError:
            return 0
        return round(value / 20) if value > 5 else round(value)

    @property
    def date(self) -> str:
        return self.first(_DATE)

    @property
    def sort_date(self) -> str:
        """When it happened, for "latest" and chronological lists."""
        return _sortable_date(self.date or self.end or self.start or "")

    @property
    def start_sort(self) -> str:
        return _sortable_date(self.start or self.date or "")

    @property
    def urls(self) -> list[tuple[str, str]]:
        """(label, url) pairs of the item's links, the main one first."""
        found: list[tuple[str, str]] = []
        for name in _URL:
            value = _text(self.data.get(name))
            if value.startswith(("https://", "http://")) and value not in (url for _, url in found):
                found.append((name, value))
        links = self.data.get("links") or self.data.get("socials") or self.data.get("social")
        if isinstance(links, Mapping):
            for label, value in links.items():
                if isinstance(value, str) and value.startswith(("https://", "http://")):
                    found.append((str(label), value))
        elif isinstance(links, list):
            for entry in links:
                if isinstance(entry, Mapping):
                    url = _text(entry.get("url") or entry.get("href"))
                    if url.startswith(("https://", "http://")):
                        found.append((_text(entry.get("label") or entry.get("name") or entry.get("title")) or url,
                                      url))
        return found

    @property
    def url(self) -> str:
        urls = self.urls
        return urls[0][1] if urls else ""

    @property
    def tags(self) -> list[str]:
        found: list[str] = []
        for name in _TAGS:
            value = self.data.get(name)
            if isinstance(value, str) and value.strip():
                value = [part.strip() for part in value.split(",")]
            if isinstance(value, list):
                for tag in value:
                    text = _text(tag) if not isinstance(tag, Mapping) else _text(tag.get("name"))
                    if text and text not in found:
                        found.append(text)
        return found

    @property
    def featured(self) -> bool:
        return any(self.data.get(name) is True or _text(self.data.get(name)).lower() in ("true", "yes")
                   for name in _FEATURED)

    @property
    def category(self) -> str:
        return self.first(_CATEGORY)

    @property
    def words(self) -> frozenset[str]:
        """Every word of the item's text, for matching questions against it."""
        if self._words is None:
            parts = [self.slug.replace("-", " "), self.type]
            for value in self.data.values():
                if isinstance(value, str):
                    parts.append(value)
                elif isinstance(value, list):
                    parts.extend(str(entry) for entry in value if isinstance(entry, str | int | float))
            self._words = frozenset(words(" ".join(parts)))
        return self._words

    @property
    def title_words(self) -> list[str]:
        return words(self.name)


class Portfolio:
    """The published items, grouped by kind, in display order."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.entries = [Entry.of(item, order) for order, item in enumerate(items)]
        self._by_key = {(entry.type, entry.slug): entry for entry in self.entries}

    def of_kind(self, kind: str) -> list[Entry]:
        return [entry for entry in self.entries if entry.kind == kind]

    @property
    def kinds(self) -> list[str]:
        seen: list[str] = []
        for entry in self.entries:
            if entry.kind not in seen:
                seen.append(entry.kind)
        return seen

    @property
    def types(self) -> list[str]:
        return sorted({entry.type for entry in self.entries})

    def get(self, key: tuple[str, str]) -> Entry | None:
        return self._by_key.get(key)

    @property
    def profile(self) -> Entry | None:
        profiles = self.of_kind("profile")
        return profiles[0] if profiles else None

    def experience(self) -> list[Entry]:
        """Current roles first, then the most recent."""
        return sorted(self.of_kind("experience"), key=lambda e: (not e.is_current, _reverse(e.start_sort), e.order))

    def newest_first(self, kind: str) -> list[Entry]:
        return sorted(self.of_kind(kind), key=lambda e: (_reverse(e.sort_date), e.order))

    def mentioned_in(self, text: str) -> list[Entry]:
        """Entries whose name appears in ``text``, in order of first appearance (longer names win)."""
        lowered = text.lower()
        found: list[tuple[int, int, Entry]] = []
        taken: list[tuple[int, int]] = []
        for entry in sorted(self.entries, key=lambda e: -len(e.name)):
            for name in {entry.name, entry.title}:
                if len(name) < 2:
                    continue
                for match in re.finditer(r"(?<!\w)" + re.escape(name.lower()) + r"(?!\w)", lowered):
                    span = (match.start(), match.end())
                    if any(span[0] < end and span[1] > start for start, end in taken):
                        continue
                    taken.append(span)
                    found.append((match.start(), entry.order, entry))
                    break
                else:
                    continue
                break
        return [entry for _, _, entry in sorted(found, key=lambda hit: (hit[0], hit[1]))]


def _reverse(sortable: str) -> tuple[int, ...]:
    """A key that sorts dates newest first and unknown dates last."""
    if not sortable:
        return (1,)
    return (0, *(-ord(char) for char in sortable))
