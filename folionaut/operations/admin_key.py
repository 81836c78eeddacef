"""First-run preparation: the data directory and the admin key."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from pathlib import Path

from folionaut.core.errors import ConfigError
from folionaut.core.logging import get_logger
from folionaut.settings import Settings

__all__ = ["ADMIN_KEY_FILE", "MIN_DISTINCT_KEY_CHARACTERS", "check_production_key", "ensure_admin_key"]

log = get_logger("bootstrap")

ADMIN_KEY_FILE = "admin_key"
#: A production admin key has at least this many different characters (32 × "a" has one; a generated
#: key, 43 URL-safe characters, has about 30).
MIN_DISTINCT_KEY_CHARACTERS = 12


def check_production_key(settings: Settings) -> None:
    """Refuse (ConfigError) a configured production admin key with too little variety; length is checked
    when the setting is read."""
    key = settings.admin_api_key
    if settings.is_production and key and len(set(key)) < MIN_DISTINCT_KEY_CHARACTERS:
        raise ConfigError("ADMIN_API_KEY", f"a key with at least {MIN_DISTINCT_KEY_CHARACTERS} different characters "
                          f"in production (this one has {len(set(key))}); generate one with: "
                          "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'")


def ensure_admin_key(settings: Settings, announce: bool = True) -> Settings:
    """Return settings with an admin key: the configured one, or one kept in the data dir.

    Production refuses to invent one: an operator must set ADMIN_API_KEY.
    """
    if settings.admin_api_key:
        check_production_key(settings)
        return settings
    if settings.is_production:
        raise ConfigError("ADMIN_API_KEY", "an explicit key of at least 32 characters in production")
    data_dir = Path(settings.data_dir)
    key_file = data_dir / ADMIN_KEY_FILE
    if key_file.exists():
        key = key_file.read_text(encoding="utf-8").strip()
        if len(key) < 32:
            raise ConfigError(str(key_file), "a stored admin key of at least 32 characters (delete it to regenerate)")
        return settings.replace(admin_api_key=key)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # drafts, transcripts and this key: the owner only
    key = secrets.token_urlsafe(32)
    # Create with 0600 from the start: the key is never readable by others, even briefly.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    if announce:
        # Once, and as a log line so JSON log consumers can parse it; the key itself is never printed.
        message = f"generated an admin API key in {key_file} (mode 0600); read it with: cat {key_file}"
        if log.isEnabledFor(logging.WARNING):
            log.warning(message)
        else:
            print(f"folionaut: {message}", file=sys.stderr)
    return settings.replace(admin_api_key=key)
