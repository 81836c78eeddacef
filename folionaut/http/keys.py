"""Application state keys: every shared object is reached through one of these."""

from __future__ import annotations

from aiohttp import web

from folionaut.cache.base import ContentCache
from folionaut.content.service import ContentService
from folionaut.core.clock import Clock
from folionaut.observability.metrics import Metrics
from folionaut.settings import Settings
from folionaut.storage.base import Database

SETTINGS = web.AppKey("settings", Settings)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
DATABASE = web.AppKey("database", Database)
CONTENT = web.AppKey("content_service", ContentService)
CONTENT_CACHE = web.AppKey("content_cache", ContentCache)
STARTED_AT = web.AppKey("started_at", float)

__all__ = ["CLOCK", "CONTENT", "CONTENT_CACHE", "DATABASE", "METRICS", "SETTINGS", "STARTED_AT"]
