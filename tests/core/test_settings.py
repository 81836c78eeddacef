"""Settings: defaults < config file < environment < flags, and one clear line per bad value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from folionaut.core.errors import ConfigError
from folionaut.settings import SETTINGS, load_settings, render_config_toml

REPO_ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 40


def defaults():
    return load_settings(None, env={})


def test_defaults_match_the_spec() -> None:
    settings = defaults()
    assert (settings.host, settings.port, settings.environment) == ("127.0.0.1", 3000, "development")
    assert settings.llm_model == "gpt-4o-mini" and settings.llm_max_tokens == 2000
    assert settings.llm_temperature == 0.7 and settings.request_timeout_ms == 30_000
    assert settings.rate_limit_capacity == 5 and settings.rate_limit_refill_rate == 0.333
    assert settings.content_rate_limit_capacity == 60 and settings.content_rate_limit_refill_rate == 10
    assert settings.feature_ai_chat and settings.feature_audit_log and settings.trust_proxy == 0
    assert settings.database_path == Path("data/folionaut.db")


def test_committed_config_toml_is_the_rendering_of_settings() -> None:
    """config.toml is generated from SETTINGS; if this fails, run `.venv/bin/python scripts/update_generated.py`."""
    assert (REPO_ROOT / "config.toml").read_text(encoding="utf-8") == render_config_toml()


def test_committed_config_toml_loads_to_the_defaults() -> None:
    assert load_settings(REPO_ROOT / "config.toml", env={}) == defaults()


def test_config_toml_documents_every_setting_and_hides_secrets() -> None:
    text = render_config_toml()
    for spec in SETTINGS:
        line = next(line for line in text.splitlines() if line.lstrip("# ").startswith(f"{spec.name} = "))
        assert line.startswith("# ") == spec.secret, line
        assert spec.env[0] in text


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('port = 4000\nhost = "0.0.0.0"\nllm_model = "from-file"\nlog_level = "debug"\n')
    from_file = load_settings(config, env={})
    assert (from_file.port, from_file.host, from_file.llm_model) == (4000, "0.0.0.0", "from-file")
    from_env = load_settings(config, env={"PORT": "5000", "LLM_MODEL": "from-env"})
    assert (from_env.port, from_env.host, from_env.llm_model) == (5000, "0.0.0.0", "from-env")
    from_flag = load_settings(config, env={"PORT": "5000"}, overrides={"port": "6000", "host": None})
    assert (from_flag.port, from_flag.host, from_flag.log_level) == (6000, "0.0.0.0", "debug")


def test_config_path_from_folionaut_config_and_flag_wins(tmp_path: Path) -> None:
    env_file, flag_file = tmp_path / "env.toml", tmp_path / "flag.toml"
    env_file.write_text("port = 4100\n")
    flag_file.write_text("[folionaut]\nport = 4200\n")  # the optional [folionaut] table works too
    assert load_settings(None, env={"FOLIONAUT_CONFIG": str(env_file)}).port == 4100
    assert load_settings(flag_file, env={"FOLIONAUT_CONFIG": str(env_file)}).port == 4200


def test_environment_variants_and_empty_env_means_unset() -> None:
    assert load_settings(None, env={"NODE_ENV": "production"}).environment == "production"
    assert load_settings(None, env={"NODE_ENV": "production", "FOLIONAUT_ENV": "test"}).environment == "test"
    assert load_settings(None, env={"PORT": "  "}).port == 3000


@pytest.mark.parametrize("word, value", [("true", True), ("1", True), ("yes", True), ("false", False),
                                         ("0", False), ("No", False)])
def test_booleans(word: str, value: bool) -> None:
    assert load_settings(None, env={"FEATURE_AI_CHAT": word}).feature_ai_chat is value


def test_cors_origins_are_a_list() -> None:
    settings = load_settings(None, env={"CORS_ORIGINS": "https://a.example, https://b.example/"})
    assert settings.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize("env, message", [
    ({"PORT": "abc"}, "invalid PORT: expected an integer from 0 to 65535, got 'abc'"),
    ({"PORT": "70000"}, "invalid PORT: expected an integer from 0 to 65535, got '70000'"),
    ({"NODE_ENV": "staging"}, "invalid NODE_ENV: expected one of development, production, test, got 'staging'"),
    ({"FEATURE_MCP_SERVER": "maybe"}, "invalid FEATURE_MCP_SERVER: expected true/false, 1/0 or yes/no, got 'maybe'"),
    ({"LLM_TEMPERATURE": "warm"}, "invalid LLM_TEMPERATURE: expected a number from 0 to 2, got 'warm'"),
    ({"RATE_LIMIT_REFILL_RATE": "nan"}, "invalid RATE_LIMIT_REFILL_RATE: expected a number from 0.001 to 1e+06"),
    ({"LLM_BASE_URL": "not a url"}, "invalid LLM_BASE_URL: expected a URL starting with http://, https://"),
    ({"REDIS_URL": "redis://"}, "invalid REDIS_URL: expected a URL starting with redis://"),
    ({"TURSO_DATABASE_URL": "postgres://db"}, "invalid TURSO_DATABASE_URL: expected a URL starting with file:"),
    ({"CORS_ORIGINS": "example.com"}, "invalid CORS_ORIGINS: expected a comma-separated list of origins"),
    ({"PUBLIC_CONTACT_EMAIL": "nobody"}, "invalid PUBLIC_CONTACT_EMAIL: expected an e-mail address"),
])
def test_validation_messages_name_the_variable_and_the_expected_form(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env=env)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_short_admin_key_message_never_echoes_the_key() -> None:
    key = "hunter2-is-not-long-enough"
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={"ADMIN_API_KEY": key})
    assert str(caught.value) == f"invalid ADMIN_API_KEY: expected at least 32 characters, got {len(key)} characters"
    assert key not in str(caught.value)


def test_url_credentials_are_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env={"REDIS_URL": "redis://:s3cret-pass@localhost:notaport/0"})
    assert "s3cret-pass" not in str(caught.value)


def test_file_and_flag_errors_name_their_source(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('port = "eighty"\n')
    with pytest.raises(ConfigError, match=re.escape(f"invalid port in {config}: expected an integer")):
        load_settings(config, env={})
    with pytest.raises(ConfigError, match="invalid --port: expected an integer"):
        load_settings(None, env={}, overrides={"port": "x"})


def test_bad_config_files(tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 3000\n")
    with pytest.raises(ConfigError, match=r"invalid key 'prot' in .*unknown\.toml: expected a known setting"):
        load_settings(unknown, env={})
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 3\n")
    with pytest.raises(ConfigError, match=r"broken.toml: expected valid TOML \(.*line 1"):
        load_settings(broken, env={})
    with pytest.raises(ConfigError, match="invalid --config: expected an existing TOML file"):
        load_settings(tmp_path / "missing.toml", env={})
    with pytest.raises(ConfigError, match="invalid FOLIONAUT_CONFIG: expected an existing TOML file"):
        load_settings(None, env={"FOLIONAUT_CONFIG": str(tmp_path / "missing.toml")})


def test_settings_are_immutable() -> None:
    settings = defaults()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
