"""The /v1 wire format as the client sees it.

Answers are `TypedDict`s: the JSON pigeon sent, as it sent it (ids are strings, times are
ISO 8601 text in UTC with a `Z`). Inputs that are lists of records are small frozen
dataclasses (`NewMessage`, `Report`, `Release`, `Received`); optional groups of fields are
`TypedDict`s taken as keyword arguments (`ContactFields`, `BatchOptions`, ...), so that a
field left out is not sent, and one given as `None` is (which clears it, in a PATCH).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, NotRequired, TypedDict, TypeVar

if TYPE_CHECKING:
    from pigeon.client._errors import APIError

T = TypeVar("T")

MessageStatus = Literal[
    "queued",
    "released",
    "claimed",
    "sent",
    "delivered",
    "read",
    "failed",
    "canceled",
    "suppressed",
    "expired",
    "unknown",
]
# failed: may be retried; rejected: refused for good; unknown: it may have gone out (the
# device crashed mid-send), so it is never sent again.
ReportStatus = Literal["sent", "failed", "rejected", "delivered", "read", "unknown"]
Scope = Literal["read", "send", "admin"]
JobStatus = Literal["ready", "claimed", "done", "skipped", "dead"]
BatchStatus = Literal["draft", "sending", "paused", "completed", "canceled"]
ItemStatus = Literal["pending", "queued", "sent", "failed", "skipped"]
LeaseExpiry = Literal["unknown", "retry"]
HandleKind = Literal["phone", "email", "imessage", "whatsapp"]
Consent = Literal["opted_out", "opted_in"]


class Page(TypedDict, Generic[T]):
    """One page of a list; `next_cursor` fetches the next (None: this is the last)."""

    items: list[T]
    next_cursor: str | None


# Accounts ---------------------------------------------------------------------------------


class Workspace(TypedDict):
    id: str
    name: str
    timezone: str
    created_at: str


class NewWorkspace(Workspace):
    api_key: str  # an admin key, shown once


class ApiKey(TypedDict):
    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    created_at: str
    revoked_at: str | None


class NewApiKey(ApiKey):
    key: str  # shown once


class Revoked(TypedDict):
    id: str
    revoked: bool


class Device(TypedDict):
    id: str
    name: str
    channel_id: str | None
    prefix: str
    created_at: str
    last_seen_at: str | None
    revoked_at: str | None


class NewDevice(Device):
    token: str  # the device token, shown once: what `pigeon gateway` authenticates with


class RevokedDevice(Revoked):
    claims_unknown: int
    claims_requeued: int
    claims_failed: int
    pinned_failed: int


class Channel(TypedDict):
    id: str
    kind: str
    name: str
    config: dict[str, Any]
    is_default: bool
    on_lease_expiry: LeaseExpiry | None
    created_at: str
    updated_at: str
    disabled: bool
    # Mailbox kinds (msgraph, gmail, imap) only:
    webhook_path: NotRequired[str]
    webhook_url: NotRequired[str | None]
    secrets: NotRequired[list[str]]
    state: NotRequired[dict[str, Any]]


class ChannelChanges(TypedDict, total=False):
    name: str
    config: dict[str, Any]  # merged into what is stored, for mailbox kinds
    on_lease_expiry: LeaseExpiry | None
    is_default: bool
    disabled: bool


class AuditEvent(TypedDict):
    id: int
    workspace_id: str | None
    actor: str
    action: str
    subject_type: str
    subject_id: str
    at: str
    detail: dict[str, Any] | None


# Messages ---------------------------------------------------------------------------------


class Held(TypedDict):
    reason: str  # max_per_minute, quiet_hours, paused, batch_paused, ...
    until: str | None  # None: until the hold is lifted


class Message(TypedDict):
    id: str
    channel_id: str | None
    device_id: str | None
    recipient: str
    body: str
    status: MessageStatus
    scheduled_for: str | None
    attempts: int
    last_error: str | None
    meta: dict[str, Any] | None
    created_at: str
    updated_at: str
    sent_at: str | None
    batch_id: str | None
    held: Held | None
    recurrence_id: NotRequired[str]  # created with `repeat`


MessageEvent = TypedDict(
    "MessageEvent",
    {
        "from": MessageStatus | None,
        "to": MessageStatus,
        "at": str,
        "actor": str,
        "detail": dict[str, Any] | None,
    },
)


class MessageWithEvents(Message):
    events: list[MessageEvent]  # the status history, oldest first


class CreatedMessages(TypedDict):
    items: list[Message]
    created: int
    replayed: int  # items whose idempotency_key had made them already


class MessageStats(TypedDict):
    by_status: dict[MessageStatus, int]


class Repeat(TypedDict):
    rrule: str  # e.g. FREQ=WEEKLY;BYDAY=MO
    timezone: NotRequired[str]  # the workspace's when left out


@dataclass(frozen=True)
class NewMessage:
    """One item of `messages.create_many`. Without an `idempotency_key` the client makes one,
    so that a batch sent again after a lost answer is not made twice."""

    recipient: str
    body: str
    scheduled_for: datetime | str | None = None
    channel_id: str | None = None
    device_id: str | None = None
    meta: dict[str, Any] | None = None
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        check_aware("scheduled_for", self.scheduled_for)


class Recurrence(TypedDict):
    id: str
    kind: str
    status: Literal["active", "ended", "stopped"]
    rrule: str
    timezone: str
    dtstart: str
    next_at: str | None
    occurrences: int
    template: dict[str, Any]
    created_at: str
    updated_at: str
    stopped_at: str | None


# Contacts ---------------------------------------------------------------------------------


class Handle(TypedDict):
    kind: HandleKind
    value: str
    primary: NotRequired[bool]


class ContactFields(TypedDict, total=False):
    external_id: str | None
    name: str | None
    timezone: str | None
    handles: list[Handle]
    tags: list[str]
    attributes: dict[str, Any]
    consent: dict[str, Consent]  # by channel id


class ContactConsent(TypedDict):
    status: Consent
    at: str
    source: str
    keyword: str | None
    handles: list[str]


class Contact(TypedDict):
    id: str
    external_id: str | None
    name: str | None
    timezone: str | None
    timezone_source: str | None
    handles: list[Handle]
    tags: list[str]
    attributes: dict[str, Any]
    consent: dict[str, ContactConsent]
    created_at: str
    updated_at: str


class ContactsUpserted(TypedDict):
    created: int
    updated: int
    unchanged: int
    ids: list[str]


# Outreach batches -------------------------------------------------------------------------


class Audience(TypedDict, total=False):
    all: bool
    tags: list[str]
    tags_mode: Literal["any", "all"]
    contact_ids: list[str]
    where: dict[str, Any]


class AutoPause(TypedDict, total=False):
    window: int
    max_failure_rate: float


class BatchOptions(TypedDict, total=False):
    channel_id: str | None
    variables: dict[str, Any]
    send_at: datetime | str | None
    auto_pause: AutoPause | None  # None: never pause; left out: pigeon's default
    repeat: Repeat | None


class BatchProgress(TypedDict):
    items: dict[ItemStatus, int]
    total: int
    finished: int


class Batch(TypedDict):
    id: str
    name: str
    status: BatchStatus
    status_reason: str | None
    channel_id: str | None
    template: str
    audience: dict[str, Any]
    variables: dict[str, Any]
    send_at: str | None
    auto_pause: dict[str, Any] | None
    repeat: dict[str, Any] | None
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    progress: NotRequired[BatchProgress]  # when read one at a time


class BatchItem(TypedDict):
    id: str
    contact_id: str | None
    recipient: str | None
    body: str | None
    status: ItemStatus
    reason: str | None
    detail: str | None
    message_id: str | None
    updated_at: str


class SkippedRecipient(TypedDict):
    contact_id: str
    name: str | None
    recipient: str | None
    reason: str
    detail: str | None


class Skipped(TypedDict):
    count: int
    by_reason: dict[str, int]
    items: list[SkippedRecipient]


class Sample(TypedDict):
    contact_id: str
    name: str | None
    recipient: str
    body: str


class HourCount(TypedDict):
    hour: str
    count: int


class Timeline(TypedDict):
    start: str
    first_at: str | None
    last_at: str | None
    held_by: dict[str, int]
    by_hour: list[HourCount]


class BatchPreview(TypedDict):
    batch_id: str
    audience: int
    will_send: int
    skipped: Skipped
    samples: list[Sample]
    timeline: Timeline


# Throttle and opt-out ---------------------------------------------------------------------


class QuietHours(TypedDict):
    start: str  # HH:MM, local time
    end: str  # HH:MM; earlier than start when the hours cross midnight


class ThrottleLimits(TypedDict, total=False):
    """A policy as set: every rule left out is off."""

    max_per_minute: int | None
    max_per_hour: int | None
    max_per_day: int | None
    min_gap_seconds: float | None
    recipient_min_gap_seconds: float | None
    quiet_hours: QuietHours | None
    quiet_zone: Literal["workspace", "recipient"]
    timezone: str | None
    paused: bool


class ThrottleRules(TypedDict):
    """A policy as read: every rule, None where off."""

    max_per_minute: int | None
    max_per_hour: int | None
    max_per_day: int | None
    min_gap_seconds: float | None
    recipient_min_gap_seconds: float | None
    quiet_hours: QuietHours | None
    quiet_zone: Literal["workspace", "recipient"]
    timezone: str | None
    paused: bool


class ThrottlePolicy(TypedDict):
    scope: Literal["workspace", "channel", "device"]
    scope_id: str
    rules: ThrottleRules
    configured: bool  # False: no policy of its own here (the rules shown are all off)
    updated_at: str | None


class OptOutLanguage(TypedDict):
    help_text: str
    stop: NotRequired[list[str]]
    start: NotRequired[list[str]]
    help: NotRequired[list[str]]
    stop_text: NotRequired[str | None]
    start_text: NotRequired[str | None]


class OptOutConfig(TypedDict):
    languages: dict[str, OptOutLanguage]  # by language code: en, es, pt-BR


# Extraction -------------------------------------------------------------------------------

Grain = Literal["second", "minute", "hour", "day", "week", "month", "quarter", "year"]


class Extraction(TypedDict):
    """What a text asks to follow up about, and when; or why pigeon would have to ask."""

    due: str | None
    grain: Grain | None
    summary: str
    action: Literal["remind", "remind_and_draft"]
    ambiguous: bool
    # False: the text asks for no follow-up at all ("thanks, got it!"); `due` is None then.
    wants_follow_up: bool
    reason: str | None  # vague_time, no_time, past_time, unknown_date_order, ...
    reason_text: str | None
    question: str | None  # what to ask the sender back, when the extractor has one
    source: str  # rules, or the model backend that answered


class TimeMention(TypedDict):
    text: str
    span: list[int]  # [start, end) in the text, in characters
    start: str | None
    end: str | None  # exclusive
    grain: Grain
    kind: str
    open: Literal["after", "before"] | None  # a half-open interval: its missing side is None
    vague: bool


class Extracted(TypedDict):
    extraction: Extraction
    mentions: list[TimeMention]
    reference: str  # when the text was read as said, in UTC
    zone: str
    locale: str


# Inbound, jobs and stats ------------------------------------------------------------------

InboundMessage = TypedDict(
    "InboundMessage",
    {
        "id": str,
        "channel_id": str | None,
        "provider": str,
        "external_id": str,
        "from": str,
        "to": list[str],
        "subject": str | None,
        "text": str | None,
        "html": str | None,
        "internet_message_id": str | None,
        "in_reply_to": str | None,
        "mailbox": str | None,
        "received_at": str,
        "created_at": str,
    },
)


class Job(TypedDict):
    id: str
    queue: str
    kind: str
    status: JobStatus
    pointer: dict[str, Any]
    channel_id: str | None
    priority: int
    attempts: int
    max_attempts: int
    run_at: str
    last_error: str | None
    lease_expires_at: str | None
    created_at: str
    updated_at: str


class Redriven(TypedDict):
    redriven: int
    job_ids: list[str]


class Purged(TypedDict):
    purged: int
    job_ids: list[str]


class QueueDepth(TypedDict):
    ready: int
    scheduled: int
    claimed: int
    dead: int
    oldest_ready_seconds: float


class Stats(TypedDict):
    messages: MessageStats
    queues: dict[str, QueueDepth]
    queue_backend: str


# The gateway protocol (device token) --------------------------------------------------------


class ClaimedMessage(TypedDict):
    id: str
    recipient: str
    body: str
    claim_token: str
    scheduled_for: str | None
    attempt: int
    # Claimed by this device before and not reported (the answer to that claim may have been
    # lost): send it unless it went out already, and report it either way.
    handed_back: bool


class Claim(TypedDict):
    lease_expires_at: str | None
    messages: list[ClaimedMessage]


class Heartbeat(TypedDict):
    device_id: str
    last_seen_at: str


class InboundAccepted(TypedDict):
    accepted: int
    duplicates: int  # already stored under their guid: nothing changed


@dataclass(frozen=True)
class Report:
    """What became of a claimed message."""

    message_id: str
    claim_token: str
    status: ReportStatus
    error: str | None = None  # recorded as the message's last_error


@dataclass(frozen=True)
class Release:
    """A claimed message handed back unsent, for any device of its channel to take."""

    message_id: str
    claim_token: str


@dataclass(frozen=True)
class Received:
    """A message the device received; pigeon stores it once per `guid`."""

    guid: str
    sender: str
    text: str
    received_at: datetime
    service: Literal["iMessage", "SMS"] | None = None

    def __post_init__(self) -> None:
        check_aware("received_at", self.received_at)


@dataclass(frozen=True)
class ItemResult:
    """One item's answer to `gateway.report` or `gateway.release`: the message's status now,
    or the error that refused this item (the others are unaffected)."""

    message_id: str
    status: str | None
    error: APIError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_aware(field: str, value: datetime | str | None) -> None:
    # pigeon refuses a time without an offset; saying so here names the caller's line.
    if isinstance(value, datetime) and value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware (e.g. datetime.now(UTC))")
