"""Prometheus metrics: admin key, or the read-only METRICS_TOKEN for scrapers (or open, with METRICS_PUBLIC)."""

from __future__ import annotations

from aiohttp import web

from folionaut.http.auth import check_admin
from folionaut.http.keys import METRICS, SETTINGS

# The classic text format: what every Prometheus-compatible scraper parses.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: web.Request) -> web.Response:
    if not request.app[SETTINGS].metrics_public:
        check_admin(request, allow_metrics_token=True)
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE,
                                                                      "Cache-Control": "no-store"})


def register(app: web.Application) -> None:
    app.router.add_get("/api/metrics", metrics)
