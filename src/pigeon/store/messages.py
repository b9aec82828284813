"""Messages and their events: every status change is written with its event row."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from pigeon.domain import transitions
from pigeon.domain.messages import Message, MessageEvent
from pigeon.domain.transitions import BatchStatus, MessageStatus
from pigeon.errors import Conflict
from pigeon.store import accounts, batches, claims, throttle
from pigeon.store.bulk import Rows, insert_rows, insert_together
from pigeon.store.sql import one_of, one_of_param, status_is
from pigeon.store.tables import channels, devices, message_events, messages

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy import Table

    from pigeon.domain.leases import Lease
    from pigeon.store.database import UnitOfWork

TOPIC = "messages"
M = MessageStatus
RELEASE_CHUNK = 1000


@dataclass(frozen=True)
class MessageFilter:
    statuses: frozenset[MessageStatus] = frozenset()
    recipient: str | None = None
    scheduled_from: datetime | None = None
    scheduled_until: datetime | None = None
    after_id: str | None = None  # cursor: ids are time-ordered, listings go newest first


def _event(
    message_id: str,
    workspace_id: str,
    from_status: MessageStatus | None,
    to_status: MessageStatus,
    at: datetime,
    actor: str,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "workspace_id": workspace_id,
        "from_status": from_status,
        "to_status": to_status,
        "at": at,
        "actor": actor,
        "detail": dict(detail) if detail else None,
    }


Moved = tuple[str, str, str, str | None]  # id, workspace_id, channel_id, device_id


def _announce(
    uow: UnitOfWork,
    moved: Sequence[Moved],
    status: MessageStatus,
    *,
    taken: frozenset[str] = frozenset(),
    **extra: Any,
) -> None:
    """Tell listeners, once committed, that these messages reached `status`.

    Per workspace: the ids, and how many of them each channel and each pinned device got,
    so a waiting claim is woken only for work it can take (services/waiters.py). `taken`:
    ids the same transaction went on to claim, which nobody need wake for.

    Every status change passes here inside its transaction, so the batch items of the
    messages follow them here too (store/batches.follow).
    """
    if status in batches.ITEM_OF_MESSAGE:
        batches.follow(uow, [row[0] for row in moved], status)
    by_workspace: dict[str, list[Moved]] = {}
    for row in moved:
        by_workspace.setdefault(row[1], []).append(row)
    for workspace_id, rows in by_workspace.items():
        channels: dict[str, int] = {}
        devices: dict[str, int] = {}
        for message_id, _ws, channel_id, device_id in rows:
            if message_id in taken:
                continue
            if device_id is None:
                channels[channel_id] = channels.get(channel_id, 0) + 1
            else:
                devices[device_id] = devices.get(device_id, 0) + 1
        payload = {
            "workspace_id": workspace_id,
            "ids": [row[0] for row in rows],
            "status": status,
            "channels": channels,
            "devices": devices,
            **extra,
        }
        uow.notify(TOPIC, payload)


def insert_many(
    uow: UnitOfWork,
    rows: Sequence[Mapping[str, Any]],
    *,
    actor: str,
    also: Sequence[tuple[Table, Rows]] = (),
) -> None:
    """Insert new queued messages with their creation events, and `also` rows that belong
    with them (their idempotency records), in as few round trips as the database allows."""
    if not rows:
        return
    rows = [r if "release_at" in r else {**r, "release_at": r["scheduled_for"]} for r in rows]
    events = [
        _event(r["id"], r["workspace_id"], None, r["status"], r["created_at"], actor) for r in rows
    ]
    insert_together(uow, [(messages, rows), (message_events, events), *also])
    _announce(
        uow,
        [(r["id"], r["workspace_id"], r["channel_id"], r["device_id"]) for r in rows],
        MessageStatus.QUEUED,
        earliest=min(r["scheduled_for"] for r in rows).isoformat(),
    )


def get(uow: UnitOfWork, workspace_id: str, message_id: str) -> Message | None:
    row = uow.conn.execute(
        select(messages).where(messages.c.workspace_id == workspace_id, messages.c.id == message_id)
    ).first()
    return Message.from_row(row._mapping) if row else None


@functools.cache
def _by_ids(dialect: str, lock: bool) -> Select[Any]:
    query = select(messages).where(one_of_param(dialect, messages.c.id, "ids"))
    if lock and dialect == "postgresql":
        query = query.order_by(messages.c.id).with_for_update()
    return query


def get_many(
    uow: UnitOfWork, workspace_id: str | None, ids: Iterable[str], *, lock: bool = False
) -> list[Message]:
    """Messages by id; `workspace_id` None reads across workspaces (for workers).

    Selected by primary key alone, then scoped here: with the workspace in the WHERE clause,
    PostgreSQL without statistics may scan the workspace's whole index instead. With `lock`,
    PostgreSQL locks the rows (in id order, so two lockers cannot deadlock) until the
    transaction ends: what is read is what a following guarded UPDATE finds.
    """
    rows = uow.conn.execute(_by_ids(uow.dialect, lock), {"ids": list(ids)}).all()
    found = [Message.from_row(row._mapping) for row in rows]
    return [m for m in found if workspace_id is None or m.workspace_id == workspace_id]


def list_(uow: UnitOfWork, workspace_id: str, where: MessageFilter, *, limit: int) -> list[Message]:
    c = messages.c
    query = select(messages).where(c.workspace_id == workspace_id)
    if where.statuses:
        query = query.where(c.status.in_(sorted(where.statuses)))
    if where.recipient:
        query = query.where(c.recipient == where.recipient)
    if where.scheduled_from:
        query = query.where(c.scheduled_for >= where.scheduled_from)
    if where.scheduled_until:
        query = query.where(c.scheduled_for < where.scheduled_until)
    if where.after_id:
        query = query.where(c.id < where.after_id)
    rows = uow.conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
    return [Message.from_row(row._mapping) for row in rows]


def events_of(uow: UnitOfWork, workspace_id: str, message_id: str) -> list[MessageEvent]:
    rows = uow.conn.execute(
        select(message_events)
        .where(
            message_events.c.workspace_id == workspace_id,
            message_events.c.message_id == message_id,
        )
        .order_by(message_events.c.id)
    ).all()
    return [MessageEvent.from_row(row._mapping) for row in rows]


def count_by_status(uow: UnitOfWork, workspace_id: str) -> dict[MessageStatus, int]:
    rows = uow.conn.execute(
        select(messages.c.status, func.count())
        .where(messages.c.workspace_id == workspace_id)
        .group_by(messages.c.status)
    ).all()
    return {MessageStatus(status): count for status, count in rows}


def move(
    uow: UnitOfWork,
    message: Message,
    target: MessageStatus,
    *,
    at: datetime,
    actor: str,
    values: Mapping[str, Any] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> Message:
    """Move one message to `target`, guarded by the state machine and its current status."""
    [(target, values)] = _retries_under_batches(uow, [(message, target, values or {})])
    transitions.check(message.status, target)
    row = uow.conn.execute(
        update(messages)
        .where(messages.c.id == message.id, messages.c.status == message.status)
        .values(status=target, updated_at=at, **_queue_values(target, message, values))
        .returning(*messages.c)
    ).first()
    if row is None:
        raise Conflict("the message changed while this request was handled; try again")
    moved = Message.from_row(row._mapping)
    _record(uow, moved, message.status, at, actor, detail)
    return moved


def move_many(
    uow: UnitOfWork,
    found: Sequence[Message],
    target: MessageStatus,
    *,
    actor: str,
    detail: Mapping[str, Any] | None = None,
) -> list[Message]:
    """`move` for many messages (read locked), one statement per status they are in; those
    that changed since they were read are left alone. Returns the moved ones."""
    by_status: dict[MessageStatus, list[Message]] = {}
    for message in found:
        transitions.check(message.status, target)
        by_status.setdefault(message.status, []).append(message)
    moved: list[Message] = []
    c = messages.c
    for status, group in by_status.items():
        rows = uow.conn.execute(
            update(messages)
            .where(one_of(uow.dialect, c.id, [m.id for m in group]), c.status == status)
            .values(status=target, updated_at=uow.now)
            .returning(c.id)
        ).all()
        changed = {r.id for r in rows}
        moved.extend(replace(m, status=target) for m in group if m.id in changed)
        insert_rows(
            uow,
            message_events,
            [
                _event(m.id, m.workspace_id, status, target, uow.now, actor, detail)
                for m in group
                if m.id in changed
            ],
        )
    if moved:
        _announce(uow, [_moved(m) for m in moved], target)
    return moved


def suppress_waiting(
    uow: UnitOfWork, workspace_id: str, channel_id: str, handles: Sequence[str], *, actor: str
) -> int:
    """An opt-out reaches what already waits for the handle on the channel: its queued and
    released messages (not pigeon's own answers to the keyword) end suppressed now, so a
    device never claims them. Claimed ones are already on the device."""
    from pigeon.domain.optout import REPLY_META_KEY

    c = messages.c
    query = select(messages).where(
        c.workspace_id == workspace_id,
        c.recipient.in_(sorted(set(handles))),
        c.channel_id == channel_id,
        c.status.in_([M.QUEUED, M.RELEASED]),
    )
    if uow.dialect == "postgresql":
        query = query.order_by(c.id).with_for_update()
    found = [Message.from_row(row._mapping) for row in uow.conn.execute(query).all()]
    waiting = [m for m in found if not (m.meta or {}).get(REPLY_META_KEY)]
    return len(move_many(uow, waiting, M.SUPPRESSED, actor=actor, detail={"reason": "opted_out"}))


RETRY_SOURCES = frozenset({M.CLAIMED, M.UNKNOWN})


def _retries_under_batches(
    uow: UnitOfWork, moves: Sequence[tuple[Message, MessageStatus, Mapping[str, Any]]]
) -> list[tuple[MessageStatus, Mapping[str, Any]]]:
    """A send that failed goes back to the queue for a retry, unless its batch stopped
    meanwhile: a canceled batch's message is not tried again (it fails), a paused batch's
    waits with the others until the batch is resumed."""
    retried = {
        m.batch_id
        for m, target, _v in moves
        if target is M.QUEUED and m.batch_id and m.status in RETRY_SOURCES
    }
    stopped = batches.statuses(uow, retried) if retried else {}
    decided: list[tuple[MessageStatus, Mapping[str, Any]]] = []
    for message, target, values in moves:
        status = stopped.get(message.batch_id or "") if message.status in RETRY_SOURCES else None
        if target is M.QUEUED and status is BatchStatus.CANCELED:
            error = f"{values.get('last_error') or 'failed'}; not retried: its batch was canceled"
            kept = {k: v for k, v in values.items() if k not in ("scheduled_for",)}
            decided.append((M.FAILED, {**kept, "last_error": error}))
        elif target is M.QUEUED and status is BatchStatus.PAUSED:
            decided.append(
                (target, {**values, "release_at": None, "hold_reason": batches.BATCH_PAUSED})
            )
        else:
            decided.append((target, values))
    return decided


def _queue_values(
    target: MessageStatus, message: Message, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`values`, and for a move back to the queue when it may be released: at its (new)
    scheduled time, with no hold left over from an earlier wait."""
    values = dict(values or {})
    if target is M.QUEUED:
        values.setdefault("release_at", values.get("scheduled_for", message.scheduled_for))
        values.setdefault("hold_reason", None)
        if message.device_assigned:  # chosen afresh at the next release
            values.update(device_id=None, device_assigned=False)
    return values


@dataclass(frozen=True)
class Settlement:
    """A decided report on a claimed message, to be written by `settle_claims`."""

    message: Message
    token: str
    target: MessageStatus
    values: Mapping[str, Any]
    detail: Mapping[str, Any] | None = None

    def group(self) -> tuple[Any, ...]:
        # Rows that take the same UPDATE: one statement for a whole batch of `sent` reports.
        return (self.token, self.message.status, self.target, tuple(sorted(self.values.items())))


def settle_claims(
    uow: UnitOfWork, settlements: Sequence[Settlement], *, at: datetime, actor: str
) -> dict[str, Message]:
    """Write reports on claimed messages, each only while its token is the current claim.

    Returns the moved messages by id; a settlement missing from the result lost its claim.
    """
    decided = _retries_under_batches(uow, [(s.message, s.target, s.values) for s in settlements])
    settlements = [
        replace(s, target=target, values=values)
        for s, (target, values) in zip(settlements, decided, strict=True)
    ]
    groups: dict[tuple[Any, ...], list[Settlement]] = {}
    for settlement in settlements:
        transitions.check(settlement.message.status, settlement.target, report=True)
        groups.setdefault(settlement.group(), []).append(settlement)
    moved: dict[str, Message] = {}
    for members in groups.values():
        first = members[0]
        values = {"status": first.target, "updated_at": at, **first.values}
        if first.target is M.QUEUED:
            # Each member's own scheduled time when the settlement does not set one.
            values.setdefault(
                "release_at", values.get("scheduled_for", first.message.scheduled_for)
            )
            values.setdefault("hold_reason", None)
        updated = claims.settle(
            uow.conn,
            messages,
            row_ids=[m.message.id for m in members],
            token=first.token,
            from_statuses=frozenset({first.message.status}),
            values=values,
        )
        # The new rows are the read ones plus `values`: no need to send them back over the wire.
        moved.update(
            (s.message.id, replace(s.message, **values)) for s in members if s.message.id in updated
        )
    applied = [s for s in settlements if s.message.id in moved]
    if applied:
        insert_rows(
            uow,
            message_events,
            [
                _event(
                    s.message.id,
                    s.message.workspace_id,
                    s.message.status,
                    s.target,
                    at,
                    actor,
                    s.detail,
                )
                for s in applied
            ],
        )
    batches.record_sends(
        uow,
        [
            (s.message.batch_id, s.target in (M.FAILED, M.QUEUED))
            for s in applied
            if s.message.batch_id is not None
            and s.message.status is M.CLAIMED
            and s.target is not M.RELEASED  # handed back unsent: no attempt was made
        ],
    )
    by_target: dict[MessageStatus, list[Moved]] = {}
    for s in applied:
        by_target.setdefault(s.target, []).append(_moved(s.message))
    for status, group in by_target.items():
        _announce(uow, group, status)
    return moved


def _moved(message: Message) -> Moved:
    return (message.id, message.workspace_id, message.channel_id, message.device_id)


def _record(
    uow: UnitOfWork,
    moved: Message,
    from_status: MessageStatus,
    at: datetime,
    actor: str,
    detail: Mapping[str, Any] | None,
) -> None:
    uow.conn.execute(
        insert(message_events),
        _event(moved.id, moved.workspace_id, from_status, moved.status, at, actor, detail),
    )
    extra: dict[str, Any] = {}
    if moved.status is M.QUEUED:
        extra["earliest"] = moved.scheduled_for.isoformat()
    _announce(uow, [_moved(moved)], moved.status, **extra)


@dataclass(frozen=True)
class ReleaseStep:
    released: list[Moved]  # (id, workspace, channel, device)
    considered: int  # due messages looked at: released, held back or suppressed


DEVICE_OFFLINE_SECONDS = 90.0


def release_due(
    uow: UnitOfWork,
    *,
    now: datetime,
    limit: int,
    announce: bool = True,
    offline_after: float = DEVICE_OFFLINE_SECONDS,
) -> list[Moved]:
    """Release up to `limit` due queued messages; returns (id, workspace, channel, device)."""
    return release_step(
        uow, now=now, limit=limit, announce=announce, offline_after=offline_after
    ).released


_CANDIDATE_COLUMNS = [
    messages.c.id,
    messages.c.workspace_id,
    messages.c.channel_id,
    messages.c.device_id,
    messages.c.recipient,
    messages.c.hold_reason,
    select(channels.c.kind)
    .where(channels.c.id == messages.c.channel_id)
    .scalar_subquery()
    .label("channel_kind"),
]


def release_step(
    uow: UnitOfWork,
    *,
    now: datetime,
    limit: int,
    announce: bool = True,
    offline_after: float = DEVICE_OFFLINE_SECONDS,
) -> ReleaseStep:
    """Look at up to `limit` due queued messages and release, hold or suppress each as the
    gate decides (store/throttle.py).

    Walks ix_messages_queued_release_at from the oldest due message, so the cost follows
    what is due, whatever the number of future or held messages. A claim that releases on
    its way announces only what it left for others (`_announce_left`).
    """
    c = messages.c
    pick = claims.pick(
        messages,
        eligible=and_(status_is(messages, MessageStatus.QUEUED), c.release_at <= now),
        order_by=[c.release_at],
        dialect=uow.dialect,
        limit=limit,
        columns=_CANDIDATE_COLUMNS,
    )
    candidates = [
        throttle.Candidate(
            r.id,
            r.workspace_id,
            r.channel_id,
            r.channel_kind,
            r.device_id,
            r.recipient,
            held=r.hold_reason is not None,
        )
        for r in uow.conn.execute(pick).all()
    ]
    if not candidates:
        return ReleaseStep([], 0)
    plan = throttle.plan(uow, candidates, offline_after=offline_after)
    now = max(now, uow.now)  # the gate may have waited for a policy's lock
    released = _release(uow, plan.release, now)
    _hold(uow, plan.hold)
    _suppress(uow, plan.suppress, now)
    throttle.record_releases(uow, plan.counted, by_recipient=plan.by_recipient)
    _record_bulk(uow, released, M.QUEUED, M.RELEASED, now, "scheduler", announce=announce)
    return ReleaseStep(released, len(candidates))


def _release(uow: UnitOfWork, chosen: Sequence[throttle.Candidate], now: datetime) -> list[Moved]:
    """Mark them released, clearing any hold; those pigeon gave a device get it."""
    c = messages.c
    groups: dict[str | None, list[str]] = {}
    for candidate in chosen:
        groups.setdefault(candidate.device_id if candidate.device_assigned else None, []).append(
            candidate.id
        )
    for device_id, ids in groups.items():
        values: dict[str, Any] = {
            "status": MessageStatus.RELEASED,
            "updated_at": now,
            "release_at": None,
            "hold_reason": None,
        }
        if device_id is not None:
            values.update(device_id=device_id, device_assigned=True)
        uow.conn.execute(
            update(messages)
            .where(one_of(uow.dialect, c.id, ids), status_is(messages, M.QUEUED))
            .values(**values)
        )
    return [(m.id, m.workspace_id, m.channel_id, m.device_id) for m in chosen]


def _hold(uow: UnitOfWork, held: Sequence[tuple[throttle.Candidate, datetime | None, str]]) -> None:
    """Leave them queued until the instant the gate found (None: until the hold is lifted)."""
    if not held:
        return
    c = messages.c
    uow.conn.execute(
        update(messages)
        .where(c.id == bindparam("b_id"))
        .values(release_at=bindparam("b_at"), hold_reason=bindparam("b_reason")),
        [{"b_id": m.id, "b_at": at, "b_reason": reason} for m, at, reason in held],
    )


def _suppress(uow: UnitOfWork, chosen: Sequence[throttle.Candidate], now: datetime) -> None:
    """The recipient opted out of the channel: the message ends suppressed, never sent."""
    if not chosen:
        return
    c = messages.c
    uow.conn.execute(
        update(messages)
        .where(one_of(uow.dialect, c.id, [m.id for m in chosen]), status_is(messages, M.QUEUED))
        .values(
            status=MessageStatus.SUPPRESSED,
            updated_at=now,
            release_at=None,
            hold_reason=None,
            last_error="the recipient opted out of this channel",
        )
    )
    moved = [(m.id, m.workspace_id, m.channel_id, m.device_id) for m in chosen]
    insert_rows(
        uow,
        message_events,
        [
            _event(mid, ws, M.QUEUED, M.SUPPRESSED, now, "scheduler", {"reason": "opted_out"})
            for mid, ws, _, _ in moved
        ],
    )
    _announce(uow, moved, M.SUPPRESSED)


def _announce_left(uow: UnitOfWork, released: Sequence[Moved], taken: Sequence[Message]) -> None:
    """Announce what a claim released on its way; only what it left wakes anybody."""
    if released:
        _announce(uow, released, M.RELEASED, taken=frozenset(m.id for m in taken))


@dataclass(frozen=True)
class ClaimContext:
    """What a device's claim must do, learnt as the device is recorded as seen."""

    channel_enabled: bool
    holds: bool  # the device holds claims it has not reported, their leases unexpired
    due: bool  # queued messages have fallen due (of any channel: releasing is cheap)


def _exists(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(messages.c.id).where(*where))


_SEEN_FOR_CLAIM = accounts.TOUCH_DEVICE.returning(
    accounts.CHANNEL_ENABLED.label("channel_enabled"),
    _exists(
        status_is(messages, M.CLAIMED),
        messages.c.claimed_by == bindparam("device_id"),
        messages.c.lease_expires_at > bindparam("at"),
    ).label("holds"),
    _exists(status_is(messages, M.QUEUED), messages.c.release_at <= bindparam("at")).label("due"),
)


def seen_for_claim(uow: UnitOfWork, device_id: str) -> ClaimContext | None:
    """Record the device as seen and learn what its claim must do, in one statement; None
    if the device has been revoked (then nothing is written). Most claims find nothing held
    and nothing due, and so spend no statement on either."""
    params = {"device_id": device_id, "at": uow.now}
    row = uow.conn.execute(_SEEN_FOR_CLAIM, params).first()
    if row is None:
        return None
    return ClaimContext(bool(row.channel_enabled), bool(row.holds), bool(row.due))


_DEVICE_CLAIM = claims.Claim(
    messages,
    eligible=and_(
        messages.c.channel_id == bindparam("for_channel"),
        status_is(messages, M.RELEASED),
        messages.c.workspace_id == bindparam("for_workspace"),
        or_(messages.c.device_id.is_(None), messages.c.device_id == bindparam("for_device")),
    ),
    order_by=[messages.c.scheduled_for, messages.c.id],
    claimed_status=M.CLAIMED,
    extra_values={"attempts": messages.c.attempts + 1, "updated_at": bindparam("claimed_at")},
)


def claim_for_device(
    uow: UnitOfWork,
    *,
    workspace_id: str,
    channel_id: str,
    device_id: str,
    limit: int,
    lease: Lease,
    hand_back: bool = True,
    context: ClaimContext | None = None,
) -> tuple[list[Message], list[Message]]:
    """Up to `limit` messages for a device, as (held, new).

    Held: with `hand_back`, the claims it holds and has not reported, renewed under their
    own tokens. New: released messages of its channel that are for it or for any device,
    oldest first. Due messages are released in the same transaction, so a device never
    waits for the scheduler. `context` (from `seen_for_claim`) spares the steps it says have
    nothing to do."""
    context = context or ClaimContext(True, True, True)
    c = messages.c
    order = [c.scheduled_for, c.id]
    held = (
        claims.renew_held(
            uow.conn,
            messages,
            holder=device_id,
            claimed_status=MessageStatus.CLAIMED,
            now=uow.now,
            expires_at=lease.expires_at,
            order_by=order,
            limit=limit,
        )
        if hand_back and context.holds
        else []
    )
    found = [Message.from_row(row._mapping) for row in held]
    if len(found) >= limit:
        return found, []
    released = (
        release_due(uow, now=uow.now, limit=RELEASE_CHUNK, announce=False) if context.due else []
    )
    rows = _DEVICE_CLAIM.run(
        uow.conn,
        limit=limit - len(found),
        lease=lease,
        for_channel=channel_id,
        for_workspace=workspace_id,
        for_device=device_id,
        claimed_at=uow.now,
    )
    claimed = [Message.from_row(row._mapping) for row in rows]
    _record_bulk(
        uow,
        [_moved(m) for m in claimed],
        MessageStatus.RELEASED,
        MessageStatus.CLAIMED,
        uow.now,
        f"device:{device_id}",
    )
    _announce_left(uow, released, claimed)
    return found, claimed


def claims_of(uow: UnitOfWork, workspace_id: str, device_id: str) -> list[Message]:
    """The messages `device_id` holds claimed, locked (PostgreSQL) against its own reports."""
    c = messages.c
    query = select(messages).where(
        status_is(messages, MessageStatus.CLAIMED),
        c.claimed_by == device_id,
        c.workspace_id == workspace_id,
    )
    if uow.dialect == "postgresql":
        query = query.order_by(c.id).with_for_update()
    return [Message.from_row(row._mapping) for row in uow.conn.execute(query).all()]


def fail_pinned(
    uow: UnitOfWork, workspace_id: str, device_id: str, *, error: str, actor: str
) -> int:
    """Fail the messages pinned to `device_id` that wait to be sent; returns how many."""
    c = messages.c
    pick = select(c.id, c.status).where(
        c.workspace_id == workspace_id,
        c.device_id == device_id,
        c.device_assigned.is_(False),
        c.status.in_([MessageStatus.QUEUED, MessageStatus.RELEASED]),
    )
    if uow.dialect == "postgresql":
        pick = pick.order_by(c.id).with_for_update()
    waiting = {row.id: MessageStatus(row.status) for row in uow.conn.execute(pick).all()}
    if not waiting:
        return 0
    for status in set(waiting.values()):
        transitions.check(status, MessageStatus.FAILED)
    uow.conn.execute(
        update(messages)
        .where(one_of(uow.dialect, c.id, list(waiting)))
        .values(status=MessageStatus.FAILED, last_error=error, updated_at=uow.now)
    )
    detail = {"reason": "device_revoked", "device_id": device_id}
    insert_rows(
        uow,
        message_events,
        [
            _event(mid, workspace_id, status, M.FAILED, uow.now, actor, detail)
            for mid, status in waiting.items()
        ],
    )
    _announce(uow, [(mid, workspace_id, "", device_id) for mid in waiting], M.FAILED)
    return len(waiting)


def unassign(uow: UnitOfWork, *, offline_after: float, device_id: str | None = None) -> int:
    """Move the released messages pigeon gave to a device that is gone (revoked, or not
    seen for `offline_after` seconds; or `device_id`) back to every device of their channel,
    with an event each; returns how many. A device the caller named is never moved."""
    c, d = messages.c, devices.c
    gone = select(d.id).where(
        or_(
            d.revoked_at.is_not(None),
            d.last_seen_at.is_(None),
            d.last_seen_at < uow.now - timedelta(seconds=offline_after),
        )
    )
    if device_id is not None:
        gone = gone.where(d.id == device_id)
    pick = select(c.id, c.workspace_id, c.channel_id, c.device_id).where(
        status_is(messages, M.RELEASED),
        c.device_assigned.is_(True),
        c.device_id.in_(gone.scalar_subquery()),
    )
    if uow.dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    rows = uow.conn.execute(pick).all()
    if not rows:
        return 0
    uow.conn.execute(
        update(messages)
        .where(one_of(uow.dialect, c.id, [r.id for r in rows]), status_is(messages, M.RELEASED))
        .values(device_id=None, device_assigned=False, updated_at=uow.now)
    )
    insert_rows(
        uow,
        message_events,
        [
            _event(
                r.id,
                r.workspace_id,
                M.RELEASED,
                M.RELEASED,
                uow.now,
                "scheduler",
                {"reason": "device_gone", "device_id": r.device_id},
            )
            for r in rows
        ],
    )
    _announce(uow, [(r.id, r.workspace_id, r.channel_id, None) for r in rows], M.RELEASED)
    return len(rows)


def expired_claims(uow: UnitOfWork, *, now: datetime, limit: int) -> list[Message]:
    rows = claims.expired(
        uow.conn, messages, claimed_status=MessageStatus.CLAIMED, now=now, limit=limit
    )
    return [Message.from_row(row._mapping) for row in rows]


def any_expired_claim(uow: UnitOfWork, *, now: datetime) -> bool:
    row = uow.conn.execute(
        select(messages.c.id)
        .where(status_is(messages, MessageStatus.CLAIMED), messages.c.lease_expires_at < now)
        .limit(1)
    ).first()
    return row is not None


def next_due_at(uow: UnitOfWork) -> datetime | None:
    """When the earliest queued message may be released (its time, or the end of a hold);
    lets the scheduler sleep exactly."""
    value: datetime | None = uow.conn.execute(
        select(messages.c.release_at)
        .where(status_is(messages, MessageStatus.QUEUED), messages.c.release_at.is_not(None))
        .order_by(messages.c.release_at)
        .limit(1)
    ).scalar()
    return value


def _record_bulk(
    uow: UnitOfWork,
    moved: Sequence[Moved],
    from_status: MessageStatus,
    to_status: MessageStatus,
    at: datetime,
    actor: str,
    *,
    announce: bool = True,
) -> None:
    if not moved:
        return
    insert_rows(
        uow,
        message_events,
        [_event(mid, ws, from_status, to_status, at, actor) for mid, ws, _, _ in moved],
    )
    if announce:
        _announce(uow, moved, to_status)


_PUSH_CLAIM = claims.Claim(
    messages,
    eligible=and_(
        status_is(messages, M.RELEASED),
        messages.c.channel_id.in_(
            select(channels.c.id).where(
                channels.c.kind.in_(bindparam("kinds", expanding=True)),
                channels.c.disabled_at.is_(None),
            )
        ),
    ),
    order_by=[messages.c.scheduled_for, messages.c.id],
    claimed_status=M.CLAIMED,
    extra_values={"attempts": messages.c.attempts + 1, "updated_at": bindparam("claimed_at")},
)


def claim_for_push(
    uow: UnitOfWork,
    *,
    kinds: frozenset[str],
    limit: int,
    lease: Lease,
) -> list[Message]:
    """Claim released messages of enabled push channels of the given kinds, for a worker."""
    released = release_due(uow, now=uow.now, limit=RELEASE_CHUNK, announce=False)
    rows = _PUSH_CLAIM.run(
        uow.conn, limit=limit, lease=lease, kinds=sorted(kinds), claimed_at=uow.now
    )
    claimed = [Message.from_row(row._mapping) for row in rows]
    _record_bulk(
        uow,
        [_moved(m) for m in claimed],
        MessageStatus.RELEASED,
        MessageStatus.CLAIMED,
        uow.now,
        lease.holder,
    )
    _announce_left(uow, released, claimed)
    return claimed
