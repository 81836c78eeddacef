"""Admin web sessions: what a sign-in creates, what a cookie resolves to, and sign-out.

The cookie carries a random secret (256 bits); the database keeps only its
SHA-256, so neither a copy of the database nor a dump can be replayed as a
cookie. The CSRF token is an HMAC of the secret: the page learns it from the
sign-in answer (or ``GET /api/v1/admin/session``) and sends it back in a
header, which a cross-site page cannot read or forge. Expiry is absolute
(``ADMIN_SESSION_TTL_MINUTES`` after sign-in, never past the expiry of the token
that signed in) and judged on the server's clock.

A session acts as what signed in, and only while that still holds: the admin
key of the time (a new key ends every session made with the old one), or an API
token with the write scope (revoking it, or its expiry, ends its sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from folionaut.access.models import ApiToken, Principal, PrincipalKind, Scope
from folionaut.access.service import TokenService
from folionaut.admin_sessions.repository import AdminSessionRepository, StoredSession
from folionaut.core.clock import Clock, iso_timestamp

__all__ = ["ADMIN_WEB_SESSION", "AdminSession", "AdminSessions", "NewSession", "credential_fingerprint"]

_CSRF_CONTEXT = b"folionaut admin csrf v1"
#: What the ``principal`` column says signed in.
_ADMIN, _TOKEN = "admin", "token"
#: A session signed in with the admin key acts as the admin key (history says "admin").
ADMIN_WEB_SESSION = Principal(PrincipalKind.ADMIN_KEY, "admin key (web session)", frozenset(Scope))


def credential_fingerprint(credential: str) -> str:
    """A short fingerprint of the admin key a session was made with: a different key, a different
    fingerprint. (The admin key is at least 32 random characters, so this reveals nothing usable.)"""
    return hashlib.sha256(b"folionaut admin session\x00" + credential.encode()).hexdigest()[:32]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AdminSession:
    principal: Principal  # what the session acts as
    created_at: str
    expires_at: str
    csrf_token: str

    def to_wire(self) -> dict[str, object]:
        return {"principal": self.principal.label, "scopes": sorted(scope.value for scope in self.principal.scopes),
                "createdAt": self.created_at, "expiresAt": self.expires_at, "csrfToken": self.csrf_token}


@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str  # goes into the cookie, and nowhere else
    session: AdminSession


class AdminSessions:
    def __init__(self, repository: AdminSessionRepository, clock: Clock, ttl_seconds: int,
                 admin_credential: str, tokens: TokenService) -> None:
        self.repository = repository
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.tokens = tokens
        #: Fingerprint of today's admin key: sessions made with another key are no longer honoured.
        self._admin_credential = credential_fingerprint(admin_credential) if admin_credential else ""

    @staticmethod
    def csrf_token(secret: str) -> str:
        return hmac.new(secret.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()

    async def start_for_admin_key(self) -> NewSession:
        """A new session for someone who has just proved the admin key."""
        return await self._start(_ADMIN, self._admin_credential, ADMIN_WEB_SESSION, None)

    async def start_for_token(self, token: ApiToken) -> NewSession:
        """A new session for someone who has just presented this (valid) token."""
        return await self._start(_TOKEN, token.id, token.principal(), token.expires_at)

    async def _start(self, kind: str, credential: str, principal: Principal, not_after: str | None) -> NewSession:
        now = self.clock.time()
        secret = secrets.token_urlsafe(32)
        expires_at = iso_timestamp(now + self.ttl_seconds)
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        stored = StoredSession(_hash(secret), kind, credential, iso_timestamp(now), expires_at)
        await self.repository.insert(stored, iso_timestamp(now))
        return NewSession(secret, AdminSession(principal, stored.created_at, stored.expires_at,
                                               self.csrf_token(secret)))

    async def resolve(self, secret: str) -> AdminSession | None:
        """The live session this cookie secret opens, or None (unknown, signed out, expired, or what
        signed in no longer holds: another admin key, a revoked or expired token)."""
        if not secret or len(secret) > 200 or not secret.isascii():  # ours are ASCII; other bytes cannot hash
            return None
        stored = await self.repository.live(_hash(secret), iso_timestamp(self.clock.time()))
        if stored is None:
            return None
        principal = await self._principal_of(stored)
        if principal is None:
            return None
        return AdminSession(principal, stored.created_at, stored.expires_at, self.csrf_token(secret))

    async def _principal_of(self, stored: StoredSession) -> Principal | None:
        if stored.principal == _ADMIN:
            if self._admin_credential and hmac.compare_digest(stored.credential, self._admin_credential):
                return ADMIN_WEB_SESSION
            return None
        if stored.principal == _TOKEN:
            token = await self.tokens.still_valid(stored.credential)
            return token.principal() if token is not None else None
        return None

    async def end(self, secret: str) -> bool:
        """Sign out: the session stops working on every instance at once."""
        return await self.repository.delete(_hash(secret)) if secret else False
