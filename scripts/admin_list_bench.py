#!/usr/bin/env python3
"""How long the admin web app's content list takes to show 1,000 items, in a real browser.

    flock /tmp/folionaut-bench.lock .venv/bin/python scripts/admin_list_bench.py [--items 1000] [--runs 5]

Starts ``folionaut serve`` on a fresh data directory, creates the items through the
admin API (1–3 KB of data each, 8 types), and drives Debian's chromium (headless,
through Playwright) the way the owner would. Per run, on a fresh browser context:

- cold: open ``/admin#/content?size=100`` (HTML, modules, session check, first page)
  until the summary reads "Showing 1–100 of 1,000 items";
- page: one click on Next until the next hundred rows are on the screen;
- all: every item shown once, i.e. the first page and Next until the last one;
- search: from typing one word (250 ms of that is the search box's debounce) until
  the matching rows are shown.

Times are taken inside the page (``performance.now()``): from navigation start, the
click, or the keystroke, to the animation frame after the list's summary line
changed to the expected text (the rows are written in the same task), so
Playwright's polling does not blur them. Prints a Markdown report for
docs/benchmarks.md: median and slowest of the runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from folionaut.settings import SETTINGS  # noqa: E402
from tests.helpers.served import ServerProcess  # noqa: E402

KEY = "bench-admin-key-0123456789abcdefghijklmnop"
TYPES = ("project", "post", "skill", "talk", "job", "award", "note", "link")
PAGE = 100
#: Installed before the app's own scripts: when each summary text appeared, and when the owner acted.
TIMING = """
window.__marks = []; window.__acts = [];
addEventListener('click', () => __acts.push(performance.now()), true);
addEventListener('input', () => __acts.push(performance.now()), true);
new MutationObserver(() => {
  const summary = document.getElementById('list-summary');
  const text = summary && summary.textContent;
  if (text && text !== window.__lastSummary) {
    window.__lastSummary = text;
    requestAnimationFrame(() => __marks.push([text, performance.now()]));
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def seed(server: ServerProcess, items: int) -> None:
    for number in range(items):
        body = {
            "type": TYPES[number % len(TYPES)],
            "status": ("published", "draft", "archived")[number % 3],
            "data": {"title": f"Item {number:05d}", "summary": f"Summary of item {number} " * 4,
                     "body": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * (16 + number % 32)),
                     "tags": ["alpha", "beta", f"tag{number % 50}"], "marker": "needle" if number == 777 else "hay"},
        }
        status, _, answer = server.request("POST", "/api/v1/admin/content", body, headers={"X-Admin-Key": KEY})
        if status != 201:
            raise RuntimeError(f"seeding failed: {status} {answer}")


def shown_at(page: Page, text: str) -> float:
    """When (ms, page clock) the summary first read ``text`` (its frame may still be pending)."""
    page.wait_for_function("(text) => __marks.some(([t]) => t === text)", arg=text)
    return float(page.evaluate("(text) => __marks.find(([t]) => t === text)[1]", text))


def last_act(page: Page) -> float:
    return float(page.evaluate("__acts[__acts.length - 1]"))


def one_run(browser: Browser, base: str, items: int) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(TIMING)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{base}/admin")
    page.get_by_label("Admin key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#nav").wait_for()
    page.goto("about:blank")  # the session cookie stays; the app and its modules load anew below

    summary = page.locator("#list-summary")
    rows = page.locator("table.items tbody tr")
    total = f"{items:,}"
    page.goto(f"{base}/admin#/content?size={PAGE}")
    first = f"Showing 1–{min(PAGE, items)} of {total} items"
    expect(summary).to_have_text(first)
    expect(rows).to_have_count(min(PAGE, items))
    cold = shown_at(page, first)  # page clock starts at navigation

    page_times = []
    shown = min(PAGE, items)
    while shown < items:
        page.get_by_role("button", name="Next →").click()
        last = min(shown + PAGE, items)
        text = f"Showing {shown + 1:,}–{last:,} of {total} items"
        expect(summary).to_have_text(text)
        page_times.append(shown_at(page, text) - last_act(page))
        shown = last

    page.get_by_label("Search").fill("needle")
    expect(summary).to_have_text("Showing 1–1 of 1 item")
    search = shown_at(page, "Showing 1–1 of 1 item") - last_act(page)
    context.close()
    return {"cold": cold / 1000, "page": statistics.median(page_times) / 1000 if page_times else 0.0,
            "all": (cold + sum(page_times)) / 1000, "search": search / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    names = {var for spec in SETTINGS for var in spec.env} | {"FOLIONAUT_CONFIG"}
    env = {key: value for key, value in os.environ.items() if key not in names}
    with tempfile.TemporaryDirectory(prefix="folionaut-list-bench-") as home:
        env.update(ADMIN_API_KEY=KEY, FOLIONAUT_DATA_DIR=str(Path(home) / "data"), FEATURE_RATE_LIMITING="false")
        with ServerProcess([sys.executable, "-m", "folionaut", "serve", "--port", "0"], cwd=Path(home),
                           env=env) as server:
            server.wait_live(timeout=60)
            seeding = time.perf_counter()
            seed(server, args.items)
            seeding = time.perf_counter() - seeding
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                one_run(browser, server.base_url, args.items)  # warm-up: the OS and SQLite caches
                runs = [one_run(browser, server.base_url, args.items) for _ in range(args.runs)]
                version = browser.version
                browser.close()
            server.stop()

    def cell(key: str) -> str:
        values = [run[key] * 1000 for run in runs]
        return f"{statistics.median(values):.0f} ms (slowest {max(values):.0f} ms)"

    print(f"Content list with {args.items:,} items ({args.runs} runs after a warm-up; chromium {version}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores; seeding took {seeding:.1f} s)\n")
    print("| what | median (slowest) |")
    print("|---|---|")
    print(f"| open the list cold, first {PAGE} rows shown | {cell('cold')} |")
    print(f"| Next: the following {PAGE} rows shown | {cell('page')} |")
    print(f"| all {args.items:,} items shown, page by page | {cell('all')} |")
    print(f"| search one word (incl. 250 ms debounce) | {cell('search')} |")


if __name__ == "__main__":
    main()
