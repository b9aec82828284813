"""Outreach batches and their items.

An item follows the message it became: `follow` runs in the transaction of every message
status change (store/messages.py), so a sent message's item is `sent` in the same commit,
the batch completes with its last item, and too many failures pause it. Nothing polls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from pigeon.domain.messages import Message
from pigeon.domain.transitions import BATCHES, BatchStatus, ItemStatus, MessageStatus
from pigeon.store import accounts
from pigeon.store.bulk import insert_rows
from pigeon.store.sql import one_of, status_is
from pigeon.store.tables import batch_items, batch_sends, batches, message_events, messages

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

M = MessageStatus
I = ItemStatus  # noqa: E741
TOPIC = "batches"

# What a message's status makes of its item, and the reason kept with it.
ITEM_OF_MESSAGE: Mapping[MessageStatus, tuple[ItemStatus, str | None]] = {
    M.SENT: (I.SENT, None),
    M.DELIVERED: (I.SENT, None),
    M.READ: (I.SENT, None),
    M.FAILED: (I.FAILED, None),
    M.CANCELED: (I.SKIPPED, "canceled"),
    M.SUPPRESSED: (I.SKIPPED, "opted_out"),
    M.EXPIRED: (I.SKIPPED, "expired"),
}
OPEN_ITEMS = (I.PENDING, I.QUEUED)
BATCH_PAUSED = "batch_paused"  # messages.hold_reason while their batch is paused


@dataclass(frozen=True)
class Batch:
    id: str
    workspace_id: str
    name: str
    channel_id: str
    template: str
    audience: Mapping[str, Any]
    variables: Mapping[str, Any]
    status: BatchStatus
    send_at: datetime | None
    auto_pause: Mapping[str, Any] | None
    repeat: Mapping[str, Any] | None
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> Batch:
        m = row._mapping
        return cls(**{**dict(m), "status": BatchStatus(m["status"])})


@dataclass(frozen=True)
class Item:
    id: str
    batch_id: str
    contact_id: str | None
    recipient: str | None
    body: str | None
    status: ItemStatus
    reason: str | None
    detail: str | None
    message_id: str | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Item:
        m = dict(row._mapping)
        m.pop("workspace_id", None)
        return cls(**{**m, "status": ItemStatus(m["status"])})


def insert_batch(uow: UnitOfWork, row: Mapping[str, Any]) -> Batch:
    uow.conn.execute(batches.insert().values(**row))
    found = get(uow, row["workspace_id"], row["id"])
    assert found is not None
    return found


def get(uow: UnitOfWork, workspace_id: str, batch_id: str, *, lock: bool = False) -> Batch | None:
    query = select(batches).where(batches.c.workspace_id == workspace_id, batches.c.id == batch_id)
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    return Batch.from_row(row) if row else None


def set_repeat(uow: UnitOfWork, batch: Batch, repeat: Mapping[str, Any]) -> None:
    uow.conn.execute(update(batches).where(batches.c.id == batch.id).values(repeat=dict(repeat)))


def list_(
    uow: UnitOfWork,
    workspace_id: str,
    *,
    limit: int,
    before: str | None = None,
    status: BatchStatus | None = None,
) -> list[Batch]:
    query = select(batches).where(batches.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(batches.c.status == status)
    if before:
        query = query.where(batches.c.id < before)
    rows = uow.conn.execute(query.order_by(batches.c.id.desc()).limit(limit)).all()
    return [Batch.from_row(r) for r in rows]


def move(
    uow: UnitOfWork,
    batch: Batch,
    target: BatchStatus,
    *,
    actor: str,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Batch | None:
    """Move a batch to `target` if it is still in the status read; None if it moved on."""
    BATCHES.check(batch.status, target)
    changed = uow.conn.execute(
        update(batches)
        .where(batches.c.id == batch.id, batches.c.status == batch.status)
        .values(status=target, status_reason=reason, updated_at=uow.now, **(values or {}))
    )
    if not changed.rowcount:
        return None
    accounts.audit(
        uow,
        workspace_id=batch.workspace_id,
        actor=actor,
        action=f"batch_{target}",
        subject_type="batch",
        subject_id=batch.id,
        at=uow.now,
        detail={"from": batch.status, "reason": reason} if reason else {"from": batch.status},
    )
    uow.notify(TOPIC, {"workspace_id": batch.workspace_id, "id": batch.id, "status": target})
    return get(uow, batch.workspace_id, batch.id)


def statuses(uow: UnitOfWork, batch_ids: set[str]) -> dict[str, BatchStatus]:
    if not batch_ids:
        return {}
    rows = uow.conn.execute(
        select(batches.c.id, batches.c.status).where(
            one_of(uow.dialect, batches.c.id, sorted(batch_ids))
        )
    ).all()
    return {row.id: BatchStatus(row.status) for row in rows}


def insert_items(uow: UnitOfWork, rows: Sequence[Mapping[str, Any]]) -> None:
    insert_rows(uow, batch_items, rows)


def progress(uow: UnitOfWork, batch_id: str) -> dict[ItemStatus, int]:
    rows = uow.conn.execute(
        select(batch_items.c.status, func.count())
        .where(batch_items.c.batch_id == batch_id)
        .group_by(batch_items.c.status)
    ).all()
    counts = dict.fromkeys(ItemStatus, 0)
    counts.update({ItemStatus(status): n for status, n in rows})
    return counts


def items(
    uow: UnitOfWork,
    batch_id: str,
    *,
    status: ItemStatus | None,
    limit: int,
    after: str | None = None,
) -> list[Item]:
    query = select(batch_items).where(batch_items.c.batch_id == batch_id)
    if status is not None:
        query = query.where(batch_items.c.status == status)
    if after:
        query = query.where(batch_items.c.id > after)
    rows = uow.conn.execute(query.order_by(batch_items.c.id).limit(limit)).all()
    return [Item.from_row(r) for r in rows]


# -- messages of a batch --------------------------------------------------------------------


def hold_messages(uow: UnitOfWork, batch: Batch, *, actor: str) -> int:
    """Pause: queued messages wait until resumed; released ones nobody claimed go back to
    the queue to wait too (with an event each). Claimed ones are already on their way."""
    c = messages.c
    released = uow.conn.execute(
        update(messages)
        .where(c.batch_id == batch.id, status_is(messages, M.RELEASED))
        .values(
            status=M.QUEUED,
            updated_at=uow.now,
            release_at=None,
            hold_reason=BATCH_PAUSED,
            device_id=None,
            device_assigned=False,
        )
        .returning(c.id)
    ).all()
    if released:
        uow.conn.execute(
            insert(message_events),
            [
                {
                    "message_id": r.id,
                    "workspace_id": batch.workspace_id,
                    "from_status": M.RELEASED,
                    "to_status": M.QUEUED,
                    "at": uow.now,
                    "actor": actor,
                    "detail": {"reason": BATCH_PAUSED},
                }
                for r in released
            ],
        )
    queued = uow.conn.execute(
        update(messages)
        .where(c.batch_id == batch.id, status_is(messages, M.QUEUED))
        .values(release_at=None, hold_reason=BATCH_PAUSED)
    )
    return queued.rowcount


def lift_messages(uow: UnitOfWork, batch: Batch) -> int:
    """Resume: the batch's waiting messages may be released from now on (the scheduler's
    next pass, or a claim on its way, releases them and wakes whoever waits)."""
    c = messages.c
    result = uow.conn.execute(
        update(messages)
        .where(
            c.batch_id == batch.id,
            status_is(messages, M.QUEUED),
            c.hold_reason == BATCH_PAUSED,
        )
        .values(release_at=c.scheduled_for, hold_reason=None)
    )
    return result.rowcount


def waiting_messages(uow: UnitOfWork, batch: Batch) -> list[Message]:
    """The batch's messages that have not gone out yet (to cancel), locked."""
    c = messages.c
    query = select(messages).where(c.batch_id == batch.id, c.status.in_([M.QUEUED, M.RELEASED]))
    if uow.dialect == "postgresql":
        query = query.order_by(c.id).with_for_update()
    return [Message.from_row(row._mapping) for row in uow.conn.execute(query).all()]


# -- items follow their messages ------------------------------------------------------------


def follow(uow: UnitOfWork, message_ids: Sequence[str], status: MessageStatus) -> None:
    """Bring the items of these messages to what `status` makes of them, then complete
    their batches. Runs inside the message change's own transaction."""
    target = ITEM_OF_MESSAGE.get(status)
    if target is None or not message_ids:
        return
    item_status, reason = target
    t = batch_items.c
    values: dict[str, Any] = {"status": item_status, "updated_at": uow.now}
    if reason is not None:
        values["reason"] = reason
    elif item_status is I.FAILED:
        values["reason"] = "send_failed"
        values["detail"] = (
            select(messages.c.last_error).where(messages.c.id == t.message_id).scalar_subquery()
        )
    rows = uow.conn.execute(
        update(batch_items)
        .where(one_of(uow.dialect, t.message_id, message_ids), status_is(batch_items, I.QUEUED))
        .values(**values)
        .returning(t.batch_id)
    ).all()
    for batch_id in sorted({r.batch_id for r in rows}):
        _maybe_complete(uow, batch_id)


def record_sends(uow: UnitOfWork, outcomes: Sequence[tuple[str, bool]]) -> None:
    """Record the outcome of sends of batch messages, (batch id, failed) each, a failed
    attempt that will be retried included, and pause a batch whose last sends failed too
    often (its `auto_pause`)."""
    if not outcomes:
        return
    uow.conn.execute(
        insert(batch_sends),
        [{"batch_id": batch_id, "failed": failed, "at": uow.now} for batch_id, failed in outcomes],
    )
    for batch_id in sorted({batch_id for batch_id, failed in outcomes if failed}):
        _maybe_auto_pause(uow, batch_id)


def _batch_by_id(uow: UnitOfWork, batch_id: str) -> Batch | None:
    row = uow.conn.execute(select(batches).where(batches.c.id == batch_id)).first()
    return Batch.from_row(row) if row else None


def _maybe_complete(uow: UnitOfWork, batch_id: str) -> None:
    open_items = uow.conn.execute(
        select(func.count()).where(
            batch_items.c.batch_id == batch_id,
            batch_items.c.status.in_([str(s) for s in OPEN_ITEMS]),
        )
    ).scalar()
    if open_items:
        return
    batch = _batch_by_id(uow, batch_id)
    if batch is not None and batch.status in (BatchStatus.SENDING, BatchStatus.PAUSED):
        move(
            uow,
            batch,
            BatchStatus.COMPLETED,
            actor="system",
            reason="every item is sent, failed or skipped",
            values={"finished_at": uow.now},
        )


def _maybe_auto_pause(uow: UnitOfWork, batch_id: str) -> None:
    batch = _batch_by_id(uow, batch_id)
    if batch is None or batch.status is not BatchStatus.SENDING or not batch.auto_pause:
        return
    limit = float(batch.auto_pause["max_failure_rate"])
    # A batch smaller than the window is judged over all of its messages.
    messages_in_batch = uow.conn.execute(
        select(func.count()).where(
            batch_items.c.batch_id == batch_id, batch_items.c.message_id.is_not(None)
        )
    ).scalar_one()
    window = min(int(batch.auto_pause["window"]), messages_in_batch)
    recent = uow.conn.execute(
        select(batch_sends.c.failed)
        .where(batch_sends.c.batch_id == batch_id)
        .order_by(batch_sends.c.id.desc())
        .limit(window)
    ).all()
    if not window or len(recent) < window:
        return
    failed = sum(1 for r in recent if r.failed)
    if failed / window <= limit:
        return
    reason = f"auto-paused: {failed} of the last {window} sends failed"
    paused = move(uow, batch, BatchStatus.PAUSED, actor="system", reason=reason)
    if paused is not None:
        hold_messages(uow, paused, actor="system")
        log.warning(
            "batch auto-paused",
            extra={"action": "batch_auto_paused", "batch_id": batch_id, "failed": failed},
        )
