"""`folionaut check`: is this installation ready to serve?

One line per check, each ``ok`` or ``fail`` with a one-line reason, for humans
and for container health checks (the exit code says it all). Read-only: it
never creates the database, applies migrations or writes to Redis.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import redis.asyncio as aioredis

from folionaut import __version__
from folionaut.core.errors import AppError
from folionaut.runtime import Layer, Runtime
from folionaut.settings import Settings
from folionaut.storage.adopt import DRIZZLE_TABLE, table_names
from folionaut.storage.base import Database
from folionaut.storage.migrate import migration_status, newer_schema_message

__all__ = ["CHECK_TIMEOUT_SECONDS", "READINESS_PATH", "CheckResult", "probe_server", "readiness_url", "run_checks"]

#: Each network check gives up after this long: a health check must answer quickly.
CHECK_TIMEOUT_SECONDS = 5.0
#: What ``check --url`` asks a running server when the URL names no path.
READINESS_PATH = "/api/health/ready"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'fail':<4}  {self.name:<10}  {self.detail}"


def where(url: str) -> str:
    """A URL shown without credentials or query (tokens may hide in either)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path if parts.scheme in ('http', 'https') else ''}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, AppError):
        return exc.message
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


async def _open_database(settings: Settings) -> tuple[Runtime | None, CheckResult]:
    if settings.uses_libsql:
        label = f"libsql {where(settings.turso_database_url)}"
    else:
        path = settings.database_path
        label = f"sqlite {path}"
        if not await asyncio.to_thread(Path(path).exists):  # opening would create the file; a check must not
            return None, CheckResult("database", False, f"{label} does not exist; run `folionaut migrate`")
    runtime = Runtime(settings)
    try:
        await asyncio.wait_for(runtime.open(Layer.STORAGE, migrate=False, read_only=True), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return None, CheckResult("database", False, f"{label}: {_reason(exc)}")
    try:
        await asyncio.wait_for(runtime.database.ping(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        await runtime.close()
        return None, CheckResult("database", False, f"{label}: {_reason(exc)}")
    return runtime, CheckResult("database", True, label)


async def check_migrations(db: Database) -> CheckResult:
    try:
        status = await asyncio.wait_for(migration_status(db), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return CheckResult("migrations", False, _reason(exc))
    if status.unknown:
        return CheckResult("migrations", False, newer_schema_message(status.unknown))
    if status.pending:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in status.pending)
        original = not status.applied and DRIZZLE_TABLE in await table_names(db)
        what = "an original Folionaut database to adopt" if original else f"{len(status.pending)} pending ({names})"
        return CheckResult("migrations", False, f"{what}; run `folionaut migrate`")
    latest = status.applied[-1] if status.applied else None
    return CheckResult("migrations", True, f"up to date ({latest[0]:04d}_{latest[1]})" if latest else "up to date")


async def check_redis(url: str) -> CheckResult:
    client = aioredis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS,
    )
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT_SECONDS)
        return CheckResult("redis", True, where(url))
    except Exception as exc:
        return CheckResult("redis", False, f"{where(url)}: {_reason(exc)}")
    finally:
        await client.aclose()


async def check_llm(base_url: str, api_key: str) -> CheckResult:
    """One cheap authenticated request (GET {base}/models), no retries.

    Not LLMClient.ping: that answers only yes/no, and a doctor must say why.
    """
    url = f"{base_url.rstrip('/')}/models"
    headers = {"Authorization": f"Bearer {api_key}", "User-Agent": f"folionaut/{__version__} (check)"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)) as session:
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status in (401, 403):
                    return CheckResult("llm", False, f"{where(url)}: the API key was rejected (HTTP {response.status})")
                if response.status >= 400:
                    return CheckResult("llm", False, f"{where(url)}: HTTP {response.status}")
                return CheckResult("llm", True, where(base_url))
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult("llm", False, f"{where(url)}: {_reason(exc)}")


async def run_checks(settings: Settings, report: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    """Run every applicable check, reporting each as it finishes; return them all."""
    results: list[CheckResult] = []

    async def record(result: CheckResult) -> None:
        results.append(result)
        if report is not None:
            report(result)

    runtime, database = await _open_database(settings)
    await record(database)
    if runtime is not None:
        try:
            await record(await check_migrations(runtime.database))
        finally:
            await runtime.close()
    else:
        await record(CheckResult("migrations", False, "not checked: no database"))
    if settings.redis_url:
        await record(await check_redis(settings.redis_url))
    if settings.llm_api_key:
        await record(await check_llm(settings.llm_base_url, settings.llm_api_key))
    return results


def readiness_url(url: str) -> str:
    """``url`` as given when it names a path, else its readiness probe (``http://host:3000`` →
    ``http://host:3000/api/health/ready``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an http:// or https:// URL such as http://127.0.0.1:3000")
    return url if parts.path not in ("", "/") else url.rstrip("/") + READINESS_PATH


async def probe_server(url: str) -> CheckResult:
    """One GET of a running server's readiness probe: ok on 200 only (503 names the checks that fail)."""
    headers = {"User-Agent": f"folionaut/{__version__} (check)"}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)) as session:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                body = await response.read()
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return CheckResult("server", False, f"{where(url)}: {_reason(exc)}")
    if response.status == 200:
        return CheckResult("server", True, f"{where(url)}: ready")
    failing = ""
    try:
        checks = json.loads(body).get("checks", {})
        failing = ", ".join(sorted(name for name, state in checks.items() if state not in ("ok", "up", "ready")))
    except (ValueError, AttributeError):
        pass
    return CheckResult("server", False, f"{where(url)}: HTTP {response.status}"
                       + (f" (failing: {failing})" if failing else ""))
