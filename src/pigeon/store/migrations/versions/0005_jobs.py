"""the jobs table of the SQL job queue

Jobs are claimed like messages, with a lease and a fencing token (store/claims.py). Partial
indexes serve the claim (a queue's ready jobs in claim order), the lease sweep, the dead
letters, and the dedupe rule: one live job per (workspace, queue, dedupe key).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from pigeon.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Written out, not built from the enum: a migration stays what it was when it ran.
STATUSES = "status IN ('ready', 'claimed', 'done', 'skipped', 'dead')"
LIVE_DEDUPE = "dedupe_key IS NOT NULL AND (status = 'ready' OR status = 'claimed')"


def _where(predicate: str) -> dict[str, Any]:
    clause = sa.text(predicate)
    return {"postgresql_where": clause, "sqlite_where": clause}


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("workspace_id", sa.String(length=36), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=True),
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(STATUSES, name=op.f("ck_jobs_status")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_jobs_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_jobs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_workspace_id_id", "jobs", ["workspace_id", "id"])
    op.create_index(
        "ix_jobs_ready_queue_priority_run_at_id",
        "jobs",
        ["queue", sa.text("priority DESC"), "run_at", "id"],
        **_where("status = 'ready'"),
    )
    op.create_index(
        "ix_jobs_claimed_lease_expires_at",
        "jobs",
        ["lease_expires_at"],
        **_where("status = 'claimed'"),
    )
    op.create_index(
        "ix_jobs_dead_workspace_id_id",
        "jobs",
        ["workspace_id", "id"],
        **_where("status = 'dead'"),
    )
    op.create_index(
        "uq_jobs_live_workspace_id_queue_dedupe_key",
        "jobs",
        ["workspace_id", "queue", "dedupe_key"],
        unique=True,
        **_where(LIVE_DEDUPE),
    )


def downgrade() -> None:
    op.drop_table("jobs")  # its indexes go with it
