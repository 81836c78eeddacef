"""Admin web sessions: what a sign-in creates, what a cookie resolves to, and sign-out.

The cookie carries a random secret (256 bits); the database keeps only its
SHA-256, so neither a copy of the database nor a dump can be replayed as a
cookie. The CSRF token is an HMAC of the secret: the page learns it from the
sign-in answer (or ``GET /api/v1/admin/session``) and sends it back in a
header, which a cross-site page cannot read or forge. Expiry is absolute
(``ADMIN_SESSION_TTL_MINUTES`` after sign-in) and judged on the server's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from folionaut.admin_sessions.repository import AdminSessionRepository, StoredSession
from folionaut.core.clock import Clock, iso_timestamp

__all__ = ["ADMIN_PRINCIPAL", "AdminSession", "AdminSessions", "NewSession", "credential_fingerprint"]

#: The principal of a session signed in with the admin key.
ADMIN_PRINCIPAL = "admin"
_CSRF_CONTEXT = b"folionaut admin csrf v1"


def credential_fingerprint(credential: str) -> str:
    """A short fingerprint of the credential a session was made with: a different key, a different
    fingerprint. (The admin key is at least 32 random characters, so this reveals nothing usable.)"""
    return hashlib.sha256(b"folionaut admin session\x00" + credential.encode()).hexdigest()[:32]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AdminSession:
    principal: str
    created_at: str
    expires_at: str
    csrf_token: str

    def to_wire(self) -> dict[str, str]:
        return {"principal": self.principal, "createdAt": self.created_at, "expiresAt": self.expires_at,
                "csrfToken": self.csrf_token}


@dataclass(frozen=True, slots=True)
class NewSession:
    secret: str  # goes into the cookie, and nowhere else
    session: AdminSession


class AdminSessions:
    def __init__(self, repository: AdminSessionRepository, clock: Clock, ttl_seconds: int,
                 admin_credential: str) -> None:
        self.repository = repository
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        #: Fingerprint of today's admin key: sessions made with another key are no longer honoured.
        self._admin_credential = credential_fingerprint(admin_credential) if admin_credential else ""

    @staticmethod
    def csrf_token(secret: str) -> str:
        return hmac.new(secret.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()

    def _session(self, secret: str, stored: StoredSession) -> AdminSession:
        return AdminSession(stored.principal, stored.created_at, stored.expires_at, self.csrf_token(secret))

    async def start(self, principal: str = ADMIN_PRINCIPAL) -> NewSession:
        """A new session for someone who has just proved the admin key."""
        now = self.clock.time()
        secret = secrets.token_urlsafe(32)
        stored = StoredSession(_hash(secret), principal, self._admin_credential, iso_timestamp(now),
                               iso_timestamp(now + self.ttl_seconds))
        await self.repository.insert(stored, iso_timestamp(now))
        return NewSession(secret, self._session(secret, stored))

    async def resolve(self, secret: str) -> AdminSession | None:
        """The live session this cookie secret opens, or None (unknown, signed out, expired, old key)."""
        if not secret or len(secret) > 200:
            return None
        stored = await self.repository.live(_hash(secret), iso_timestamp(self.clock.time()))
        if stored is None or not self._admin_credential:
            return None
        if not hmac.compare_digest(stored.credential, self._admin_credential):
            return None
        return self._session(secret, stored)

    async def end(self, secret: str) -> bool:
        """Sign out: the session stops working on every instance at once."""
        return await self.repository.delete(_hash(secret)) if secret else False
