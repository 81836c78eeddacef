"""Readiness checks: what must answer for the service to be ready, and what only degrades it.

The runtime registers one check per dependency (the database, critical; Redis,
not critical) and ``run_checks`` probes them all at once, each bounded in time.
Transports format the outcome (``GET /api/health/ready``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from folionaut.core.errors import AppError
from folionaut.core.logging import get_logger

__all__ = ["PROBE_TIMEOUT_SECONDS", "HealthCheck", "Readiness", "run_checks"]

log = get_logger("health")

PROBE_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class HealthCheck:
    name: str
    critical: bool  # a critical failure makes the service unhealthy (503); others degrade it
    check: Callable[[], Awaitable[None]]
    on_failure: Callable[[], None] | None = None  # e.g. count the failure in a metric


@dataclass(frozen=True, slots=True)
class Readiness:
    status: str  # "ready", "degraded" or "unhealthy"
    checks: dict[str, str]  # name -> "ok" | "error"

    @property
    def healthy(self) -> bool:
        return self.status != "unhealthy"


async def run_checks(checks: Sequence[HealthCheck], timeout_seconds: float = PROBE_TIMEOUT_SECONDS) -> Readiness:
    """Probe every check concurrently; a failure is logged with its reason, never raised."""
    outcomes = await asyncio.gather(
        *(asyncio.wait_for(probe.check(), timeout_seconds) for probe in checks), return_exceptions=True
    )
    results: dict[str, str] = {}
    healthy, degraded = True, False
    for probe, outcome in zip(checks, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            results[probe.name] = "error"
            reason = outcome.message if isinstance(outcome, AppError) else repr(outcome)
            log.warning("readiness check %s failed: %s", probe.name, reason)
            if probe.on_failure is not None:
                probe.on_failure()
            if probe.critical:
                healthy = False
            else:
                degraded = True
        else:
            results[probe.name] = "ok"
    status = "unhealthy" if not healthy else "degraded" if degraded else "ready"
    return Readiness(status, results)
