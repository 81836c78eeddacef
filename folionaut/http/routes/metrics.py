"""Prometheus metrics: admin key, or the read-only METRICS_TOKEN for scrapers (or open, with METRICS_PUBLIC)."""

from __future__ import annotations

from aiohttp import web

from folionaut.http import openapi as oa
from folionaut.http.routing import Access, Route
from folionaut.http.state import RUNTIME

__all__ = ["ROUTES"]

# The classic text format: what every Prometheus-compatible scraper parses.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: web.Request) -> web.Response:
    # The whole server's: with --workers N, every worker's series merged.
    return web.Response(body=await request.app[RUNTIME].metrics_text(),
                        headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})


ROUTES = (
    Route("GET", "/api/metrics", metrics, Access.METRICS, operation={
        "tags": ["operations"], "summary": "Prometheus metrics (text format)", "operationId": "metrics",
        "responses": {
            "200": {"description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
            **oa.errors(401),
        },
    }),
)
