"""Standard Webhooks signing (https://www.standardwebhooks.com, "Signature scheme").

A secret is ``whsec_`` plus the standard base64 of 24 to 64 random bytes; the
HMAC key is those bytes. Each attempt is signed over
``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 and sent as
``webhook-signature: v1,<base64 of the digest>`` beside ``webhook-id`` (the
same on every attempt of a delivery, for receivers to deduplicate by) and
``webhook-timestamp`` (Unix seconds of the attempt: receivers refuse old ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = [
    "GENERATED_SECRET_BYTES", "SECRET_PREFIX", "SECRET_RULE", "generate_secret", "is_valid_secret", "signature",
    "signed_headers",
]

SECRET_PREFIX = "whsec_"
GENERATED_SECRET_BYTES = 32
_MIN_BYTES, _MAX_BYTES = 24, 64
SECRET_RULE = f"Must be {SECRET_PREFIX} followed by the base64 of {_MIN_BYTES} to {_MAX_BYTES} bytes"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    """The HMAC key: the bytes the secret's base64 stands for. Raises ValueError on a malformed secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(SECRET_RULE)
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(SECRET_RULE) from None
    if not _MIN_BYTES <= len(key) <= _MAX_BYTES:
        raise ValueError(SECRET_RULE)
    return key


def is_valid_secret(secret: str) -> bool:
    try:
        _key(secret)
    except ValueError:
        return False
    return True


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
