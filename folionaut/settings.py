"""Typed, immutable settings.

Precedence: built-in defaults < ``config.toml`` (``--config``, ``$FOLIONAUT_CONFIG``
or ``./config.toml``) < environment < command-line flags. Every setting is declared
once in ``SETTINGS`` below; ``config.toml``, the README's configuration table and the validation messages all come from
that one declaration.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from folionaut.core.errors import ConfigError
from folionaut.setting_parsers import (
    parse_admin_key,
    parse_bool,
    parse_email,
    parse_env,
    parse_fallback,
    parse_float,
    parse_int,
    parse_log_format,
    parse_log_level,
    parse_origins,
    parse_phone,
    parse_str,
    parse_url,
    parse_workers,
)


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting is read: its environment variables, parser, default and documentation."""

    env: tuple[str, ...]  # environment variables, first one wins
    parse: Callable[[object], Any]
    default: Any
    doc: str
    secret: bool = False
    name: str = ""  # attribute on Settings and key in config.toml (filled in from the field)

    @property
    def expected(self) -> str:
        return getattr(self.parse, "expected", "a valid value")


def setting(env: str | tuple[str, ...], parse: Callable[[object], Any], default: Any, doc: str,
            secret: bool = False) -> Any:
    """Declare a field of ``Settings``: its default, where it is read from, and what it does."""
    spec = SettingSpec((env,) if isinstance(env, str) else env, parse, default, doc, secret)
    return field(default=default, metadata={"setting": spec})


_SCHEMES_DB = ("file", "libsql", "wss", "ws", "https", "http")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting, declared once: type, default, environment variables, parser and doc.

    ``config.toml``, the README's configuration table and every validation message
    are generated from these declarations (``scripts/update_generated.py``).
    """

    host: str = setting(
        "HOST", parse_str, "127.0.0.1", "Address to listen on (0.0.0.0 for all interfaces).")
    port: int = setting(
        "PORT", parse_int(0, 65535), 3000, "TCP port to listen on.")
    workers: int = setting(
        "WORKERS", parse_workers, 1,
        "Processes serving HTTP on the one port (SO_REUSEPORT), under a supervisor that restarts them; "
        "auto: one per CPU core.")
    environment: str = setting(
        ("FOLIONAUT_ENV", "NODE_ENV"), parse_env, "development",
        "development, production or test; production requires ADMIN_API_KEY.")
    data_dir: str = setting(
        "FOLIONAUT_DATA_DIR", parse_str, "./data",
        "Directory for the embedded SQLite file and the generated admin key.")
    log_level: str = setting(
        "LOG_LEVEL", parse_log_level, "info", "Lowest log level written to stderr.")
    # --- operators' logging (issue 22): the access log and the format of every line on stderr
    log_format: str = setting(
        "LOG_FORMAT", parse_log_format, "auto",
        "Log lines on stderr: json (one object per line), text (for people), or auto (text on a terminal, "
        "else json).")
    access_log: bool = setting(
        "ACCESS_LOG", parse_bool, True,
        "One line per HTTP request on stderr (method, route template, status, duration, bytes, request id, "
        "hashed client; never an address, key or token), whatever LOG_LEVEL is; on/off.")
    turso_database_url: str = setting(
        "TURSO_DATABASE_URL", parse_url(*_SCHEMES_DB), "",
        "libsql://, wss:// or https:// for Turso; file: for a local SQLite file; "
        "empty for the embedded default.")
    turso_auth_token: str = setting(
        "TURSO_AUTH_TOKEN", parse_str, "", "Turso auth token.", secret=True)
    turso_connect_timeout_seconds: float = setting(
        "TURSO_CONNECT_TIMEOUT_SECONDS", parse_float(0, 3600), 30.0,
        "How long startup and migrate keep retrying an unreachable Turso database (with backoff) "
        "before giving up.")
    turso_call_timeout_ms: int = setting(
        "TURSO_CALL_TIMEOUT_MS", parse_int(100, 600_000), 10_000,
        "Timeout of one Turso database call in milliseconds (then 500 and a reconnect).")
    redis_url: str = setting(
        "REDIS_URL", parse_url("redis", "rediss", "unix"), "",
        "Redis for shared cache, rate limits, sessions and idempotency; empty keeps them in process.")
    admin_api_key: str = setting(
        "ADMIN_API_KEY", parse_admin_key, "",
        "Admin key (X-Admin-Key), at least 32 characters (in production at least 12 different ones); generated "
        "into the data directory "
        "when empty outside production.", secret=True)
    metrics_token: str = setting(
        "METRICS_TOKEN", parse_str, "",
        "Optional read-only bearer token for /api/metrics scrapers.", secret=True)
    metrics_public: bool = setting(
        "METRICS_PUBLIC", parse_bool, False,
        "Serve /api/metrics without credentials (as the runbook's bare curl expects); "
        "the series hold no secrets and client IPs only hashed.")
    cors_origins: tuple[str, ...] = setting(
        "CORS_ORIGINS", parse_origins, (),
        "Comma-separated origins allowed by CORS; empty allows none.")
    trust_proxy: int = setting(
        "TRUST_PROXY", parse_int(0, 10), 0,
        "Number of trusted reverse-proxy hops for X-Forwarded-For; 0 uses the socket address.")
    request_timeout_ms: int = setting(
        "REQUEST_TIMEOUT_MS", parse_int(100, 600_000), 30_000,
        "Per-request timeout in milliseconds (504 when exceeded).")
    chat_request_timeout_ms: int = setting(
        "CHAT_REQUEST_TIMEOUT_MS", parse_int(100, 600_000), 60_000,
        "Timeout for chat requests in milliseconds.")
    rate_limit_capacity: int = setting(
        "RATE_LIMIT_CAPACITY", parse_int(1, 1_000_000), 5,
        "Chat token bucket size (burst).")
    rate_limit_refill_rate: float = setting(
        "RATE_LIMIT_REFILL_RATE", parse_float(0.001, 1_000_000), 0.333,
        "Chat tokens added per second.")
    content_rate_limit_capacity: int = setting(
        "CONTENT_RATE_LIMIT_CAPACITY", parse_int(1, 1_000_000), 60,
        "Public content token bucket size (burst).")
    content_rate_limit_refill_rate: float = setting(
        "CONTENT_RATE_LIMIT_REFILL_RATE", parse_float(0.001, 1_000_000), 10.0,
        "Public content tokens added per second.")
    content_cache_ttl_seconds: int = setting(
        "CONTENT_CACHE_TTL_SECONDS", parse_int(1, 86_400), 300,
        "How long rendered public reads stay cached (Redis L2, and L1 without Redis).")
    l1_cache_ttl_seconds: int = setting(
        "L1_CACHE_TTL_SECONDS", parse_int(1, 3600), 5,
        "With Redis: in-process cache lifetime, the bound on cross-instance staleness.")
    content_cache_max_entries: int = setting(
        "CONTENT_CACHE_MAX_ENTRIES", parse_int(16, 10_000_000), 50_000,
        "In-process read cache: at most this many rendered reads; the least recently used go first.")
    content_cache_max_mb: int = setting(
        "CONTENT_CACHE_MAX_MB", parse_int(1, 65_536), 128,
        "In-process read cache: at most this many MiB of bodies (and their gzip/br/zstd copies).")
    llm_provider: str = setting(
        "LLM_PROVIDER", parse_str, "openai",
        "LLM provider name (any OpenAI-compatible API).")
    llm_api_key: str = setting(
        "LLM_API_KEY", parse_str, "",
        "LLM API key; empty answers chat from the built-in offline responder.", secret=True)
    llm_base_url: str = setting(
        "LLM_BASE_URL", parse_url("http", "https"), "https://api.openai.com/v1",
        "Base URL of the OpenAI-compatible chat-completions API.")
    llm_model: str = setting(
        "LLM_MODEL", parse_str, "gpt-4o-mini", "Model name sent to the LLM.")
    llm_max_tokens: int = setting(
        "LLM_MAX_TOKENS", parse_int(1, 1_000_000), 2000, "Max tokens per LLM answer.")
    llm_temperature: float = setting(
        "LLM_TEMPERATURE", parse_float(0, 2), 0.7, "LLM sampling temperature.")
    llm_request_timeout_ms: int = setting(
        "LLM_REQUEST_TIMEOUT_MS", parse_int(100, 600_000), 30_000,
        "Timeout of one LLM call in milliseconds.")
    llm_max_retries: int = setting(
        "LLM_MAX_RETRIES", parse_int(0, 10), 3,
        "Retries of a failed LLM call (429, 5xx, connection errors).")
    circuit_breaker_failure_threshold: int = setting(
        "CIRCUIT_BREAKER_FAILURE_THRESHOLD", parse_int(1, 1000), 5,
        "Consecutive failed LLM calls that open the llm circuit breaker (chat then answers 502).")
    circuit_breaker_reset_timeout_ms: int = setting(
        "CIRCUIT_BREAKER_RESET_TIMEOUT_MS", parse_int(100, 3_600_000), 30_000,
        "How long the open breaker waits before letting one probe call through (half-open).")
    circuit_breaker_success_threshold: int = setting(
        "CIRCUIT_BREAKER_SUCCESS_THRESHOLD", parse_int(1, 100), 2,
        "Successful probe calls that close a half-open breaker.")
    chat_session_ttl_minutes: int = setting(
        "CHAT_SESSION_TTL_MINUTES", parse_int(1, 10_080), 30,
        "Idle minutes after which a chat session expires.")
    chat_max_messages_per_session: int = setting(
        "CHAT_MAX_MESSAGES_PER_SESSION", parse_int(0, 100_000), 50,
        "Visitor messages one chat session may send (then 429 until it expires); 0 for no cap.")
    chat_session_token_budget: int = setting(
        "CHAT_SESSION_TOKEN_BUDGET", parse_int(0, 1_000_000_000), 100_000,
        "LLM tokens (as the provider reports them) one chat session may use, then 429; 0 for no budget.")
    chat_daily_token_budget: int = setting(
        "CHAT_DAILY_TOKEN_BUDGET", parse_int(0, 1_000_000_000), 1_000_000,
        "LLM tokens all chat may use per UTC day, shared by every instance through Redis when "
        "REDIS_URL is set; then 429 until midnight UTC. 0 for no budget.")
    chat_fallback: str = setting(
        "CHAT_FALLBACK", parse_fallback, "none",
        "What chat does while the LLM fails or its breaker is open: none (502 LLM_ERROR) or offline "
        "(answer from the built-in offline responder, marked degraded).")
    chat_redact_input: bool = setting(
        "CHAT_REDACT_INPUT", parse_bool, True,
        "Redact e-mails, phones, IBANs, cards and SSNs in visitors' messages before they are stored "
        "or sent to the LLM.")
    chat_stream_heartbeat_ms: int = setting(
        "CHAT_STREAM_HEARTBEAT_MS", parse_int(100, 600_000), 15_000,
        "Streamed chat sends an SSE comment after this long without an event, so proxies keep the "
        "connection open.")
    portfolio_owner_name: str = setting(
        "PORTFOLIO_OWNER_NAME", parse_str, "the portfolio owner",
        "Name the chat assistant speaks for.")
    public_contact_email: str = setting(
        "PUBLIC_CONTACT_EMAIL", parse_email, "",
        "The one e-mail address chat may reveal.")
    public_contact_phone: str = setting(
        "PUBLIC_CONTACT_PHONE", parse_phone, "",
        "The one phone number chat may reveal (best with its +country code).")
    webhook_retry_base_seconds: float = setting(
        "WEBHOOK_RETRY_BASE_SECONDS", parse_float(0.01, 3600), 5.0,
        "First retry delay of a failed webhook delivery; each retry waits twice as long (±20 % jitter), "
        "for up to 15 attempts within 24 hours.")
    webhook_timeout_seconds: float = setting(
        "WEBHOOK_TIMEOUT_SECONDS", parse_float(0.1, 15), 10.0,
        "How long one webhook delivery attempt may take (DNS, connect, answer) before it counts as failed.")
    webhook_allow_private: bool = setting(
        "WEBHOOK_ALLOW_PRIVATE", parse_bool, False,
        "Let webhooks reach loopback, private and link-local addresses (a receiver on this machine or "
        "network); off, such URLs are refused when set and at every delivery.")
    feature_ai_chat: bool = setting(
        "FEATURE_AI_CHAT", parse_bool, True, "Serve /api/v1/chat.")
    feature_mcp_server: bool = setting(
        "FEATURE_MCP_SERVER", parse_bool, True,
        "Serve MCP (/api/mcp and `folionaut mcp`).")
    feature_admin_api: bool = setting(
        "FEATURE_ADMIN_API", parse_bool, True, "Serve /api/v1/admin/*.")
    feature_admin_ui: bool = setting(
        "FEATURE_ADMIN_UI", parse_bool, True,
        "Serve the admin web app at /admin and its cookie sign-in (only with FEATURE_ADMIN_API on).")
    admin_session_ttl_minutes: int = setting(
        "ADMIN_SESSION_TTL_MINUTES", parse_int(1, 43_200), 720,
        "How long a sign-in to the admin web app lasts, in minutes, however active (then sign in again).")
    feature_rate_limiting: bool = setting(
        "FEATURE_RATE_LIMITING", parse_bool, True,
        "Apply token-bucket rate limits.")
    feature_audit_log: bool = setting(
        "FEATURE_AUDIT_LOG", parse_bool, True, "Write content_history rows.")

    # Connection limits at the edge (issue 15): slow or idle clients are closed, open connections capped.
    http_head_timeout_ms: int = setting(
        "HTTP_HEAD_TIMEOUT_MS", parse_int(100, 600_000), 10_000,
        "How long a client may take to send a complete request head (request line and headers), in "
        "milliseconds, from connecting or from its first byte after an idle keep-alive; then the connection "
        "is closed.")
    http_keepalive_timeout_ms: int = setting(
        "HTTP_KEEPALIVE_TIMEOUT_MS", parse_int(100, 3_600_000), 75_000,
        "How long an idle keep-alive connection stays open waiting for its next request, in milliseconds.")
    http_body_timeout_ms: int = setting(
        "HTTP_BODY_TIMEOUT_MS", parse_int(100, 600_000), 30_000,
        "How long a client may take to send a request body once its head has arrived, in milliseconds; "
        "then the connection is closed.")
    http_max_connections: int = setting(
        "HTTP_MAX_CONNECTIONS", parse_int(8, 1_000_000), 4096,
        "Open connections per process; past it the oldest idle connection is closed for the new one. "
        "Lowered at start to fit the open-file limit (less 64 descriptors for files and the database).")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def database_path(self) -> Path:
        """The embedded SQLite file, when not on Turso."""
        url = self.turso_database_url
        if url.startswith("file:"):
            return Path(url.removeprefix("file://") if url.startswith("file://") else url.removeprefix("file:"))
        return Path(self.data_dir) / "folionaut.db"

    @property
    def uses_libsql(self) -> bool:
        return bool(self.turso_database_url) and not self.turso_database_url.startswith("file:")

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)


#: The declarations in field order, each with its name filled in.
SETTINGS: tuple[SettingSpec, ...] = tuple(
    replace(f.metadata["setting"], name=f.name) for f in fields(Settings)
)
SPECS_BY_NAME = {spec.name: spec for spec in SETTINGS}


def _shown(spec: SettingSpec, raw: object) -> str:
    """What an error message may repeat of a rejected value: never a secret or a URL's credentials."""
    if spec.name == "admin_api_key":
        return f"{len(str(raw).strip())} characters"  # the length says what is wrong; the key stays unsaid
    if spec.secret:
        return "(hidden)"
    text = repr(raw)
    if "@" in text and "://" in text:  # e.g. redis://:password@host — drop the user-info part
        scheme, _, rest = str(raw).partition("://")
        text = repr(f"{scheme}://***@{rest.rpartition('@')[2]}")
    return text


def _coerce(spec: SettingSpec, raw: object, label: str) -> Any:
    try:
        return spec.parse(raw)
    except (ValueError, TypeError):
        raise ConfigError(label, f"{spec.expected}, got {_shown(spec, raw)}") from None


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def read_config_file(path: str | os.PathLike[str], named_by: str = "--config") -> dict[str, Any]:
    """Read a TOML settings file: top-level keys, or keys in an optional ``[folionaut]`` table."""
    import tomllib  # only with a config file: most starts have none

    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(named_by, f"an existing TOML file, got {str(path)!r}") from None
    except IsADirectoryError:
        raise ConfigError(named_by, f"a TOML file, got the directory {str(path)!r}") from None
    except PermissionError:
        raise ConfigError(named_by, f"a readable TOML file, got {str(path)!r}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"valid TOML ({exc})") from None
    table = data.pop("folionaut", {})
    if not isinstance(table, dict):
        raise ConfigError(f"[folionaut] in {path}", "a table of settings")
    merged = {**data, **table}
    unknown = sorted(set(merged) - set(SPECS_BY_NAME))
    if unknown:
        raise ConfigError(f"key {unknown[0]!r} in {path}", "a known setting (the keys of config.toml)")
    return merged


@dataclass(frozen=True, slots=True)
class Source:
    """Where an effective value came from: ``default``, ``file`` (its path), ``environment`` (the
    variable) or ``flag`` (the option); what ``folionaut config`` shows beside each setting."""

    kind: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.where}" if self.where else self.kind


#: Read from the working directory when no file is named (``--config``, ``FOLIONAUT_CONFIG``).
LOCAL_CONFIG_FILE = "config.toml"


def config_file_to_read(config_path: str | os.PathLike[str] | None, env: Mapping[str, str],
                        working_dir: Path | None) -> tuple[str | os.PathLike[str] | None, str]:
    """The settings file and what named it: ``--config``, else ``$FOLIONAUT_CONFIG``, else
    ``./config.toml`` when ``working_dir`` is given and holds one, else none."""
    if config_path is not None:
        return config_path, "--config"
    if env.get("FOLIONAUT_CONFIG", "").strip():
        return env["FOLIONAUT_CONFIG"].strip(), "FOLIONAUT_CONFIG"
    if working_dir is not None and (working_dir / LOCAL_CONFIG_FILE).is_file():
        return working_dir / LOCAL_CONFIG_FILE, LOCAL_CONFIG_FILE
    return None, "--config"


def load_settings_with_sources(
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    working_dir: Path | None = None,
) -> tuple[Settings, dict[str, Source]]:
    """``load_settings``, and where each value came from."""
    env = os.environ if env is None else env
    config_path, named_by = config_file_to_read(config_path, env, working_dir)
    file_values = read_config_file(config_path, named_by) if config_path else {}
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for spec in SETTINGS:
        value, source = spec.default, Source("default")
        if spec.name in file_values:
            value = _coerce(spec, file_values[spec.name], f"{spec.name} in {config_path}")
            source = Source("file", str(config_path))
        for var in spec.env:
            if env.get(var, "").strip() != "":
                value, source = _coerce(spec, env[var], var), Source("environment", var)
                break
        if overrides and overrides.get(spec.name) is not None:
            flag = flag_name(spec.name)
            value, source = _coerce(spec, overrides[spec.name], flag), Source("flag", flag)
        values[spec.name] = value
        sources[spec.name] = source
    return Settings(**values), sources


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    working_dir: Path | None = None,
) -> Settings:
    """Build Settings from defaults < config file < environment < overrides (flags).

    The config file is ``config_path`` (``--config``), else ``$FOLIONAUT_CONFIG``, else
    ``config.toml`` in ``working_dir`` when one is given (the CLI passes the working
    directory), else none. Empty environment variables count as unset. Override values of
    ``None`` mean "flag not given".
    """
    return load_settings_with_sources(config_path, env, overrides, working_dir=working_dir)[0]


def shown_value(spec: SettingSpec, value: Any) -> str:
    """A value as ``folionaut config`` prints it (TOML): secrets masked, URL credentials dropped."""
    if spec.secret:
        return '"(set, hidden)"' if value else '""'
    text = _toml_value(value)
    if isinstance(value, str) and "@" in value and "://" in value:
        scheme, _, rest = value.partition("://")
        text = _toml_value(f"{scheme}://***@{rest.rpartition('@')[2]}")
    return text


# --- config.toml: rendered from SETTINGS so the file and the code cannot drift.

def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # TOML basic strings use JSON's escapes for everything we would ever put here.
    return json.dumps(str(value), ensure_ascii=False)


def render_config_toml() -> str:
    """The documented config.toml: every setting, its default and what it does."""
    lines = [
        "# Folionaut settings, every one with its built-in default.",
        "# Generated from folionaut/settings.py by scripts/update_generated.py (or: python -m folionaut.settings).",
        "#",
        "# Read from the working directory as ./config.toml, or where --config or FOLIONAUT_CONFIG names.",
        "# Precedence: built-in defaults < this file < environment variables < command-line flags.",
        "# `folionaut config` prints the effective settings and where each came from.",
        "# Secrets are commented out: set them in the environment rather than in a file.",
    ]
    for spec in SETTINGS:
        lines.append("")
        lines.append(f"# {spec.doc} Env: {' or '.join(spec.env)}.")
        line = f"{spec.name} = {_toml_value(spec.default)}"
        lines.append(f"# {line}" if spec.secret else line)
    return "\n".join(lines) + "\n"


def render_settings_table() -> str:
    """The README's configuration table (Markdown); tests/dist/test_readme.py keeps README in step."""

    def default(spec: SettingSpec) -> str:
        if spec.default in ("", ()):
            return "(empty)"
        if isinstance(spec.default, bool):
            return "`true`" if spec.default else "`false`"
        return f"`{spec.default}`"

    lines = [
        "| Environment variable | `config.toml` key | Default | What it does |",
        "|---|---|---|---|",
    ]
    for spec in SETTINGS:
        env = " or ".join(f"`{var}`" for var in spec.env)
        doc = spec.doc.replace("|", "\\|") + (" Secret: set it in the environment." if spec.secret else "")
        lines.append(f"| {env} | `{spec.name}` | {default(spec)} | {doc} |")
    return "\n".join(lines) + "\n"


def test_settings(**changes: Any) -> Settings:
    """Defaults for tests: no config file, no environment."""
    base = load_settings(config_path=None, env={})
    return base.replace(environment="test", **changes)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


if __name__ == "__main__":
    print(render_config_toml(), end="")
