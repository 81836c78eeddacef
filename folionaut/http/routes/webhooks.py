"""Webhook management, ``/api/v1/admin/webhooks``: changes need the write scope, and so does
reading the webhooks themselves (a build hook's URL is itself a secret: whoever has it can trigger
builds). The delivery log needs only the read scope: it holds times, event types, HTTP statuses and
errors — never a URL, a body or a secret — and is what a dashboard or a CI check with a read token
wants to watch.

Creating answers the signing secret once (``Cache-Control: no-store``). Unlike token creation it
honours Idempotency-Key: a retried create must not leave two webhooks (two builds per change), and
the secret is no more exposed in the idempotency record than it is in the database, which keeps it
to sign with.
"""

from __future__ import annotations

from aiohttp import web

from folionaut.http import openapi as oa
from folionaut.http.params import query_int
from folionaut.http.responses import data_response, read_json, success_response
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME
from folionaut.webhooks.repository import LOG_SIZE
from folionaut.webhooks.schema import check_webhook_id, parse_create, parse_update
from folionaut.webhooks.service import WebhookService

__all__ = ["ROUTES"]

_NO_STORE = {"Cache-Control": "no-store"}


def _webhooks(request: web.Request) -> WebhookService:
    return request.app[RUNTIME].webhooks


def _id(request: web.Request) -> str:
    return check_webhook_id(request.match_info["id"])


async def list_webhooks(request: web.Request) -> web.Response:
    listed = await _webhooks(request).list()
    return data_response([webhook.to_wire(pending) for webhook, pending in listed], headers=_NO_STORE)


async def create_webhook(request: web.Request) -> web.Response:
    webhook, secret = await _webhooks(request).create(parse_create(await read_json(request)))
    return data_response({**webhook.to_wire(), "secret": secret}, status=201, headers=_NO_STORE)


async def get_webhook(request: web.Request) -> web.Response:
    service = _webhooks(request)
    webhook = await service.get(_id(request))
    return data_response(webhook.to_wire(await service.pending(webhook.id)), headers=_NO_STORE)


async def update_webhook(request: web.Request) -> web.Response:
    service = _webhooks(request)
    webhook_id = _id(request)
    webhook = await service.update(webhook_id, parse_update(await read_json(request)))
    return data_response(webhook.to_wire(await service.pending(webhook.id)), headers=_NO_STORE)


async def delete_webhook(request: web.Request) -> web.Response:
    await _webhooks(request).delete(_id(request))
    return success_response()


async def deliveries(request: web.Request) -> web.Response:
    log = await _webhooks(request).deliveries(_id(request), query_int(request, "limit", LOG_SIZE, 1, LOG_SIZE))
    return data_response([attempt.to_wire() for attempt in log])


async def test_webhook(request: web.Request) -> web.Response:
    sent = await _webhooks(request).send_test(_id(request))
    return data_response(sent.to_wire())


_ADMIN = ("feature_admin_api",)
_WEBHOOK = oa.data(oa.schema("Webhook"))
_ID = {"name": "id", "in": "path", "required": True,
       "schema": {"type": "string", "pattern": "^wh_", "maxLength": 100}}

ROUTES = (
    Route("GET", "/api/v1/admin/webhooks", list_webhooks, Access.WRITE, features=_ADMIN, operation={
        "tags": ["webhooks"], "summary": "Webhooks (never their secrets)", "operationId": "adminListWebhooks",
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("Webhook")))), **oa.errors(401)},
    }),
    Route("POST", "/api/v1/admin/webhooks", create_webhook, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["webhooks"], "summary": "Create a webhook; the answer holds its signing secret, shown this once",
        "operationId": "adminCreateWebhook",
        "requestBody": oa.body(oa.schema("WebhookCreate")),
        "responses": {"201": oa.json_content(oa.data(oa.schema("WebhookCreated")), "Created", headers=oa.REPLAYED),
                      **oa.errors(400, 401, 409, 413)},
    }),
    Route("GET", "/api/v1/admin/webhooks/{id}", get_webhook, Access.WRITE, features=_ADMIN, operation={
        "tags": ["webhooks"], "summary": "One webhook", "operationId": "adminGetWebhook",
        "parameters": [_ID],
        "responses": {"200": oa.json_content(_WEBHOOK), **oa.errors(400, 401, 404)},
    }),
    Route("PATCH", "/api/v1/admin/webhooks/{id}", update_webhook, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["webhooks"], "summary": "Change a webhook (active: false drops its pending deliveries)",
        "operationId": "adminUpdateWebhook",
        "parameters": [_ID], "requestBody": oa.body(oa.schema("WebhookUpdate")),
        "responses": {"200": oa.json_content(_WEBHOOK, headers=oa.REPLAYED), **oa.errors(400, 401, 404, 409, 413)},
    }),
    Route("DELETE", "/api/v1/admin/webhooks/{id}", delete_webhook, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["webhooks"], "summary": "Delete a webhook with its pending deliveries and its log",
        "operationId": "adminDeleteWebhook", "parameters": [_ID],
        "responses": {"200": oa.json_content(oa.schema("Success"), headers=oa.REPLAYED),
                      **oa.errors(400, 401, 404, 409)},
    }),
    Route("GET", "/api/v1/admin/webhooks/{id}/deliveries", deliveries, Access.READ, features=_ADMIN, operation={
        "tags": ["webhooks"], "summary": f"The delivery log: the last {LOG_SIZE} attempts, newest first",
        "operationId": "adminWebhookDeliveries",
        "parameters": [_ID, {"name": "limit", "in": "query",
                             "schema": {"type": "integer", "minimum": 1, "maximum": LOG_SIZE, "default": LOG_SIZE}}],
        "responses": {"200": oa.json_content(oa.data(oa.array(oa.schema("WebhookAttempt")))),
                      **oa.errors(400, 401, 404)},
    }),
    Route("POST", "/api/v1/admin/webhooks/{id}/test", test_webhook, Access.WRITE, idempotent=True, features=_ADMIN,
          operation={
        "tags": ["webhooks"], "summary": "Send a signed webhook.test event now, once, and answer how it went",
        "operationId": "adminTestWebhook", "parameters": [_ID],
        "responses": {"200": oa.json_content(oa.data(oa.schema("WebhookTestResult")), headers=oa.REPLAYED),
                      **oa.errors(400, 401, 404, 409)},
    }),
)
