"""partial status indexes; no workspace foreign key on message events

Every status change of a message is an UPDATE that rewrites each index entry of the row. The
three (status, ...) indexes become partial indexes, one per status a worker looks for, so a
change writes at most one of them. Event rows keep `workspace_id` for scoping, without the
foreign key that made every event insert lock the shared workspace row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _only(status: str) -> dict[str, sa.TextClause]:
    predicate = sa.text(f"status = '{status}'")
    return {"postgresql_where": predicate, "sqlite_where": predicate}


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_scheduled_for")
        batch_op.drop_index("ix_messages_channel_status_scheduled_for")
        batch_op.drop_index("ix_messages_status_lease_expires_at")
        batch_op.create_index(
            "ix_messages_queued_scheduled_for", ["scheduled_for"], **_only("queued")
        )
        batch_op.create_index(
            "ix_messages_released_channel_id_scheduled_for",
            ["channel_id", "scheduled_for"],
            **_only("released"),
        )
        batch_op.create_index(
            "ix_messages_claimed_lease_expires_at", ["lease_expires_at"], **_only("claimed")
        )
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_message_events_workspace_id_workspaces", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("message_events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_message_events_workspace_id_workspaces",
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_claimed_lease_expires_at")
        batch_op.drop_index("ix_messages_released_channel_id_scheduled_for")
        batch_op.drop_index("ix_messages_queued_scheduled_for")
        batch_op.create_index(
            "ix_messages_status_lease_expires_at", ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(
            "ix_messages_channel_status_scheduled_for",
            ["channel_id", "status", "scheduled_for"],
            unique=False,
        )
        batch_op.create_index(
            "ix_messages_status_scheduled_for", ["status", "scheduled_for"], unique=False
        )
