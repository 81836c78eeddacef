"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the routes this app serves."""

from __future__ import annotations

from aiohttp import web

from folionaut import __version__
from folionaut.core import jsonutil
from folionaut.http.openapi_spec import build_document, registered_routes
from folionaut.http.responses import JSON_HEADERS

# Rendered once, on the first request (the router is frozen by then), then served as bytes.
_RENDERED = web.AppKey("openapi_rendered", dict[str, bytes])


async def openapi_document(request: web.Request) -> web.Response:
    rendered = request.app[_RENDERED]
    body = rendered.get("body")
    if body is None:
        body = rendered["body"] = jsonutil.dumps(build_document(registered_routes(request.app), __version__))
    return web.Response(body=body, headers={**JSON_HEADERS, "Cache-Control": "public, max-age=300"})


def register(app: web.Application) -> None:
    app[_RENDERED] = {}
    app.router.add_get("/api/openapi.json", openapi_document)
