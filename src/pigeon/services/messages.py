"""Creating, reading, canceling and retrying outbound messages.

Services hand back domain values; each surface renders them in its own shape, once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import TYPE_CHECKING, Any

from pigeon.domain import transitions
from pigeon.domain.handles import normalize_handle
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.messages import Message, MessageEvent
from pigeon.domain.storable import json_problem, text_problem
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import (
    Conflict,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from pigeon.services import auth, extraction
from pigeon.services.extraction import SCHEDULE_FIELDS, TimeText
from pigeon.store import accounts, idempotency, intake
from pigeon.store import messages as store
from pigeon.store.database import UniqueViolation, UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pigeon.domain.accounts import Channel
    from pigeon.services.context import Principal, Services

IDEMPOTENCY_SCOPE = "messages"
IDEMPOTENCY_UNIQUE = "pk_idempotency_keys"
MAX_BATCH = 1000
MAX_META_BYTES = 4096
# Meta keys pigeon itself sets (`marks`: a keyword reply, a recurrence's occurrence); a
# caller's meta may not hold them, so that none can pass for pigeon's.
RESERVED_META_PREFIX = "pigeon."
# A person may resend what failed or may not have gone out; a live claim is the device's.
RETRYABLE = frozenset({MessageStatus.FAILED, MessageStatus.UNKNOWN})

MessageFilter = store.MessageFilter


@dataclass(frozen=True)
class NewMessage:
    """A request to send, as the caller gave it; `_validated_row` checks it against the
    workspace."""

    recipient: str
    body: str
    scheduled_for: datetime | None = None
    channel_id: str | None = None
    device_id: str | None = None
    meta: Mapping[str, Any] | None = None
    idempotency_key: str | None = None
    # The time in words instead of `scheduled_for`: `with_time_resolved` reads it.
    scheduled_for_text: TimeText | None = None


def with_time_resolved(svc: Services, who: Principal, request: NewMessage) -> NewMessage:
    """`request` with its time in words resolved at the clock's now, in its zone (the
    workspace's when not given); `UnclearTime` (422, carrying the question to ask back) when
    the words do not name one time to send at. Nothing is written either way."""
    words = request.scheduled_for_text
    if words is None:
        return request
    if request.scheduled_for is not None:
        raise ValidationError.field(
            SCHEDULE_FIELDS.text, "give scheduled_for or scheduled_for_text, not both"
        )
    due = extraction.resolve(svc, who, words, fields=SCHEDULE_FIELDS)
    return replace(request, scheduled_for=due)


@dataclass(frozen=True)
class _Item:
    """One request on its way down: its recipient normalised once, for both the stored row
    and the idempotency fingerprint."""

    request: NewMessage
    recipient: str | None  # canonical, or None if invalid (refused later, naming the field)
    recipient_problem: str | None

    @classmethod
    def of(cls, request: NewMessage, field_name: str) -> _Item:
        try:
            return cls(request, normalize_handle(request.recipient, field=field_name), None)
        except ValidationError as error:
            return cls(request, None, error.errors[field_name])

    def fingerprint(self) -> str:
        """Identifies the request for idempotency; the key itself is left out.

        Recipient and time count as pigeon stores them: "+1 415 555 2671" repeats
        "+14155552671", and 01:00+01:00 repeats 00:00Z. A time given in words counts as the
        words: "in 2 hours" sent again a minute later repeats the first request.
        """
        request = self.request
        words = request.scheduled_for_text
        canonical = {
            "recipient": self.recipient or request.recipient,
            "body": request.body,
            "scheduled_for": (
                _utc_text(request.scheduled_for)
                if words is None
                else {"text": words.text, "timezone": words.timezone, "locale": words.locale}
            ),
            "channel_id": request.channel_id,
            "device_id": request.device_id,
            "meta": request.meta,
        }
        text = json.dumps(canonical, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC).isoformat()
    except OverflowError:
        return value.isoformat()  # refused later, naming the field


@dataclass(frozen=True)
class Created:
    message: Message
    replayed: bool


@dataclass(frozen=True)
class BatchCreated:
    messages: list[Message] = field(default_factory=list)
    created: int = 0
    replayed: int = 0


@dataclass(frozen=True)
class MessageWithHistory:
    message: Message
    events: list[MessageEvent]


def create(
    svc: Services, who: Principal, request: NewMessage, *, scope: str = IDEMPOTENCY_SCOPE
) -> Created:
    """Create one message; with an idempotency key, a repeat returns the message as it was
    first created. A time in words (`scheduled_for_text`) is resolved first."""
    request = with_time_resolved(svc, who, request)
    batch = create_batch(svc, who, [request], field_prefix="", scope=scope)
    return Created(batch.messages[0], replayed=batch.replayed == 1)


def create_batch(
    svc: Services,
    who: Principal,
    requests: Sequence[NewMessage],
    *,
    field_prefix: str = "items",
    scope: str = IDEMPOTENCY_SCOPE,
) -> BatchCreated:
    """Create many messages in one transaction: all valid and written, or none.

    Items with an idempotency key that was seen before return the message as first created.
    Keys live in `scope`: each surface keeps its own key space (seed 000's batchItemId is
    not a /v1 Idempotency-Key).
    """
    if not requests:
        raise ValidationError.field(field_prefix or "body", "must hold at least one message")
    if len(requests) > MAX_BATCH:
        raise ValidationError.field(field_prefix, f"at most {MAX_BATCH} messages per batch")
    items = [
        _Item.of(request, f"{field_prefix}[{index}].recipient" if field_prefix else "recipient")
        for index, request in enumerate(requests)
    ]
    for _attempt in range(2):
        try:
            return _create_batch_once(svc, who, items, field_prefix, scope)
        except UniqueViolation as error:
            if error.constraint != IDEMPOTENCY_UNIQUE:
                raise
            # A concurrent request with the same idempotency key won the race; its
            # records now exist, so the second pass replays them.
    raise IdempotencyConflict("a concurrent request is using the same Idempotency-Key")


def _create_batch_once(
    svc: Services, who: Principal, items: Sequence[_Item], field_prefix: str, scope: str
) -> BatchCreated:
    with svc.db.transaction() as uow:
        return _create_in(svc, uow, who, items, field_prefix, scope, None)


def create_in(
    svc: Services,
    uow: UnitOfWork,
    who: Principal,
    requests: Sequence[NewMessage],
    *,
    field_prefix: str = "",
    scope: str = IDEMPOTENCY_SCOPE,
    marks: Mapping[str, Any] | None = None,
) -> BatchCreated:
    """Create messages inside the caller's unit of work (a keyword's reply beside the
    inbound message it answers, a recurrence's occurrence beside its step). Nothing is
    written unless all are valid. `marks` are meta keys pigeon sets (`pigeon.` ones), added
    to each message's meta after the caller's meta is checked. A concurrent request with
    the same idempotency key raises UniqueViolation, which ends the caller's transaction."""
    if not requests:
        raise ValidationError.field(field_prefix or "body", "must hold at least one message")
    items = [
        _Item.of(request, f"{field_prefix}[{index}].recipient" if field_prefix else "recipient")
        for index, request in enumerate(requests)
    ]
    return _create_in(svc, uow, who, items, field_prefix, scope, marks)


def _create_in(
    svc: Services,
    uow: UnitOfWork,
    who: Principal,
    items: Sequence[_Item],
    field_prefix: str,
    scope: str,
    marks: Mapping[str, Any] | None,
) -> BatchCreated:
    keys = _keys(items, field_prefix)
    # The caller's key is checked in the same read as the rest (see services/auth).
    known = intake.known(
        uow, workspace_id=who.workspace_id, key_id=who.key_id, scope=scope, keys=keys
    )
    if not known.key_valid:
        auth.refuse_revoked(svc, who)
    channels = _ChannelCache(svc, uow, who.workspace_id, known.default_channel)
    found: list[Message | None] = [None] * len(items)
    rows: list[dict[str, Any]] = []
    fresh: dict[str, idempotency.Recorded] = {}
    errors: dict[str, str] = {}
    seen = known.recorded
    for index, item in enumerate(items):
        where = f"{field_prefix}[{index}]." if field_prefix else ""
        replay = _replay(uow, who, item, where, seen)
        if replay is not None:
            found[index] = replay
            continue
        try:
            row = _validated_row(svc, uow, channels, who, item, where)
        except ValidationError as error:
            errors.update(error.errors)  # every bad item is named, not just the first
            continue
        if marks:
            row["meta"] = {**(row["meta"] or {}), **marks}
        rows.append(row)
        message = Message.from_row({**_ROW_DEFAULTS, **row})
        found[index] = message
        key = item.request.idempotency_key
        if key is not None:
            if key in fresh:
                errors[f"{where}idempotency_key"] = "is repeated in this batch"
            snapshot = {"snapshot": message.snapshot()}
            fresh[key] = idempotency.Recorded(item.fingerprint(), 201, snapshot)
    if errors:
        raise ValidationError(errors)
    records = idempotency.rows(who.workspace_id, scope, fresh, uow.now)
    store.insert_many(uow, rows, actor=who.actor, also=[records])
    created = [message for message in found if message is not None]
    return BatchCreated(created, created=len(rows), replayed=len(items) - len(rows))


_ROW_DEFAULTS: dict[str, Any] = {
    "last_error": None,
    "claim_token": None,
    "claimed_by": None,
    "lease_expires_at": None,
    "sent_at": None,
}


def _keys(items: Sequence[_Item], field_prefix: str) -> list[str]:
    """The idempotency keys these requests carry, each one storable."""
    keys: list[str] = []
    for index, item in enumerate(items):
        key = item.request.idempotency_key
        if key is None:
            continue
        if problem := text_problem(key):
            name = f"{field_prefix}[{index}].idempotency_key" if field_prefix else ""
            raise ValidationError.field(name or "Idempotency-Key", problem)
        keys.append(key)
    return keys


def _replay(
    uow: UnitOfWork,
    who: Principal,
    item: _Item,
    where: str,
    seen: Mapping[str, idempotency.Recorded],
) -> Message | None:
    key = item.request.idempotency_key
    recorded = seen.get(key) if key is not None else None
    if recorded is None:
        return None
    if recorded.request_hash != item.fingerprint():
        field_name = f"{where}idempotency_key" if where else "Idempotency-Key"
        raise IdempotencyConflict(
            f"{field_name}: this key was already used with a different request"
        )
    return _as_first_created(uow, who, recorded.response)


def _as_first_created(uow: UnitOfWork, who: Principal, response: Any) -> Message:
    """The message as first created, from its idempotency record.

    Records written before pigeon kept snapshots hold a rendered response instead; for those
    the message is read back by its id (as it is now, which a client may notice in its
    status).
    """
    if isinstance(response, dict) and "snapshot" in response:
        return Message.from_snapshot(response["snapshot"])
    message_id = response.get("id") or response.get("sendQueueId")
    message = store.get(uow, who.workspace_id, str(message_id)) if message_id else None
    if message is None:
        raise NotFound("the message this idempotency key created no longer exists")
    return message


class _ChannelCache:
    """Channels looked up once per batch rather than once per item."""

    def __init__(
        self, svc: Services, uow: UnitOfWork, workspace_id: str, default: Channel | None
    ) -> None:
        self._svc = svc
        self._uow = uow
        self._workspace_id = workspace_id
        self._by_id: dict[str | None, Channel | None] = {None: default}

    def get(self, channel_id: str | None) -> Channel | None:
        if channel_id not in self._by_id:
            self._by_id[channel_id] = (
                accounts.get_channel(self._uow, self._workspace_id, channel_id)
                if channel_id
                else accounts.default_channel(self._uow, self._workspace_id)
            )
        return self._by_id[channel_id]

    def problem(self, channel: Channel | None, asked: str | None) -> str | None:
        return channel_problem(self._svc, channel, asked)


def channel_problem(svc: Services, channel: Channel | None, asked: str | None) -> str | None:
    """Why messages cannot go through `channel` (`asked`: the id the caller gave), or None."""
    if channel is None:
        if asked:
            return "no such channel in this workspace"
        return "this workspace has no default channel"
    if channel.disabled_at is not None:
        return "this channel is disabled"
    if not svc.can_send(channel.kind):
        return f"this channel's kind ({channel.kind}) has no sender in this pigeon"
    return None


def _validated_row(
    svc: Services,
    uow: UnitOfWork,
    channels: _ChannelCache,
    who: Principal,
    item: _Item,
    where: str,
) -> dict[str, Any]:
    request = item.request
    errors: dict[str, str] = {}
    if item.recipient_problem is not None:
        errors[f"{where}recipient"] = item.recipient_problem
    body = request.body
    if not body.strip():
        errors[f"{where}body"] = "must not be empty"
    elif len(body) > svc.settings.max_body_chars:
        errors[f"{where}body"] = f"must be at most {svc.settings.max_body_chars} characters"
    elif problem := text_problem(body):
        errors[f"{where}body"] = problem
    if request.scheduled_for_text is not None and request.scheduled_for is None:
        # Only `create` and a recurrence's create resolve words (one question to ask back).
        errors[f"{where}scheduled_for_text"] = "is taken only by a single create"
    scheduled_for = request.scheduled_for or uow.now
    if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
        errors[f"{where}scheduled_for"] = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z"
    else:
        try:
            scheduled_for = scheduled_for.astimezone(UTC)  # as the database will give it back
        except OverflowError:
            errors[f"{where}scheduled_for"] = "is out of range"
    if request.meta is not None and (
        problem := json_problem(request.meta, max_bytes=MAX_META_BYTES)
    ):
        errors[f"{where}meta"] = problem
    elif request.meta is not None and any(
        str(key).startswith(RESERVED_META_PREFIX) for key in request.meta
    ):
        errors[f"{where}meta"] = f"keys starting with {RESERVED_META_PREFIX!r} are pigeon's own"
    channel = None
    if request.channel_id is not None and not is_uuid(request.channel_id):
        errors[f"{where}channel_id"] = "no such channel in this workspace"
    else:
        channel = channels.get(request.channel_id)
    if request.device_id is not None:
        device = (
            accounts.get_device(uow, who.workspace_id, request.device_id, share_lock=True)
            if is_uuid(request.device_id)
            else None
        )
        if device is None or device.revoked_at is not None:
            errors[f"{where}device_id"] = "no such active device in this workspace"
        elif request.channel_id is None:
            channel = channels.get(device.channel_id)  # the device implies its channel
        elif channel is not None and device.channel_id != channel.id:
            errors[f"{where}device_id"] = "this device serves another channel"
    channel_field = f"{where}channel_id"
    if channel_field not in errors and (problem := channels.problem(channel, request.channel_id)):
        errors[channel_field] = problem
    if errors:
        raise ValidationError(errors)
    assert channel is not None and item.recipient is not None
    return {
        "id": new_id(),
        "workspace_id": who.workspace_id,
        "channel_id": channel.id,
        "device_id": request.device_id,
        "recipient": item.recipient,
        "body": body,
        "status": MessageStatus.QUEUED,
        "scheduled_for": scheduled_for,
        "attempts": 0,
        "meta": dict(request.meta) if request.meta is not None else None,
        "created_at": uow.now,
        "updated_at": uow.now,
    }


def get(svc: Services, who: Principal, message_id: str) -> MessageWithHistory:
    with auth.acting(svc, who, readonly=True) as uow:
        message = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
        if message is None:
            raise NotFound("no such message")
        return MessageWithHistory(message, store.events_of(uow, who.workspace_id, message_id))


def list_(svc: Services, who: Principal, where: MessageFilter, *, limit: int = 50) -> list[Message]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.list_(uow, who.workspace_id, where, limit=limit)


def cancel(svc: Services, who: Principal, message_id: str) -> Message:
    with auth.acting(svc, who) as uow:
        message = _existing(uow, who, message_id)
        if message.status not in transitions.CANCELABLE_MESSAGE_STATUSES:
            raise IllegalTransition(f"a {message.status} message can no longer be canceled")
        return store.move(uow, message, MessageStatus.CANCELED, at=uow.now, actor=who.actor)


def retry(svc: Services, who: Principal, message_id: str) -> Message:
    """Send a failed or unknown message again, now; a person's decision.

    The last claim's token stays on the message until another claim replaces it: if its
    device reports meanwhile that it did send the message after all, that is recorded
    rather than a second send.
    """
    with auth.acting(svc, who) as uow:
        message = _existing(uow, who, message_id)
        if message.status not in RETRYABLE:
            raise IllegalTransition(f"a {message.status} message cannot be retried")
        if message.device_id is not None:
            device = accounts.get_device(uow, who.workspace_id, message.device_id, share_lock=True)
            if device is None or device.revoked_at is not None:
                raise Conflict(
                    "this message is pinned to a device that has been revoked: "
                    "create it again for another device"
                )
        return store.move(
            uow,
            message,
            MessageStatus.QUEUED,
            at=uow.now,
            actor=who.actor,
            values={"scheduled_for": uow.now},
            detail={"reason": "manual_retry"},
        )


def _existing(uow: UnitOfWork, who: Principal, message_id: str) -> Message:
    message = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
    if message is None:
        raise NotFound("no such message")
    return message


def claimant_names(svc: Services, who: Principal, found: Sequence[Message]) -> dict[str, str]:
    """The names of the devices that claimed these messages, by device id."""
    claimants = [m.claimed_by for m in found if m.claimed_by is not None]
    if not claimants:
        return {}
    with auth.acting(svc, who, readonly=True) as uow:
        return accounts.device_names(uow, who.workspace_id, claimants)


def count_by_status(svc: Services, who: Principal) -> dict[MessageStatus, int]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.count_by_status(uow, who.workspace_id)
