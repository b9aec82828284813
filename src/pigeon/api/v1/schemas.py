"""The /v1 wire format: request bodies, with unknown fields refused. The renderings of
resources live in `render`, which the CLI imports without pydantic; they are re-exported
here."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
)

from pigeon.api.v1.render import (
    channel_out,
    device_out,
    event_out,
    iso,
    key_out,
    message_out,
    workspace_out,
)
from pigeon.domain.ids import is_uuid
from pigeon.domain.storable import text_problem


def _uuid(value: str) -> str:
    if not is_uuid(value):
        raise ValueError("must be an id (a UUID)")
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# An id in a path, query or body: malformed ones are refused naming the field, not looked up.
Uuid = Annotated[str, AfterValidator(_uuid)]


def _iso_text(value: Any) -> Any:
    # pydantic would read a number, or a string of digits, as Unix seconds: refused, as the
    # API promises ISO 8601, which starts with the date.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date and time with a UTC offset")


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        return value  # the service refuses it, naming the field
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None


# A point in time in a body or query: ISO 8601 text only, given back in UTC.
Instant = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]
# Numbers and flags as JSON types only: `true` is not a limit, nor "yes" a flag.
Int = Annotated[int, Strict()]
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Text recorded rather than refused, cut and cleaned by the service (a device's error).
    RECORDED: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        """No text field holds what a database cannot store (NUL, unpaired surrogates)."""
        if info.field_name in cls.RECORDED:
            return value
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and (problem := text_problem(text)):
                raise ValueError(problem)
        return value


class WorkspaceIn(Body):
    name: str = Field(max_length=200)
    timezone: str = "UTC"


class KeyIn(Body):
    name: str = Field(max_length=200)
    scopes: list[str]


class DeviceIn(Body):
    name: str = Field(max_length=200)
    channel_id: Uuid | None = None


class ChannelIn(Body):
    kind: str
    name: str = Field(max_length=100)
    config: dict[str, Any] = Field(default_factory=dict)
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: Flag = False


class ChannelPatch(Body):
    name: str | None = Field(default=None, max_length=100)
    config: dict[str, Any] | None = None
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: Flag | None = None
    disabled: Flag | None = None


class MessageIn(Body):
    recipient: str = Field(max_length=254)
    body: str
    scheduled_for: Instant | None = None
    channel_id: str | None = None
    device_id: str | None = None
    meta: dict[str, Any] | None = None


class BatchItemIn(MessageIn):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)


class BatchIn(Body):
    items: list[BatchItemIn]


class ClaimIn(Body):
    limit: Int | None = Field(default=None, ge=1, le=500)
    wait: Number = Field(default=0, ge=0, le=60)


class ReportIn(Body):
    RECORDED = frozenset({"error"})

    message_id: Uuid
    claim_token: str
    status: Literal["sent", "failed", "delivered", "read"]
    # Recorded, never refused (the report must land): cut and cleaned by services.delivery.
    error: str | None = None


MAX_REPORTS = 500


class ReportsIn(Body):
    reports: list[ReportIn] = Field(min_length=1, max_length=MAX_REPORTS)


__all__ = [
    "MAX_REPORTS",
    "BatchIn",
    "BatchItemIn",
    "ChannelIn",
    "ChannelPatch",
    "ClaimIn",
    "DeviceIn",
    "Flag",
    "Instant",
    "Int",
    "KeyIn",
    "MessageIn",
    "Number",
    "ReportIn",
    "ReportsIn",
    "Uuid",
    "WorkspaceIn",
    "channel_out",
    "device_out",
    "event_out",
    "iso",
    "key_out",
    "message_out",
    "workspace_out",
]
