from __future__ import annotations

import sys

import pytest

from pigeon.config import DEFAULT_DATABASE_URL, load_settings
from pigeon.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.operator_token is None and settings.redis_url is None
    assert settings.retry.max_attempts == 5


def test_postgres_urls_use_psycopg() -> None:
    settings = load_settings({"PIGEON_DATABASE_URL": "postgres://u@h/db"})
    assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PIGEON_DATABASE_URL", "mysql://x"),
        ("PIGEON_LEASE_SECONDS", "soon"),
        ("PIGEON_LEASE_SECONDS", "0"),
        ("PIGEON_RETRY_MAX_ATTEMPTS", "2.5"),
        ("PIGEON_RETRY_JITTER", "1.5"),
        ("PIGEON_OPERATOR_TOKEN", "short"),
        ("PIGEON_LOG_LEVEL", "LOUD"),
        ("PIGEON_CLAIM_LIMIT", "-1"),
    ],
)
def test_errors_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_numbers_are_parsed() -> None:
    settings = load_settings({"PIGEON_LEASE_SECONDS": "30", "PIGEON_RETRY_BASE_SECONDS": "2"})
    assert settings.lease_seconds == 30.0 and settings.retry.base_seconds == 2.0


def test_settings_past_an_api_bound_are_refused_at_start() -> None:
    """Accepted, they made every claim that used the default fail with a 422."""
    for name, value in (("PIGEON_CLAIM_LIMIT", "1000"), ("PIGEON_MAX_CLAIM_WAIT_SECONDS", "90")):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value})
    with pytest.raises(ConfigError, match="PIGEON_LEASE_SECONDS"):
        load_settings({"PIGEON_LEASE_SECONDS": "nan"})


def test_durations_that_would_leave_the_calendar_are_refused() -> None:
    """Accepted, a lease of 1e308 s made every claim a 500 (OverflowError)."""
    for name, value in (
        ("PIGEON_LEASE_SECONDS", "1e308"),
        ("PIGEON_RETRY_BASE_SECONDS", "1e12"),
        ("PIGEON_PORT", "99999"),
        ("PIGEON_SCHEDULER_INTERVAL_SECONDS", "1e9"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value})
    with pytest.raises(ConfigError, match="PIGEON_RETRY_CAP_SECONDS"):
        load_settings({"PIGEON_RETRY_BASE_SECONDS": "100", "PIGEON_RETRY_CAP_SECONDS": "10"})


def test_queue_settings_parse_with_units() -> None:
    settings = load_settings(
        {
            "PIGEON_QUEUE_CLAIM_TTL_MS": "4500",
            "PIGEON_QUEUE_MAX_ATTEMPTS": "7",
            "PIGEON_QUEUE_BLOCK_SECONDS": "0.5",
            "PIGEON_QUEUE_BACKEND": "Redis",
            "PIGEON_REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert settings.queue.lease_seconds == 4.5
    assert settings.queue.max_attempts == 7
    assert settings.queue.block_seconds == 0.5
    assert settings.queue.backend == "redis"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PIGEON_QUEUE_BACKEND": "kafka"}, "PIGEON_QUEUE_BACKEND"),
        ({"PIGEON_QUEUE_BACKEND": "redis"}, "PIGEON_QUEUE_BACKEND"),  # without a Redis URL
        ({"PIGEON_QUEUE_CLAIM_TTL_MS": "10"}, "PIGEON_QUEUE_CLAIM_TTL_MS"),
        ({"PIGEON_QUEUE_MAX_ATTEMPTS": "0"}, "PIGEON_QUEUE_MAX_ATTEMPTS"),
        ({"PIGEON_QUEUE_BLOCK_SECONDS": "600"}, "PIGEON_QUEUE_BLOCK_SECONDS"),
        (
            {"PIGEON_QUEUE_RETRY_BASE_SECONDS": "60", "PIGEON_QUEUE_RETRY_CAP_SECONDS": "5"},
            "PIGEON_QUEUE_RETRY_CAP_SECONDS",
        ),
        ({"PIGEON_PUBLIC_URL": "pigeon.example.org"}, "PIGEON_PUBLIC_URL"),
        ({"PIGEON_SECRET_KEY": "too-short"}, "PIGEON_SECRET_KEY"),
        ({"PIGEON_GOOGLE_CERTS_URL": "file:///etc/passwd"}, "PIGEON_GOOGLE_CERTS_URL"),
        ({"PIGEON_EXTRACT_BACKEND": "magic"}, "PIGEON_EXTRACT_BACKEND"),
    ],
)
def test_engine_and_ingress_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == variable


def test_the_public_url_loses_its_trailing_slash() -> None:
    assert load_settings({"PIGEON_PUBLIC_URL": "https://p.example.org/"}).public_url == (
        "https://p.example.org"
    )


def test_a_model_backend_without_its_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDKs are the `llm` extra: a server installed without it refuses the anthropic
    backend at start, naming the variable and the install, instead of failing on first use."""
    monkeypatch.setitem(sys.modules, "anthropic", None)  # import anthropic -> ImportError
    env = {"PIGEON_EXTRACT_BACKEND": "anthropic", "PIGEON_EXTRACT_API_KEY": "sk-test"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.variable == "PIGEON_EXTRACT_BACKEND"
    assert "pip install 'pigeon[llm]'" in str(caught.value)
    # The backends that need no SDK load as before.
    assert load_settings({"PIGEON_EXTRACT_BACKEND": "rules"}).extract.backend == "rules"
    openai = {
        "PIGEON_EXTRACT_BACKEND": "openai",
        "PIGEON_EXTRACT_BASE_URL": "http://127.0.0.1:8080",
        "PIGEON_EXTRACT_MODEL": "llama3",
    }
    assert load_settings(openai).extract.backend == "openai"


def test_the_extract_locale_is_read_once_and_spelled_one_way() -> None:
    assert load_settings({}).extract.locale == "en"
    assert load_settings({"PIGEON_EXTRACT_LOCALE": "en-gb"}).extract.locale == "en_GB"
    with pytest.raises(ConfigError) as caught:
        load_settings({"PIGEON_EXTRACT_LOCALE": "British English"})
    assert caught.value.variable == "PIGEON_EXTRACT_LOCALE"
