"""seed 000 idempotency records in their own scope

Seed 000's `batchItemId`s were stored as /v1 idempotency keys named `send-queue:<id>`, where
a /v1 client could meet them. They move to the scope `seed000:send-queue` under their own
name, so that a dispatcher retrying an item queued before the upgrade still gets its first
`sendQueueId` instead of queueing the message again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Only records whose stored answer is seed 000's move: a /v1 key may have any name.
UPGRADE = (
    "UPDATE idempotency_keys SET scope = 'seed000:send-queue', key = substr(key, 12) "
    "WHERE scope = 'messages' AND key LIKE 'send-queue:%' AND "
)
IS_SEED000_ANSWER = {
    "postgresql": "(response::jsonb ? 'sendQueueId')",
    "sqlite": "json_extract(response, '$.sendQueueId') IS NOT NULL",
}
DOWNGRADE = (
    "UPDATE idempotency_keys SET scope = 'messages', key = 'send-queue:' || key "
    "WHERE scope = 'seed000:send-queue'"
)


def upgrade() -> None:
    op.execute(UPGRADE + IS_SEED000_ANSWER[op.get_context().dialect.name])


def downgrade() -> None:
    op.execute(DOWNGRADE)
