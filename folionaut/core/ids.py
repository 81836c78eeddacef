"""Ids: a prefix plus 21 URL-safe random characters, as the original (nanoid)."""

from __future__ import annotations

import secrets

_ALPHABET = "useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict"


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(21))


def content_id() -> str:
    return new_id("content_")


def history_id() -> str:
    return new_id("hist_")


def session_id() -> str:
    return new_id("sess_")


def message_id() -> str:
    return new_id("msg_")
