"""How the offline responder writes: one item in one line, one item in detail, lists with "N more".

``line`` shows an item by the fields that matter for its kind (a role's period
and place, a skill's level, a post's date, a project's summary and link);
``detail`` adds its tags, whether it is featured and its other links;
``listing`` shows a page of items and says how many more there are ("show
more" pages on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from folionaut.chat.portfolio import Entry, format_date

__all__ = ["URL_LABELS", "Reply", "article", "detail", "join_names", "line", "listing", "sentence", "shorten"]

_DESCRIPTION_LIMIT = 200
URL_LABELS = {"url": "Website", "link": "Link", "href": "Link", "website": "Website", "homepage": "Website",
              "github": "GitHub", "githuburl": "GitHub", "repo": "Repository", "repourl": "Repository",
              "repository": "Repository", "source": "Source", "demo": "Demo", "demourl": "Demo", "liveurl": "Live",
              "live": "Live", "slides": "Slides", "video": "Video"}


@dataclass(slots=True)
class Reply:
    """An answer's lines and the items it used (its sources)."""

    lines: list[str]
    used: list[Entry] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def shorten(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",.;:-")
    return cut + "…"


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."


def join_names(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def detail(entry: Entry) -> Reply:
    """Everything useful about one item."""
    lines = [line(entry, full=True)]
    tags = entry.tags
    if tags and entry.kind in ("project", "post", "talk", "experience"):
        label = {"project": "Built with", "experience": "Tech"}.get(entry.kind, "Tags")
        lines.append(f"{label}: {', '.join(tags)}.")
    if entry.featured and entry.kind == "project":
        lines.append("It is one of the featured projects.")
    for label, url in entry.urls[1:3]:
        lines.append(f"{URL_LABELS.get(label.lower(), label.capitalize())}: {url}")
    return Reply(lines, [entry])


def line(entry: Entry, *, full: bool = False) -> str:
    """One item in one line: its title and the fields that matter for its kind."""
    limit = 400 if full else _DESCRIPTION_LIMIT
    summary = shorten(entry.summary, limit) if entry.summary else ""
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
        text += f": {sentence(summary)}" if kind != "project" else f" — {sentence(summary)}"
    elif not text.endswith("."):
        text += "."
    if entry.url and kind not in ("link",):
        text += f" {entry.url}"
    return text


def listing(entries: Sequence[Entry], offset: int, intro: str, empty: str, page_size: int) -> Reply:
    """A page of ``entries`` from ``offset``, saying how many more there are."""
    if not entries:
        return Reply([empty] if empty else ["I couldn't find anything for that."])
    page = list(entries[offset: offset + page_size])
    if not page:
        return Reply(["That was everything — there is nothing more to show."])
    lines = [intro if offset == 0 else intro.rstrip(":") + " (continued):"]
    lines.extend(f"- {line(entry)}" for entry in page)
    left = len(entries) - offset - len(page)
    if left > 0:
        lines.append(f"There {'is' if left == 1 else 'are'} {left} more — ask \"show more\" to see "
                     f"{'it' if left == 1 else 'them'}.")
    return Reply(lines, page)
