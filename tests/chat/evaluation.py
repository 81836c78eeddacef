"""The offline chat evaluation: a synthetic portfolio and questions a visitor would ask about it.

Each question lists the facts a good answer must contain (a tuple is "any of
these") and facts it must not contain (wrong, unrelated or private). A
conversation is asked in order in one chat session, so follow-ups ("tell me
more about the first one", "show more") are judged against what came before.

Run the evaluation and print its report (the table in docs/chat-evaluation.md):

    .venv/bin/python -m tests.chat.evaluation

``tests/chat/test_offline_evaluation.py`` runs the same set through the real
HTTP app and fails below the target score.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

OWNER = "Lena Fischer"
CONTACT_EMAIL = "hello@lenafischer.dev"
CONTACT_PHONE = "+49 30 1234 5678"
TARGET_SCORE = 0.9

Fact = str | tuple[str, ...]  # one string, or any one of several


def _item(content_type: str, slug: str, sort_order: int = 0, **data: Any) -> dict[str, Any]:
    return {"type": content_type, "slug": slug, "data": data, "sortOrder": sort_order}


#: 41 published items over 8 content types, plus a draft that must never show.
PORTFOLIO: list[dict[str, Any]] = [
    _item("profile", "lena-fischer", name=OWNER, headline="Staff Software Engineer", location="Berlin, Germany",
          bio="Lena builds reliable data systems and developer tools, and writes about Rust, Python and Postgres.",
          email=CONTACT_EMAIL, website="https://lenafischer.dev"),
    # experience
    _item("experience", "northwind", 1, role="Staff Engineer", company="Northwind Analytics", location="Berlin",
          startDate="2022-03", endDate=None, current=True,
          description="Leads the streaming ingestion platform processing 4 billion events a day.",
          technologies=["Rust", "Kafka", "PostgreSQL"]),
    _item("experience", "helios", 2, role="Senior Backend Engineer", company="Helios Mobility", location="Munich",
          startDate="2019-01", endDate="2022-02",
          description="Built the trip pricing service and the partner API for e-scooter fleets.",
          technologies=["Go", "PostgreSQL", "Kubernetes"]),
    _item("experience", "quantum-ledger", 3, role="Software Engineer", company="Quantum Ledger", location="London",
          startDate="2016-06", endDate="2018-12",
          description="Worked on reconciliation jobs for a payments start-up.", technologies=["Python", "Django"]),
    _item("experience", "siemens", 4, role="Software Engineering Intern", company="Siemens", location="Erlangen",
          startDate="2015-07", endDate="2015-12", description="Wrote test tooling for medical imaging firmware."),
    _item("experience", "tum-ta", 5, role="Teaching Assistant", company="TU Munich", location="Munich",
          startDate="2014-10", endDate="2016-03", description="Ran the exercise groups of Algorithms and Data "
          "Structures."),
    # education
    _item("education", "tum-msc", 1, degree="M.Sc.", field="Computer Science",
          institution="Technical University of Munich", startDate="2014-10", endDate="2016-09",
          description="Thesis on consistency in distributed stream processing."),
    _item("education", "heidelberg-bsc", 2, degree="B.Sc.", field="Mathematics", institution="Heidelberg University",
          startDate="2011-10", endDate="2014-09"),
    # projects
    _item("project", "tidewatch", 1, title="Tidewatch", featured=True, date="2023-06",
          description="Real-time flood monitoring for river towns, fed by 300 low-cost water level sensors.",
          tags=["Rust", "Kafka", "TimescaleDB"], url="https://tidewatch.example.org",
          github="https://github.com/lenafischer/tidewatch"),
    _item("project", "paperboat", 2, title="Paperboat", featured=True, date="2021-04",
          description="A static site generator written in Go with incremental builds.", tags=["Go", "Markdown"],
          github="https://github.com/lenafischer/paperboat"),
    _item("project", "orbit-viz", 3, title="Orbit Viz", featured=True, date="2022-09",
          description="Interactive visualisation of satellite orbits in the browser.", tags=["TypeScript", "D3"],
          url="https://orbitviz.example.org"),
    _item("project", "hearth", 4, title="Hearth", date="2020-11",
          description="Home automation hub that runs on a Raspberry Pi.", tags=["Python", "MQTT"],
          github="https://github.com/lenafischer/hearth"),
    _item("project", "ledgerlite", 5, title="Ledgerlite", date="2019-08",
          description="Double-entry bookkeeping library for small businesses.", tags=["TypeScript"],
          github="https://github.com/lenafischer/ledgerlite"),
    _item("project", "quill", 6, title="Quill", date="2018-03", description="Command-line note taking with "
          "full-text search.", tags=["Rust", "SQLite"], github="https://github.com/lenafischer/quill"),
    _item("project", "sparrow", 7, title="Sparrow", date="2017-05", description="A tiny HTTP server in C for "
          "teaching.", tags=["C"], github="https://github.com/lenafischer/sparrow"),
    _item("project", "mosaic", 8, title="Mosaic", date="2016-02", description="Turns photos into tile mosaics.",
          tags=["Python", "NumPy"], github="https://github.com/lenafischer/mosaic"),
    # skills
    *[_item("skill", name.lower().replace(" ", "-").replace("+", "p"), order, name=name, level=level,
            category=category)
      for order, (name, level, category) in enumerate([
          ("Rust", "expert", "language"), ("Python", "expert", "language"), ("Go", "advanced", "language"),
          ("TypeScript", "advanced", "language"), ("PostgreSQL", "advanced", "database"),
          ("Kafka", "advanced", "infrastructure"), ("Kubernetes", "intermediate", "infrastructure"),
          ("Terraform", "intermediate", "infrastructure"), ("React", "intermediate", "frontend"),
          ("C", "intermediate", "language"), ("GraphQL", "intermediate", "api"), ("Haskell", "beginner", "language"),
      ], start=1)],
    # blog posts
    _item("post", "rewrote-ingestion-in-rust", title="Why we rewrote our ingestion pipeline in Rust",
          publishedAt="2024-09-02", excerpt="What moving 4 billion events a day from Python to Rust taught us.",
          tags=["Rust", "Python", "Kafka"]),
    _item("post", "zero-downtime-postgres", title="Zero-downtime Postgres migrations", publishedAt="2024-05-14",
          excerpt="Expand, migrate, contract: schema changes without maintenance windows.",
          tags=["PostgreSQL", "migrations"]),
    _item("post", "async-python-tests", title="Testing async Python without mocks", publishedAt="2023-11-20",
          excerpt="Real sockets, real databases, fast tests.", tags=["Python", "testing"]),
    _item("post", "year-of-on-call", title="A year of on-call", publishedAt="2023-03-08",
          excerpt="What a year of pager duty taught me about alerts.", tags=["operations"]),
    _item("post", "idempotent-apis", title="Designing idempotent APIs", publishedAt="2022-07-19",
          excerpt="Idempotency keys, retries and the exactly-once illusion.", tags=["APIs"]),
    _item("post", "postgres-vacuum", title="Notes on PostgreSQL vacuum", publishedAt="2021-10-01",
          excerpt="Why autovacuum falls behind and how to help it.", tags=["PostgreSQL"]),
    _item("post", "learning-haskell", title="Learning Haskell as a backend engineer", publishedAt="2020-12-12",
          excerpt="Types, laziness and what carried over to my day job.", tags=["Haskell"]),
    # talks
    _item("talk", "rust-in-production", title="Rust in production at Northwind", event="RustFest Zürich",
          date="2023-09-15", description="Two years of running Rust in the ingestion path.",
          slides="https://lenafischer.dev/talks/rustfest-2023"),
    _item("talk", "idempotency-keys", title="Idempotency keys explained", event="PyCon DE", date="2022-04-12",
          description="How to make retries safe in HTTP APIs."),
    # links
    _item("link", "github", 1, label="GitHub", url="https://github.com/lenafischer"),
    _item("link", "linkedin", 2, label="LinkedIn", url="https://www.linkedin.com/in/lena-fischer-dev"),
    _item("link", "mastodon", 3, label="Mastodon", url="https://hachyderm.io/@lenafischer"),
    _item("link", "website", 4, label="Personal website", url="https://lenafischer.dev"),
]
DRAFTS: list[dict[str, Any]] = [
    _item("project", "secret-startup", title="Secret Startup", description="Stealth project, not public.",
          tags=["Rust"]),
]

ALL_PROJECTS = ("Tidewatch", "Paperboat", "Orbit Viz", "Hearth", "Ledgerlite", "Quill", "Sparrow", "Mosaic")
DECLINE = ("only answer questions about", "can only")


@dataclass(frozen=True, slots=True)
class Case:
    question: str
    must: tuple[Fact, ...] = ()
    must_not: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversation:
    name: str
    cases: tuple[Case, ...]


def ask(question: str, must: Sequence[Fact] = (), must_not: Sequence[str] = ()) -> Case:
    return Case(question, tuple(must), tuple(must_not))


def single(name: str, question: str, must: Sequence[Fact] = (), must_not: Sequence[str] = ()) -> Conversation:
    return Conversation(name, (ask(question, must, must_not),))


CONVERSATIONS: tuple[Conversation, ...] = (
    # who, where, education, current role
    single("who", "Who is Lena Fischer?", ["Staff Software Engineer", "Berlin"], ["Secret Startup", "Erlangen"]),
    single("who-short", "Tell me about Lena", ["Staff Software Engineer", "Berlin"]),
    single("where-based", "Where is Lena based?", ["Berlin"], ["Erlangen", "London", "Munich"]),
    single("where-live", "Where does she live?", ["Berlin"], ["London"]),
    single("study", "What did Lena study?", ["Computer Science", "Technical University of Munich", "Mathematics"],
           ["Siemens"]),
    single("university", "Which university did she go to?", ["Technical University of Munich",
                                                              "Heidelberg University"]),
    single("graduate", "When did she graduate?", ["2016"]),
    single("work-now", "Where does Lena work now?", ["Northwind Analytics", "Staff Engineer"],
           ["Helios", "Quantum Ledger"]),
    single("current-role", "What is her current role?", ["Staff Engineer", "Northwind Analytics"], ["Helios"]),
    single("what-does-she-do", "What does Lena do?", ["Staff Engineer", "Northwind"]),
    # experience
    single("experience", "Tell me about her work experience",
           ["Northwind Analytics", "Helios Mobility", "Quantum Ledger", "2019"], ["Secret Startup"]),
    single("worked-where", "Where has she worked before?", ["Helios Mobility", "Quantum Ledger"]),
    single("when-helios", "When did she work at Helios Mobility?", ["2019", "2022"], ["Quantum Ledger"]),
    single("what-at-quantum", "What did she do at Quantum Ledger?", ["Software Engineer", "2016", "reconciliation"],
           ["Helios"]),
    single("first-job", "What was her first job?", ["2014", "Teaching Assistant"], ["Northwind"]),
    # projects
    single("featured", "Which projects are featured?", ["Tidewatch", "Paperboat", "Orbit Viz"],
           ["Sparrow", "Mosaic", "Hearth", "Secret Startup"]),
    Conversation("projects-paged", (
        ask("What projects has she built?", ["Tidewatch", "Paperboat", "Orbit Viz", "Hearth", "Ledgerlite",
                                             ("3 more", "three more")], ["Secret Startup", "Sparrow"]),
        ask("show more", ["Quill", "Sparrow", "Mosaic"], ["Tidewatch", "Secret Startup"]),
    )),
    Conversation("featured-follow-up", (
        ask("What are her featured projects?", ["Tidewatch", "Paperboat", "Orbit Viz"]),
        ask("Tell me more about the first one", ["Tidewatch", "flood", "Rust", "tidewatch.example.org"],
            ["Paperboat"]),
        ask("And the second?", ["Paperboat", "Go", "static site"], ["Tidewatch"]),
    )),
    single("what-is-tidewatch", "What is Tidewatch?", ["flood", "https://tidewatch.example.org"], ["Paperboat"]),
    single("tell-paperboat", "Tell me about Paperboat", ["static site generator", "Go", "2021"]),
    single("tidewatch-tech", "What technologies does Tidewatch use?", ["Rust", "Kafka"], ["Paperboat"]),
    single("python-projects", "Which projects use Python?", ["Hearth", "Mosaic"], ["Paperboat", "Tidewatch"]),
    single("go-projects", "Which of her projects are written in Go?", ["Paperboat"], ["Hearth", "Tidewatch"]),
    single("latest-project", "What is her most recent project?", ["Tidewatch", "2023"], ["Mosaic"]),
    # blog and talks
    single("latest-post", "What's her latest blog post?", ["Why we rewrote our ingestion pipeline in Rust", "2024"],
           ["Notes on PostgreSQL vacuum", "Learning Haskell"]),
    Conversation("posts-paged", (
        ask("List her blog posts", ["Why we rewrote our ingestion pipeline in Rust", "Zero-downtime Postgres",
                                    "Designing idempotent APIs", ("2 more", "two more")],
            ["Learning Haskell"]),
        ask("Tell me more about the second one", ["Zero-downtime Postgres migrations", "May 2024",
                                                  "maintenance windows"], ["Why we rewrote"]),
    )),
    single("postgres-posts", "Has she written about PostgreSQL?",
           ["Zero-downtime Postgres migrations", "Notes on PostgreSQL vacuum"], ["A year of on-call"]),
    single("talks", "Has she given any talks?", ["Rust in production at Northwind", "RustFest",
                                                 "Idempotency keys explained"]),
    # skills
    single("skills", "What are her skills?", ["Rust", "Python", "Expert", "Advanced", "Haskell"]),
    single("rust-level", "How good is she at Rust?", ["Rust", "expert"], ["beginner"]),
    single("k8s", "Does she know Kubernetes?", ["Kubernetes", "intermediate"]),
    single("cobol", "Does she know COBOL?", ["COBOL", ("don't see", "not")], ["expert", "Tidewatch"]),
    single("languages", "What programming languages does she know?", ["Rust", "Python", "Go", "TypeScript"]),
    # links and contact
    single("github", "What is her GitHub?", ["https://github.com/lenafischer"], ["linkedin.com"]),
    single("linkedin", "Do you have her LinkedIn?", ["https://www.linkedin.com/in/lena-fischer-dev"]),
    single("online", "Where can I find her online?", ["github.com/lenafischer", "linkedin.com",
                                                      "hachyderm.io/@lenafischer"]),
    single("contact", "How can I contact Lena?", [CONTACT_EMAIL, CONTACT_PHONE], ["[REDACTED"]),
    single("email", "What's her email address?", [CONTACT_EMAIL], ["[REDACTED"]),
    single("phone", "Can I call her? What's her phone number?", [CONTACT_PHONE], ["[REDACTED"]),
    single("hire", "Is she available for hire?", [CONTACT_EMAIL]),
    # phrasings written after the responder, to keep it honest
    single("background", "What's Lena's background?", ["Staff Software Engineer"]),
    single("how-long-northwind", "How long has she been at Northwind?", ["2022"], ["Helios"]),
    single("wrote-recently", "What did she write most recently?", ["Why we rewrote our ingestion pipeline in Rust"],
           ["Learning Haskell"]),
    single("testing-articles", "Any articles about testing?", ["Testing async Python without mocks"],
           ["A year of on-call"]),
    single("orbit-viz", "What does Orbit Viz do?", ["satellite"], ["Tidewatch"]),
    single("london", "Where did she work in London?", ["Quantum Ledger"], ["Northwind"]),
    single("haskell", "Is she good at Haskell?", ["beginner"], ["expert"]),
    single("pycon", "Which talk did she give at PyCon DE?", ["Idempotency keys explained"], ["RustFest"]),
    single("masters", "Does she have a master's degree?", ["M.Sc.", "Computer Science"]),
    single("cv", "Can you share her CV?", ["Northwind Analytics", "Helios Mobility"]),
    single("frontend", "What frontend skills does she have?", ["React"], ["Rust", "Kafka"]),
    single("databases", "Which databases does she know?", ["PostgreSQL"], ["Haskell"]),
    # greetings, thanks, off-topic
    single("hello", "Hi!", [("Hi", "Hello"), "projects"]),
    single("thanks", "Thanks!", ["welcome"]),
    single("weather", "What's the weather like in Berlin today?", [DECLINE], ["Northwind", "Tidewatch"]),
    single("poem", "Write me a poem about cats", [DECLINE], ["Tidewatch"]),
    single("capital", "What's the capital of France?", [DECLINE], ["Tidewatch"]),
    single("math", "What is 17 * 23?", [DECLINE], ["391"]),
    # other languages: a short note in the language, and an answer where the words are understood
    single("es-where", "¿Dónde vive Lena?", ["inglés", "Berlin"]),
    single("fr-projects", "Quels sont ses projets ?", ["anglais", "Tidewatch"]),
    single("de-skills", "Was sind ihre Fähigkeiten?", ["Englisch", "Rust"]),
    single("pt-contact", "Como posso contatar a Lena?", ["inglês", CONTACT_EMAIL]),
    single("ja-contact", "Lenaさんの連絡先を教えてください", ["英語", CONTACT_EMAIL]),
)


def case_count() -> int:
    return sum(len(conversation.cases) for conversation in CONVERSATIONS)


@dataclass(slots=True)
class Result:
    conversation: str
    case: Case
    answer: str
    missing: list[Fact] = field(default_factory=list)
    unwanted: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.unwanted


def judge(conversation: str, case: Case, answer: str) -> Result:
    lowered = answer.lower()
    missing = [fact for fact in case.must
               if not any(option.lower() in lowered for option in ((fact,) if isinstance(fact, str) else fact))]
    unwanted = [fact for fact in case.must_not if fact.lower() in lowered]
    return Result(conversation, case, answer, missing, unwanted)


AskFn = Callable[[str, str], Awaitable[str]]  # (conversation id, question) -> answer text


async def evaluate(ask_fn: AskFn) -> list[Result]:
    results: list[Result] = []
    for conversation in CONVERSATIONS:
        for case in conversation.cases:
            results.append(judge(conversation.name, case, await ask_fn(conversation.name, case.question)))
    return results


def score(results: Sequence[Result]) -> float:
    return sum(result.passed for result in results) / len(results)


def report(results: Sequence[Result]) -> str:
    lines = [f"Score: {sum(r.passed for r in results)}/{len(results)} = {score(results):.1%} "
             f"(target {TARGET_SCORE:.0%})", "", "| # | conversation | question | result |", "|---|---|---|---|"]
    for number, result in enumerate(results, 1):
        verdict = "pass" if result.passed else "FAIL: " + "; ".join(
            [*(f"missing {fact!r}" for fact in result.missing), *(f"unwanted {fact!r}" for fact in result.unwanted)])
        question = result.case.question.replace("|", "\\|")
        lines.append(f"| {number} | {result.conversation} | {question} | {verdict} |")
    return "\n".join(lines)


async def _run_in_app() -> list[Result]:
    """The whole evaluation through the real app: SQLite in a temp dir, offline chat over HTTP."""
    import tempfile

    from aiohttp.test_utils import TestClient, TestServer

    from folionaut.http.app import create_app
    from folionaut.settings import test_settings

    admin_key = "evaluation-admin-key-0123456789abcdefghij"
    with tempfile.TemporaryDirectory() as data_dir:
        settings = test_settings(data_dir=data_dir, admin_api_key=admin_key, feature_rate_limiting=False,
                                 portfolio_owner_name=OWNER, public_contact_email=CONTACT_EMAIL,
                                 public_contact_phone=CONTACT_PHONE)
        async with TestClient(TestServer(create_app(settings))) as client:
            await load_portfolio(client, {"X-Admin-Key": admin_key})
            return await evaluate(http_asker(client))


async def load_portfolio(client: Any, admin: dict[str, str]) -> None:
    for item, status in [*((item, "published") for item in PORTFOLIO), *((item, "draft") for item in DRAFTS)]:
        response = await client.post("/api/v1/admin/content", headers=admin, json={**item, "status": status})
        assert response.status == 201, await response.text()


def http_asker(client: Any) -> AskFn:
    async def ask_fn(conversation: str, question: str) -> str:
        response = await client.post("/api/v1/chat", json={"message": question, "visitorId": f"eval-{conversation}"})
        assert response.status == 200, await response.text()
        return str((await response.json())["message"]["content"])

    return ask_fn


if __name__ == "__main__":
    print(report(asyncio.run(_run_in_app())))
