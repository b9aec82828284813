"""What both clients share: a request described as data (`Call`), the retry rules, and the
mapping of answers to results and errors. Pure functions: the clients own the I/O and the
sleeping, and differ only in `await`.

The retry rules. A request is tried once and retried up to `RetryPolicy.retries` times:

- after 503 or 429 (pigeon did nothing: it says so), waiting as `Retry-After` says, capped;
- after a failure to connect (nothing was sent);
- after 502 or 504, a read timeout or a dropped connection only when the request is safe to
  repeat (`Call.repeatable`): a proxy's 504, or a connection that dropped after the request
  went out, may hide a request that pigeon carried out. Safe are GET, PUT and DELETE, a POST
  with an Idempotency-Key (the server answers a repeat with the first result), and the
  gateway routes, which the protocol makes idempotent.

Waits grow exponentially from `backoff`, capped at `max_backoff`, with jitter so that
clients refused together do not come back together.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from pigeon import __version__
from pigeon.client._errors import (
    BY_STATUS,
    APIError,
    ConnectionFailed,
    FieldError,
    PigeonError,
    Unavailable,
)
from pigeon.client.types import check_aware

T = TypeVar("T")

# A waiting claim holds its request for up to `wait` seconds: the read timeout of that request
# must outlast it, or the client would give up on an answer that is on its way.
CLAIM_GRACE_SECONDS = 10.0

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})  # RFC 9110 §9.2.2
# pigeon did not act on the request, whatever it was.
RETRY_ALWAYS = frozenset({429, 503})
# A proxy answered: pigeon may or may not have acted.
RETRY_IF_REPEATABLE = frozenset({502, 504})
# Nothing was sent: trying again cannot do anything twice.
NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
# The request may have reached pigeon before the connection failed.
MAYBE_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise PigeonError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code} with a body that is not JSON"
        ) from error


def json_items(response: httpx.Response) -> Any:
    """The `items` of an answer that is one list, without paging."""
    return json_body(response)["items"]


def no_content(response: httpx.Response) -> None:
    return None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One /v1 request, described once for both clients.

    Built once per method call, so that its Idempotency-Key is the same on every retry.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None  # None: no body
    idempotency_key: str | None = None
    repeatable: bool = False  # safe to send again though the answer was lost (POST only)
    read_timeout: float | None = None  # at least this long, e.g. for a waiting claim
    parse: Callable[[httpx.Response], T] = field(default=json_body)

    @property
    def safe_to_repeat(self) -> bool:
        return self.method in SAFE_METHODS or self.idempotency_key is not None or self.repeatable


# Building requests ----------------------------------------------------------------------


def new_key() -> str:
    """A fresh Idempotency-Key."""
    return str(uuid.uuid4())


def segment(value: str) -> str:
    """An id as one path segment: `../keys` must not become a path, nor `""` the list."""
    if not value:
        raise ValueError("an id must not be empty")
    return quote(value, safe="")


def instant(value: datetime | str | None, field: str) -> str | None:
    check_aware(field, value)
    return value.isoformat() if isinstance(value, datetime) else value


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without those left out (None); times in ISO 8601."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if value is None:
            continue
        out[name] = instant(value, name) if isinstance(value, datetime) else value
    return out


def timeout_for(call: Call[Any], base: httpx.Timeout) -> httpx.Timeout:
    if call.read_timeout is None or base.read is None or base.read >= call.read_timeout:
        return base
    return httpx.Timeout(
        connect=base.connect, read=call.read_timeout, write=base.write, pool=base.pool
    )


def default_headers(token: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    headers = {"User-Agent": f"pigeon-client/{__version__}", "Accept": "application/json"}
    headers.update(extra or {})
    headers["Authorization"] = f"Bearer {token}"
    return headers


def request_arguments(call: Call[Any], base_timeout: httpx.Timeout) -> dict[str, Any]:
    """The arguments of `httpx.Client.build_request` (or the async client's) for `call`."""
    headers = {"Idempotency-Key": call.idempotency_key} if call.idempotency_key else {}
    arguments: dict[str, Any] = {
        "method": call.method,
        "url": call.path,
        "params": call.params or None,
        "headers": headers,
        "timeout": timeout_for(call, base_timeout),
    }
    if call.json is not None:
        arguments["json"] = call.json
    return arguments


# Retrying -------------------------------------------------------------------------------


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait, from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, a request is tried again (see the module's docstring)."""

    retries: int = 3  # after the first try
    backoff: float = 0.5  # the first wait, in seconds; it doubles with each retry
    max_backoff: float = 8.0
    max_retry_after: float = 30.0  # a longer Retry-After is cut to this

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries must be 0 or more")

    @classmethod
    def of(cls, retries: int | RetryPolicy) -> RetryPolicy:
        return retries if isinstance(retries, RetryPolicy) else cls(retries=retries)

    def backoff_delay(self, attempt: int) -> float:
        """The wait after try number `attempt` (0: the first): between half the capped
        exponential and all of it ("equal jitter": never zero, never in step)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** min(attempt, 62))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def after_response(
        self, call: Call[Any], response: httpx.Response, attempt: int, now: datetime
    ) -> float | None:
        """Seconds to wait before trying `call` again after this error answer; None: don't."""
        if attempt >= self.retries:
            return None
        status = response.status_code
        if status in RETRY_ALWAYS:
            asked = retry_after(response.headers.get("Retry-After"), now)
            if asked is not None:
                return min(asked, self.max_retry_after)
            return self.backoff_delay(attempt)
        if status in RETRY_IF_REPEATABLE and call.safe_to_repeat:
            return self.backoff_delay(attempt)
        return None

    def after_error(
        self, call: Call[Any], error: httpx.TransportError, attempt: int
    ) -> float | None:
        """Seconds to wait before trying `call` again after this failure; None: don't."""
        if attempt >= self.retries:
            return None
        if isinstance(error, NOT_SENT) or (isinstance(error, MAYBE_SENT) and call.safe_to_repeat):
            return self.backoff_delay(attempt)
        return None


def connection_failed(
    call: Call[Any], error: httpx.TransportError, attempts: int
) -> ConnectionFailed:
    what = f"{call.method} {call.path}"
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if isinstance(error, MAYBE_SENT) and not call.safe_to_repeat:
        return ConnectionFailed(
            f"{what}: the connection failed after the request was sent ({error!r}); it may "
            "have been carried out: check before repeating it",
            attempts=attempts,
        )
    return ConnectionFailed(f"{what}: no answer after {tries} ({error!r})", attempts=attempts)


# Answers --------------------------------------------------------------------------------


def error_from_problem(status: int, problem: Any, reason: str = "") -> APIError:
    """The error a problem object (RFC 9457) describes; `problem` may be anything else that
    an error answer held (a proxy's HTML, nothing), which becomes the detail."""
    body = problem if isinstance(problem, Mapping) else {}
    errors = [
        FieldError(str(item.get("field", "")), str(item.get("detail", "")))
        for item in body.get("errors") or []
        if isinstance(item, Mapping)
    ]
    title = str(body.get("title") or reason or "Error")
    detail = body.get("detail")
    if detail is None:
        detail = problem.strip()[:500] if isinstance(problem, str) else ""
    return BY_STATUS.get(status, APIError)(status, title, str(detail), errors, problem)


def error_from_response(response: httpx.Response, now: datetime) -> APIError:
    try:
        problem: Any = response.json()
    except ValueError:
        problem = response.text
    error = error_from_problem(response.status_code, problem, response.reason_phrase)
    if isinstance(error, Unavailable):
        error.retry_after = retry_after(response.headers.get("Retry-After"), now)
    return error


def utcnow() -> datetime:
    return datetime.now(UTC)
