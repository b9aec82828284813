"""outreach: contacts, consent, throttle policies, batches, recurrences; held releases

Messages gain `release_at` (when a queued message may be released: its scheduled time, or
later while a throttle holds it) and the release index moves to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:30:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from pigeon.store.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

QUEUED: dict[str, Any] = {
    "postgresql_where": sa.text("status = 'queued'"),
    "sqlite_where": sa.text("status = 'queued'"),
}
IN_BATCH: dict[str, Any] = {
    "postgresql_where": sa.text("batch_id IS NOT NULL"),
    "sqlite_where": sa.text("batch_id IS NOT NULL"),
}
HELD: dict[str, Any] = {
    "postgresql_where": sa.text("hold_reason IS NOT NULL"),
    "sqlite_where": sa.text("hold_reason IS NOT NULL"),
}
HAS_EXTERNAL_ID: dict[str, Any] = {
    "postgresql_where": sa.text("external_id IS NOT NULL"),
    "sqlite_where": sa.text("external_id IS NOT NULL"),
}
BATCH_STATUSES = "status IN ('draft', 'sending', 'paused', 'completed', 'canceled')"
ITEM_STATUSES = "status IN ('pending', 'queued', 'sent', 'failed', 'skipped')"


def _workspace(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("release_at", UTCDateTime()))
        batch_op.add_column(sa.Column("hold_reason", sa.String(40)))
        batch_op.add_column(sa.Column("batch_id", sa.String(36)))
        batch_op.add_column(
            sa.Column(
                "device_assigned", sa.Boolean(), nullable=False, server_default=sa.text("false")
            )
        )
    op.execute("UPDATE messages SET release_at = scheduled_for WHERE status = 'queued'")
    op.drop_index("ix_messages_queued_scheduled_for", table_name="messages")
    op.create_index("ix_messages_queued_release_at", "messages", ["release_at"], **QUEUED)
    op.create_index("ix_messages_batch_id", "messages", ["batch_id"], **IN_BATCH)
    op.create_index(
        "ix_messages_held_workspace_id_channel_id_release_at",
        "messages",
        ["workspace_id", "channel_id", "release_at"],
        **HELD,
    )

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("external_id", sa.String(200)),
        sa.Column("name", sa.String(200)),
        sa.Column("timezone", sa.String(64)),
        sa.Column("timezone_source", sa.String(10)),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        _workspace("contacts"),
    )
    op.create_index("ix_contacts_workspace_id_id", "contacts", ["workspace_id", "id"])
    op.create_index(
        "uq_contacts_workspace_id_external_id",
        "contacts",
        ["workspace_id", "external_id"],
        unique=True,
        **HAS_EXTERNAL_ID,
    )
    op.create_table(
        "contact_tags",
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", "tag", name="pk_contact_tags"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_contact_tags_contact_id_contacts",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_contact_tags_workspace_id_tag_contact_id",
        "contact_tags",
        ["workspace_id", "tag", "contact_id"],
    )
    op.create_table(
        "contact_handles",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_handles"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_contact_handles_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "contact_id", "kind", "value", name="uq_contact_handles_contact_id_kind_value"
        ),
    )
    op.create_index(
        "ix_contact_handles_workspace_id_value", "contact_handles", ["workspace_id", "value"]
    )
    op.create_table(
        "opt_outs",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("channel_id", sa.String(36), nullable=False),
        sa.Column("handle", sa.String(254), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("keyword", sa.String(40)),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "channel_id", "handle", name="pk_opt_outs"),
        _workspace("opt_outs"),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name="fk_opt_outs_channel_id_channels",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "throttle_policies",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("scope_id", sa.String(36), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_throttle_policies"),
        _workspace("throttle_policies"),
        sa.UniqueConstraint(
            "workspace_id",
            "scope",
            "scope_id",
            name="uq_throttle_policies_workspace_id_scope_scope_id",
        ),
    )
    op.create_table(
        "throttle_ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("channel_id", sa.String(36), nullable=False),
        sa.Column("device_id", sa.String(36)),
        sa.Column("recipient", sa.String(254)),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_throttle_ledger"),
    )
    op.create_index("ix_throttle_ledger_workspace_id_at", "throttle_ledger", ["workspace_id", "at"])
    op.create_index("ix_throttle_ledger_channel_id_at", "throttle_ledger", ["channel_id", "at"])
    op.create_index("ix_throttle_ledger_device_id_at", "throttle_ledger", ["device_id", "at"])
    op.create_index(
        "ix_throttle_ledger_workspace_id_recipient_at",
        "throttle_ledger",
        ["workspace_id", "recipient", "at"],
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(36), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("send_at", UTCDateTime()),
        sa.Column("auto_pause", sa.JSON()),
        sa.Column("repeat", sa.JSON()),
        sa.Column("status_reason", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        _workspace("batches"),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name="fk_batches_channel_id_channels"
        ),
        sa.CheckConstraint(BATCH_STATUSES, name="ck_batches_status"),
    )
    op.create_index("ix_batches_workspace_id_id", "batches", ["workspace_id", "id"])
    op.create_table(
        "batch_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("contact_id", sa.String(36)),
        sa.Column("recipient", sa.String(254)),
        sa.Column("body", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40)),
        sa.Column("detail", sa.Text()),
        sa.Column("message_id", sa.String(36)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_items"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_batch_items_batch_id_batches", ondelete="CASCADE"
        ),
        sa.CheckConstraint(ITEM_STATUSES, name="ck_batch_items_status"),
    )
    op.create_index("ix_batch_items_batch_id_status", "batch_items", ["batch_id", "status"])
    op.create_index("ix_batch_items_message_id", "batch_items", ["message_id"])
    op.create_table(
        "batch_sends",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("batch_id", sa.String(36), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_sends"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_batch_sends_batch_id_batches", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_batch_sends_batch_id_id", "batch_sends", ["batch_id", "id"])
    op.create_table(
        "recurrences",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("rrule", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("dtstart", UTCDateTime(), nullable=False),
        sa.Column("template", sa.JSON(), nullable=False),
        sa.Column("next_at", UTCDateTime()),
        sa.Column("occurrences", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_recurrences"),
        _workspace("recurrences"),
    )
    op.create_index("ix_recurrences_workspace_id_id", "recurrences", ["workspace_id", "id"])
    op.create_index("ix_recurrences_next_at", "recurrences", ["next_at"])
    op.create_table(
        "workspace_settings",
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "key", name="pk_workspace_settings"),
        _workspace("workspace_settings"),
    )


def downgrade() -> None:
    for table in (
        "workspace_settings",
        "recurrences",
        "batch_sends",
        "batch_items",
        "batches",
        "throttle_ledger",
        "throttle_policies",
        "opt_outs",
        "contact_handles",
        "contact_tags",
        "contacts",
    ):
        op.drop_table(table)
    op.drop_index("ix_messages_held_workspace_id_channel_id_release_at", table_name="messages")
    op.drop_index("ix_messages_batch_id", table_name="messages")
    op.drop_index("ix_messages_queued_release_at", table_name="messages")
    op.create_index("ix_messages_queued_scheduled_for", "messages", ["scheduled_for"], **QUEUED)
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("device_assigned")
        batch_op.drop_column("batch_id")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("release_at")
