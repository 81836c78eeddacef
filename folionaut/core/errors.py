"""The one error hierarchy.

Every failure the service reports to a client is an ``AppError``. Each subclass
carries its wire ``code`` and HTTP ``status``; the HTTP layer turns any of them
into the error envelope in exactly one place (``folionaut.http.edge``).
Nothing here knows about aiohttp.
"""

from __future__ import annotations

from typing import ClassVar

#: Seconds a client is told to wait (``Retry-After``) after a 502 or 504 when nothing better is known.
DEFAULT_RETRY_AFTER_SECONDS = 5


class AppError(Exception):
    """Base of every error a client may see."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    status: ClassVar[int] = 500
    #: Whole seconds for a ``Retry-After`` header; None sends none.
    retry_after: int | None = None

    def __init__(self, message: str = "Internal server error") -> None:
        super().__init__(message)
        self.message = message


class ValidationError(AppError):
    code = "VALIDATION_ERROR"
    status = 400

    def __init__(self, fields: dict[str, list[str]], message: str = "Validation failed") -> None:
        super().__init__(message)
        self.fields = fields

    @classmethod
    def single(cls, field: str, problem: str) -> ValidationError:
        return cls({field: [problem]})


class BadRequestError(AppError):
    code = "BAD_REQUEST"
    status = 400


class HttpVersionNotSupportedError(AppError):
    """A request line naming an HTTP version other than 1.0 or 1.1."""

    code = "HTTP_VERSION_NOT_SUPPORTED"
    status = 505


class UnauthorizedError(AppError):
    """No credential, or one that is not (or no longer) valid; the HTTP answer carries WWW-Authenticate."""

    code = "UNAUTHORIZED"
    status = 401

    def __init__(self, message: str = "Missing or invalid credentials: send the admin key or an API token "
                                      "(X-Admin-Key, or Authorization: Bearer)",
                 *, invalid_token: bool = False) -> None:
        super().__init__(message)
        #: A credential was presented but not accepted (RFC 6750 error="invalid_token").
        self.invalid_token = invalid_token


class ForbiddenError(AppError):
    """A valid credential whose scope does not cover the request (or a session-cookie request failing
    its CSRF checks)."""

    code = "FORBIDDEN"
    status = 403

    def __init__(self, message: str = "This credential's scope does not allow this request",
                 *, required_scope: str | None = None) -> None:
        super().__init__(message)
        #: The scope that would have been enough (RFC 6750 scope=), when there is one.
        self.required_scope = required_scope


class NotFoundError(AppError):
    code = "NOT_FOUND"
    status = 404


class ConflictError(AppError):
    code = "CONFLICT"
    status = 409


class PayloadTooLargeError(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413


class RateLimitedError(AppError):
    code = "RATE_LIMIT_EXCEEDED"
    status = 429

    def __init__(self, retry_after: int, message: str = "Too many requests") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InternalError(AppError):
    """Something unexpected; the message shown to clients stays generic."""


class DatabaseError(InternalError):
    """The database failed or could not be reached (counted and logged)."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached at all (connection refused, auth, timeout)."""


class LLMError(AppError):
    """The LLM provider failed or its breaker is open. The message is shown to visitors, so it
    never carries the provider's own error text (that is logged)."""

    code = "LLM_ERROR"
    status = 502

    def __init__(self, message: str = "The AI assistant is temporarily unavailable; please try again shortly",
                 retry_after: int = DEFAULT_RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeoutError(AppError):
    code = "REQUEST_TIMEOUT"
    status = 504

    def __init__(self, message: str = "Request timed out", retry_after: int = DEFAULT_RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(Exception):
    """A setting has a bad value. Not an ``AppError``: it stops startup instead."""

    def __init__(self, setting: str, expected: str, got: object | None = None) -> None:
        self.setting = setting
        self.expected = expected
        shown = "" if got is None else f", got {got!r}"
        super().__init__(f"invalid {setting}: expected {expected}{shown}")


class NewerSchemaError(Exception):
    """The database holds migrations this build does not know (it was migrated by a newer Folionaut).

    Not an ``AppError``: like a ``ConfigError`` it stops a command before it serves or writes
    anything (exit 2), since an older build would misread the newer schema."""
