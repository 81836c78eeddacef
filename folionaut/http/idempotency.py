"""Idempotency-Key for mutations: replay a stored 2xx instead of mutating again.

A request carrying ``Idempotency-Key`` is recorded under
``idempotency:<sha256(method, path, key)>`` in the runtime's ``records``
(process memory, or Redis shared by every instance):

- first, a short-lived *pending* record is claimed with ``set_if_absent`` — the
  per-key in-flight lock, so concurrent duplicates execute once;
- a 2xx response replaces it with a *done* record (status, body, the headers a
  client needs) kept for 24 h; any other outcome removes it, so the client may
  retry with the same key;
- a duplicate finding a *done* record gets the stored response with
  ``X-Idempotent-Replayed: true``; finding a *pending* one, it waits (on an
  in-process event, or by polling another instance's record) and then replays;
- the same key with a different request (body, query string or If-Match,
  compared by SHA-256 fingerprint) is a 409 CONFLICT, never a silent replay.

These records are the fast path. The durable record of a content write is its
*write receipt* (``content/receipts.py``), committed with the change itself:
``respond_idempotently`` hands the handler a ``WriteReceipt`` (``write_receipt``:
the same key and fingerprint) for the content service, which replays from the
database when the fast record is gone (flushed Redis, a restarted instance
without Redis) or when the first attempt's answer was lost; such an answer is
marked replayed too.

The edge runs the handler through ``respond_idempotently`` for routes declared
``idempotent=True``, after authorising the request (so unauthenticated requests
never touch the store).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from folionaut.content.receipts import WriteReceipt
from folionaut.core import jsonutil
from folionaut.core.errors import ConflictError, ValidationError
from folionaut.core.logging import get_logger
from folionaut.http.state import HTTP, RUNTIME

__all__ = ["HEADER", "REPLAYED_HEADER", "record_key", "respond_idempotently", "write_receipt"]

log = get_logger("idempotency")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "X-Idempotent-Replayed"
KEY_PREFIX = "idempotency:"
RECORD_TTL_SECONDS = 24 * 60 * 60
#: Response headers worth replaying; the edge middleware adds request id, security and CORS headers itself.
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location", "Cache-Control")
# Visible ASCII, as Stripe and the IETF httpapi draft use; long enough for UUIDs and hashes.
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# How often to look at a pending record owned by another instance (seconds, growing).
_POLL_START, _POLL_MAX = 0.01, 0.25
_RECEIPT = web.RequestKey("write_receipt", WriteReceipt)


def write_receipt(request: web.Request) -> WriteReceipt | None:
    """The receipt for the service write this request makes (None without an ``Idempotency-Key``)."""
    return request.get(_RECEIPT)


def record_key(method: str, path: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{method}\n{path}\n{idempotency_key}".encode()).hexdigest()
    return KEY_PREFIX + digest


def fingerprint(request: web.Request, body: bytes) -> str:
    """What makes two requests under one key "the same": query, If-Match precondition, body."""
    head = f"{request.query_string}\n{request.headers.get('If-Match', '')}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def _pending(print_: str) -> bytes:
    return jsonutil.dumps({"state": "pending", "fingerprint": print_})


def _done(print_: str, response: web.Response) -> bytes:
    body = response.body if isinstance(response.body, bytes) else b""
    headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
    return jsonutil.dumps({
        "state": "done", "fingerprint": print_, "status": response.status, "headers": headers,
        "body": base64.b64encode(body).decode(),
    })


def _replay(record: dict[str, Any]) -> web.Response:
    response = web.Response(status=int(record["status"]), body=base64.b64decode(record["body"]))
    response.headers.update(record["headers"])
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _conflict(idempotency_key: str) -> ConflictError:
    return ConflictError(
        f"Idempotency-Key {idempotency_key!r} was already used with a different request body; use a new key")


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        record = jsonutil.loads(raw)
    except jsonutil.JSONDecodeError:
        return None
    return record if isinstance(record, dict) and "state" in record else None


async def respond_idempotently(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer with ``handler``, honouring the request's ``Idempotency-Key`` when it has one."""
    idempotency_key = request.headers.get(HEADER)
    if idempotency_key is None:
        return await handler(request)
    if not _VALID_KEY.fullmatch(idempotency_key):
        raise ValidationError.single(HEADER, "Must be 1-255 visible ASCII characters")
    runtime = request.app[RUNTIME]
    store = runtime.records
    key = record_key(request.method, request.path, idempotency_key)
    print_ = fingerprint(request, await request.read())
    # Long enough for the handler to finish within the request timeout; short
    # enough that a crashed owner does not block the key for long.
    lock_ttl = runtime.settings.request_timeout_ms / 1000 + 5
    in_flight = request.app[HTTP].idempotency_owners
    poll = _POLL_START
    # Bounded: each pass either returns, claims the key, or waits for an owner
    # that the edge middleware's request timeout (and the lock TTL) bound.
    while True:
        raw = await store.get(key)
        record = _decode(raw) if raw is not None else None
        if record is not None:
            if record.get("fingerprint") != print_:
                raise _conflict(idempotency_key)
            if record["state"] == "done":
                return _replay(record)
            event = in_flight.get(key)
            if event is not None:
                await event.wait()  # owner in this process: woken the moment it finishes
            else:
                await asyncio.sleep(poll)  # owner in another instance: poll its record
                poll = min(poll * 2, _POLL_MAX)
            continue
        if await store.set_if_absent(key, _pending(print_), lock_ttl):
            break
    event = in_flight[key] = asyncio.Event()
    receipt = request[_RECEIPT] = WriteReceipt(key, print_)
    try:
        response = await handler(request)
        if receipt.replayed:  # the service answered from the database's record of the first attempt
            response.headers[REPLAYED_HEADER] = "true"
        if isinstance(response, web.Response) and 200 <= response.status < 300:
            await store.set(key, _done(print_, response), RECORD_TTL_SECONDS)
        else:
            await store.delete(key)
        return response
    except BaseException:
        # Failed or cancelled: free the key so the client can retry with it.
        with contextlib.suppress(Exception):
            await store.delete(key)
        raise
    finally:
        in_flight.pop(key, None)
        event.set()
