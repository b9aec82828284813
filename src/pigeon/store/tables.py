"""The schema, as SQLAlchemy Core metadata for SQLite and PostgreSQL alike.

Alembic migrations must produce exactly this (tests/migration checks it on both dialects).
Statuses are plain strings guarded by CHECK constraints built from the domain enums, so the
database and the state machine cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

from pigeon.domain.channels import ChannelKind, LeaseExpiryPolicy
from pigeon.domain.transitions import BatchStatus, ItemStatus, JobStatus, MessageStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on both dialects.

    SQLite has no time zone type: values are stored as naive UTC text, which sorts correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value  # PostgreSQL sessions run in UTC (store/database.py)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: Any) -> str:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({allowed})"


def _id() -> Column[str]:
    return Column("id", String(36), primary_key=True)


def _workspace_fk() -> Column[str]:
    return Column(
        "workspace_id", String(36), ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False
    )


def _created_at() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


workspaces = Table(
    "workspaces",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    _created_at(),
)

operator_tokens = Table(
    "operator_tokens",
    metadata,
    _id(),
    Column("prefix", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("revoked_at", UTCDateTime()),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _workspace_fk(),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", String(100), nullable=False),
    _created_at(),
    Column("revoked_at", UTCDateTime()),
    Index(None, "workspace_id"),
)

channels = Table(
    "channels",
    metadata,
    _id(),
    _workspace_fk(),
    Column("kind", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("config", JSON(), nullable=False),
    Column("is_default", Boolean(), nullable=False),
    Column("on_lease_expiry", String(10), nullable=False),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("disabled_at", UTCDateTime()),
    # Provider secrets, sealed (pigeon.crypto); never returned by the API.
    Column("sealed_secrets", Text()),
    # Provider state: subscriptions and their expiry, cursors, the last upkeep's outcome.
    Column("state", JSON()),
    UniqueConstraint("workspace_id", "name"),
    CheckConstraint(_one_of("kind", ChannelKind), name="kind"),
    CheckConstraint(_one_of("on_lease_expiry", LeaseExpiryPolicy), name="on_lease_expiry"),
)

devices = Table(
    "devices",
    metadata,
    _id(),
    _workspace_fk(),
    Column("channel_id", String(36), ForeignKey("channels.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    _created_at(),
    Column("last_seen_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Index(None, "workspace_id"),
)

messages = Table(
    "messages",
    metadata,
    _id(),
    _workspace_fk(),
    Column("channel_id", String(36), ForeignKey("channels.id"), nullable=False),
    # The device this message must go through; NULL lets any device of the channel take it.
    Column("device_id", String(36), ForeignKey("devices.id")),
    Column("recipient", String(254), nullable=False),
    Column("body", Text(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("scheduled_for", UTCDateTime(), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("last_error", Text()),
    # Lease and fence of the current claim (see store/claims.py).
    Column("claim_token", String(36)),
    Column("claimed_by", String(36)),
    Column("lease_expires_at", UTCDateTime()),
    Column("meta", JSON()),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime()),
    # When a queued message may be released: its scheduled time, or later while the throttle
    # holds it (`hold_reason` says why); NULL holds it until something lifts the hold (a
    # paused batch or policy). Release walks this, so held messages are never rescanned.
    Column("release_at", UTCDateTime()),
    Column("hold_reason", String(40)),
    # The outreach batch the message belongs to (its item links back to it).
    Column("batch_id", String(36)),
    # pigeon chose `device_id` (device selection), so failover may move it; a device the
    # caller named is never moved.
    Column("device_assigned", Boolean(), nullable=False, server_default=text("false")),
    CheckConstraint(_one_of("status", MessageStatus), name="status"),
    Index("ix_messages_workspace_id_recipient", "workspace_id", "recipient"),
    Index("ix_messages_workspace_id_id", "workspace_id", "id"),
)


# The indexes that workers search are partial, one per status they look for: a message is in
# at most one, so a status change (an UPDATE that no index can skip) writes one entry for the
# step instead of one in each. Queries reach them through `store.sql.status_is`.
def _only(status: MessageStatus | JobStatus) -> dict[str, Any]:
    return _where(f"status = '{status.value}'")


def _where(predicate: str) -> dict[str, Any]:
    clause = text(predicate)
    return {"postgresql_where": clause, "sqlite_where": clause}


# The release step walks this index: its cost follows what is due, not the backlog.
Index("ix_messages_queued_release_at", messages.c.release_at, **_only(MessageStatus.QUEUED))
# Messages the throttle holds, by when they go: a new message waits behind them (FIFO).
Index(
    "ix_messages_held_workspace_id_channel_id_release_at",
    messages.c.workspace_id,
    messages.c.channel_id,
    messages.c.release_at,
    **_where("hold_reason IS NOT NULL"),
)
# Pausing, resuming and canceling a batch reach its messages.
Index("ix_messages_batch_id", messages.c.batch_id, **_where("batch_id IS NOT NULL"))
# Device claims: released messages of one channel, in the claim's order (oldest, then id).
Index(
    "ix_messages_released_channel_id_scheduled_for_id",
    messages.c.channel_id,
    messages.c.scheduled_for,
    messages.c.id,
    **_only(MessageStatus.RELEASED),
)
# The lease sweep: claims whose lease ran out.
Index(
    "ix_messages_claimed_lease_expires_at",
    messages.c.lease_expires_at,
    **_only(MessageStatus.CLAIMED),
)

message_events = Table(
    "message_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("message_id", String(36), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    # Scopes history reads; no foreign key: the message's own ties it to its workspace (and
    # the cascade runs through messages), while a key here made every event row lock the
    # one workspace row all writers share (docs/benchmarks.md).
    Column("workspace_id", String(36), nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("detail", JSON()),
    Index("ix_message_events_message_id_id", "message_id", "id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _workspace_fk(),
    Column("scope", String(60), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer(), nullable=False),
    Column("response", JSON(), nullable=False),
    _created_at(),
    PrimaryKeyConstraint("workspace_id", "scope", "key"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("workspace_id", String(36), ForeignKey("workspaces.id", ondelete="CASCADE")),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_type", String(30), nullable=False),
    Column("subject_id", String(36), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("detail", JSON()),
    Index("ix_audit_events_workspace_id_id", "workspace_id", "id"),
)

# At most one default channel per workspace: two requests making a channel the default at
# once would otherwise both succeed, and a create could not tell which to use.
ONE_DEFAULT = text("is_default")
Index(
    "uq_channels_one_default",
    channels.c.workspace_id,
    unique=True,
    postgresql_where=ONE_DEFAULT,
    sqlite_where=ONE_DEFAULT,
)

# Named upkeep times: when a periodic job last ran, and who ran it. Health writes its own
# row to prove that writes work (services/health.py).
timers = Table(
    "timers",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("ran_at", UTCDateTime(), nullable=False),
    Column("holder", String(100)),
)


# Inbound mail: one row per message, stored once under its consume-time identity.
inbound_messages = Table(
    "inbound_messages",
    metadata,
    _id(),
    _workspace_fk(),
    Column("channel_id", String(36), ForeignKey("channels.id"), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("external_id", String(1100), nullable=False),  # `<provider>:<message id>`
    Column("sender", String(320), nullable=False),
    Column("recipients", JSON(), nullable=False),
    Column("subject", Text(), nullable=False),
    Column("text", Text(), nullable=False),
    Column("html", Text()),
    Column("internet_message_id", Text()),
    Column("in_reply_to", Text()),
    Column("mailbox", String(500)),
    Column("job_id", String(36)),
    Column("received_at", UTCDateTime(), nullable=False),
    _created_at(),
    UniqueConstraint("workspace_id", "external_id"),
    Index(None, "workspace_id", "id"),
    Index(None, "workspace_id", "channel_id", "id"),
)

# Jobs of the engine (queue/sql.py): pointers to work, claimed with a lease and a fence like
# messages (store/claims.py). A job leaves `claimed` with its claim columns cleared.
jobs = Table(
    "jobs",
    metadata,
    _id(),
    _workspace_fk(),
    Column("queue", String(100), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("payload", JSON(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("priority", Integer(), nullable=False, server_default="0"),
    Column("run_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer(), nullable=False, server_default="0"),
    Column("max_attempts", Integer(), nullable=False),
    Column("dedupe_key", String(255)),
    # As messages refer to theirs: channels are disabled, never deleted on their own.
    Column("channel_id", String(36), ForeignKey("channels.id")),
    Column("last_error", Text()),
    Column("claim_token", String(36)),
    Column("claimed_by", String(200)),
    Column("lease_expires_at", UTCDateTime()),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_one_of("status", JobStatus), name="status"),
    Index("ix_jobs_workspace_id_id", "workspace_id", "id"),
)

# The claim walks this index in its own order: a queue's ready jobs, highest priority first,
# then earliest run-at (jobs not yet due are passed over in the walk), then id.
Index(
    "ix_jobs_ready_queue_priority_run_at_id",
    jobs.c.queue,
    jobs.c.priority.desc(),
    jobs.c.run_at,
    jobs.c.id,
    **_only(JobStatus.READY),
)
# The lease sweep: claims whose lease ran out.
Index("ix_jobs_claimed_lease_expires_at", jobs.c.lease_expires_at, **_only(JobStatus.CLAIMED))
# Dead letters are few: listing, re-driving, purging and counting them reads only them.
Index("ix_jobs_dead_workspace_id_id", jobs.c.workspace_id, jobs.c.id, **_only(JobStatus.DEAD))
# At most one live job per dedupe key: an enqueue that meets one gets it back instead
# (INSERT ... ON CONFLICT DO NOTHING, then a read), race-free on both dialects. Written as
# ORs, the form PostgreSQL gives back when the index is reflected (tests/migration).
LIVE_DEDUPE = "dedupe_key IS NOT NULL AND (status = 'ready' OR status = 'claimed')"
Index(
    "uq_jobs_live_workspace_id_queue_dedupe_key",
    jobs.c.workspace_id,
    jobs.c.queue,
    jobs.c.dedupe_key,
    unique=True,
    **_where(LIVE_DEDUPE),
)

# What providers that push content and keep no history (WhatsApp, Twilio) sent, stored at
# ingress so that their pointer jobs can point at it.
inbound_events = Table(
    "inbound_events",
    metadata,
    _id(),
    _workspace_fk(),
    Column("channel_id", String(36), ForeignKey("channels.id"), nullable=False),
    Column("provider", String(20), nullable=False),
    Column("event", JSON(), nullable=False),
    _created_at(),
    Index(None, "workspace_id", "id"),
)


# Contacts: people to send to, their handles (one primary per kind), tags and attributes.
contacts = Table(
    "contacts",
    metadata,
    _id(),
    _workspace_fk(),
    Column("external_id", String(200)),
    Column("name", String(200)),
    Column("timezone", String(64)),
    Column("timezone_source", String(10)),  # given | phone
    Column("attributes", JSON(), nullable=False),
    Column("tags", JSON(), nullable=False),  # as read back; contact_tags is what is searched
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "workspace_id", "id"),
)
Index(
    "uq_contacts_workspace_id_external_id",
    contacts.c.workspace_id,
    contacts.c.external_id,
    unique=True,
    **_where("external_id IS NOT NULL"),
)

contact_tags = Table(
    "contact_tags",
    metadata,
    Column("contact_id", String(36), ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    Column("tag", String(100), nullable=False),
    PrimaryKeyConstraint("contact_id", "tag"),
    Index(None, "workspace_id", "tag", "contact_id"),
)

contact_handles = Table(
    "contact_handles",
    metadata,
    _id(),
    Column("contact_id", String(36), ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),  # domain.contacts.HandleKind
    Column("value", String(254), nullable=False),  # normalised: E.164, lower-cased email
    Column("is_primary", Boolean(), nullable=False),
    _created_at(),
    UniqueConstraint("contact_id", "kind", "value"),
    Index(None, "workspace_id", "value"),
)

# Consent: a handle that opted out of a channel (STOP and its kin, or the API). Release
# suppresses what would go to it.
opt_outs = Table(
    "opt_outs",
    metadata,
    _workspace_fk(),
    Column("channel_id", String(36), ForeignKey("channels.id", ondelete="CASCADE"), nullable=False),
    Column("handle", String(254), nullable=False),
    Column("source", String(20), nullable=False),  # keyword | api | import
    Column("keyword", String(40)),
    Column("at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("workspace_id", "channel_id", "handle"),
)

# Throttle policies, at workspace, channel or device scope; `rules` is
# domain.throttle.ThrottleRules as JSON. Release locks the rows it applies.
throttle_policies = Table(
    "throttle_policies",
    metadata,
    _id(),
    _workspace_fk(),
    Column("scope", String(10), nullable=False),  # workspace | channel | device
    Column("scope_id", String(36), nullable=False),
    Column("rules", JSON(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("workspace_id", "scope", "scope_id"),
)

# Releases that throttle policies count (sliding windows, minimum gaps), written while a
# policy exists in the workspace; rows older than a day are pruned by the upkeep. A release
# step releases at one instant, so a row holds `count` releases of one channel and device
# at `at`; with a per-recipient gap in force each row is one recipient's.
throttle_ledger = Table(
    "throttle_ledger",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("workspace_id", String(36), nullable=False),
    Column("channel_id", String(36), nullable=False),
    Column("device_id", String(36)),
    Column("recipient", String(254)),
    Column("count", Integer(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "workspace_id", "at"),
    Index(None, "channel_id", "at"),
    Index(None, "device_id", "at"),
    Index(None, "workspace_id", "recipient", "at"),
)

batches = Table(
    "batches",
    metadata,
    _id(),
    _workspace_fk(),
    Column("name", String(200), nullable=False),
    Column("channel_id", String(36), ForeignKey("channels.id"), nullable=False),
    Column("template", Text(), nullable=False),
    Column("audience", JSON(), nullable=False),
    Column("variables", JSON(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("send_at", UTCDateTime()),
    # {"window": N, "max_failure_rate": 0.5}: pause when the last N sends fail too often.
    Column("auto_pause", JSON()),
    # {"rrule", "timezone", "recurrence_id"}: started, the batch recurs (services/batches).
    Column("repeat", JSON()),
    Column("status_reason", Text()),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    CheckConstraint(_one_of("status", BatchStatus), name="status"),
    Index(None, "workspace_id", "id"),
)

batch_items = Table(
    "batch_items",
    metadata,
    _id(),
    Column("batch_id", String(36), ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    Column("contact_id", String(36)),
    Column("recipient", String(254)),
    Column("body", Text()),
    Column("status", String(16), nullable=False),
    Column("reason", String(40)),  # why skipped or failed: no_primary_handle, opted_out, ...
    Column("detail", Text()),  # what went wrong, for a person
    Column("message_id", String(36)),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint(_one_of("status", ItemStatus), name="status"),
    Index(None, "batch_id", "status"),
    Index(None, "message_id"),
)

# The outcome of each send of a batch's messages, a failed attempt that will be retried
# included: auto-pause reads the last N (store/batches.record_sends).
batch_sends = Table(
    "batch_sends",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("batch_id", String(36), ForeignKey("batches.id", ondelete="CASCADE"), nullable=False),
    Column("failed", Boolean(), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "batch_id", "id"),
)

# Recurring messages and batches: each occurrence becomes its own message (or batch) as it
# comes near, so a rule without an end has no horizon.
recurrences = Table(
    "recurrences",
    metadata,
    _id(),
    _workspace_fk(),
    Column("kind", String(10), nullable=False),  # message | batch
    Column("rrule", Text(), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("dtstart", UTCDateTime(), nullable=False),
    Column("template", JSON(), nullable=False),  # what each occurrence is made from
    Column("next_at", UTCDateTime()),  # NULL: the rule has ended or was stopped
    Column("occurrences", Integer(), nullable=False, server_default="0"),
    _created_at(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("stopped_at", UTCDateTime()),
    Index(None, "workspace_id", "id"),
    Index(None, "next_at"),
)

# Workspace settings that are documents rather than rows: `opt_out` (keywords per language,
# the HELP answer) and the like. `value` is validated by the domain module that owns `key`.
workspace_settings = Table(
    "workspace_settings",
    metadata,
    _workspace_fk(),
    Column("key", String(40), nullable=False),
    Column("value", JSON(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("workspace_id", "key"),
)
