"""Outreach batches: a Liquid template over an audience of contacts, previewed in full, then
sent as ordinary messages that the release gate paces (store/throttle.py).

create (draft) -> preview (a dry run over every recipient) -> start (every item becomes a
message or is skipped with its reason) -> pause / resume / cancel; the batch completes when
its last item is sent, failed or skipped (store/batches.follow).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pigeon.domain import throttle
from pigeon.domain.contacts import Audience, primary_handle, zone_from_phone
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.recurrence import KIND_BATCH, Recurrence, next_occurrence, parse_rule
from pigeon.domain.storable import json_problem, text_problem
from pigeon.domain.templates import RenderProblem, compile_template
from pigeon.domain.transitions import BATCHES, BatchStatus, ItemStatus, MessageStatus
from pigeon.errors import IllegalTransition, NotFound, ValidationError
from pigeon.services import auth, messages, recurrences
from pigeon.services.context import Principal
from pigeon.store import accounts, consent
from pigeon.store import batches as store
from pigeon.store import contacts as contact_store
from pigeon.store import messages as message_store
from pigeon.store import recurrences as recurrence_store
from pigeon.store import throttle as throttle_store

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pigeon.domain.accounts import Channel
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork

MAX_TEMPLATE_CHARS = 20_000
MAX_VARIABLES_BYTES = 64_000
MAX_SAMPLES = 50
DEFAULT_AUTO_PAUSE = {"window": 20, "max_failure_rate": 0.5}
Batch = store.Batch


@dataclass(frozen=True)
class NewBatch:
    name: str
    template: str
    audience: Mapping[str, Any]
    channel_id: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    send_at: datetime | None = None
    auto_pause: Mapping[str, Any] | None = field(default_factory=lambda: dict(DEFAULT_AUTO_PAUSE))
    repeat: recurrences.Repeat | None = (
        None  # once started, the batch recurs: each time a new batch
    )


@dataclass(frozen=True)
class Planned:
    contact_id: str
    name: str | None
    recipient: str
    body: str
    zone: ZoneInfo | None


@dataclass(frozen=True)
class Skipped:
    contact_id: str
    name: str | None
    recipient: str | None
    reason: str  # no_primary_handle | duplicate_recipient | opted_out | render_error | ...
    detail: str | None = None


@dataclass(frozen=True)
class Resolution:
    audience: int
    sendable: list[Planned]
    skipped: list[Skipped]


@dataclass(frozen=True)
class Timeline:
    start: datetime
    first_at: datetime | None
    last_at: datetime | None  # None: a paused policy holds the batch until it is lifted
    by_hour: list[tuple[datetime, int]]
    held_by: dict[str, int]  # how many are placed later than the start, by the first rule


@dataclass(frozen=True)
class Preview:
    batch: Batch
    resolution: Resolution
    samples: list[Planned]
    timeline: Timeline


@dataclass(frozen=True)
class Progress:
    batch: Batch
    items: dict[ItemStatus, int]


# -- create ---------------------------------------------------------------------------------


def create(svc: Services, who: Principal, new: NewBatch) -> Batch:
    errors: dict[str, str] = {}
    name = new.name.strip()
    if not name or len(name) > 200 or text_problem(name):
        errors["name"] = text_problem(name) or "must be 1 to 200 characters"
    if len(new.template) > MAX_TEMPLATE_CHARS:
        errors["template"] = f"must be at most {MAX_TEMPLATE_CHARS} characters"
    else:
        try:
            compile_template(new.template)
        except ValidationError as error:
            errors.update(error.errors)
    try:
        audience = Audience.from_json(new.audience)
    except ValidationError as error:
        errors.update(
            {
                f"audience.{k}" if not k.startswith("audience") else k: v
                for k, v in error.errors.items()
            }
        )
        audience = None
    if problem := _variables_problem(new.variables):
        errors["variables"] = problem
    auto_pause = _auto_pause(new.auto_pause, errors)
    send_at = _send_at(new.send_at, errors)
    repeat = _repeat(new.repeat, errors)
    with auth.acting(svc, who) as uow:
        channel = _channel(svc, uow, who, new.channel_id, errors)
        if errors:
            raise ValidationError(errors)
        assert channel is not None and audience is not None
        batch = store.insert_batch(
            uow,
            {
                "id": new_id(),
                "workspace_id": who.workspace_id,
                "name": name,
                "channel_id": channel.id,
                "template": new.template,
                "audience": audience.to_json(),
                "variables": dict(new.variables),
                "status": BatchStatus.DRAFT,
                "send_at": send_at,
                "auto_pause": auto_pause,
                "repeat": repeat,
                "created_at": uow.now,
                "updated_at": uow.now,
            },
        )
        accounts.audit(
            uow,
            workspace_id=who.workspace_id,
            actor=who.actor,
            action="batch_created",
            subject_type="batch",
            subject_id=batch.id,
            at=uow.now,
            detail={"name": name, "channel_id": channel.id},
        )
        return batch


def _repeat(repeat: recurrences.Repeat | None, errors: dict[str, str]) -> dict[str, Any] | None:
    if repeat is None:
        return None
    try:
        rule = parse_rule(repeat.rrule, field="repeat.rrule")
        if repeat.timezone is not None:
            recurrences.zone(repeat.timezone, "repeat.timezone")
    except ValidationError as error:
        errors.update(error.errors)
        return None
    return {"rrule": rule.text, "timezone": repeat.timezone}


def _variables_problem(variables: Any) -> str | None:
    if not isinstance(variables, dict):
        return "must be a JSON object"
    if problem := json_problem(variables, max_bytes=MAX_VARIABLES_BYTES):
        return problem
    bad = [key for key in variables if not key.isidentifier()]
    if bad:
        return f"{bad[0]!r} is not a name a template can use (letters, digits, _)"
    return None


def _auto_pause(value: Mapping[str, Any] | None, errors: dict[str, str]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"window", "max_failure_rate"}:
        errors["auto_pause"] = "must be null or {window, max_failure_rate}"
        return None
    window = value.get("window", DEFAULT_AUTO_PAUSE["window"])
    rate = value.get("max_failure_rate", DEFAULT_AUTO_PAUSE["max_failure_rate"])
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 10_000:
        errors["auto_pause.window"] = "must be a whole number from 1 to 10000"
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 <= rate < 1
    ):
        errors["auto_pause.max_failure_rate"] = "must be a number from 0 up to (not including) 1"
    return {"window": window, "max_failure_rate": rate}


def _send_at(value: datetime | None, errors: dict[str, str]) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors["send_at"] = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z"
        return None
    try:
        return value.astimezone(UTC)
    except OverflowError:
        errors["send_at"] = "is out of range"
        return None


def _channel(
    svc: Services, uow: UnitOfWork, who: Principal, channel_id: str | None, errors: dict[str, str]
) -> Channel | None:
    if channel_id is not None and not is_uuid(channel_id):
        errors["channel_id"] = "no such channel in this workspace"
        return None
    channel = (
        accounts.get_channel(uow, who.workspace_id, channel_id)
        if channel_id
        else accounts.default_channel(uow, who.workspace_id)
    )
    if problem := messages.channel_problem(svc, channel, channel_id):
        errors["channel_id"] = problem
    return channel


# -- read -----------------------------------------------------------------------------------


def get(svc: Services, who: Principal, batch_id: str) -> Progress:
    with auth.acting(svc, who, readonly=True) as uow:
        batch = _existing(uow, who, batch_id)
        return Progress(batch, store.progress(uow, batch.id))


def list_(
    svc: Services,
    who: Principal,
    *,
    limit: int,
    before: str | None,
    status: BatchStatus | None = None,
) -> list[Batch]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.list_(
            uow,
            who.workspace_id,
            limit=limit,
            before=before if before and is_uuid(before) else None,
            status=status,
        )


def items(
    svc: Services,
    who: Principal,
    batch_id: str,
    *,
    status: ItemStatus | None,
    limit: int,
    after: str | None,
) -> list[store.Item]:
    with auth.acting(svc, who, readonly=True) as uow:
        batch = _existing(uow, who, batch_id)
        return store.items(uow, batch.id, status=status, limit=limit, after=after)


def _existing(uow: UnitOfWork, who: Principal, batch_id: str, *, lock: bool = False) -> Batch:
    batch = store.get(uow, who.workspace_id, batch_id, lock=lock) if is_uuid(batch_id) else None
    if batch is None:
        raise NotFound("no such batch in this workspace")
    return batch


# -- preview and start -----------------------------------------------------------------------


def preview(svc: Services, who: Principal, batch_id: str, *, samples: int = 5) -> Preview:
    """A dry run over every recipient: who gets what, who is skipped and why, and when the
    last message would go under the throttle policies in force now. Writes nothing."""
    with auth.acting(svc, who, readonly=True) as uow:
        batch = _existing(uow, who, batch_id)
        channel = accounts.get_channel(uow, who.workspace_id, batch.channel_id)
        assert channel is not None
        resolution = _resolve(svc, uow, batch, channel)
        start = max(batch.send_at or uow.now, uow.now)
        timeline = _timeline(uow, batch, resolution.sendable, start)
        return Preview(
            batch, resolution, resolution.sendable[: min(samples, MAX_SAMPLES)], timeline
        )


def start(svc: Services, who: Principal, batch_id: str) -> Progress:
    """Turn every recipient into a message (or a skipped item with its reason), in one
    transaction with the batch's move to `sending`; a batch with `repeat` starts recurring."""
    with auth.acting(svc, who) as uow:
        batch = _existing(uow, who, batch_id, lock=True)
        started = _start_in(svc, uow, batch, actor=who.actor)
        if batch.repeat is not None:
            _recur(uow, started, actor=who.actor)
        final = store.get(uow, who.workspace_id, batch.id)
        assert final is not None
        return Progress(final, store.progress(uow, batch.id))


def _start_in(svc: Services, uow: UnitOfWork, batch: Batch, *, actor: str) -> Batch:
    if batch.status is not BatchStatus.DRAFT:
        raise IllegalTransition(f"a {batch.status} batch cannot be started")
    problems: dict[str, str] = {}
    who = Principal(batch.workspace_id, actor, frozenset())
    channel = _channel(svc, uow, who, batch.channel_id, problems)
    if problems or channel is None:
        raise ValidationError(problems or {"channel_id": "no such channel in this workspace"})
    resolution = _resolve(svc, uow, batch, channel)
    at = max(batch.send_at or uow.now, uow.now)
    moved = store.move(uow, batch, BatchStatus.SENDING, actor=actor, values={"started_at": uow.now})
    if moved is None:
        raise IllegalTransition("the batch changed while it was being started")
    _write_items(uow, moved, channel, resolution, at, actor=actor)
    if not resolution.sendable:
        store.move(
            uow,
            moved,
            BatchStatus.COMPLETED,
            actor="system",
            reason="no recipient to send to",
            values={"finished_at": uow.now},
        )
    return moved


# -- recurring batches -----------------------------------------------------------------------


def _recur(uow: UnitOfWork, batch: Batch, *, actor: str) -> None:
    """The recurrence of a started batch with `repeat`: this batch is its first occurrence,
    and each later one becomes a copy of it, started at its time (its audience read then)."""
    assert batch.repeat is not None
    rule = parse_rule(batch.repeat["rrule"])
    zone_name = batch.repeat.get("timezone") or _workspace_zone(uow, batch.workspace_id)
    # The series is anchored where the batch is: its send_at, else its start.
    dtstart = batch.send_at or batch.started_at or uow.now
    recurrence = Recurrence(
        id=new_id(),
        workspace_id=batch.workspace_id,
        kind=KIND_BATCH,
        rrule=rule.text,
        timezone=zone_name,
        dtstart=dtstart,
        template={"batch_id": batch.id},
        next_at=next_occurrence(rule, ZoneInfo(zone_name), dtstart, max(dtstart, uow.now)),
        occurrences=1,
        created_at=uow.now,
        updated_at=uow.now,
        stopped_at=None,
    )
    recurrence_store.insert(uow, recurrence)
    store.set_repeat(uow, batch, {**batch.repeat, "recurrence_id": recurrence.id})
    accounts.audit(
        uow,
        workspace_id=batch.workspace_id,
        actor=actor,
        action="recurrence_created",
        subject_type="recurrence",
        subject_id=recurrence.id,
        at=uow.now,
        detail={"rrule": rule.text, "timezone": zone_name, "batch_id": batch.id},
    )


def _stop_recurring(uow: UnitOfWork, batch: Batch, *, actor: str) -> None:
    """Canceling a recurring batch ends its series too."""
    recurrence_id = (batch.repeat or {}).get("recurrence_id")
    found = recurrence_store.get(uow, batch.workspace_id, recurrence_id) if recurrence_id else None
    if found is None or found.stopped_at is not None:
        return
    recurrence_store.stop(uow, found)
    accounts.audit(
        uow,
        workspace_id=batch.workspace_id,
        actor=actor,
        action="recurrence_stopped",
        subject_type="recurrence",
        subject_id=found.id,
        at=uow.now,
        detail={"reason": "batch_canceled", "batch_id": batch.id},
    )


def _make_batch(svc: Services, uow: UnitOfWork, recurrence: Recurrence, at: datetime) -> str:
    """One occurrence of a recurring batch: a copy of the first, started for `at`."""
    source = store.get(uow, recurrence.workspace_id, recurrence.template["batch_id"])
    if source is None:
        raise ValidationError.field("batch_id", "the batch this recurrence copies is gone")
    local = at.astimezone(ZoneInfo(recurrence.timezone))
    copy = store.insert_batch(
        uow,
        {
            "id": new_id(),
            "workspace_id": source.workspace_id,
            "name": f"{source.name} ({local:%Y-%m-%d %H:%M})"[:200],
            "channel_id": source.channel_id,
            "template": source.template,
            "audience": dict(source.audience),
            "variables": dict(source.variables),
            "status": BatchStatus.DRAFT,
            "send_at": at,
            "auto_pause": dict(source.auto_pause) if source.auto_pause else None,
            "repeat": None,
            "created_at": uow.now,
            "updated_at": uow.now,
        },
    )
    _start_in(svc, uow, copy, actor=f"recurrence:{recurrence.id}")
    return copy.id


recurrences.register_maker(KIND_BATCH, _make_batch)


def _write_items(
    uow: UnitOfWork,
    batch: Batch,
    channel: Channel,
    resolution: Resolution,
    at: datetime,
    *,
    actor: str,
) -> None:
    rows, items = [], []
    for planned in resolution.sendable:
        message_id = new_id()
        rows.append(
            {
                "id": message_id,
                "workspace_id": batch.workspace_id,
                "channel_id": channel.id,
                "device_id": None,
                "recipient": planned.recipient,
                "body": planned.body,
                "status": MessageStatus.QUEUED,
                "scheduled_for": at,
                "release_at": at,
                "attempts": 0,
                "meta": None,
                "batch_id": batch.id,
                "created_at": uow.now,
                "updated_at": uow.now,
            }
        )
        items.append(
            _item(
                batch,
                planned.contact_id,
                planned.recipient,
                planned.body,
                ItemStatus.QUEUED,
                None,
                message_id,
                uow.now,
            )
        )
    for skipped in resolution.skipped:
        items.append(
            _item(
                batch,
                skipped.contact_id,
                skipped.recipient,
                None,
                ItemStatus.SKIPPED,
                skipped.reason,
                None,
                uow.now,
                detail=skipped.detail,
            )
        )
    message_store.insert_many(uow, rows, actor=f"batch:{batch.id}")
    store.insert_items(uow, items)


def _item(
    batch: Batch,
    contact_id: str,
    recipient: str | None,
    body: str | None,
    status: ItemStatus,
    reason: str | None,
    message_id: str | None,
    now: datetime,
    *,
    detail: str | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "batch_id": batch.id,
        "workspace_id": batch.workspace_id,
        "contact_id": contact_id,
        "recipient": recipient,
        "body": body,
        "status": status,
        "reason": reason,
        "detail": detail,
        "message_id": message_id,
        "updated_at": now,
    }


def _resolve(svc: Services, uow: UnitOfWork, batch: Batch, channel: Channel) -> Resolution:
    members = contact_store.audience(uow, batch.workspace_id, Audience.from_json(batch.audience))
    template = compile_template(batch.template)
    workspace_zone = ZoneInfo(_workspace_zone(uow, batch.workspace_id))
    handles = {m.id: primary_handle(m.handles, channel.kind) for m in members}
    opted = consent.opted_out(
        uow, batch.workspace_id, [(channel.id, h.value) for h in handles.values() if h is not None]
    )
    sendable: list[Planned] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for member in members:
        handle = handles[member.id]
        recipient = handle.value if handle is not None else None
        reason, detail, body, zone = None, None, "", None
        if recipient is None:
            reason, detail = "no_primary_handle", f"no handle a {channel.kind} channel can use"
        elif recipient in seen:
            reason = "duplicate_recipient"
        elif (channel.id, recipient) in opted:
            reason = "opted_out"
        else:
            zone = _zone_of(member.timezone, recipient)
            context = _context(member, batch.variables)
            try:
                body = template.render(context, zone=zone or workspace_zone, now=uow.now)
            except RenderProblem as problem:
                reason, detail = "render_error", str(problem)
            else:
                reason, detail = _body_problem(body, svc.settings.max_body_chars)
        if recipient is not None:
            seen.add(recipient)
        if reason is None:
            assert recipient is not None
            sendable.append(Planned(member.id, member.name, recipient, body, zone))
        else:
            skipped.append(Skipped(member.id, member.name, recipient, reason, detail))
    return Resolution(len(members), sendable, skipped)


def _body_problem(body: str, limit: int) -> tuple[str | None, str | None]:
    if not body.strip():
        return "empty_body", None
    if len(body) > limit:
        return "too_long", f"{len(body)} characters, at most {limit}"
    if problem := text_problem(body):
        return "render_error", problem
    return None, None


def _context(member: Any, variables: Mapping[str, Any]) -> dict[str, Any]:
    """What a template reads: the batch's variables, then the contact's attributes and name
    (the contact's own values win), and both again under `vars` and `contact`."""
    contact = {**member.attributes, "name": member.name or "", "timezone": member.timezone}
    return {**variables, **contact, "contact": contact, "vars": dict(variables)}


def _zone_of(timezone: str | None, recipient: str) -> ZoneInfo | None:
    name = timezone or (zone_from_phone(recipient) if recipient.startswith("+") else None)
    return ZoneInfo(name) if name else None


def _workspace_zone(uow: UnitOfWork, workspace_id: str) -> str:
    workspace = accounts.get_workspace(uow, workspace_id)
    return workspace.timezone if workspace is not None else "UTC"


def _timeline(
    uow: UnitOfWork, batch: Batch, planned: Sequence[Planned], start: datetime
) -> Timeline:
    """When each message would be released under the workspace's and the channel's policies
    as they stand (device policies apply once a device is chosen, at release)."""
    zone = ZoneInfo(_workspace_zone(uow, batch.workspace_id))
    scopes = []
    for policy in throttle_store.policies_of(uow, batch.workspace_id):
        if (policy.scope, policy.scope_id) in (
            ("workspace", batch.workspace_id),
            ("channel", batch.channel_id),
        ):
            ledger = throttle_store.ledger_of(uow, policy)
            scopes.append(throttle.Scope(policy.rules, ledger, policy.rules.zone(zone)))
    if not planned:
        return Timeline(start, None, None, [], {})
    if not scopes:
        return Timeline(start, start, start, [(_hour(start), len(planned))], {})
    decisions = throttle.project(scopes, start, [(p.recipient, p.zone) for p in planned])
    held_by = Counter(str(d.reason) for d in decisions if d.reason is not None)
    times = [d.at for d in decisions if d.at is not None]
    per_hour = Counter(_hour(t) for t in times)
    last = None if len(times) < len(decisions) else max(times)
    return Timeline(
        start,
        min(times) if times else None,
        last,
        sorted(per_hour.items())[: 24 * 14],
        dict(held_by),
    )


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


# -- pause, resume, cancel -------------------------------------------------------------------


def pause(svc: Services, who: Principal, batch_id: str) -> Progress:
    with auth.acting(svc, who) as uow:
        batch = _existing(uow, who, batch_id, lock=True)
        moved = _move(uow, batch, BatchStatus.PAUSED, who, reason="paused by a person")
        store.hold_messages(uow, moved, actor=who.actor)
        return Progress(moved, store.progress(uow, batch.id))


def resume(svc: Services, who: Principal, batch_id: str) -> Progress:
    with auth.acting(svc, who) as uow:
        batch = _existing(uow, who, batch_id, lock=True)
        moved = _move(uow, batch, BatchStatus.SENDING, who)
        store.lift_messages(uow, moved)
        return Progress(moved, store.progress(uow, batch.id))


def cancel(svc: Services, who: Principal, batch_id: str) -> Progress:
    """Cancel what has not gone out; its items end skipped (canceled). Messages a device or
    worker has already claimed finish as they will."""
    with auth.acting(svc, who) as uow:
        batch = _existing(uow, who, batch_id, lock=True)
        moved = _move(uow, batch, BatchStatus.CANCELED, who, values={"finished_at": uow.now})
        _stop_recurring(uow, moved, actor=who.actor)
        message_store.move_many(
            uow,
            store.waiting_messages(uow, moved),
            MessageStatus.CANCELED,
            actor=who.actor,
            detail={"reason": "batch_canceled"},
        )
        return Progress(moved, store.progress(uow, batch.id))


def _move(
    uow: UnitOfWork,
    batch: Batch,
    target: BatchStatus,
    who: Principal,
    *,
    reason: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Batch:
    if not BATCHES.can_move(batch.status, target):
        raise IllegalTransition(f"a {batch.status} batch cannot become {target}")
    moved = store.move(uow, batch, target, actor=who.actor, reason=reason, values=values)
    if moved is None:
        raise IllegalTransition("the batch changed while this request was handled; try again")
    return moved
