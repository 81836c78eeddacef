"""Storage-level errors that the services translate into client-facing ones."""

from __future__ import annotations

from folionaut.core.errors import DatabaseError


class ConstraintViolation(DatabaseError):
    """A UNIQUE / FOREIGN KEY / CHECK constraint rejected a write."""
