"""Settings from PIGEON_* environment variables, parsed once at start.

Nothing else reads the environment: every component receives its part of `Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pigeon.errors import ConfigError
from pigeon.extract.settings import ExtractConfigError, ExtractSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite:///./pigeon.db"
# The bounds of a claim's `limit` and `wait` in the API; the settings' defaults stay inside.
MAX_CLAIM_LIMIT = 500
MAX_CLAIM_WAIT = 60.0
# Google's keys for the OIDC tokens of Pub/Sub pushes (PEM certificates by key id).
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# Upper bounds of durations: past them a time computed from one leaves the calendar.
HOUR = 3600.0
DAYS_30 = 30 * 86400.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for failed sends: base * 2**(attempt-1), capped, with jitter."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    max_attempts: int = 5
    jitter: float = 0.2


@dataclass(frozen=True)
class QueueSettings:
    """The job engine: which backend holds jobs, and how consumers claim and retry them."""

    backend: str = "sql"  # "sql" (the database) or "redis" (Streams; needs PIGEON_REDIS_URL)
    max_attempts: int = 5
    lease_seconds: float = 30.0  # PIGEON_QUEUE_CLAIM_TTL_MS
    block_seconds: float = 2.0  # how long an idle consumer's claim waits for work
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 900.0
    concurrency: int = 4  # jobs a consumer runs at once


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    operator_token: str | None = None
    redis_url: str | None = None
    lease_seconds: float = 120.0
    claim_limit: int = 50
    # A device not seen for this long gets no new work, and its unclaimed work moves.
    device_offline_seconds: float = 90.0
    max_claim_wait_seconds: float = 30.0
    scheduler_interval_seconds: float = 0.25
    max_body_chars: int = 10_000
    max_request_bytes: int = 16 * 1024 * 1024
    sse_ping_seconds: float = 15.0
    db_pool_size: int = 20
    sqlite_busy_seconds: float = 5.0
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    queue: QueueSettings = field(default_factory=QueueSettings)
    public_url: str | None = None  # the address providers call, behind any proxy
    secret_key: str | None = None  # seals provider secrets at rest (pigeon.crypto)
    google_certs_url: str = GOOGLE_CERTS_URL
    # Whether this process watches IMAP mailboxes: on in `pigeon serve` alone; a team runs
    # it in one process (every watcher of a mailbox would report each message).
    imap_listener: bool = True
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _number(
    env: Mapping[str, str],
    name: str,
    default: T,
    kind: Callable[[str], T],
    minimum: float,
    maximum: float | None = None,
) -> T:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(name, f"expected {NUMBER_WORDS[kind]}, got {raw!r}") from None
    if value != value:  # NaN
        raise ConfigError(name, f"expected a number, got {raw!r}")
    if value < minimum:  # type: ignore[operator]
        raise ConfigError(name, f"must be at least {minimum}, got {raw!r}")
    if maximum is not None and value > maximum:  # type: ignore[operator]
        # An API bound: accepted here, it would make requests fail that use the default.
        raise ConfigError(name, f"must be at most {maximum}, got {raw!r}")
    return value


NUMBER_WORDS: dict[Callable[[str], object], str] = {int: "a whole number", float: "a number"}


def _database_url(env: Mapping[str, str]) -> str:
    url = env.get("PIGEON_DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        # psycopg 3 is the only PostgreSQL driver pigeon installs.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite:///") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(
            "PIGEON_DATABASE_URL",
            "expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
        )
    return url


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = env.get("PIGEON_REDIS_URL") or None
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            "PIGEON_REDIS_URL", "expected redis://HOST:PORT/DB (or rediss://, unix://)"
        )
    return url


def _queue(env: Mapping[str, str], redis_url: str | None) -> QueueSettings:
    backend = (env.get("PIGEON_QUEUE_BACKEND") or "sql").strip().lower()
    if backend not in {"sql", "redis"}:
        raise ConfigError("PIGEON_QUEUE_BACKEND", f"expected sql or redis, got {backend!r}")
    if backend == "redis" and redis_url is None:
        raise ConfigError("PIGEON_QUEUE_BACKEND", "redis needs PIGEON_REDIS_URL")
    queue = QueueSettings(
        backend=backend,
        max_attempts=_number(env, "PIGEON_QUEUE_MAX_ATTEMPTS", 5, int, 1, 1000),
        lease_seconds=_number(env, "PIGEON_QUEUE_CLAIM_TTL_MS", 30_000, int, 1000, 86_400_000)
        / 1000,
        block_seconds=_number(env, "PIGEON_QUEUE_BLOCK_SECONDS", 2.0, float, 0.0, 60.0),
        retry_base_seconds=_number(env, "PIGEON_QUEUE_RETRY_BASE_SECONDS", 5.0, float, 0.0, HOUR),
        retry_cap_seconds=_number(
            env, "PIGEON_QUEUE_RETRY_CAP_SECONDS", 900.0, float, 0.0, DAYS_30
        ),
        concurrency=_number(env, "PIGEON_QUEUE_CONCURRENCY", 4, int, 1, 256),
    )
    if queue.retry_cap_seconds < queue.retry_base_seconds:
        raise ConfigError(
            "PIGEON_QUEUE_RETRY_CAP_SECONDS", "must be at least PIGEON_QUEUE_RETRY_BASE_SECONDS"
        )
    return queue


def _public_url(env: Mapping[str, str]) -> str | None:
    url = (env.get("PIGEON_PUBLIC_URL") or "").strip().rstrip("/") or None
    if url is None:
        return None
    scheme, _, rest = url.partition("://")
    # http for a local test; providers (Graph, Pub/Sub) call https only.
    if scheme not in ("https", "http") or not rest or "?" in rest or "#" in rest:
        raise ConfigError("PIGEON_PUBLIC_URL", "expected https://HOST[:PORT][/PATH], no query")
    return url


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Parse `env` (default: the process environment) into `Settings`."""
    env = os.environ if env is None else env
    operator_token = env.get("PIGEON_OPERATOR_TOKEN") or None
    if operator_token is not None and len(operator_token) < 16:
        raise ConfigError("PIGEON_OPERATOR_TOKEN", "must be at least 16 characters")
    retry = RetryPolicy(
        base_seconds=_number(env, "PIGEON_RETRY_BASE_SECONDS", 30.0, float, 0.0, DAYS_30),
        cap_seconds=_number(env, "PIGEON_RETRY_CAP_SECONDS", 3600.0, float, 0.0, DAYS_30),
        max_attempts=_number(env, "PIGEON_RETRY_MAX_ATTEMPTS", 5, int, 1, 1000),
        jitter=_number(env, "PIGEON_RETRY_JITTER", 0.2, float, 0.0),
    )
    if retry.cap_seconds < retry.base_seconds:
        raise ConfigError("PIGEON_RETRY_CAP_SECONDS", "must be at least PIGEON_RETRY_BASE_SECONDS")
    if retry.jitter >= 1:
        raise ConfigError("PIGEON_RETRY_JITTER", "must be below 1 (a fraction of the delay)")
    log_level = (env.get("PIGEON_LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("PIGEON_LOG_LEVEL", "expected DEBUG, INFO, WARNING or ERROR")
    redis_url = _redis_url(env)
    try:
        extract = ExtractSettings.from_env(env)
    except ExtractConfigError as error:
        raise ConfigError(error.variable, str(error).removeprefix(f"{error.variable}: ")) from None
    secret_key = env.get("PIGEON_SECRET_KEY") or None
    if secret_key is not None and len(secret_key) < 32:
        raise ConfigError("PIGEON_SECRET_KEY", "must be at least 32 characters")
    google_certs_url = env.get("PIGEON_GOOGLE_CERTS_URL") or GOOGLE_CERTS_URL
    imap_listener = (env.get("PIGEON_IMAP_LISTENER") or "on").strip().lower()
    if imap_listener not in {"on", "off"}:
        raise ConfigError("PIGEON_IMAP_LISTENER", f"expected on or off, got {imap_listener!r}")
    if not google_certs_url.startswith(("https://", "http://")):
        raise ConfigError("PIGEON_GOOGLE_CERTS_URL", "expected an http(s) URL")
    return Settings(
        extract=extract,
        secret_key=secret_key,
        google_certs_url=google_certs_url,
        imap_listener=imap_listener == "on",
        database_url=_database_url(env),
        operator_token=operator_token,
        redis_url=redis_url,
        queue=_queue(env, redis_url),
        public_url=_public_url(env),
        lease_seconds=_number(env, "PIGEON_LEASE_SECONDS", 120.0, float, 1.0, DAYS_30),
        claim_limit=_number(env, "PIGEON_CLAIM_LIMIT", 50, int, 1, MAX_CLAIM_LIMIT),
        device_offline_seconds=_number(
            env, "PIGEON_DEVICE_OFFLINE_SECONDS", 90.0, float, 5.0, DAYS_30
        ),
        max_claim_wait_seconds=_number(
            env, "PIGEON_MAX_CLAIM_WAIT_SECONDS", 30.0, float, 0.0, MAX_CLAIM_WAIT
        ),
        scheduler_interval_seconds=_number(
            env, "PIGEON_SCHEDULER_INTERVAL_SECONDS", 0.25, float, 0.01, HOUR
        ),
        max_body_chars=_number(env, "PIGEON_MAX_BODY_CHARS", 10_000, int, 1, 1_000_000),
        max_request_bytes=_number(
            env, "PIGEON_MAX_REQUEST_BYTES", 16 * 1024 * 1024, int, 1024, 1024**3
        ),
        sse_ping_seconds=_number(env, "PIGEON_SSE_PING_SECONDS", 15.0, float, 0.05, HOUR),
        db_pool_size=_number(env, "PIGEON_DB_POOL_SIZE", 20, int, 1, 1000),
        sqlite_busy_seconds=_number(env, "PIGEON_SQLITE_BUSY_SECONDS", 5.0, float, 0.05, HOUR),
        header_timeout_seconds=_number(
            env, "PIGEON_HEADER_TIMEOUT_SECONDS", 10.0, float, 0.1, HOUR
        ),
        body_timeout_seconds=_number(env, "PIGEON_BODY_TIMEOUT_SECONDS", 30.0, float, 0.1, HOUR),
        retry=retry,
        host=env.get("PIGEON_HOST") or "127.0.0.1",
        port=_number(env, "PIGEON_PORT", 8000, int, 0, 65535),
        log_level=log_level,
    )
