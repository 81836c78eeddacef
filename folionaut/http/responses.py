"""Response and request helpers shared by every route: JSON in, JSON out."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from folionaut.core import jsonutil
from folionaut.core.errors import BadRequestError, PayloadTooLargeError, ValidationError
from folionaut.core.schema import BODY
from folionaut.http.headers import JSON_CONTENT_TYPE

JSON_HEADERS = {"Content-Type": JSON_CONTENT_TYPE}
MAX_BODY_BYTES = 100 * 1024


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A response whose body is ``payload`` as JSON (no envelope added)."""
    response = web.Response(body=jsonutil.dumps(payload), status=status, headers=JSON_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


def data_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """The success envelope: ``{"data": ...}``."""
    return json_response({"data": data}, status, headers)


def success_response() -> web.Response:
    return json_response({"success": True})


async def read_json(request: web.Request) -> Any:
    """Parse a JSON request body: wrong content type or malformed JSON → 400 BAD_REQUEST."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"Request body exceeds {MAX_BODY_BYTES // 1024} KiB")
    if request.content_type != "application/json":
        raise BadRequestError("Content-Type must be application/json")
    raw = await request.read()
    if not raw.strip():
        raise BadRequestError("Request body is empty; expected JSON")
    try:
        return jsonutil.loads_input(raw)
    except jsonutil.JSONDecodeError as exc:
        if "depth limit" in str(exc).lower():  # deeper than the parser goes (1,024): a limit, not a typo
            raise ValidationError.single(BODY, "Must not nest objects and arrays this deep") from None
        raise BadRequestError("Malformed JSON in request body") from None
