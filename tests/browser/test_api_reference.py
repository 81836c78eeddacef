"""/docs: the API reference rendered from the served OpenAPI document, in the browser, with nothing
fetched from anywhere but this server."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import App

METHODS = ("get", "post", "put", "patch", "delete")


def card_of(page: Page, method: str, path: str) -> Locator:
    exact_path = page.locator("code.path", has_text=re.compile(f"^{re.escape(path)}$"))
    return page.locator("article.operation").filter(has=exact_path).filter(has=page.locator(f".method-{method}"))


def test_docs_render_every_operation_from_the_served_document(app: App) -> None:
    page, served = app.page, app.served
    status, _, document = served.process.request("GET", "/api/openapi.json")
    assert status == 200
    operations = [(method, path, operation) for path, item in document["paths"].items()
                  for method, operation in item.items() if method in METHODS]
    assert len(operations) > 25

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{served.url}/docs")
    cards = page.locator("article.operation")
    expect(cards).to_have_count(len(operations))
    for method, path, operation in operations:
        card = card_of(page, method, path)
        expect(card).to_have_count(1)
        expect(card).to_contain_text(operation["summary"])
        expect(card).to_contain_text(f"operationId: {operation['operationId']}")
    schemas = page.locator("article.schema-card")
    expect(schemas).to_have_count(len(document["components"]["schemas"]))
    expect(page.locator("h1")).to_have_text(f"{document['info']['title']} {document['info']['version']}")
    assert all(url.startswith(served.url) for url in requested), requested  # no CDN, no font service

    # Credentials are explained, and the session cookie is among them.
    put_item = card_of(page, "put", "/api/v1/admin/content/{id}")
    expect(put_item).to_contain_text("Credentials, any of: AdminKey (X-Admin-Key header), "
                                     "Bearer (bearer http, scope write), AdminSession (folionaut_session cookie, "
                                     "scope write)")
    expect(put_item.locator("table.params")).to_contain_text("If-Match")

    # The filter narrows the list as one types.
    page.get_by_label("Filter operations").fill("history")
    expect(cards.locator("visible=true")).to_have_count(
        sum("history" in f"{method} {path} {op['summary']} {op['operationId']}".lower()
            for method, path, op in operations))
    app.shot("docs-filtered")
