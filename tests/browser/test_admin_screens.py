"""Every screen at 360 px and at 1280 px: it renders, nothing lands in the console, nothing fails to
load, and a screenshot of it is kept. Plus what each screen is for: paging and search over many
items, chat transcripts, the backup download."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import App


def test_every_screen_renders_cleanly_at_both_widths(any_app: App) -> None:
    app, served = any_app, any_app.served
    page = app.page
    tag = uuid.uuid4().hex[:6]
    item = served.create(type="project", status="published", sortOrder=-1,
                         data={"title": f"Screens {tag} with a rather long title that has to wrap somewhere",
                               "summary": "Shown on every screen", "tags": ["a", "b"], "year": 2024})
    served.admin("PUT", f"/api/v1/admin/content/{item['id']}", {"data": {**item["data"], "summary": "Edited"}})
    status, _, reply = served.process.request("POST", "/api/v1/chat",
                                              {"message": "Which projects are there?", "visitorId": f"v-{tag}"})
    assert status == 200, reply
    session_id = reply["sessionId"]

    app.open()
    app.heading("Sign in")
    app.shot("sign-in")
    app.sign_in()
    screens = [
        ("overview", "#/overview", "Overview"),
        ("content", "#/content", "Content"),
        ("new-item", "#/content/new", "New item"),
        ("editor", f"#/content/{item['id']}", item["data"]["title"]),
        ("history", f"#/content/{item['id']}/history", f"History of “{item['data']['title']}”"),
        ("trash", "#/trash", "Trash"),
        ("chat", "#/chat", "Chat sessions"),
        ("chat-session", f"#/chat/{session_id}", f"Chat with visitor v-{tag}"),
        ("backups", "#/backups", "Backups"),
    ]
    for name, route, heading in screens:
        page.goto(f"{served.url}/admin{route}")
        app.heading(heading)
        # Nothing sticks out sideways: the page is no wider than the window.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
        assert page.title().endswith("Folionaut admin")
        app.shot(name)
    page.goto(f"{served.url}/docs")
    page.locator(".operation").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    app.shot("docs")


def test_content_list_pages_searches_and_sorts_many_items(app: App) -> None:
    page, served = app.page, app.served
    kind = f"bulk-{uuid.uuid4().hex[:6]}"
    for number in range(120):
        served.create(type=kind, status="published" if number % 3 else "draft",
                      data={"title": f"Item {number:03d}", "body": "needle" if number == 77 else "hay"})
    app.open(f"#/content?type={kind}")
    app.sign_in()
    app.heading("Content")
    summary = page.locator("#list-summary")
    expect(summary).to_have_text("Showing 1–50 of 120 items")
    expect(page.locator("table.items tbody tr")).to_have_count(50)
    page.get_by_role("button", name="Next →").click()
    expect(summary).to_have_text("Showing 51–100 of 120 items")
    expect(page.get_by_text("Page 2 of 3")).to_be_visible()
    assert "page=2" in page.url
    page.go_back()  # the address held the page: Back goes to page 1
    expect(summary).to_have_text("Showing 1–50 of 120 items")

    page.get_by_label("Sort by").select_option("-title")
    expect(page.locator("table.items tbody tr").first).to_contain_text("Item 119")
    page.get_by_label("Page size").select_option("100")
    page.get_by_label("Status").select_option("draft")
    expect(summary).to_have_text("Showing 1–40 of 40 items")
    expect(page.get_by_role("navigation", name="Pages")).to_be_hidden()

    page.get_by_label("Status").select_option("")
    page.get_by_label("Search").fill("needle")
    expect(summary).to_have_text("Showing 1–1 of 1 item")
    expect(page.locator("table.items tbody tr")).to_contain_text("Item 077")
    page.get_by_label("Search").fill("nothing-like-this")
    expect(summary).to_have_text("No items match.")
    page.reload()  # the filters live in the address
    expect(page.get_by_label("Search")).to_have_value("nothing-like-this")
    expect(page.get_by_label("Type")).to_have_value(kind)


def test_chat_transcript_and_ending_a_session(app: App) -> None:
    page, served = app.page, app.served
    visitor = f"v-{uuid.uuid4().hex[:8]}"
    status, _, reply = served.process.request("POST", "/api/v1/chat", {"message": "Hello there", "visitorId": visitor})
    assert status == 200
    app.open("#/chat?status=active")
    app.sign_in()
    app.heading("Chat sessions")
    page.get_by_role("link", name=f"Visitor {visitor}").click()
    app.heading(f"Chat with visitor {visitor}")
    transcript = page.locator(".transcript")
    expect(transcript.locator(".message.user")).to_contain_text("Hello there")
    expect(transcript.locator(".message.assistant")).to_contain_text(reply["message"]["content"][:40])
    page.get_by_role("button", name="End session").click()
    page.get_by_role("dialog").get_by_role("button", name="End session").click()
    app.announced("Session ended.")
    expect(page.locator(".facts-line .badge")).to_have_text("ended")
    expect(page.get_by_role("button", name="End session")).to_be_hidden()
    status, answer = served.admin("GET", f"/api/v1/admin/chat/sessions/{reply['sessionId']}")
    assert answer["data"]["status"] == "ended"


def test_backup_download_is_a_dump_of_the_database(app: App, tmp_path: Path) -> None:
    page, served = app.page, app.served
    marker = f"backup-{uuid.uuid4().hex[:8]}"
    served.create(type="note", slug=marker, data={"title": "In the backup"})
    app.open("#/backups")
    app.sign_in()
    app.heading("Backups")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .sql.gz").click()
    download = download_info.value
    assert download.suggested_filename.startswith("folionaut-") and download.suggested_filename.endswith(".sql.gz")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    text = gzip.decompress(saved.read_bytes()).decode()
    assert text.startswith("-- Folionaut dump") and marker in text
    assert "INSERT INTO folionaut_admin_sessions" not in text

    # The page's restore command, as shown, with the server running: the item deleted since comes back.
    shown = page.locator("pre").filter(has_text="folionaut restore").inner_text().split()
    assert shown[:2] == ["folionaut", "restore"]
    item = served.sql("SELECT id FROM content WHERE slug = ?", (marker,))[0][0]
    assert served.admin("DELETE", f"/api/v1/admin/content/{item}?hard=true")[0] in (200, 204)
    command = [sys.executable, "-m", "folionaut", *shown[1:-1], str(saved)]
    env = {**os.environ, "FOLIONAUT_DATA_DIR": str(served.database.parent)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for _ in range(50):  # the server notices another process's write within about a second
        if served.admin("GET", f"/api/v1/admin/content/{item}")[0] == 200:
            break
        time.sleep(0.1)
    assert served.admin("GET", f"/api/v1/admin/content/{item}")[0] == 200
