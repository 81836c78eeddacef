"""The session cookie in a real browser: CSRF refusals from another origin and without the token,
SameSite=Strict keeping it from other sites, and expiry seen by the page."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import App


@pytest.fixture
def other_origin() -> Iterator[int]:
    """A page server on another port of 127.0.0.1: another origin, but the same site (ports don't count)."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>elsewhere</title><p>another origin"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


FORGE = """async ([url, title]) => {
  // What a hostile page can send without a preflight: a "simple" POST, with the browser's cookies.
  // (The answer is then withheld from it by Cross-Origin-Resource-Policy; the request went out.)
  try {
    await fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include',
                      headers: {'Content-Type': 'text/plain'},
                      body: JSON.stringify({type: 'note', data: {title}})});
  } catch {
    // "Failed to fetch": expected
  }
}"""


def titles(app: App, title: str) -> list[tuple[str]]:
    return app.served.sql("SELECT id FROM content WHERE json_extract(data, '$.title') = ?", (title,))


def test_a_page_on_another_origin_cannot_write_with_the_cookie(app: App, other_origin: int) -> None:
    page, served = app.page, app.served
    app.open()
    app.sign_in()
    app.heading("Overview")
    before = len(served.process.stderr_lines)

    forged = f"Forged {uuid.uuid4().hex[:6]}"
    elsewhere = page.context.new_page()
    elsewhere.goto(f"http://127.0.0.1:{other_origin}/")  # same site: the Strict cookie does go along
    elsewhere.evaluate(FORGE, [f"{served.url}/api/v1/admin/content", forged])
    elsewhere.goto(f"http://localhost:{other_origin}/")  # another site: the cookie stays home
    elsewhere.evaluate(FORGE, [f"{served.url}/api/v1/admin/content", forged])
    elsewhere.close()

    assert titles(app, forged) == []
    refusals = ("admin request refused: Origin is missing or not this server's",  # the cookie came, refused
                "admin request refused (401 UNAUTHORIZED): no credentials")  # no cookie from another site
    # The browser may have its answer before the server's log line reaches the reader thread: wait, bounded.
    deadline = time.monotonic() + 10
    while not all(line in (log := "\n".join(served.process.stderr_lines[before:])) for line in refusals):
        assert time.monotonic() < deadline, f"not logged: {[line for line in refusals if line not in log]}\n{log}"
        time.sleep(0.02)


def test_the_cookie_alone_is_not_enough_to_write(app: App) -> None:
    page = app.page
    app.open()
    app.sign_in()
    app.heading("Overview")
    title = f"No token {uuid.uuid4().hex[:6]}"
    app.watch.expect(403)
    status = page.evaluate("""async (title) => (await fetch('/api/v1/admin/content', {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({type: 'note', data: {title}})})).status""", title)
    assert status == 403 and titles(app, title) == []
    with_token = page.evaluate("""async (title) => {
        const session = (await (await fetch('/api/v1/admin/session')).json()).data;
        return (await fetch('/api/v1/admin/content', {method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': session.csrfToken},
            body: JSON.stringify({type: 'note', data: {title}})})).status;
    }""", title)
    assert with_token == 201 and len(titles(app, title)) == 1
    cookie = next(cookie for cookie in page.context.cookies() if cookie["name"] == "folionaut_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert page.evaluate("document.cookie") == ""  # no script can read it


def test_an_expired_session_sends_the_page_back_to_sign_in(app: App) -> None:
    page, served = app.page, app.served
    app.open("#/overview")
    app.sign_in()
    app.heading("Overview")
    # The server's clock says the session is over (as 12 hours later would).
    served.sql("UPDATE folionaut_admin_sessions SET expires_at = '2000-01-01T00:00:00.000Z'")
    app.watch.allow(401)  # each request the screen makes is refused
    page.get_by_role("link", name="Content", exact=True).click()
    app.heading("Sign in")
    expect(page.get_by_text("Your session has ended. Sign in again")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    app.sign_in()  # and carries on where it was
    app.heading("Content")
    assert page.url.endswith("#/content")


def test_a_write_token_signs_in_edits_and_is_kept_from_backups(app: App) -> None:
    page, served = app.page, app.served
    name = f"editor-{uuid.uuid4().hex[:6]}"
    status, created = served.admin("POST", "/api/v1/admin/tokens", {"name": name, "scope": "write"})
    assert status == 201, created
    item = served.create(type="note", data={"title": f"Token edit {name}"})
    app.open(f"#/content/{item['id']}")
    page.get_by_label("Admin key or write token").fill(created["data"]["token"])
    page.get_by_role("button", name="Sign in").click()
    app.heading(item["data"]["title"])
    page.get_by_label("Summary").fill("Edited with a token")
    page.get_by_role("button", name="Save").click()
    app.announced("Saved: version 2.")
    status, history = served.admin("GET", f"/api/v1/admin/content/{item['id']}/history")
    assert history["data"][0]["changedBy"] == f"token:{name}"
    page.get_by_role("link", name="Backups").click()
    app.heading("Backups")
    expect(page.get_by_text("Downloading a backup needs the admin key")).to_be_visible()
    expect(page.get_by_role("link", name="Download .sql.gz")).to_have_count(0)
    served.admin("DELETE", f"/api/v1/admin/tokens/{name}")  # revoked: the session ends with it
    app.watch.allow(401)
    page.get_by_role("link", name="Overview").click()
    app.heading("Sign in")
