"""The pages and their assets: served from the package, cached with ETags, under a strict CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest

from folionaut.http.routes.admin_ui import static_assets
from folionaut.settings import Settings

#: What a page's Content-Security-Policy must say (and must not).
REQUIRED_CSP = ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                "base-uri 'none'", "connect-src 'self'")


def csp_directives(header: str) -> set[str]:
    return {directive.strip() for directive in header.split(";")}


@pytest.mark.parametrize("path", ["/admin", "/docs", "/static/admin.js", "/static/folionaut.css"])
async def test_pages_have_a_strict_csp_and_are_never_framed(client: Any, path: str) -> None:
    response = await client.get(path)
    assert response.status == 200
    csp = response.headers["Content-Security-Policy"]
    assert set(REQUIRED_CSP) <= csp_directives(csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_the_api_keeps_its_own_closed_csp(client: Any) -> None:
    response = await client.get("/api/health/live")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'; frame-ancestors 'none'")
    assert "script-src" not in (await client.get("/api/v1/content")).headers["Content-Security-Policy"]


async def test_assets_are_revalidated_with_etags(client: Any) -> None:
    first = await client.get("/static/admin.js")
    assert first.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert first.headers["Cache-Control"] == "no-cache"
    etag = first.headers["ETag"]
    again = await client.get("/static/admin.js", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b"" and again.headers["ETag"] == etag
    changed = await client.get("/static/admin.js", headers={"If-None-Match": '"something-else"'})
    assert changed.status == 200
    page = await client.get("/admin", headers={"If-None-Match": (await client.get("/admin")).headers["ETag"]})
    assert page.status == 304


async def test_unknown_assets_are_404_and_paths_cannot_escape(client: Any) -> None:
    for path in ("/static/nope.js", "/static/admin.html", "/static/..%2Fauth.py", "/static/%2e%2e%2fapp.py"):
        response = await client.get(path)
        assert response.status == 404, path
        assert (await response.json())["error"]["code"] == "NOT_FOUND"


async def test_admin_slash_redirects(client: Any) -> None:
    response = await client.get("/admin/", allow_redirects=False)
    assert response.status == 308 and response.headers["Location"] == "/admin"


def test_every_asset_a_page_or_module_names_is_in_the_package() -> None:
    """No 404 in the browser: every src/href in the shells and every module import exists."""
    assets = static_assets()
    missing: list[str] = []
    for name, asset in assets.items():
        text = asset.body.decode()
        if name.endswith(".html"):
            missing += [f"{name} → {ref}" for ref in re.findall(r'(?:src|href)="/static/([^"]+)"', text)
                        if ref not in assets]
            assert "<script>" not in text and "style=" not in text, f"{name}: inline script or style"
        if name.endswith(".js"):
            missing += [f"{name} → {ref}" for ref in re.findall(r"from '\./([^']+)'", text) if ref not in assets]
            assert ".innerHTML" not in text and "eval(" not in text, name  # text nodes only: no markup injection
    assert not missing
    assert {"admin.html", "docs.html", "admin.js", "docs.js", "favicon.svg", "folionaut.css"} <= set(assets)


async def test_docs_is_served_without_the_admin_api(make_client: Any, settings: Settings) -> None:
    client = await make_client(settings.replace(feature_admin_api=False))
    assert (await client.get("/docs")).status == 200
    assert (await client.get("/admin")).status == 404
