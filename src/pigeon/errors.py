"""pigeon's one error tree.

    PigeonError
    ├── ConfigError (also ValueError)       a PIGEON_* variable is missing or malformed
    ├── ValidationError (also ValueError)   bad input; carries the offending field names
    │   ├── InvalidValue                    the database refused a value the checks let by
    │   └── UnclearTime                     a time in words that pigeon must ask back about
    ├── AuthError                           no or unknown credentials
    │   └── PermissionDenied                credentials lack the scope
    ├── NotFound                            no such resource in this workspace
    ├── Conflict                            the request clashes with current state
    │   ├── IdempotencyConflict             same Idempotency-Key, different request
    │   ├── IllegalTransition               the state machine forbids the change
    │   └── StaleClaim                      the claim token is not the current lease
    │       └── LeaseExpired                the lease ran out: the token can no longer steer
    ├── StorageUnavailable                  the database could not be reached or written
    └── ChannelError                        a channel failed to send
        ├── TransientChannelError           worth retrying
        └── PermanentChannelError           retrying will not help

Each class's one-line docstring is its default message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


class PigeonError(Exception):
    """pigeon failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class ConfigError(PigeonError, ValueError):
    """The configuration is invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


class ValidationError(PigeonError, ValueError):
    """The request is invalid."""

    def __init__(self, errors: Mapping[str, str] | str, message: str | None = None) -> None:
        self.errors: dict[str, str] = {"body": errors} if isinstance(errors, str) else dict(errors)
        detail = "; ".join(f"{field}: {problem}" for field, problem in self.errors.items())
        super().__init__(message or detail)

    @property
    def extensions(self) -> dict[str, Any]:
        """Members a surface adds to its error body beside the fields (RFC 9457 extensions)."""
        return {}

    @classmethod
    def field(cls, field: str, problem: str) -> ValidationError:
        return cls({field: problem})


class InvalidValue(ValidationError):
    """The database refused a value of this request; nothing was written."""

    def __init__(self, reason: str) -> None:
        super().__init__({"request_body": f"a value could not be stored ({reason})"})


class UnclearTime(ValidationError):
    """The time given in words cannot be scheduled without asking back."""

    def __init__(self, field: str, problem: str, *, question: str, reason: str) -> None:
        super().__init__({field: problem})
        self.field_name = field
        self.problem = problem
        self.question = question  # what to ask the sender, e.g. "When should it be sent? ..."
        self.reason = reason  # a stable code: vague_time, no_time, past_time, ...

    @property
    def extensions(self) -> dict[str, Any]:
        return {"question": self.question, "reason": self.reason}


class AuthError(PigeonError):
    """Missing or invalid credentials."""


class PermissionDenied(AuthError):
    """These credentials do not allow this action."""


class NotFound(PigeonError):
    """No such resource."""


class Conflict(PigeonError):
    """The request conflicts with the current state."""


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was used with a different request."""


class IllegalTransition(Conflict):
    """The state machine does not allow this change."""


class StaleClaim(Conflict):
    """The claim token is not the current lease of this item."""


class LeaseExpired(StaleClaim):
    """The lease of this claim has ended."""


class StorageUnavailable(PigeonError):
    """The database is unavailable."""


class ChannelError(PigeonError):
    """The channel failed to send."""


class TransientChannelError(ChannelError):
    """The channel failed for now; retrying may succeed."""


class PermanentChannelError(ChannelError):
    """The channel refused the message; retrying will not help."""
