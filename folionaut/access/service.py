"""API tokens: created with a scope (and optionally an expiry), stored hashed, revoked at once everywhere.

A token is ``folionaut_`` plus 43 URL-safe random characters (256 bits): shown
once when created, then only its SHA-256 is kept (a slow hash buys nothing
against a random secret of that size, and lookups stay one indexed read).

Every request that presents a token reads its row through the database, so a
revocation (the row is deleted) is seen by every instance, the CLI's included,
from the next request on; there is no cache to invalidate. ``last_used_at`` is
written at most once a minute per token, not once per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from folionaut.access.models import TOKEN_SCOPES, ApiToken, Principal
from folionaut.access.repository import TokenRepository
from folionaut.core import ids
from folionaut.core.clock import Clock, iso_timestamp
from folionaut.core.errors import ConflictError, DatabaseError, NotFoundError, ValidationError
from folionaut.core.logging import get_logger
from folionaut.core.schema import Schema, object_schema, problems
from folionaut.storage.errors import ConstraintViolation

__all__ = [
    "TOKEN_CREATE", "TOKEN_PREFIX", "TOUCH_INTERVAL_SECONDS", "TokenRequest", "TokenService", "is_token_name",
    "looks_like_token", "parse_expiry", "parse_token_request",
]

log = get_logger("access")

TOKEN_PREFIX = "folionaut_"
#: ``last_used_at`` is written when it is older than this (one write a minute per token at most).
TOUCH_INTERVAL_SECONDS = 60.0
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "Must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_EXPIRY = re.compile(r"([1-9][0-9]{0,4})([hdw])")
EXPIRY_RULE = "Expected a duration such as 12h, 90d or 2w (at most 3650d), or never"
_UNIT_SECONDS = {"h": 3600, "d": 86_400, "w": 7 * 86_400}
MAX_EXPIRY_SECONDS = 3650 * 86_400
_SECRET_CHARS = re.compile(r"[A-Za-z0-9_-]{43}")

#: The body of POST /api/v1/admin/tokens (and what `folionaut token create` builds): declared once, checked by
#: core/schema.py, published in the OpenAPI document. Closed: a misspelt "expires" must not make a token that
#: never expires.
TOKEN_CREATE: Schema = object_schema({
    "name": {"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$", "x-message": NAME_RULE,
             "description": "Unique; shown in audit lines and history"},
    "scope": {"type": "string", "enum": list(TOKEN_SCOPES),
              "description": "read: admin GETs and MCP reads; write: read plus changes; metrics: /api/metrics"},
    "expiresIn": {"type": "string", "pattern": "^(?:[1-9][0-9]{0,4}[hdw]|never)$", "x-message": EXPIRY_RULE,
                  "examples": ["90d", "12h", "2w", "never"],
                  "description": "Lifetime (at most 3650d); default: never expires"},
}, ("name", "scope"), closed=True)


@dataclass(frozen=True, slots=True)
class TokenRequest:
    name: str
    scope: str
    expires_in_seconds: int | None  # None: never expires


def parse_expiry(value: str) -> int | None:
    """``90d``, ``12h``, ``2w`` → seconds; ``never`` → None. Raises ValueError with what is expected."""
    if value == "never":
        return None
    match = _EXPIRY.fullmatch(value)
    if not match or (seconds := int(match.group(1)) * _UNIT_SECONDS[match.group(2)]) > MAX_EXPIRY_SECONDS:
        raise ValueError(EXPIRY_RULE)
    return seconds


def parse_token_request(body: Any) -> TokenRequest:
    """Validate ``{"name", "scope", "expiresIn"?}``: every problem at once, by field."""
    found = problems(TOKEN_CREATE, body)
    if not found and body.get("expiresIn") is not None:
        try:
            parse_expiry(body["expiresIn"])
        except ValueError as exc:
            found["expiresIn"] = [str(exc)]
    if found:
        raise ValidationError(found)
    expires = body.get("expiresIn")
    return TokenRequest(body["name"], body["scope"], None if expires is None else parse_expiry(expires))


def is_token_name(value: str) -> bool:
    return NAME_PATTERN.fullmatch(value) is not None


def looks_like_token(credential: str) -> bool:
    return credential.startswith(TOKEN_PREFIX) and bool(_SECRET_CHARS.fullmatch(credential[len(TOKEN_PREFIX):]))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenService:
    def __init__(self, repository: TokenRepository, clock: Clock) -> None:
        self.repository = repository
        self.clock = clock
        self._touching: set[str] = set()

    def now_iso(self) -> str:
        return iso_timestamp(self.clock.time())

    async def create(self, request: TokenRequest) -> tuple[ApiToken, str]:
        """A new token and its secret (shown once: only its hash is stored)."""
        now = self.clock.time()
        expires_at = None if request.expires_in_seconds is None else iso_timestamp(now + request.expires_in_seconds)
        token = ApiToken(id=ids.new_id("tok_"), name=request.name, scope=request.scope,
                         created_at=iso_timestamp(now), expires_at=expires_at, last_used_at=None)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            await self.repository.insert(token, _hash(secret))
        except ConstraintViolation:
            raise ConflictError(f"A token named {request.name!r} already exists") from None
        log.debug("API token created", extra={"token": token.name, "scope": token.scope})
        return token, secret

    async def list(self) -> list[ApiToken]:
        return await self.repository.all()

    async def revoke(self, name: str) -> ApiToken:
        token = await self.repository.by_name(name)
        if token is None or not await self.repository.delete(name):
            raise NotFoundError(f"No token named {name!r}")
        log.debug("API token revoked", extra={"token": name})
        return token

    async def authenticate(self, secret: str) -> Principal | None:
        """The principal of a valid, unexpired token; None for anything else."""
        token = await self.valid(secret)
        return token.principal() if token is not None else None

    async def valid(self, secret: str) -> ApiToken | None:
        """The token this secret is, when it is valid and unexpired (its use is recorded)."""
        if not looks_like_token(secret):
            return None
        token = await self.repository.by_hash(_hash(secret))
        if token is None:
            return None
        now = self.now_iso()
        if token.expired(now):
            return None
        await self._touch(token, now)
        return token

    async def still_valid(self, token_id: str) -> ApiToken | None:
        """The token, unless it was revoked or has expired since (what a web session signed in with
        it checks on every request)."""
        token = await self.repository.by_id(token_id)
        if token is None or token.expired(self.now_iso()):
            return None
        return token

    async def _touch(self, token: ApiToken, now: str) -> None:
        threshold = iso_timestamp(self.clock.time() - TOUCH_INTERVAL_SECONDS)
        if (token.last_used_at is not None and token.last_used_at > threshold) or token.id in self._touching:
            return
        self._touching.add(token.id)
        try:
            await self.repository.touch(token.id, now)
        except DatabaseError as exc:  # bookkeeping only: never fail the request for it
            log.warning("could not record a token's last use: %s", exc.message, extra={"token": token.name})
        finally:
            self._touching.discard(token.id)
