"""Creating, reading and canceling outbound messages."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import TYPE_CHECKING, Any

from pigeon.domain import transitions
from pigeon.domain.handles import normalize_handle
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.messages import Message, MessageEvent
from pigeon.domain.storable import json_problem, text_problem
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import IdempotencyConflict, IllegalTransition, NotFound, ValidationError
from pigeon.store import accounts, idempotency
from pigeon.store import messages as store
from pigeon.store.database import UniqueViolation, UnitOfWork

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.domain.accounts import Channel
    from pigeon.services.context import Principal, Services

IDEMPOTENCY_SCOPE = "messages"
MAX_BATCH = 1000
MAX_META_BYTES = 4096
# A person may resend what failed or may not have gone out; a live claim is the device's.
RETRYABLE = frozenset({MessageStatus.FAILED, MessageStatus.UNKNOWN})

Render = Callable[[Message], Any]


@dataclass(frozen=True)
class NewMessage:
    """A request to send, as the caller gave it; `validate` checks it against the workspace."""

    recipient: str
    body: str
    scheduled_for: datetime | None = None
    channel_id: str | None = None
    device_id: str | None = None
    meta: Mapping[str, Any] | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """Identifies the request for idempotency; the key itself is left out.

        Recipient and time count as pigeon stores them: "+1 415 555 2671" repeats
        "+14155552671", and 01:00+01:00 repeats 00:00Z.
        """
        canonical = {
            "recipient": _canonical_handle(self.recipient),
            "body": self.body,
            "scheduled_for": _utc_text(self.scheduled_for),
            "channel_id": self.channel_id,
            "device_id": self.device_id,
            "meta": self.meta,
        }
        text = json.dumps(canonical, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _canonical_handle(raw: str) -> str:
    try:
        return normalize_handle(raw)
    except ValidationError:
        return raw  # refused later, naming the field


def _utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC).isoformat()
    except OverflowError:
        return value.isoformat()  # refused later, naming the field


@dataclass(frozen=True)
class Created:
    status_code: int
    body: Any
    replayed: bool


@dataclass(frozen=True)
class BatchCreated:
    items: list[Any] = field(default_factory=list)
    created: int = 0
    replayed: int = 0


@dataclass(frozen=True)
class MessageWithHistory:
    message: Message
    events: list[MessageEvent]


def create(
    svc: Services,
    who: Principal,
    request: NewMessage,
    render: Render,
    *,
    scope: str = IDEMPOTENCY_SCOPE,
) -> Created:
    """Create one message; with an idempotency key, a repeat returns the first response."""
    batch = create_batch(svc, who, [request], render, field_prefix="", scope=scope)
    return Created(201, batch.items[0], replayed=batch.replayed == 1)


def create_batch(
    svc: Services,
    who: Principal,
    requests: Sequence[NewMessage],
    render: Render,
    *,
    field_prefix: str = "items",
    scope: str = IDEMPOTENCY_SCOPE,
) -> BatchCreated:
    """Create many messages in one transaction: all valid and written, or none.

    Items with an idempotency key that was seen before return their first response. Keys
    live in `scope`: a surface whose responses take another shape keeps its own, so that a
    key can only replay a response of the shape its caller expects.
    """
    if not requests:
        raise ValidationError.field(field_prefix or "body", "must hold at least one message")
    if len(requests) > MAX_BATCH:
        raise ValidationError.field(field_prefix, f"at most {MAX_BATCH} messages per batch")
    for _attempt in range(2):
        try:
            return _create_batch_once(svc, who, requests, render, field_prefix, scope)
        except UniqueViolation:
            # A concurrent request with the same idempotency key won the race; its
            # records now exist, so the second pass replays them.
            continue
    raise IdempotencyConflict("a concurrent request is using the same Idempotency-Key")


def _create_batch_once(
    svc: Services,
    who: Principal,
    requests: Sequence[NewMessage],
    render: Render,
    field_prefix: str,
    scope: str,
) -> BatchCreated:
    with svc.db.transaction() as uow:
        channels = _ChannelCache(uow, who.workspace_id)
        items: list[Any] = [None] * len(requests)
        rows: list[dict[str, Any]] = []
        fresh: dict[str, idempotency.Recorded] = {}
        positions: list[int] = []
        errors: dict[str, str] = {}
        for index, request in enumerate(requests):
            where = f"{field_prefix}[{index}]." if field_prefix else ""
            replay = _replay(uow, who, request, where, scope)
            if replay is not None:
                items[index] = replay
                continue
            try:
                rows.append(_validated_row(svc, uow, channels, who, request, where))
                positions.append(index)
            except ValidationError as error:
                errors.update(error.errors)  # every bad item is named, not just the first
        if errors:
            raise ValidationError(errors)
        store.insert_many(uow, rows, actor=who.actor)
        for index, row in zip(positions, rows, strict=True):
            message = Message.from_row({**_ROW_DEFAULTS, **row})
            items[index] = render(message)
            key = requests[index].idempotency_key
            if key is not None:
                if key in fresh:
                    raise ValidationError.field(
                        f"{field_prefix}[{index}].idempotency_key", "is repeated in this batch"
                    )
                fresh[key] = idempotency.Recorded(requests[index].fingerprint(), 201, items[index])
        idempotency.remember_many(uow, who.workspace_id, scope, fresh, uow.now)
    return BatchCreated(items, created=len(rows), replayed=len(requests) - len(rows))


_ROW_DEFAULTS: dict[str, Any] = {
    "last_error": None,
    "claim_token": None,
    "claimed_by": None,
    "lease_expires_at": None,
    "sent_at": None,
}


def _replay(
    uow: UnitOfWork, who: Principal, request: NewMessage, where: str, scope: str
) -> Any | None:
    if request.idempotency_key is None:
        return None
    field_name = f"{where}idempotency_key" if where else "Idempotency-Key"
    if problem := text_problem(request.idempotency_key):
        raise ValidationError.field(field_name, problem)
    recorded = idempotency.recall(uow, who.workspace_id, scope, request.idempotency_key)
    if recorded is None:
        return None
    if recorded.request_hash != request.fingerprint():
        raise IdempotencyConflict(
            f"{field_name}: this key was already used with a different request"
        )
    return recorded.response


class _ChannelCache:
    """Channels looked up once per batch rather than once per item."""

    def __init__(self, uow: UnitOfWork, workspace_id: str) -> None:
        self._uow = uow
        self._workspace_id = workspace_id
        self._by_id: dict[str | None, Channel | None] = {}

    def get(self, channel_id: str | None) -> Channel | None:
        if channel_id not in self._by_id:
            self._by_id[channel_id] = (
                accounts.get_channel(self._uow, self._workspace_id, channel_id)
                if channel_id
                else accounts.default_channel(self._uow, self._workspace_id)
            )
        return self._by_id[channel_id]


def _validated_row(
    svc: Services,
    uow: UnitOfWork,
    channels: _ChannelCache,
    who: Principal,
    request: NewMessage,
    where: str,
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    recipient = ""
    try:
        recipient = normalize_handle(request.recipient, field=f"{where}recipient")
    except ValidationError as error:
        errors.update(error.errors)
    body = request.body
    if not body.strip():
        errors[f"{where}body"] = "must not be empty"
    elif len(body) > svc.settings.max_body_chars:
        errors[f"{where}body"] = f"must be at most {svc.settings.max_body_chars} characters"
    elif problem := text_problem(body):
        errors[f"{where}body"] = problem
    scheduled_for = request.scheduled_for or uow.now
    if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
        errors[f"{where}scheduled_for"] = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z"
    else:
        try:
            scheduled_for = scheduled_for.astimezone(UTC)  # as the database will give it back
        except OverflowError:
            errors[f"{where}scheduled_for"] = "is out of range"
    if request.meta is not None:
        if problem := json_problem(request.meta):
            errors[f"{where}meta"] = problem
        elif len(json.dumps(request.meta)) > MAX_META_BYTES:
            errors[f"{where}meta"] = f"must be at most {MAX_META_BYTES} bytes of JSON"
    channel = None
    if request.channel_id is not None and not is_uuid(request.channel_id):
        errors[f"{where}channel_id"] = "no such channel in this workspace"
    else:
        channel = channels.get(request.channel_id)
        if channel is None:
            errors[f"{where}channel_id"] = (
                "no such channel in this workspace"
                if request.channel_id
                else "this workspace has no default channel"
            )
        elif channel.disabled_at is not None:
            errors[f"{where}channel_id"] = "this channel is disabled"
    if request.device_id is not None:
        device = (
            accounts.get_device(uow, who.workspace_id, request.device_id)
            if is_uuid(request.device_id)
            else None
        )
        if device is None or device.revoked_at is not None:
            errors[f"{where}device_id"] = "no such active device in this workspace"
        elif channel is not None and device.channel_id != channel.id:
            if request.channel_id is None:
                channel = channels.get(device.channel_id)  # the device implies its channel
            else:
                errors[f"{where}device_id"] = "this device serves another channel"
    if errors:
        raise ValidationError(errors)
    assert channel is not None
    return {
        "id": new_id(),
        "workspace_id": who.workspace_id,
        "channel_id": channel.id,
        "device_id": request.device_id,
        "recipient": recipient,
        "body": body,
        "status": MessageStatus.QUEUED,
        "scheduled_for": scheduled_for,
        "attempts": 0,
        "meta": dict(request.meta) if request.meta is not None else None,
        "created_at": uow.now,
        "updated_at": uow.now,
    }


def get(svc: Services, who: Principal, message_id: str) -> MessageWithHistory:
    with svc.db.transaction(readonly=True) as uow:
        message = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
        if message is None:
            raise NotFound("no such message")
        return MessageWithHistory(message, store.events_of(uow, who.workspace_id, message_id))


def list_(
    svc: Services, who: Principal, where: store.MessageFilter, *, limit: int = 50
) -> list[Message]:
    with svc.db.transaction(readonly=True) as uow:
        return store.list_(uow, who.workspace_id, where, limit=limit)


def cancel(svc: Services, who: Principal, message_id: str) -> Message:
    with svc.db.transaction() as uow:
        message = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
        if message is None:
            raise NotFound("no such message")
        if message.status not in transitions.CANCELABLE_MESSAGE_STATUSES:
            raise IllegalTransition(f"a {message.status} message can no longer be canceled")
        return store.move(uow, message, MessageStatus.CANCELED, at=uow.now, actor=who.actor)


def retry(svc: Services, who: Principal, message_id: str) -> Message:
    """Send a failed or unknown message again, now; a person's decision."""
    with svc.db.transaction() as uow:
        message = store.get(uow, who.workspace_id, message_id) if is_uuid(message_id) else None
        if message is None:
            raise NotFound("no such message")
        if message.status not in RETRYABLE:
            raise IllegalTransition(f"a {message.status} message cannot be retried")
        return store.move(
            uow,
            message,
            MessageStatus.QUEUED,
            at=uow.now,
            actor=who.actor,
            values={
                "scheduled_for": uow.now,
                "claim_token": None,
                "claimed_by": None,
                "lease_expires_at": None,
            },
            detail={"reason": "manual_retry"},
        )


def claimant_names(svc: Services, who: Principal, found: Sequence[Message]) -> dict[str, str]:
    """The names of the devices that claimed these messages, by device id."""
    claimants = [m.claimed_by for m in found if m.claimed_by is not None]
    if not claimants:
        return {}
    with svc.db.transaction(readonly=True) as uow:
        return accounts.device_names(uow, who.workspace_id, claimants)


def count_by_status(svc: Services, who: Principal) -> dict[MessageStatus, int]:
    with svc.db.transaction(readonly=True) as uow:
        return store.count_by_status(uow, who.workspace_id)
