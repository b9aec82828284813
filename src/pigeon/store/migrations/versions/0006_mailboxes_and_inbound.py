"""mailbox channels (Microsoft Graph, Gmail, IMAP) and inbound messages

Channels gain sealed provider secrets and provider state, and three kinds; inbound messages
are stored once per workspace under their consume-time identity.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pigeon.store.tables import NAMING, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_KINDS = ("gateway", "console", "whatsapp", "smtp", "twilio")
NEW_KINDS = (*OLD_KINDS, "msgraph", "gmail", "imap")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _set_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table("channels", naming_convention=NAMING) as batch:
        batch.drop_constraint(op.f("ck_channels_kind"), type_="check")
        batch.create_check_constraint("kind", _kinds(kinds))


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("sealed_secrets", sa.Text()))
        batch.add_column(sa.Column("state", sa.JSON()))
    _set_kinds(NEW_KINDS)
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("workspace_id", sa.String(36), nullable=False),
        sa.Column("channel_id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("external_id", sa.String(1100), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text()),
        sa.Column("internet_message_id", sa.Text()),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("mailbox", sa.String(500)),
        sa.Column("job_id", sa.String(36)),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbound_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_inbound_messages_channel_id_channels")
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "external_id",
            name=op.f("uq_inbound_messages_workspace_id_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_inbound_messages_workspace_id_id"), "inbound_messages", ["workspace_id", "id"]
    )
    op.create_index(
        op.f("ix_inbound_messages_workspace_id_channel_id_id"),
        "inbound_messages",
        ["workspace_id", "channel_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("inbound_messages")
    op.execute("DELETE FROM channels WHERE kind IN ('msgraph', 'gmail', 'imap')")
    _set_kinds(OLD_KINDS)
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("state")
        batch.drop_column("sealed_secrets")
