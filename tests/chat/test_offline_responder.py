"""The offline responder, over a simple in-memory search and over the real content search (SQLite FTS)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from folionaut.chat.offline import OfflineResponder, compose_offline_answer, describe_item, keywords
from folionaut.content.repository import ContentRepository
from folionaut.content.service import ContentService
from folionaut.content.validation import CreateInput
from folionaut.core.clock import ManualClock
from folionaut.storage.migrate import apply_migrations
from folionaut.storage.sqlite import SQLiteDatabase

ITEMS: list[dict[str, Any]] = [
    {"type": "project", "slug": "folio-rs", "data": {
        "title": "Folio-rs", "description": "A static site generator written in Rust.",
        "github": "https://github.com/jane/folio-rs"}},
    {"type": "project", "slug": "weather-bot", "data": {
        "title": "Weather Bot", "summary": "A Slack bot that posts forecasts, built with Python and aiohttp.",
        "url": "https://weather.example.com"}},
    {"type": "skill", "slug": "rust", "data": {"name": "Rust", "level": "advanced"}},
    {"type": "experience", "slug": "acme", "data": {
        "role": "Backend Engineer", "company": "Acme", "description": "Built payment APIs in Python."}},
]


class ListSearch:
    """Ranks items by how many query words their text contains (any word matches), like the real search."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.items = items
        self.queries: list[tuple[str, int]] = []

    async def __call__(self, query: str, limit: int) -> list[dict[str, Any]]:
        self.queries.append((query, limit))
        words = query.lower().split()
        scored = []
        for index, item in enumerate(self.items):
            text = (item["slug"] + " " + " ".join(str(v) for v in item["data"].values())).lower()
            hits = sum(word in text for word in words)
            if hits:
                scored.append((-hits, index, item))
        return [item for _, _, item in sorted(scored, key=lambda entry: entry[:2])][:limit]


async def list_types() -> list[tuple[str, int]]:
    return [("skill", 1), ("project", 2), ("experience", 1)]


async def list_content(content_type: str) -> list[dict[str, Any]]:
    return [item for item in ITEMS if item["type"] == content_type]


def responder(search: ListSearch | None = None, **options: Any) -> OfflineResponder:
    return OfflineResponder(search or ListSearch(ITEMS), list_types, list_content, **options)


async def test_answers_from_the_best_matches_with_title_description_and_link() -> None:
    text = await responder(owner_name="Jane Doe").answer("Has Jane built anything with Rust?")
    assert text.splitlines() == [
        "Here is what I found in Jane Doe's portfolio about \"rust\":",
        "- Folio-rs (project): A static site generator written in Rust. https://github.com/jane/folio-rs",
        "- Rust (skill)",
    ]


async def test_question_words_that_say_nothing_are_not_searched() -> None:
    search = ListSearch(ITEMS)
    await responder(search, owner_name="Jane Doe").answer("What can you tell me about Jane's Python work?")
    assert search.queries[0][0] == "python"


async def test_asking_for_a_type_lists_it_first() -> None:
    text = await responder().answer("Which projects use Python?")
    assert text.splitlines()[1].startswith("- Weather Bot (project): A Slack bot")
    assert "https://weather.example.com" in text
    assert "Backend Engineer at Acme (experience)" in text


async def test_naming_only_a_type_lists_that_type() -> None:
    text = await responder().answer("Show me the projects")
    assert "- Folio-rs (project)" in text and "- Weather Bot (project)" in text
    assert "(skill)" not in text


async def test_everyday_words_find_the_usual_type() -> None:
    text = await responder(owner_name="Jane Doe").answer("Where did Jane work before?")
    assert text.splitlines() == [
        "Here is what I found in Jane Doe's portfolio about \"experience\":",
        "- Backend Engineer at Acme (experience): Built payment APIs in Python.",
    ]


async def test_nothing_found_says_so_and_lists_the_types() -> None:
    text = await responder(owner_name="Jane Doe").answer("Does she know Haskell?")
    assert text == ("I couldn't find anything about \"haskell\" in Jane Doe's portfolio. "
                    "You can ask about: experience, project, skill.")


async def test_greeting_and_empty_portfolio() -> None:
    assert (await responder().answer("Hi there!")) == (
        "Hi! I can answer questions about the portfolio. You can ask about: experience, project, skill.")

    async def no_types() -> list[str]:
        return []

    empty = OfflineResponder(ListSearch([]), no_types)
    assert (await empty.answer("rust?")) == (
        "I couldn't find anything about \"rust\" in the portfolio. There is no published content in the portfolio yet.")


async def test_is_deterministic_and_bounded() -> None:
    many = [{"type": "project", "slug": f"tool-{n}", "data": {"title": f"Tool {n}", "description": "Python"}}
            for n in range(10)]
    search = ListSearch(many)
    answers = {await responder(search, max_results=2).answer("python tools") for _ in range(3)}
    assert len(answers) == 1
    assert len(next(iter(answers)).splitlines()) == 3  # the heading and two items


async def test_falls_back_to_single_words_when_the_phrase_finds_nothing() -> None:
    calls: list[str] = []

    async def all_words_search(query: str, limit: int) -> list[dict[str, Any]]:
        calls.append(query)
        words = query.split()
        return [item for item in ITEMS if all(word in str(item["data"]).lower() for word in words)][:limit]

    text = await OfflineResponder(all_words_search, list_types).answer("rust kubernetes")
    assert calls == ["rust kubernetes", "rust", "kubernetes"]
    assert "Folio-rs" in text


async def test_without_list_types_it_suggests_rather_than_claims_emptiness() -> None:
    assert await compose_offline_answer("Any COBOL?", ListSearch(ITEMS)) == (
        "I couldn't find anything about \"cobol\" in the portfolio. Try asking about projects, skills or experience.")


async def test_one_shot_form_matches_the_responder() -> None:
    question = "Anything in Rust?"
    assert await compose_offline_answer(question, ListSearch(ITEMS)) == (
        await OfflineResponder(ListSearch(ITEMS)).answer(question))


def test_describe_item_fallbacks() -> None:
    assert describe_item({"type": "misc", "slug": "my-cool-thing", "data": {}}) == ("My Cool Thing", "", "")
    long_text = "word " * 100
    title, description, link = describe_item({"type": "t", "slug": "s", "data": {
        "name": "X", "bio": long_text, "link": "javascript:alert(1)", "website": "https://x.dev"}})
    assert title == "X" and description.endswith("…") and len(description) <= 201
    assert link == "https://x.dev"  # only http(s) links are offered


def test_keywords() -> None:
    assert keywords("What are Jane's SKILLS in rust, rust and Go?", ignore=["jane"]) == ["skills", "rust", "go"]
    assert keywords("   ") == []


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
        await service.create(CreateInput(type="project", slug="secret-draft", data={"title": "Secret Rust draft"},
                                         status="draft", sort_order=0), changed_by="test")
        yield service
    finally:
        await db.close()


async def test_over_the_real_content_search(content_service: ContentService) -> None:
    offline = OfflineResponder(content_service.search_published, content_service.published_types,
                               content_service.list_published, owner_name="Jane")
    text = await offline.answer("What has Jane written in Rust?")
    assert "Folio-rs (project)" in text and "https://github.com/jane/folio-rs" in text
    assert "Secret" not in text  # drafts are never offered

    assert "Weather Bot (project)" in await offline.answer("Tell me about her projects")
    assert (await offline.answer("Any COBOL?")).startswith("I couldn't find anything about \"cobol\"")
