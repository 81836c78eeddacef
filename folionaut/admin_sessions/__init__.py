"""Sign-ins of the admin web app: cookie sessions stored in the database.

``AdminSessions`` (``service.py``) starts, resolves and ends sessions;
``AdminSessionRepository`` (``repository.py``) is their SQL. The HTTP layer
(``http/auth.py``, ``http/routes/admin_session.py``) carries the secret in an
``HttpOnly`` cookie and checks the CSRF token derived from it.
"""

from folionaut.admin_sessions.repository import AdminSessionRepository
from folionaut.admin_sessions.service import (
    ADMIN_WEB_SESSION,
    AdminSession,
    AdminSessions,
    NewSession,
    credential_fingerprint,
)

__all__ = [
    "ADMIN_WEB_SESSION", "AdminSession", "AdminSessionRepository", "AdminSessions", "NewSession",
    "credential_fingerprint",
]
