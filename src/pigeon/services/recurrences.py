"""Recurring messages (and, through a maker the batches service registers, batches).

`POST /v1/messages` with `repeat` creates the first message at `scheduled_for` (the rule's
start) and a recurrence whose `next_at` is the next occurrence, in one transaction. The
upkeep (a timer of the worker runtime, every few seconds and on drain) then makes each
occurrence as it comes within `LEAD` of now: it takes the due recurrence locked (SKIP
LOCKED on PostgreSQL: two workers never make one occurrence; SQLite's write transaction
serialises them), makes the occurrence through the maker of its kind, moves `next_at` on
and counts it, all in one transaction. The occurrence's message also carries the
idempotency key `recurrence:<id>:<time>`, so no retry can make it twice.

Missed occurrences (the workers were down): one missed by more than `MISSED_GRACE` is not
sent late, and of several missed within it only the latest is made. A week of daily
reminders after an outage is not seven messages at once; one missed by a minute still goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pigeon.domain.accounts import Scope
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.recurrence import (
    KIND_MESSAGE,
    Recurrence,
    next_occurrence,
    parse_rule,
    step,
)
from pigeon.errors import IdempotencyConflict, NotFound, StorageUnavailable, ValidationError
from pigeon.services import auth, messages
from pigeon.services.context import Principal
from pigeon.store import accounts
from pigeon.store import recurrences as store
from pigeon.store.database import UniqueViolation

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.domain.messages import Message
    from pigeon.domain.recurrence import Rule
    from pigeon.services.context import Services
    from pigeon.store.database import UnitOfWork

log = logging.getLogger(__name__)

UPKEEP_SECONDS = 5.0
LEAD = timedelta(seconds=60)  # an occurrence is made this long before it is due
MISSED_GRACE = timedelta(hours=1)  # an occurrence missed by more is not sent late
PASS_LIMIT = 10_000  # occurrences one upkeep pass makes at most
MAX_PAGE = 200
IDEMPOTENCY_SCOPE = "recurrences"
RECURRENCE_META_KEY = "pigeon.recurrence_id"  # on every message a recurrence made

# Makes one occurrence of a recurrence, at the given time, inside the upkeep's transaction;
# returns the id of what it made, or None when it made nothing new (the occurrence existed
# already). A ValidationError skips that occurrence (logged and audited); any other error
# leaves the recurrence due, to be tried again.
Maker = Callable[["Services", "UnitOfWork", Recurrence, "datetime"], "str | None"]
_MAKERS: dict[str, Maker] = {}
_WARNED: set[str] = set()  # kinds with no maker, logged once per process


def register_maker(kind: str, fn: Maker) -> None:
    """Have `fn` make the occurrences of recurrences of `kind` ("message", "batch")."""
    _MAKERS[kind] = fn


@dataclass(frozen=True)
class Repeat:
    rrule: str
    timezone: str | None = None  # None: the workspace's


@dataclass(frozen=True)
class Repeated:
    message: Message  # the first
    recurrence: Recurrence
    replayed: bool


# Creating ---------------------------------------------------------------------------------


def create_message(
    svc: Services, who: Principal, request: messages.NewMessage, repeat: Repeat
) -> Repeated:
    """Create the first message and its recurrence; with an idempotency key, a repeat of
    the request answers both as first created. A first time given in words
    (`scheduled_for_text`) is resolved first; the rule goes on from it."""
    rule = parse_rule(repeat.rrule, field="repeat.rrule")
    request = messages.with_time_resolved(svc, who, request)
    for _attempt in range(2):
        try:
            return _create_message_once(svc, who, request, repeat, rule)
        except UniqueViolation as error:
            if error.constraint != messages.IDEMPOTENCY_UNIQUE:
                raise
            # A concurrent request with the same key won; the second pass replays it.
    raise IdempotencyConflict("a concurrent request is using the same Idempotency-Key")


def _create_message_once(
    svc: Services, who: Principal, request: messages.NewMessage, repeat: Repeat, rule: Rule
) -> Repeated:
    recurrence_id = new_id()
    with svc.db.transaction() as uow:
        zone_name = repeat.timezone
        if zone_name is None:
            workspace = accounts.get_workspace(uow, who.workspace_id)
            zone_name = workspace.timezone if workspace is not None else "UTC"
        tz = zone(zone_name, "repeat.timezone")
        created = messages.create_in(
            svc, uow, who, [request], marks={RECURRENCE_META_KEY: recurrence_id}
        )
        [message] = created.messages
        if created.replayed:
            return _as_first_created(uow, who, message, rule, zone_name)
        dtstart = message.scheduled_for
        # A start in the past is not made up for: the rule goes on from now.
        next_at = next_occurrence(rule, tz, dtstart, max(dtstart, uow.now))
        if next_at is None and rule.count is None and rule.until is None:
            raise ValidationError.field(
                "repeat.rrule", "never occurs after scheduled_for (no date matches it)"
            )
        recurrence = Recurrence(
            id=recurrence_id,
            workspace_id=who.workspace_id,
            kind=KIND_MESSAGE,
            rrule=rule.text,
            timezone=zone_name,
            dtstart=dtstart,
            template=_template(message),
            next_at=next_at,
            occurrences=1,  # the first message
            created_at=uow.now,
            updated_at=uow.now,
            stopped_at=None,
        )
        store.insert(uow, recurrence)
        _audit(
            uow,
            recurrence,
            who.actor,
            "recurrence_created",
            {"rrule": rule.text, "timezone": zone_name, "message_id": message.id},
        )
    return Repeated(message, recurrence, replayed=False)


def _as_first_created(
    uow: UnitOfWork, who: Principal, message: Message, rule: Rule, zone_name: str
) -> Repeated:
    """The replay of a create with `repeat`: its message, and the recurrence it made."""
    recurrence_id = (message.meta or {}).get(RECURRENCE_META_KEY)
    found = (
        store.get(uow, who.workspace_id, recurrence_id)
        if isinstance(recurrence_id, str) and is_uuid(recurrence_id)
        else None
    )
    if found is None or found.rrule != rule.text or found.timezone != zone_name:
        raise IdempotencyConflict(
            "Idempotency-Key: this key was already used with a different request"
        )
    return Repeated(message, found, replayed=True)


def _template(message: Message) -> dict[str, Any]:
    """What each occurrence's message is made from: the first's, without pigeon's marks."""
    meta = message.meta
    if meta is not None:
        meta = {k: v for k, v in meta.items() if not k.startswith(messages.RESERVED_META_PREFIX)}
    return {
        "channel_id": message.channel_id,
        "device_id": message.device_id,
        "recipient": message.recipient,
        "body": message.body,
        "meta": meta or None,
    }


def zone(name: str, field: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.field(
            field, f"{name!r} is not an IANA time zone such as Europe/London"
        ) from None


# Reading and stopping ----------------------------------------------------------------------


def list_(
    svc: Services, who: Principal, *, limit: int = 50, after_id: str | None = None
) -> list[Recurrence]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.list_(uow, who.workspace_id, limit=min(limit, MAX_PAGE + 1), after_id=after_id)


def get(svc: Services, who: Principal, recurrence_id: str) -> Recurrence:
    with auth.acting(svc, who, readonly=True) as uow:
        return _existing(uow, who, recurrence_id, lock=False)


def stop(svc: Services, who: Principal, recurrence_id: str) -> Recurrence:
    """Stop making occurrences. Messages made already stay, each cancelable as usual.
    Stopping a stopped recurrence changes nothing."""
    with auth.acting(svc, who) as uow:
        recurrence = _existing(uow, who, recurrence_id, lock=True)
        if recurrence.stopped_at is not None:
            return recurrence
        stopped = store.stop(uow, recurrence)
        _audit(uow, stopped, who.actor, "recurrence_stopped", None)
    return stopped


def _existing(uow: UnitOfWork, who: Principal, recurrence_id: str, *, lock: bool) -> Recurrence:
    found = (
        store.get(uow, who.workspace_id, recurrence_id, lock=lock)
        if is_uuid(recurrence_id)
        else None
    )
    if found is None:
        raise NotFound("no such recurrence")
    return found


def _audit(
    uow: UnitOfWork,
    recurrence: Recurrence,
    actor: str,
    action: str,
    detail: dict[str, Any] | None,
) -> None:
    accounts.audit(
        uow,
        workspace_id=recurrence.workspace_id,
        actor=actor,
        action=action,
        subject_type="recurrence",
        subject_id=recurrence.id,
        at=uow.now,
        detail=detail,
    )


# The upkeep ---------------------------------------------------------------------------------


def run_upkeep(svc: Services, *, grace: timedelta = MISSED_GRACE, limit: int = PASS_LIMIT) -> int:
    """Make every occurrence due within `LEAD`; returns how many were made. A recurrence
    whose occurrence fails is left due (logged) and passed over until the next pass."""
    made = 0
    failed: set[str] = set()
    for _ in range(limit):
        taken: list[str] = []
        try:
            with svc.db.transaction() as uow:
                due = store.due(
                    uow, before=uow.now + LEAD, kinds=_MAKERS.keys(), skip=failed, limit=1
                )
                if not due:
                    break
                taken.append(due[0].id)
                made += _advance(svc, uow, due[0], grace)
        except StorageUnavailable:
            raise
        except Exception:
            if not taken:
                raise
            failed.add(taken[0])
            log.exception(
                "recurrence occurrence failed; tried again on the next pass",
                extra={"action": "recurrence_failed", "recurrence_id": taken[0]},
            )
    _warn_unknown_kinds(svc)
    return made


def _advance(svc: Services, uow: UnitOfWork, recurrence: Recurrence, grace: timedelta) -> int:
    """Make the due occurrence (if it is not too old) and move `next_at` on."""
    assert recurrence.next_at is not None
    rule = parse_rule(recurrence.rrule, field="rrule")
    tz = ZoneInfo(recurrence.timezone)
    plan = step(rule, tz, recurrence.dtstart, recurrence.next_at, uow.now, grace=grace)
    if plan.skipped_from is not None:
        log.info(
            "missed occurrences skipped",
            extra={
                "action": "recurrence_skipped",
                "recurrence_id": recurrence.id,
                "workspace_id": recurrence.workspace_id,
                "skipped_from": plan.skipped_from.isoformat(),
                "made": plan.make.isoformat() if plan.make else None,
            },
        )
    made = 0
    if plan.make is not None:
        try:
            made_id = _MAKERS[recurrence.kind](svc, uow, recurrence, plan.make)
            made = 0 if made_id is None else 1
            log.info(
                "recurrence occurrence made",
                extra={
                    "action": "recurrence_made",
                    "recurrence_id": recurrence.id,
                    "workspace_id": recurrence.workspace_id,
                    "made_id": made_id,
                    "occurrence": plan.make.isoformat(),
                },
            )
        except ValidationError as error:
            # Its channel was disabled, its device revoked since: this occurrence is not
            # made, later ones are tried as they come.
            _audit(
                uow,
                recurrence,
                "system",
                "recurrence_occurrence_skipped",
                {"occurrence": plan.make.isoformat(), "reason": error.message},
            )
            log.warning(
                "recurrence occurrence refused",
                extra={
                    "action": "recurrence_refused",
                    "recurrence_id": recurrence.id,
                    "workspace_id": recurrence.workspace_id,
                    "reason": error.message,
                },
            )
    store.advance(uow, recurrence, next_at=plan.next_at, made=made)
    return made


def _make_message(
    svc: Services, uow: UnitOfWork, recurrence: Recurrence, at: datetime
) -> str | None:
    template = recurrence.template
    who = Principal(recurrence.workspace_id, f"recurrence:{recurrence.id}", frozenset({Scope.SEND}))
    request = messages.NewMessage(
        recipient=template["recipient"],
        body=template["body"],
        scheduled_for=at,
        channel_id=template.get("channel_id"),
        device_id=template.get("device_id"),
        meta=template.get("meta"),
        idempotency_key=f"recurrence:{recurrence.id}:{at.isoformat()}",
    )
    created = messages.create_in(
        svc,
        uow,
        who,
        [request],
        scope=IDEMPOTENCY_SCOPE,
        marks={RECURRENCE_META_KEY: recurrence.id},
    )
    return created.messages[0].id if created.created else None


register_maker(KIND_MESSAGE, _make_message)


def _warn_unknown_kinds(svc: Services) -> None:
    with svc.db.transaction(readonly=True) as uow:
        unknown = store.due_kinds(uow, before=uow.now + LEAD, known=_MAKERS.keys())
    for kind in unknown:
        if kind not in _WARNED:
            _WARNED.add(kind)
            log.warning(
                "recurrences of a kind nothing makes are left as they are",
                extra={"action": "recurrence_kind_unknown", "kind": kind},
            )
