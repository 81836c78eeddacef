"""Chat sessions and messages, with their wire (camelCase) form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from folionaut.storage.base import Row

SESSION_STATUSES = ("active", "ended", "expired")


@dataclass(frozen=True, slots=True)
class ChatSession:
    id: str
    visitor_id: str
    ip_hash: str | None
    user_agent: str | None
    message_count: int
    status: str
    created_at: str
    last_active_at: str
    expires_at: str

    @classmethod
    def from_row(cls, row: Row) -> ChatSession:
        return cls(
            id=row["id"], visitor_id=row["visitor_id"], ip_hash=row["ip_hash"], user_agent=row["user_agent"],
            message_count=int(row["message_count"] or 0), status=row["status"], created_at=row["created_at"],
            last_active_at=row["last_active_at"], expires_at=row["expires_at"],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id, "visitorId": self.visitor_id, "ipHash": self.ip_hash, "userAgent": self.user_agent,
            "messageCount": self.message_count, "status": self.status, "createdAt": self.created_at,
            "lastActiveAt": self.last_active_at, "expiresAt": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: str
    session_id: str
    role: str
    content: str
    tokens_used: int | None
    model: str | None
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> ChatMessage:
        return cls(
            id=row["id"], session_id=row["session_id"], role=row["role"], content=row["content"],
            tokens_used=row["tokens_used"], model=row["model"], created_at=row["created_at"],
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id, "sessionId": self.session_id, "role": self.role, "content": self.content,
            "tokensUsed": self.tokens_used, "model": self.model, "createdAt": self.created_at,
        }
