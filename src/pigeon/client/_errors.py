"""The client's one error tree.

    PigeonError
    ├── APIError                 pigeon answered with an error (RFC 9457 problem JSON)
    │   ├── ValidationFailed     400, 422: the request is invalid; `errors` names the fields
    │   ├── Unauthorized         401: no, unknown or revoked key or device token
    │   ├── Forbidden            403: the key lacks the scope
    │   ├── NotFound             404: no such resource in this workspace
    │   ├── Conflict             409: the request clashes with the resource's state
    │   └── Unavailable          429, 503: nothing was done; try again (`retry_after`)
    └── ConnectionFailed         no answer, after the retries the request allowed

Each class's one-line docstring is its default message. These are the client's own classes:
`pigeon.errors` is the server's tree, which the client must not import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class PigeonError(Exception):
    """The pigeon client failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class FieldError:
    """One offending field of a request: `items[2].recipient`, `cursor`, `request_body`."""

    field: str
    detail: str


class APIError(PigeonError):
    """pigeon refused the request."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[FieldError] | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors: list[FieldError] = list(errors or [])
        self.body = body  # the answer as decoded: the problem object, or its text
        super().__init__(self._describe())

    def _describe(self) -> str:
        lines = [f"{self.detail or self.title} ({self.status} {self.title})"]
        # pigeon's detail usually joins the field errors already: list only what it omits.
        lines += [
            f"  {e.field}: {e.detail}"
            for e in self.errors
            if f"{e.field}: {e.detail}" not in self.detail
        ]
        return "\n".join(lines)

    @property
    def fields(self) -> list[str]:
        """The names of the offending fields, in pigeon's order."""
        return [e.field for e in self.errors]


class ValidationFailed(APIError):
    """The request is invalid; nothing was written."""

    def _describe(self) -> str:
        described = super()._describe()
        return f"{described}\n  ask: {self.question}" if self.question else described

    @property
    def question(self) -> str | None:
        """When a time given in words (`scheduled_for_text`) could not be scheduled: the
        question to ask its sender back ("When should it be sent? ..."); else None."""
        return _text_member(self.body, "question")

    @property
    def reason(self) -> str | None:
        """With `question`: why the time could not be scheduled (`vague_time`, `no_time`,
        `past_time`, `unknown_date_order`, ...)."""
        return _text_member(self.body, "reason")


def _text_member(body: Any, name: str) -> str | None:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


class Unauthorized(APIError):
    """The key or device token is missing, unknown or revoked."""


class Forbidden(APIError):
    """The key lacks the scope this request needs."""


class NotFound(APIError):
    """No such resource in this workspace."""


class Conflict(APIError):
    """The request clashes with the resource's current state."""


class Unavailable(APIError):
    """pigeon cannot take the request now; nothing was done."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        errors: list[FieldError] | None = None,
        body: Any = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, title, detail, errors, body)
        self.retry_after = retry_after  # seconds, as the answer's Retry-After said


class ConnectionFailed(PigeonError):
    """pigeon could not be reached."""

    def __init__(self, message: str | None = None, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationFailed,
    422: ValidationFailed,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: Unavailable,
    503: Unavailable,
}
