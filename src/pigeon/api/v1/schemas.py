"""The /v1 wire format: request bodies, with unknown fields refused. The renderings of
resources live in `render`, which the CLI imports without pydantic; they are re-exported
here."""

from __future__ import annotations

import re
import uuid
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
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from pigeon.api.v1.render import (
    channel_out,
    device_out,
    event_out,
    iso,
    key_out,
    message_out,
    workspace_out,
)
from pigeon.config import MAX_CLAIM_LIMIT, MAX_CLAIM_WAIT
from pigeon.domain.accounts import Scope
from pigeon.domain.ids import is_uuid
from pigeon.domain.storable import text_problem
from pigeon.services.contacts import MAX_BULK
from pigeon.services.extraction import MAX_TIME_TEXT
from pigeon.services.messages import MAX_BATCH


def _uuid(value: str) -> str:
    """The id in pigeon's spelling: any form Python reads as a UUID (upper case, braces,
    `urn:uuid:`, no hyphens) names the same resource."""
    if not is_uuid(value):
        raise ValueError("must be an id (a UUID)")
    return str(uuid.UUID(value))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

UUID_SCHEMA = {"type": "string", "format": "uuid"}
# An id in a path, query or body: malformed ones are refused naming the field, not looked up.
Uuid = Annotated[str, AfterValidator(_uuid), WithJsonSchema(UUID_SCHEMA)]
# An id the service looks up itself (a malformed one is "no such ..."): a UUID all the same.
IdText = Annotated[str, WithJsonSchema(UUID_SCHEMA)]
# Text the service strips and refuses when nothing is left: at least one character.
NOT_EMPTY: dict[str, Any] = {"minLength": 1}


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
Instant = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_in_utc),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
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
    name: str = Field(max_length=200, json_schema_extra=NOT_EMPTY)
    timezone: str = "UTC"


class KeyIn(Body):
    name: str = Field(max_length=200, json_schema_extra=NOT_EMPTY)
    # Checked by the service, which names `scopes` (not the item) in its error.
    scopes: list[str] = Field(
        json_schema_extra={
            "minItems": 1,
            "items": {"type": "string", "enum": [s.value for s in Scope]},
        }
    )


class DeviceIn(Body):
    name: str = Field(max_length=200, json_schema_extra=NOT_EMPTY)
    channel_id: Uuid | None = None


class ChannelIn(Body):
    kind: str
    name: str = Field(max_length=100, json_schema_extra=NOT_EMPTY)
    config: dict[str, Any] = Field(default_factory=dict)
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: Flag = False


class ChannelPatch(Body):
    name: str | None = Field(default=None, max_length=100, json_schema_extra=NOT_EMPTY)
    config: dict[str, Any] | None = None
    on_lease_expiry: Literal["unknown", "retry"] | None = None
    is_default: Flag | None = None
    disabled: Flag | None = None


RECIPIENT_EXAMPLES = ["+14155552671", "ann@example.org"]


class RepeatIn(Body):
    """Repeat the message: the first goes at `scheduled_for`, then one per occurrence of
    the rule, in the wall time of `timezone` (the workspace's when not given)."""

    rrule: str = Field(
        max_length=500, json_schema_extra=NOT_EMPTY, examples=["FREQ=WEEKLY;BYDAY=MO"]
    )
    timezone: str | None = Field(
        default=None, max_length=64, json_schema_extra=NOT_EMPTY, examples=["Europe/London"]
    )


ZONE_EXAMPLES = ["Europe/London"]
LOCALE_EXAMPLES = ["en_GB", "en-US"]


def _zone_field() -> Any:
    return Field(default=None, max_length=64, json_schema_extra=NOT_EMPTY, examples=ZONE_EXAMPLES)


def _locale_field() -> Any:
    return Field(default=None, max_length=35, json_schema_extra=NOT_EMPTY, examples=LOCALE_EXAMPLES)


class MessageIn(Body):
    recipient: str = Field(max_length=254, json_schema_extra=NOT_EMPTY, examples=RECIPIENT_EXAMPLES)
    # Its longest length is a setting (PIGEON_MAX_BODY_CHARS): api/openapi.py declares it.
    body: str = Field(json_schema_extra=NOT_EMPTY, examples=["Hello!"])
    scheduled_for: Instant | None = Field(default=None, examples=["2030-01-01T09:00:00+01:00"])
    # The time in words instead, resolved when the request arrives; read in `timezone` (the
    # workspace's when not given) and `locale` (PIGEON_EXTRACT_LOCALE's).
    scheduled_for_text: str | None = Field(
        default=None,
        max_length=MAX_TIME_TEXT,
        json_schema_extra=NOT_EMPTY,
        examples=["tomorrow at 3pm"],
    )
    timezone: str | None = _zone_field()
    locale: str | None = _locale_field()
    channel_id: IdText | None = None
    device_id: IdText | None = None
    meta: dict[str, Any] | None = None
    repeat: RepeatIn | None = None


BATCH_REFUSES = {
    "repeat": "create a repeating message on its own",
    "scheduled_for_text": "give each item its scheduled_for, or create it on its own",
    "timezone": "it goes with scheduled_for_text, which a batch does not take",
    "locale": "it goes with scheduled_for_text, which a batch does not take",
}


class BatchItemIn(MessageIn):
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255)
    repeat: SkipJsonSchema[None] = None
    scheduled_for_text: SkipJsonSchema[None] = None
    timezone: SkipJsonSchema[None] = None
    locale: SkipJsonSchema[None] = None

    @field_validator(*BATCH_REFUSES, mode="before")
    @classmethod
    def _not_in_a_batch(cls, value: Any, info: ValidationInfo) -> None:
        if value is not None:
            raise ValueError(f"is not taken in a batch: {BATCH_REFUSES[str(info.field_name)]}")
        return None


class ExtractIn(Body):
    """A text to read times in. `reference` is when it was said (default: now), `zone` the
    IANA zone it was said in (default: the workspace's), `locale` the sender's (default:
    PIGEON_EXTRACT_LOCALE's; en_GB reads 3/11 day first)."""

    # Its longest length is a setting (PIGEON_MAX_BODY_CHARS): api/openapi.py declares it.
    text: str = Field(json_schema_extra=NOT_EMPTY, examples=["call Ann tomorrow at 3pm"])
    reference: Instant | None = Field(default=None, examples=["2030-01-07T09:00:00+01:00"])
    zone: str | None = _zone_field()
    locale: str | None = _locale_field()


class BatchIn(Body):
    # Counted while the body streams in (api/intake.py); bounded here too, so that a body
    # the counter cannot follow still validates at most MAX_BATCH items (pydantic checks
    # the length first).
    items: list[BatchItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class ClaimIn(Body):
    limit: Int | None = Field(default=None, ge=1, le=MAX_CLAIM_LIMIT)
    wait: Number = Field(default=0, ge=0, le=MAX_CLAIM_WAIT, allow_inf_nan=False)


class ReportIn(Body):
    RECORDED = frozenset({"error"})

    message_id: Uuid
    claim_token: str
    # failed: may be retried; rejected: refused for good; unknown: it may have gone out
    # (the device crashed mid-send), so it is never sent again.
    status: Literal["sent", "failed", "rejected", "delivered", "read", "unknown"]
    # Recorded, never refused (the report must land): cut and cleaned by services.delivery.
    error: str | None = None


MAX_REPORTS = 500


class ReportsIn(Body):
    reports: list[ReportIn] = Field(min_length=1, max_length=MAX_REPORTS)


class ReleaseIn(Body):
    message_id: Uuid
    claim_token: str


class ReleasesIn(Body):
    releases: list[ReleaseIn] = Field(min_length=1, max_length=MAX_REPORTS)


class InboundIn(Body):
    # Recorded, never refused (a device must be able to hand over what it received): cut
    # and cleaned by services/gateway.
    RECORDED = frozenset({"text"})
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    guid: str = Field(min_length=1, max_length=200)
    sender: str = Field(alias="from", min_length=1, max_length=320, examples=RECIPIENT_EXAMPLES)
    text: str = ""
    received_at: Instant = Field(examples=["2030-01-07T09:00:00+01:00"])
    service: Literal["iMessage", "SMS"] | None = None

    @field_validator("received_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must include a UTC offset, e.g. 2030-01-07T09:00:00Z")
        return value


MAX_INBOUND = 500


class InboundsIn(Body):
    messages: list[InboundIn] = Field(min_length=1, max_length=MAX_INBOUND)


class OptOutLanguageIn(Body):
    stop: list[str] = Field(default_factory=list, max_length=50)
    start: list[str] = Field(default_factory=list, max_length=50)
    help: list[str] = Field(default_factory=list, max_length=50)
    help_text: str = Field(max_length=1000, json_schema_extra=NOT_EMPTY)
    stop_text: str | None = Field(default=None, max_length=1000)
    start_text: str | None = Field(default=None, max_length=1000)


class OptOutIn(Body):
    """The opt-out keywords, by language code (`en`, `es`, `pt-BR`): whole messages that
    opt the sender out of the channel (stop), back in (start), or ask for help."""

    languages: dict[str, OptOutLanguageIn]


__all__ = [
    "MAX_REPORTS",
    "BatchIn",
    "BatchItemIn",
    "ChannelIn",
    "ChannelPatch",
    "ClaimIn",
    "DeviceIn",
    "ExtractIn",
    "Flag",
    "InboundIn",
    "InboundsIn",
    "Instant",
    "Int",
    "KeyIn",
    "MessageIn",
    "Number",
    "OptOutIn",
    "ReleaseIn",
    "ReleasesIn",
    "RepeatIn",
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


# Contacts: checked field by field by domain/contacts (which names every problem); these
# models say the shape, and the bounds that the domain enforces as well.
ContactTag = Annotated[str, Field(min_length=1, max_length=100)]
ATTRIBUTE_VALUE: dict[str, Any] = {"type": ["string", "number", "boolean", "null"]}
ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "maxProperties": 100,
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 64},
    "additionalProperties": {
        "anyOf": [ATTRIBUTE_VALUE, {"type": "array", "items": ATTRIBUTE_VALUE, "maxItems": 100}]
    },
}


class HandleIn(Body):
    kind: Literal["phone", "email", "imessage", "whatsapp"]
    value: str = Field(max_length=254, json_schema_extra=NOT_EMPTY, examples=RECIPIENT_EXAMPLES)
    primary: Flag = False


class ContactIn(Body):
    """A contact; as a PATCH, only the fields given are replaced (handles and tags as whole
    sets). `consent` opts every handle a channel can send to out of it, or back in."""

    external_id: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/London"])
    handles: list[HandleIn] = Field(default_factory=list, max_length=20)
    tags: list[ContactTag] = Field(default_factory=list, max_length=50)
    attributes: dict[str, Any] = Field(
        default_factory=dict, json_schema_extra=ATTRIBUTES_SCHEMA, examples=[{"plan": "pro"}]
    )
    consent: dict[str, Literal["opted_out", "opted_in"]] = Field(
        default_factory=dict,
        json_schema_extra={"propertyNames": {"type": "string", "format": "uuid"}},
    )


class ContactsBulkIn(Body):
    # Rows are checked by the service, each problem named (`contacts[3].handles[0].value`),
    # every row's at once; the schema of a row is ContactIn's.
    contacts: list[Any] = Field(
        min_length=1,
        max_length=MAX_BULK,
        json_schema_extra={"items": {"$ref": "#/components/schemas/ContactIn"}},
    )
