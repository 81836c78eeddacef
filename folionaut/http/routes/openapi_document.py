"""``GET /api/openapi.json``: the OpenAPI 3.1 document of the routes this app serves."""

from __future__ import annotations

from aiohttp import web

from folionaut.http import openapi as oa
from folionaut.http.responses import JSON_HEADERS
from folionaut.http.routing import Access, Route
from folionaut.http.state import HTTP

__all__ = ["ROUTES"]


async def openapi_document(request: web.Request) -> web.Response:
    body = request.app[HTTP].openapi_body
    assert body is not None, "rendered when the app starts"
    return web.Response(body=body, headers={**JSON_HEADERS, "Cache-Control": "public, max-age=300"})


ROUTES = (
    Route("GET", "/api/openapi.json", openapi_document, Access.PUBLIC, operation={
        "tags": ["operations"], "summary": "This OpenAPI 3.1 document", "operationId": "openapi",
        "responses": {"200": oa.json_content({"type": "object"}, "OpenAPI 3.1 document")},
    }),
)
