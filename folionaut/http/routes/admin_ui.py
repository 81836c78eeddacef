"""The browser side: the admin web app (``/admin``), the API reference (``/docs``) and their assets.

Everything is inside the package (``folionaut/http/static/``): two HTML shells
and small vanilla ES modules that call the JSON API, a style sheet and an icon.
No build step, no CDN, nothing fetched from anywhere else at run time. The files
are read once, each with a strong ``ETag`` (a hash of its bytes); browsers keep
them and revalidate (``Cache-Control: no-cache`` → ``304``), so a new release
is picked up at the next load. Pages carry their own security headers
(``PAGE_SECURITY_HEADERS``: a CSP allowing scripts, styles and fetches from this
origin only, no inline script or style, never framed).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from aiohttp import web

from folionaut.core.errors import NotFoundError
from folionaut.http import openapi as oa
from folionaut.http.etag import none_match
from folionaut.http.routing import Access, Route

__all__ = ["ROUTES", "Asset", "static_assets"]

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_REVALIDATE = "no-cache"  # keep, but ask each time: a new release shows at the next load


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@functools.cache
def static_assets() -> dict[str, Asset]:
    """Every file of ``folionaut/http/static``, read once (a few dozen KiB), at the first request."""
    from importlib import resources

    assets: dict[str, Asset] = {}
    for entry in resources.files("folionaut.http").joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            body = entry.read_bytes()
            assets[entry.name] = Asset(body, _MEDIA_TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:24]}"')
    return assets


def _serve(request: web.Request, asset: Asset) -> web.Response:
    headers = {"ETag": asset.etag, "Cache-Control": _REVALIDATE}
    if none_match(request.headers.get("If-None-Match"), asset.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=asset.body, headers={**headers, "Content-Type": asset.media_type})


async def admin_page(request: web.Request) -> web.Response:
    return _serve(request, static_assets()["admin.html"])


async def admin_slash(request: web.Request) -> web.Response:
    return web.Response(status=308, headers={"Location": "/admin"})


async def docs_page(request: web.Request) -> web.Response:
    return _serve(request, static_assets()["docs.html"])


async def static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    asset = static_assets().get(name)
    if asset is None or name.endswith(".html"):  # the shells are served at their own paths
        raise NotFoundError(f"No such file: /static/{name}")
    return _serve(request, asset)


_UI = ("feature_admin_api", "feature_admin_ui")


def _page(summary: str, operation_id: str, media_type: str = "text/html") -> dict[str, object]:
    return {
        "tags": ["pages"], "summary": summary, "operationId": operation_id,
        "responses": {"200": {"description": "OK (ETag; send If-None-Match for a 304)",
                              "content": {media_type: {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified"}, **oa.errors(404)},
    }


ROUTES = (
    Route("GET", "/admin", admin_page, Access.PUBLIC, features=_UI, page=True,
          operation=_page("The admin web app (sign in with the admin key)", "adminWebApp")),
    Route("GET", "/admin/", admin_slash, Access.PUBLIC, features=_UI, page=True, operation={
        "tags": ["pages"], "summary": "Redirects to /admin", "operationId": "adminWebAppSlash",
        "responses": {"308": {"description": "Location: /admin"}}}),
    Route("GET", "/docs", docs_page, Access.PUBLIC, page=True,
          operation=_page("This API reference, rendered from /api/openapi.json", "apiReference")),
    Route("GET", "/static/{name}", static_file, Access.PUBLIC, page=True, operation={
        **_page("Scripts, styles and icons of the admin web app and the API reference", "staticAsset", "*/*"),
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
    }),
)
