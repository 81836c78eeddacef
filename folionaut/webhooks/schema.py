"""Webhook input, declared once: what the admin API validates and the OpenAPI document shows
(``WebhookCreate``, ``WebhookUpdate``). Bodies are closed: a misspelt ``debounce`` must not
quietly make a webhook that fires on every keystroke."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from folionaut.core.errors import ValidationError
from folionaut.core.schema import Schema, object_schema, problems
from folionaut.webhooks.models import ALL_EVENTS, EVENT_TYPES
from folionaut.webhooks.signing import SECRET_RULE, is_valid_secret
from folionaut.webhooks.url_guard import check_url_shape

__all__ = [
    "ID_PATTERN", "MAX_DEBOUNCE_SECONDS", "WEBHOOK_CREATE", "WEBHOOK_UPDATE", "WebhookInput", "WebhookPatch",
    "check_webhook_id", "parse_create", "parse_update",
]

MAX_DEBOUNCE_SECONDS = 3600
ID_PATTERN = re.compile(r"wh_[A-Za-z0-9_-]{1,97}")
ID_RULE = "Expected a webhook id (wh_…)"
MAX_URL_LENGTH = 2048
_ALONE = 'Use ["*"] alone for every event, or list the event types'

URL: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_URL_LENGTH, "format": "uri",
               "description": "http:// or https:// (public addresses only unless WEBHOOK_ALLOW_PRIVATE=true); "
                              "redirects are not followed",
               "examples": ["https://api.netlify.com/build_hooks/0123456789abcdef"]}
EVENTS: Schema = {"type": "array", "minItems": 1, "maxItems": len(EVENT_TYPES), "uniqueItems": True,
                  "items": {"type": "string", "enum": [*EVENT_TYPES, ALL_EVENTS]},
                  "description": 'Event types to deliver, or ["*"] for all of them',
                  "examples": [["content.published", "content.unpublished"], ["*"]]}
SECRET: Schema = {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$", "maxLength": 100,
                  "x-message": SECRET_RULE, "writeOnly": True,
                  "description": "Signing secret (Standard Webhooks); default: one is generated and shown once"}
ACTIVE: Schema = {"type": "boolean", "description": "false: nothing is delivered (pending deliveries are dropped); "
                                                    "true also re-enables a webhook switched off by a 410"}
DEBOUNCE: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_DEBOUNCE_SECONDS,
                    "description": "Wait this long for more changes and deliver the latest one once (0: every "
                                   "change); a steady stream is still delivered every 10 × debounceSeconds"}
DESCRIPTION: Schema = {"type": "string", "maxLength": 200, "description": "A note for people, e.g. which site"}

WEBHOOK_CREATE: Schema = object_schema({
    "url": URL, "events": EVENTS, "secret": SECRET, "active": {**ACTIVE, "default": True},
    "debounceSeconds": {**DEBOUNCE, "default": 0}, "description": DESCRIPTION,
}, ("url", "events"), closed=True)
WEBHOOK_UPDATE: Schema = object_schema({
    "url": URL, "events": EVENTS, "secret": SECRET, "active": ACTIVE, "debounceSeconds": DEBOUNCE,
    "description": {**DESCRIPTION, "description": "A note for people; null clears it"},
}, closed=True, minProperties=1, description="Change any of the fields; the secret is never shown again.")


@dataclass(frozen=True, slots=True)
class WebhookInput:
    url: str
    events: tuple[str, ...]
    secret: str | None
    active: bool
    debounce_seconds: int
    description: str | None


@dataclass(frozen=True, slots=True)
class WebhookPatch:
    url: str | None = None
    events: tuple[str, ...] | None = None
    secret: str | None = None
    active: bool | None = None
    debounce_seconds: int | None = None
    description: str | None = None
    clear_description: bool = False


def _check(schema: Schema, body: Any) -> dict[str, list[str]]:
    found = problems(schema, body)
    if not isinstance(body, dict):
        return found
    url, events, secret = body.get("url"), body.get("events"), body.get("secret")
    if isinstance(url, str) and "url" not in found:
        try:
            check_url_shape(url.strip())
        except ValueError as exc:
            found["url"] = [str(exc)]
    if isinstance(events, list) and ALL_EVENTS in events and len(events) > 1 and "events" not in found:
        found["events"] = [_ALONE]
    if isinstance(secret, str) and "secret" not in found and not is_valid_secret(secret):
        found["secret"] = [SECRET_RULE]
    return found


def _events(raw: list[str]) -> tuple[str, ...]:
    return (ALL_EVENTS,) if ALL_EVENTS in raw else tuple(event for event in EVENT_TYPES if event in raw)


def parse_create(body: Any) -> WebhookInput:
    """Validate ``{"url", "events", "secret"?, "active"?, "debounceSeconds"?, "description"?}``."""
    found = _check(WEBHOOK_CREATE, body)
    if found:
        raise ValidationError(found)
    return WebhookInput(
        url=body["url"].strip(), events=_events(body["events"]), secret=body.get("secret"),
        active=body.get("active", True) is not False, debounce_seconds=body.get("debounceSeconds") or 0,
        description=body.get("description"),
    )


def parse_update(body: Any) -> WebhookPatch:
    found = _check(WEBHOOK_UPDATE, body)
    if found:
        raise ValidationError(found)
    if "description" not in body and all(value is None for value in body.values()):
        raise ValidationError.single("body", "Change at least one field")
    return WebhookPatch(
        url=body["url"].strip() if body.get("url") is not None else None,
        events=_events(body["events"]) if body.get("events") is not None else None,
        secret=body.get("secret"), active=body.get("active"), debounce_seconds=body.get("debounceSeconds"),
        description=body.get("description"), clear_description="description" in body and body["description"] is None,
    )


def check_webhook_id(value: str) -> str:
    if ID_PATTERN.fullmatch(value) is None:
        raise ValidationError.single("id", ID_RULE)
    return value
