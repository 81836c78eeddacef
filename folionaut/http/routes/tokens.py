"""API token management, ``/api/v1/admin/tokens``: the admin key only (ROOT).

Creating answers the token itself once (``Cache-Control: no-store``); it is
not idempotent on purpose, so the secret is never written to the idempotency
records. Revoking is by name and takes effect on every instance at once.
"""

from __future__ import annotations

from aiohttp import web

from folionaut.access.service import NAME_RULE, TokenService, is_token_name, parse_token_request
from folionaut.core.errors import ValidationError
from folionaut.http import openapi as oa
from folionaut.http.responses import data_response, read_json, success_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME

__all__ = ["ROUTES"]

_NO_STORE = {"Cache-Control": "no-store"}


def _tokens(request: web.Request) -> TokenService:
    return request.app[RUNTIME].tokens


async def list_tokens(request: web.Request) -> web.Response:
    service = _tokens(request)
    now = service.now_iso()
    return data_response([token.to_wire(now) for token in await service.list()], headers=_NO_STORE)


async def create_token(request: web.Request) -> web.Response:
    service = _tokens(request)
    token, secret = await service.create(parse_token_request(await read_json(request)))
    return data_response({**token.to_wire(service.now_iso()), "token": secret}, status=201, headers=_NO_STORE)


async def revoke_token(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if not is_token_name(name):
        raise ValidationError.single("name", NAME_RULE)
    await _tokens(request).revoke(name)
    return success_response()


_ADMIN = ("feature_admin_api",)
_TOKEN = oa.data(oa.schema("ApiToken"))

ROUTES = (
    Route("GET", "/api/v1/admin/tokens", list_tokens, Access.ROOT, features=_ADMIN, operation={
        "tags": ["tokens"], "summary": "API tokens (never their secrets)", "operationId": "adminListTokens",
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("ApiToken")))), **oa.errors(401)},
    }),
    Route("POST", "/api/v1/admin/tokens", create_token, Access.ROOT, features=_ADMIN, operation={
        "tags": ["tokens"], "summary": "Create an API token; the answer holds the token, shown this once",
        "operationId": "adminCreateToken",
        "requestBody": oa.body(oa.schema("ApiTokenCreate")),
        "responses": {"201": oa.json_content(oa.data(oa.schema("ApiTokenCreated")), "Created"),
                      **oa.errors(400, 401, 409, 413)},
    }),
    Route("DELETE", "/api/v1/admin/tokens/{name}", revoke_token, Access.ROOT, features=_ADMIN, operation={
        "tags": ["tokens"], "summary": "Revoke a token: refused by every instance from the next request on",
        "operationId": "adminRevokeToken",
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": oa.TOKEN_NAME_SCHEMA}],
        "responses": {"200": oa.json_content(oa.schema("Success")), **oa.errors(400, 401, 404)},
    }),
)
