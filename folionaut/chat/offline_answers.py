"""The offline responder's answers, one per kind of question, written from the items' fields.

Who the owner is, where they are based, their education, current role and
experience, projects (featured, latest, by technology), posts and talks,
skills by level (and whether a given one is among them), links and how to get
in touch (the public contact e-mail and phone, when configured). Each answer
names the items it used, which become the reply's sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from folionaut.chat.offline_format import (
    URL_LABELS,
    Reply,
    article,
    join_names,
    line,
    listing,
    sentence,
    shorten,
)
from folionaut.chat.offline_intents import SINGULAR_LATEST, STOPWORDS, YES_NO_STARTS, Owner, Question
from folionaut.chat.portfolio import Entry, Portfolio, format_date, words

__all__ = ["TopicAnswers"]

_SKILL_GROUPS = ("language", "database", "framework", "frontend", "backend", "infrastructure", "cloud", "tool")


class TopicAnswers:
    """The answers; ``page_size`` items per list, the public contact details for "how to reach"."""

    def __init__(self, page_size: int, contact_email: str, contact_phone: str) -> None:
        self._page_size = page_size
        self._contact_email = contact_email
        self._contact_phone = contact_phone

    def _listing(self, entries: Sequence[Entry], offset: int, intro: str, empty: str) -> Reply:
        return listing(entries, offset, intro, empty, self._page_size)

    def greeting(self, portfolio: Portfolio, owner: Owner) -> Reply:
        topics = self.topics(portfolio)
        return Reply([f"Hi! I'm the assistant on {owner.whose} portfolio. You can ask me about {topics}."])

    def decline(self, owner: Owner) -> Reply:
        return Reply([f"Sorry, I can only answer questions about {owner.whose} portfolio — for example "
                      f"{owner.first}'s projects, experience, skills or how to get in touch."])

    @staticmethod
    def topics(portfolio: Portfolio) -> str:
        names = {"project": "projects", "experience": "experience", "skill": "skills", "post": "blog posts",
                 "education": "education", "talk": "talks", "link": "links"}
        topics = [names[kind] for kind in portfolio.kinds if kind in names]
        if not topics:
            return "the portfolio (there is no published content yet)"
        return join_names([*topics, "how to get in touch"])

    def who(self, portfolio: Portfolio, owner: Owner) -> Reply:
        profile = portfolio.profile
        used: list[Entry] = [profile] if profile else []
        parts: list[str] = []
        headline = profile.first(("headline", "title", "role", "tagline", "jobTitle")) if profile else ""
        location = profile.location if profile else ""
        intro = owner.full
        if headline:
            intro += f" is {article(headline)} {headline}"
        if location:
            intro += f" based in {location}" if headline else f" is based in {location}"
        if headline or location:
            parts.append(sentence(intro))
        bio = profile.first(("bio", "summary", "about", "description")) if profile else ""
        if bio:
            parts.append(sentence(shorten(bio, 300)))
        current = [entry for entry in portfolio.experience() if entry.is_current]
        if current:
            used.append(current[0])
            parts.append(f"Currently: {current[0].title}.")
        if not parts:
            if not portfolio.entries:
                return Reply([f"There is no published content in {owner.whose} portfolio yet."])
            return Reply([f"This is {owner.whose} portfolio. You can ask me about {self.topics(portfolio)}."])
        return Reply([" ".join(parts)], used)

    def location(self, portfolio: Portfolio, owner: Owner) -> Reply:
        profile = portfolio.profile
        if profile and profile.location:
            return Reply([f"{owner.first} is based in {profile.location}."], [profile])
        current = [entry for entry in portfolio.experience() if entry.is_current and entry.location]
        if current:
            return Reply([f"{owner.first} works in {current[0].location} ({current[0].title})."], [current[0]])
        return Reply([f"{owner.whose.capitalize()} portfolio doesn't say where {owner.first} is based."])

    def education(self, portfolio: Portfolio, owner: Owner) -> Reply:
        entries = sorted(portfolio.of_kind("education"), key=lambda e: (_newest(e.sort_date), e.order))
        if not entries:
            return Reply([f"{owner.whose.capitalize()} portfolio doesn't list any education."])
        lines = [f"{owner.first}'s education:"] + [f"- {line(entry)}" for entry in entries]
        return Reply(lines, entries)

    def current_role(self, portfolio: Portfolio, owner: Owner) -> Reply:
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
                text += " " + sentence(shorten(first.summary))
            lines = [text]
            if len(current) > 1:
                lines.append("Also current: " + "; ".join(entry.title for entry in current[1:]) + ".")
            return Reply(lines, current)
        if roles:
            latest = roles[0]
            period = f" ({latest.period})" if latest.period else ""
            return Reply([f"{owner.first}'s most recent role was {latest.title}{period}."], [latest])
        profile = portfolio.profile
        headline = profile.first(("headline", "title", "role", "jobTitle")) if profile else ""
        if profile and headline:
            return Reply([f"{owner.first} is {article(headline)} {headline}."], [profile])
        return Reply([f"{owner.whose.capitalize()} portfolio doesn't list a current role."])

    def experience(self, question: Question, portfolio: Portfolio, owner: Owner, offset: int) -> Reply:
        roles = portfolio.experience()
        token_set = set(question.tokens)
        if roles and token_set & {"first", "earliest", "oldest"}:
            first = sorted(roles, key=lambda e: (e.start_sort or "9999", e.order))[0]
            return Reply([f"{owner.first}'s first listed role: {line(first)}"], [first])
        return self._listing(roles, offset, f"{owner.first}'s experience, most recent first:",
                             f"{owner.whose.capitalize()} portfolio doesn't list any work experience.")

    def featured(self, portfolio: Portfolio, owner: Owner, offset: int) -> Reply:
        projects = portfolio.of_kind("project")
        featured = [entry for entry in projects if entry.featured]
        if featured:
            return self._listing(featured, offset, f"{owner.first}'s featured projects:", "")
        if projects:
            reply = self._listing(projects, offset, f"No project is marked as featured; here are {owner.first}'s "
                                                    "projects:", "")
            return reply
        return Reply([f"{owner.whose.capitalize()} portfolio doesn't list any projects."])

    def projects(self, question: Question, portfolio: Portfolio, owner: Owner, offset: int,
                 term: str = "") -> Reply:
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
                return Reply([f"I couldn't find a project of {owner.first}'s that uses {term}."])
        if latest and projects and SINGULAR_LATEST.search(question.lowered):
            return Reply([f"{owner.first}'s most recent project: {line(projects[0])}"], projects[:1])
        intro = f"{owner.first}'s projects, newest first:" if latest else f"{owner.first}'s projects:"
        return self._listing(projects, offset, intro, f"{owner.whose.capitalize()} portfolio doesn't list any "
                                                      "projects.")

    def posts(self, question: Question, portfolio: Portfolio, owner: Owner, offset: int, term: str = "") -> Reply:
        posts = portfolio.newest_first("post")
        if not posts:
            return Reply([f"{owner.whose.capitalize()} portfolio doesn't have any blog posts."])
        topic = term or " ".join(k for k in question.keywords if k not in ("blog", "posts"))
        if topic:
            matching = _matching(posts, topic)
            if matching:
                return self._listing(matching, offset, f"{owner.first}'s posts about {topic}, newest first:", "")
            if term:
                return Reply([f"I couldn't find a post of {owner.first}'s about {term}."])
        if SINGULAR_LATEST.search(question.lowered):
            latest = posts[0]
            return Reply([f"{owner.first}'s latest post is {line(latest)}"], [latest])
        return self._listing(posts, offset, f"{owner.first}'s blog posts, newest first:", "")

    async def skills(self, question: Question, portfolio: Portfolio, owner: Owner) -> Reply:
        skills = portfolio.of_kind("skill")
        groups = {word for group in _SKILL_GROUPS for word in (group, group + "s")}
        unknown = [word for word in question.keywords
                   if word not in ("skill", "skills", "level") and word not in groups]
        if unknown and set(question.tokens) & {"know", "knows", "use", "uses", "used", "experience", "good", "level",
                                                "familiar", "proficient", "worked", "program", "code", "can"}:
            return await self.unknown_skill(unknown, question, portfolio, owner)
        if not skills:
            return Reply([f"{owner.whose.capitalize()} portfolio doesn't list any skills."])
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
        return Reply(lines, sorted(skills, key=lambda e: (-e.level_rank, e.order)))

    def skill_level(self, skill: Entry, question: Question, portfolio: Portfolio, owner: Owner) -> Reply:
        level = skill.level
        yes = "Yes — " if question.tokens[:1] and question.tokens[0] in YES_NO_STARTS else ""
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
        return Reply(lines, [skill, *uses[:4]])

    async def unknown_skill(self, unknown: list[str], question: Question, portfolio: Portfolio,
                            owner: Owner) -> Reply:
        shown = _as_written(question.text, unknown[0])
        found = [entry for entry in portfolio.entries if entry.kind != "profile" and _mentions(entry, unknown[0])]
        if found:
            return Reply([f"{shown} isn't listed among {owner.first}'s skills, but it comes up in: "
                          f"{join_names([entry.title for entry in found[:4]])}."], found[:4])
        return Reply([f"No — I don't see {shown} among {owner.first}'s skills, projects or posts."])

    def links(self, portfolio: Portfolio, owner: Owner) -> Reply:
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
                    lines.append(f"- {URL_LABELS.get(label.lower(), label.capitalize())}: {url}")
                    if profile not in used:
                        used.append(profile)
        if len(lines) == 1:
            return Reply([f"{owner.whose.capitalize()} portfolio doesn't list any links."])
        return Reply(lines, used)

    def contact(self, portfolio: Portfolio, owner: Owner) -> Reply:
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
            places = join_names([f"{entry.name} ({entry.url})" for entry in social[:2]])
            lines.append(f"Or find {owner.first} on {places}.")
            used.extend(social[:2])
        if not lines:
            return Reply([f"{owner.first} hasn't published contact details here. " + (
                self.links(portfolio, owner).text if portfolio.of_kind("link") else "")])
        if portfolio.profile and (self._contact_email or self._contact_phone):
            used.insert(0, portfolio.profile)
        return Reply(lines, used)


def _newest(sortable: str) -> tuple[int, ...]:
    return (1,) if not sortable else (0, *(-ord(char) for char in sortable))


def _mentions(entry: Entry, term: str) -> bool:
    lowered = term.lower()
    return lowered in entry.words or any(tag.lower() == lowered for tag in entry.tags) or (
        " " in lowered and lowered in " ".join(sorted(entry.words)))


def _matching(entries: Sequence[Entry], topic: str) -> list[Entry]:
    terms = [term for term in words(topic) if term not in STOPWORDS]
    if not terms:
        return []
    return [entry for entry in entries if all(_mentions(entry, term) for term in terms)]


def _as_written(text: str, word: str) -> str:
    match = re.search(re.escape(word), text, re.IGNORECASE)
    return match.group() if match else word
