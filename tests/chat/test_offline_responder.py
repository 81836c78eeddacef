"""The offline responder: field extraction, intents, follow-ups, paging, declining, languages, sources.

The scored evaluation over a 41-item portfolio is tests/chat/test_offline_evaluation.py; these
tests pin the behaviours one at a time, over small portfolios and over the real content search.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from folionaut.chat.offline import OfflineAnswer, OfflineResponder
from folionaut.chat.offline_intents import keywords
from folionaut.chat.portfolio import Entry, Portfolio, format_date
from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.content.validation import CreateInput
from folionaut.core.clock import ManualClock
from folionaut.storage.migrate import apply_migrations
from folionaut.storage.sqlite import SQLiteDatabase

ITEMS: list[dict[str, Any]] = [
    {"type": "about", "slug": "me", "data": {"name": "Jane Doe", "title": "Backend Engineer", "city": "Lisbon"}},
    {"type": "projects", "slug": "folio-rs", "data": {
        "title": "Folio-rs", "description": "A static site generator written in Rust.",
        "github": "https://github.com/jane/folio-rs", "isFeatured": True, "year": 2022}},
    {"type": "projects", "slug": "weather-bot", "data": {
        "title": "Weather Bot", "summary": "A Slack bot that posts forecasts, built with Python and aiohttp.",
        "url": "https://weather.example.com", "year": 2020}},
    {"type": "skills", "slug": "rust", "data": {"name": "Rust", "proficiency": "Advanced", "years": 4}},
    {"type": "jobs", "slug": "acme", "data": {
        "position": "Backend Engineer", "employer": "Acme", "from": "2019-04", "to": "present",
        "description": "Builds payment APIs in Python."}},
    {"type": "jobs", "slug": "initech", "data": {
        "position": "Developer", "employer": "Initech", "from": "2016-01", "to": "2019-03"}},
    {"type": "articles", "slug": "hello", "data": {"title": "Hello, world", "date": "2021-02-03"}},
    {"type": "articles", "slug": "bye", "data": {"title": "Goodbye, PHP", "date": "2023-07-30"}},
]


def responder(items: Sequence[dict[str, Any]] = ITEMS, search: Any = None, **options: Any) -> OfflineResponder:
    async def list_items() -> Sequence[dict[str, Any]]:
        return items

    return OfflineResponder(list_items, search, **options)


async def converse(offline: OfflineResponder, *questions: str) -> list[OfflineAnswer]:
    history: list[tuple[str, str]] = []
    answers = []
    for question in questions:
        reply = await offline.answer(question, history)
        history += [("user", question), ("assistant", reply.text)]
        answers.append(reply)
    return answers


def slugs(answer: OfflineAnswer) -> list[str]:
    return [item["slug"] for item in answer.sources]


# --- fields under their many usual names ---------------------------------------------------

def test_fields_are_read_under_their_usual_names() -> None:
    portfolio = Portfolio(ITEMS)
    job = portfolio.get(("jobs", "acme"))
    assert isinstance(job, Entry) and job.kind == "experience"
    assert (job.title, job.company, job.is_current, job.period) == (
        "Backend Engineer at Acme", "Acme", True, "Apr 2019 – present")
    skill = portfolio.get(("skills", "rust"))
    assert skill is not None and (skill.kind, skill.level, skill.level_rank) == ("skill", "Advanced, 4 years", 4)
    project = portfolio.get(("projects", "folio-rs"))
    assert project is not None and project.featured and project.url == "https://github.com/jane/folio-rs"
    assert [entry.slug for entry in portfolio.newest_first("post")] == ["bye", "hello"]
    assert [entry.slug for entry in portfolio.experience()] == ["acme", "initech"]
    assert (format_date("2024-03-12"), format_date("2021-03"), format_date("spring 2020")) == (
        "12 Mar 2024", "Mar 2021", "spring 2020")


def test_keywords() -> None:
    assert keywords("What are Jane's SKILLS in rust, rust and Go?", ignore=["jane"]) == ["skills", "rust", "go"]
    assert keywords("   ") == []


# --- intents ---------------------------------------------------------------------------------

async def test_who_where_current_role_and_latest_post_come_from_the_fields() -> None:
    offline = responder(owner_name="ignored when the profile has a name")
    who = await offline.answer("Who is Jane?")
    assert who.text.startswith("Jane Doe is a Backend Engineer based in Lisbon.")
    assert slugs(who) == ["me", "acme"]
    assert (await offline.answer("Where is she based?")).text == "Jane is based in Lisbon."
    now = await offline.answer("Where does Jane work now?")
    assert now.text.startswith("Jane currently works as Backend Engineer at Acme since Apr 2019.")
    latest = await offline.answer("What's her latest blog post?")
    assert "Goodbye, PHP" in latest.text and "30 Jul 2023" in latest.text and "Hello, world" not in latest.text
    assert slugs(latest) == ["bye"]


async def test_skill_levels_links_and_featured_projects() -> None:
    offline = responder()
    assert "Jane's level in Rust: Advanced, 4 years." in (await offline.answer("How good is Jane at Rust?")).text
    featured = await offline.answer("Which projects are featured?")
    assert "Folio-rs" in featured.text and "Weather Bot" not in featured.text
    no = await offline.answer("Does she know Haskell?")
    assert no.text == "No — I don't see Haskell among Jane's skills, projects or posts." and no.sources == ()


async def test_contact_details_are_the_public_ones() -> None:
    offline = responder(contact_email="hello@jane.dev", contact_phone="+351 912 345 678")
    text = (await offline.answer("How can I get in touch with Jane?")).text
    assert "hello@jane.dev" in text and "+351 912 345 678" in text
    silent = (await responder().answer("What's her email?")).text
    assert "@" not in silent and "hasn't published contact details" in silent


async def test_off_topic_is_declined_politely_and_greetings_answered() -> None:
    offline = responder()
    declined = await offline.answer("What's the weather in Lisbon tomorrow?")
    assert declined.text.startswith("Sorry, I can only answer questions about Jane's portfolio")
    assert declined.sources == ()
    assert (await offline.answer("Write me a poem")).text == declined.text
    assert (await offline.answer("hello")).text.startswith("Hi! I'm the assistant on Jane's portfolio.")


async def test_another_language_gets_a_note_in_it() -> None:
    text = (await responder().answer("¿Dónde vive Jane?")).text
    assert text.startswith("Nota: solo puedo responder en inglés") and "Lisbon" in text
    assert (await responder().answer("Where is Jane based?")).text == "Jane is based in Lisbon."


# --- lists, paging and follow-ups ---------------------------------------------------------------

async def test_lists_say_how_many_more_and_show_more_pages_on() -> None:
    many = [{"type": "project", "slug": f"tool-{n}", "data": {"title": f"Tool {n}", "description": "Python"}}
            for n in range(7)]
    first, second, third = await converse(responder(many, page_size=3), "What projects are there?", "show more",
                                          "more")
    assert [line for line in first.text.splitlines() if line.startswith("- ")] == [
        "- Tool 0 — Python.", "- Tool 1 — Python.", "- Tool 2 — Python."]
    assert first.text.splitlines()[-1] == 'There are 4 more — ask "show more" to see them.'
    assert slugs(second) == ["tool-3", "tool-4", "tool-5"] and "There is 1 more" in second.text
    assert slugs(third) == ["tool-6"] and "more —" not in third.text


async def test_follow_ups_refer_to_the_previous_list() -> None:
    listing, first, second, last = await converse(
        responder(), "List her jobs", "Tell me more about the first one", "and the second?", "the last one")
    assert slugs(listing) == ["acme", "initech"]
    assert slugs(first) == ["acme"] and "Builds payment APIs" in first.text
    assert slugs(second) == ["initech"] and "Jan 2016 – Mar 2019" in second.text
    assert slugs(last) == ["initech"]
    # Without an earlier list there is nothing to refer to: "the first one" is just a question.
    [alone] = await converse(responder(), "Tell me more about the first one")
    assert "Builds payment APIs" not in alone.text


async def test_is_deterministic() -> None:
    answers = {(await responder().answer("Tell me about Weather Bot")).text for _ in range(3)}
    assert len(answers) == 1
    [text] = answers
    assert text.startswith("Weather Bot (2020) — A Slack bot") and "https://weather.example.com" in text


async def test_an_unnamed_owner_starts_a_sentence_with_a_capital() -> None:
    nameless = [item for item in ITEMS if item["type"] != "about"]
    projects, skill = await converse(responder(nameless), "Which projects are there?", "Does she know Rust?")
    assert projects.text.startswith("The owner's projects") and "\nThe" not in projects.text
    assert "of the owner's skills" in skill.text or "the owner's level" in skill.text  # mid-sentence: as it was


async def test_empty_portfolio() -> None:
    offline = responder([])
    assert "no published content yet" in (await offline.answer("hi")).text
    assert (await offline.answer("Who is she?")).text == "There is no published content in the portfolio yet."


# --- over the real content search ----------------------------------------------------

@pytest.fixture
async def content_service(tmp_path: Path) -> AsyncIterator[ContentService]:
    db = await SQLiteDatabase.open(tmp_path / "offline.db")
    try:
        await apply_migrations(db)
        service = ContentService(ContentRepository(db), ManualClock())
        for item in ITEMS:
            await service.create(CreateInput(type=item["type"], slug=item["slug"], data=item["data"],
                                             status="published", sort_order=0), changed_by="test")
        await service.create(CreateInput(type="projects", slug="secret-draft", data={"title": "Secret Rust draft"},
                                         status="draft", sort_order=0), changed_by="test")
        yield service
    finally:
        await db.close()


async def test_over_the_real_content_search(content_service: ContentService) -> None:
    offline = OfflineResponder(content_service.list_published, content_service.search_published)
    found = await offline.answer("Anything about aiohttp forecasts?")
    assert "Weather Bot" in found.text and [item.slug for item in found.sources] == ["weather-bot"]
    everything = " ".join([(await offline.answer(q)).text for q in ("Tell me about her projects", "rust", "hi")])
    assert "Secret" not in everything  # drafts are never offered
