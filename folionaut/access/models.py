"""Scopes, principals and API tokens.

A request's credential (the admin key, an API token, METRICS_TOKEN, a signed-in
session…) resolves to a ``Principal``: what kind of credential it is, a name
that audit lines and history rows may show (never the secret), and the scopes
it holds. Routes and MCP tools ask the principal for a scope; nothing else
looks at the credential itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from folionaut.storage.base import Row

__all__ = [
    "ADMIN_KEY", "GRANTS", "STDIO_OWNER", "STDIO_READ_ONLY", "TOKEN_SCOPES", "ApiToken", "Principal",
    "PrincipalKind", "Scope",
]


class Scope(enum.Enum):
    """What a credential may do."""

    READ = "read"  # every admin GET (drafts, history, chat sessions); MCP read tools, resources, prompts
    WRITE = "write"  # content writes and MCP write tools (a write token holds READ too)
    METRICS = "metrics"  # /api/metrics only
    ROOT = "root"  # token management: the admin key only, never granted to a token


#: The scopes a token can be created with, and what each one holds.
TOKEN_SCOPES: tuple[str, ...] = ("read", "write", "metrics")
GRANTS: dict[str, frozenset[Scope]] = {
    "read": frozenset({Scope.READ}),
    "write": frozenset({Scope.READ, Scope.WRITE}),
    "metrics": frozenset({Scope.METRICS}),
}


class PrincipalKind(enum.Enum):
    ADMIN_KEY = "admin_key"
    TOKEN = "token"
    METRICS_TOKEN = "metrics_token"  # the METRICS_TOKEN setting
    SESSION = "session"  # a signed-in browser session
    OWNER = "owner"  # the machine's owner on a local transport (`folionaut mcp` on stdio)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: resolved from the request's credential once, before the handler runs."""

    kind: PrincipalKind
    name: str  # shown in audit lines and history; never a secret
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def label(self) -> str:
        """How audit lines name it: "admin key", "token ci-deploy"."""
        if self.kind in (PrincipalKind.ADMIN_KEY, PrincipalKind.OWNER):
            return self.name
        return f"{self.kind.value.replace('_', ' ')} {self.name}"

    def changed_by(self, channel: str) -> str:
        """The history's ``changedBy``: the channel ("admin", "mcp") for the owner's own credentials,
        else the credential's name ("token:ci-deploy"), so history says which token made a change."""
        if self.kind in (PrincipalKind.ADMIN_KEY, PrincipalKind.OWNER):
            return channel
        return f"{self.kind.value}:{self.name}"


ADMIN_KEY = Principal(PrincipalKind.ADMIN_KEY, "admin key", frozenset(Scope))
#: `folionaut mcp` on stdio: whoever can start it can read the database file, so it counts as the owner.
STDIO_OWNER = Principal(PrincipalKind.OWNER, "stdio", frozenset({Scope.READ, Scope.WRITE}))
#: `folionaut mcp --read-only`: an assistant that may look but not change anything.
STDIO_READ_ONLY = Principal(PrincipalKind.OWNER, "stdio (read-only)", frozenset({Scope.READ}))


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A token's record (its secret is never kept, only a hash of it)."""

    id: str
    name: str
    scope: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> ApiToken:
        return cls(id=row["id"], name=row["name"], scope=row["scope"], created_at=row["created_at"],
                   expires_at=row["expires_at"], last_used_at=row["last_used_at"])

    def expired(self, now_iso: str) -> bool:
        return self.expires_at is not None and self.expires_at <= now_iso

    def principal(self) -> Principal:
        return Principal(PrincipalKind.TOKEN, self.name, GRANTS[self.scope])

    def to_wire(self, now_iso: str) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "scope": self.scope, "createdAt": self.created_at,
            "expiresAt": self.expires_at, "lastUsedAt": self.last_used_at,
            "status": "expired" if self.expired(now_iso) else "active",
        }
