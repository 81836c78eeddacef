"""Storage-level errors that the services translate into client-facing ones."""

from __future__ import annotations

from folionaut.core.errors import DatabaseError, DatabaseUnavailableError


class ConstraintViolation(DatabaseError):
    """A UNIQUE / FOREIGN KEY / CHECK constraint rejected a write."""


class AmbiguousWriteError(DatabaseUnavailableError):
    """A write was sent but its answer was lost (the connection died, or the call timed out):
    it may or may not have been applied. Only a caller that can look its write up (a write
    receipt) can say which; for everyone else it is a database outage like any other."""
