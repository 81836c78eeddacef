"""The owner's whole round trip in the browser: sign in → create → edit → a conflicting edit →
history diff → restore → delete → restore from the trash → sign out; and the keyboard-only path."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import App
from tests.conftest import ADMIN_KEY


def item_id_of(app: App) -> str:
    match = re.search(r"#/content/(content_[\w-]+)", app.page.url)
    assert match, app.page.url
    return match.group(1)


def test_sign_in_create_edit_conflict_history_restore_delete_untrash_sign_out(app: App) -> None:
    page, served = app.page, app.served
    title = f"Flow rover {uuid.uuid4().hex[:6]}"

    app.open()
    app.heading("Sign in")
    app.shot("sign-in")
    app.watch.expect(401)  # a wrong key first: the message sits next to the field
    page.get_by_label("Admin key").fill("not-the-key-" + "x" * 30)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".field-error")).to_have_text("Wrong admin key or token")
    expect(page.get_by_label("Admin key")).to_have_attribute("aria-invalid", "true")
    app.sign_in()
    app.heading("Overview")

    # Create: the form's fields and the raw JSON become one data object.
    page.get_by_role("link", name="New item").click()
    app.heading("New item")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Type").fill("project")
    page.get_by_label("Summary").fill("First words")
    page.get_by_label("Tags").fill("rust, rover")
    page.get_by_label("Other data (JSON)").fill('{"year": 2024, "links": {"repo": "https://example.com/r"}}')
    page.get_by_role("button", name="Create").click()
    app.heading(title)
    item_id = item_id_of(app)
    status, body = served.admin("GET", f"/api/v1/admin/content/{item_id}")
    assert status == 200 and body["data"]["version"] == 1 and body["data"]["status"] == "draft"
    assert body["data"]["data"] == {"title": title, "summary": "First words", "tags": ["rust", "rover"],
                                    "year": 2024, "links": {"repo": "https://example.com/r"}}

    # The API's validation errors land next to their inputs.
    app.watch.expect(400)
    page.get_by_label("Slug").fill("Not A Slug!")
    page.get_by_role("button", name="Save").click()
    slug_error = page.locator('[data-field="slug"] .field-error')
    expect(slug_error).to_contain_text("lowercase letters, digits and hyphens")
    expect(page.get_by_label("Slug")).to_be_focused()
    page.get_by_label("Slug").fill("")

    # Edit and publish.
    page.get_by_label("Summary").fill("Second words")
    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save").click()
    app.announced("Saved: version 2.")
    expect(slug_error).to_be_hidden()
    assert served.admin("GET", f"/api/v1/admin/content/{item_id}")[1]["data"]["status"] == "published"

    # Someone else saves meanwhile (an MCP client, another tab): our save is a conflict.
    status, _ = served.admin("PUT", f"/api/v1/admin/content/{item_id}",
                             {"data": {"title": title, "summary": "Changed elsewhere"}, "version": 2})
    assert status == 200
    page.get_by_label("Summary").fill("My own edit")
    app.watch.expect(409)
    page.get_by_role("button", name="Save").click()
    conflict = page.locator(".conflict")
    expect(conflict).to_contain_text("Someone else saved this item meanwhile")
    expect(conflict).to_contain_text("it is now at version 3")
    page.get_by_role("button", name="Compare").click()
    diff = conflict.locator(".diff-table")
    expect(diff.locator("td.del", has_text="Changed elsewhere")).to_be_visible()
    expect(diff.locator("td.add", has_text="My own edit")).to_be_visible()
    app.shot("conflict")
    page.get_by_role("button", name="Reload their version").click()
    expect(page.get_by_label("Summary")).to_have_value("Changed elsewhere")
    expect(page.get_by_label("Tags")).to_have_value("")  # their version has no tags
    assert served.admin("GET", f"/api/v1/admin/content/{item_id}")[1]["data"]["version"] == 3

    # History: any two versions side by side, then one click restores the first.
    page.get_by_role("link", name="History").click()
    app.heading(f"History of “{title}”")
    expect(page.locator("table.history tbody tr")).to_have_count(3)
    page.get_by_label("Compare from version 1").check()
    page.get_by_label("Compare to version 3").check()
    expect(page.get_by_role("heading", name="Version 1 → version 3")).to_be_visible()
    diff = page.locator(".diff-area .diff-table")
    expect(diff.locator("td.del", has_text="First words")).to_be_visible()
    expect(diff.locator("td.add", has_text="Changed elsewhere")).to_be_visible()
    expect(diff.locator("td.del", has_text='"rust"')).to_be_visible()
    assert "#/content/" in page.url and "from=1&to=3" in page.url
    app.shot("history")
    page.get_by_role("button", name="Restore version 1").click()
    app.announced("Restored version 1 as version 4.")
    expect(page.locator("table.history tbody tr")).to_have_count(4)
    restored = served.admin("GET", f"/api/v1/admin/content/{item_id}")[1]["data"]
    assert restored["version"] == 4 and restored["data"]["summary"] == "First words"
    assert restored["data"]["tags"] == ["rust", "rover"]

    # Delete (to the trash), then bring it back from there.
    page.get_by_role("link", name="Edit").click()
    app.heading(title)
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Move to the trash?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    dialog.get_by_role("button", name="Move to trash").click()
    app.heading("Trash")
    row = page.locator("tr", has_text=title)
    expect(row).to_be_visible()
    app.shot("trash")
    assert served.admin("GET", f"/api/v1/admin/content/{item_id}")[1]["data"]["deletedAt"] is not None
    row.get_by_role("button", name=f"Restore {title}").click()
    app.announced(f"Restored “{title}”.")
    expect(row).to_be_hidden()
    back = served.admin("GET", f"/api/v1/admin/content/{item_id}")[1]["data"]
    assert back["deletedAt"] is None and back["data"]["summary"] == "First words"

    # Sign out: the cookie is gone and the session with it.
    page.get_by_role("button", name="Sign out").click()
    app.heading("Sign in")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    assert not [cookie for cookie in page.context.cookies() if cookie["name"] == "folionaut_session"]
    page.reload()
    app.heading("Sign in")


def test_delete_forever_asks_first(app: App) -> None:
    page, served = app.page, app.served
    title = f"Doomed {uuid.uuid4().hex[:6]}"
    item = served.create(type="note", data={"title": title})
    assert served.admin("DELETE", f"/api/v1/admin/content/{item['id']}")[0] == 200
    app.open(f"#/trash?type=note&q={item['slug']}")
    app.sign_in()
    app.heading("Trash")
    row = page.locator("tr", has_text=title)
    row.get_by_role("button", name=f"Delete {title} forever").click()
    dialog = page.get_by_role("dialog", name="Delete forever?")
    expect(dialog).to_contain_text("cannot be undone")
    page.keyboard.press("Escape")  # changed my mind
    expect(dialog).to_be_hidden()
    assert served.admin("GET", f"/api/v1/admin/content/{item['id']}")[0] == 200
    row.get_by_role("button", name=f"Delete {title} forever").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete forever").click()
    app.announced(f"Deleted “{title}” forever.")
    expect(row).to_be_hidden()
    assert served.admin("GET", f"/api/v1/admin/content/{item['id']}")[0] == 404


def test_the_keyboard_alone_signs_in_finds_edits_and_saves(app: App) -> None:
    page, served = app.page, app.served
    word = f"kbd{uuid.uuid4().hex[:8]}"
    item = served.create(type="note", data={"title": f"Keyboard {word}"})
    app.open()
    app.heading("Sign in")
    expect(page.get_by_label("Admin key")).to_be_focused()
    page.keyboard.type(ADMIN_KEY)
    page.keyboard.press("Enter")
    app.heading("Overview")
    page.keyboard.press("Control+k")  # straight to the content search
    app.heading("Content")
    expect(page.get_by_label("Search")).to_be_focused()
    page.keyboard.type(word)
    expect(page.locator("#list-summary")).to_have_text("Showing 1–1 of 1 item")
    link = page.get_by_role("link", name=f"Keyboard {word}")
    for _ in range(20):  # Tab through the filters to the result
        page.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            break
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    app.heading(f"Keyboard {word}")
    page.get_by_label("Summary").focus()
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Control+s")
    app.announced("Saved: version 2.")
    assert served.admin("GET", f"/api/v1/admin/content/{item['id']}")[1]["data"]["data"]["summary"] == \
        "Typed without a mouse"


def test_signing_in_again_in_another_tab_does_not_break_this_one(app: App) -> None:
    """A new sign-in replaces the cookie (and the CSRF token that goes with it): the first tab's next
    save learns the new token and goes through."""
    page, served = app.page, app.served
    item = served.create(type="note", data={"title": f"Two tabs {uuid.uuid4().hex[:6]}"})
    app.open(f"#/content/{item['id']}")
    app.sign_in()
    app.heading(item["data"]["title"])
    other_tab = page.context.new_page()
    other_tab.goto(f"{served.url}/admin")
    other_tab.get_by_role("button", name="Sign out").click()
    other_tab.get_by_label("Admin key").fill(ADMIN_KEY)
    other_tab.get_by_role("button", name="Sign in").click()
    other_tab.locator("#nav").wait_for()
    other_tab.close()

    app.watch.expect(403)  # the first tab's token belongs to the ended session: refused once…
    page.get_by_label("Summary").fill("Saved from the first tab")
    page.get_by_role("button", name="Save").click()
    app.announced("Saved: version 2.")  # …then sent again with the cookie's current token
    saved = served.admin("GET", f"/api/v1/admin/content/{item['id']}")[1]["data"]
    assert saved["data"]["summary"] == "Saved from the first tab"
