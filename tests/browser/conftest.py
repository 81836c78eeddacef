"""The admin web app in a real browser: Debian's chromium driven by Playwright, against a real
``folionaut serve``.

One browser and one server for the whole session (starting chromium costs about a second); each
test gets its own browser context (its own cookies) and its own items. Every page is watched: a
console error or warning, an uncaught exception, a failed request or an error response fails the
test, unless the test said beforehand that it provokes exactly that (``watch.expect(409)``).

Screenshots of every screen go to ``$FOLIONAUT_SCREENSHOTS`` (default: ``screenshots`` in pytest's
temporary directory), named ``<width>-<screen>.png``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from folionaut.settings import SETTINGS
from tests.conftest import ADMIN_KEY
from tests.helpers.served import ServerProcess

#: Debian's chromium (installed by .ci/run); Playwright never downloads a browser here.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
#: Playwright's waits, in milliseconds: generous for a loaded 2-core machine, still bounded.
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Served:
    """The server under test: its URL, its database file, and JSON requests with the admin key."""

    process: ServerProcess
    database: Path

    @property
    def url(self) -> str:
        return self.process.base_url

    def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, _, answer = self.process.request(method, path, body, headers={"X-Admin-Key": ADMIN_KEY})
        return status, answer

    def create(self, **item: Any) -> dict[str, Any]:
        status, answer = self.admin("POST", "/api/v1/admin/content", item)
        assert status == 201, answer
        return answer["data"]

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.database, timeout=10)) as db, db:
            return db.execute(statement, params).fetchall()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("browser-server")
    names = {var for spec in SETTINGS for var in spec.env} | {"FOLIONAUT_CONFIG"}
    env = {key: value for key, value in os.environ.items() if key not in names}
    # Sign-in rate limits are tested over HTTP (tests/admin_ui); here every test signs in.
    env.update(ADMIN_API_KEY=ADMIN_KEY, FOLIONAUT_DATA_DIR=str(home / "data"), FEATURE_RATE_LIMITING="false",
               FOLIONAUT_ENV="test")
    process = ServerProcess([sys.executable, "-m", "folionaut", "serve", "--port", "0"], cwd=home, env=env)
    with process:
        process.wait_live(timeout=60)
        yield Served(process, home / "data" / "folionaut.db")
        assert process.stop() == 0, process.stderr


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"chromium is not installed at {CHROMIUM} (.ci/run installs Debian's chromium)")
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
    yield launched
    launched.close()


@dataclass
class Watch:
    """What went wrong on a page, as a user with the developer tools open would see it."""

    problems: list[str] = field(default_factory=list)
    #: Error responses the test provokes on purpose, each expected once.
    expected_statuses: list[int] = field(default_factory=list)
    #: Error responses the test provokes on purpose, however many the page makes.
    allowed_statuses: set[int] = field(default_factory=set)
    #: Their console lines ("Failed to load resource: … status of 409") may come before or after them.
    provoked: set[int] = field(default_factory=set)

    def expect(self, status: int) -> None:
        """The next response with this status (and its console line) is the point of the test."""
        self.expected_statuses.append(status)
        self.provoked.add(status)

    def allow(self, status: int) -> None:
        """From now on, responses with this status (one or several) are what the test provokes."""
        self.allowed_statuses.add(status)
        self.provoked.add(status)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type not in ("error", "warning"):
            return
        if any(f"status of {status} " in message.text for status in self.provoked):
            return
        self.problems.append(f"console {message.type}: {message.text} ({message.location.get('url')})")

    def on_response(self, response: Response) -> None:
        if response.status < 400:
            return
        if response.status in self.expected_statuses:
            self.expected_statuses.remove(response.status)
            return
        if response.status in self.allowed_statuses:
            return
        self.problems.append(f"{response.status} for {response.request.method} {response.url}")

    def on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)
        assert not self.expected_statuses, f"provoked responses that never came: {self.expected_statuses}"


@dataclass
class App:
    """A page of the admin web app in a fresh browser context, watched."""

    page: Page
    watch: Watch
    served: Served
    shots: Path
    width: int

    def open(self, route: str = "") -> None:
        self.page.goto(f"{self.served.url}/admin{route}")

    def sign_in(self) -> None:
        page = self.page
        page.get_by_label("Admin key").fill(ADMIN_KEY)
        page.get_by_role("button", name="Sign in").click()
        page.locator("#nav").wait_for()

    def heading(self, name: str) -> None:
        self.page.get_by_role("heading", level=1, name=name).wait_for()

    def announced(self, text: str) -> None:
        self.page.locator("#status-line", has_text=text).wait_for()

    def shot(self, screen: str) -> Path:
        path = self.shots / f"{self.width}-{screen}.png"
        self.page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("FOLIONAUT_SCREENSHOTS", "").strip()
    folder = Path(configured) if configured else tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_app(browser: Browser, served: Served, screenshots: Path, viewport: dict[str, int]) -> Iterator[App]:
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watch()
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.problems.append(f"uncaught exception: {error}"))
    page.on("response", watch.on_response)
    page.on("requestfailed", watch.on_request_failed)
    try:
        yield App(page, watch, served, screenshots, viewport["width"])
    finally:
        context.close()
    watch.assert_clean()


@pytest.fixture
def app(browser: Browser, served: Served, screenshots: Path) -> Iterator[App]:
    """The admin web app on a desktop-sized window, signed out."""
    yield from _open_app(browser, served, screenshots, DESKTOP)


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def any_app(request: pytest.FixtureRequest, browser: Browser, served: Served, screenshots: Path) -> Iterator[App]:
    """The admin web app at 1280 px and at 360 px."""
    yield from _open_app(browser, served, screenshots, request.param)


Shot = Callable[[str], Path]
