"""Workspaces, API keys, devices and channels. Each change commits with its audit event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pigeon.domain.accounts import ApiKey, Channel, Device, Scope, Workspace
from pigeon.domain.channels import MAILBOX_KINDS, PULL_KINDS, ChannelKind, LeaseExpiryPolicy
from pigeon.domain.ids import display_prefix, hash_secret, is_uuid, new_id, new_secret
from pigeon.domain.storable import json_problem, text_problem
from pigeon.errors import Conflict, NotFound, PigeonError, ValidationError
from pigeon.services import auth, mailboxes, scheduling
from pigeon.store import accounts
from pigeon.store import messages as message_store
from pigeon.store.database import UniqueViolation, UnitOfWork

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.services.context import Principal, Services


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    api_key: str  # shown once


T = TypeVar("T")

# Bus topics of credential changes (services/waiters.py, api/sse.py listen).
CREDENTIALS = "credentials"
DEVICES = "devices"
CHANNEL_NAME_UNIQUE = "uq_channels_workspace_id_name"
ONE_DEFAULT_UNIQUE = "uq_channels_one_default"
MAX_CONFIG_BYTES = 16_384


@dataclass(frozen=True)
class NewSecret(Generic[T]):
    item: T
    secret: str  # shown once


def _text(value: str, field: str, *, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise ValidationError.field(field, "must not be empty")
    if len(value) > max_length:
        raise ValidationError.field(field, f"must be at most {max_length} characters")
    if problem := text_problem(value):
        raise ValidationError.field(field, problem)
    return value


def _config(value: Mapping[str, Any] | None) -> dict[str, Any]:
    if problem := json_problem(value, max_bytes=MAX_CONFIG_BYTES):
        raise ValidationError.field("config", problem)
    return dict(value or {})


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError.field(
            "timezone", f"{value!r} is not an IANA time zone such as Europe/Paris"
        ) from None
    return value


# Workspaces -----------------------------------------------------------------------------


def create_workspace(svc: Services, *, name: str, timezone: str, actor: str) -> NewWorkspace:
    """A workspace with its default `gateway` and `console` channels and an admin key."""
    name, timezone = _text(name, "name", max_length=200), _timezone(timezone)
    with svc.db.transaction() as uow:
        return _insert_workspace(uow, name, timezone, actor)


def _insert_workspace(uow: UnitOfWork, name: str, timezone: str, actor: str) -> NewWorkspace:
    workspace = Workspace(new_id(), name, timezone, uow.now)
    accounts.insert_workspace(uow, workspace)
    _audit(
        uow,
        workspace.id,
        actor,
        "workspace_created",
        "workspace",
        workspace.id,
        {"name": workspace.name},
    )
    for kind, is_default in ((ChannelKind.GATEWAY, True), (ChannelKind.CONSOLE, False)):
        _insert_channel(uow, workspace.id, kind, kind.value, {}, actor, is_default=is_default)
    _key, secret = _insert_key(uow, workspace.id, "admin", frozenset({Scope.ADMIN}), actor)
    return NewWorkspace(workspace, secret)


def first_workspace(svc: Services) -> Workspace | None:
    """The oldest workspace: the CLI's default."""
    with svc.db.transaction(readonly=True) as uow:
        return accounts.first_workspace(uow)


def get_workspace(svc: Services, who: Principal) -> Workspace:
    with auth.acting(svc, who, readonly=True) as uow:
        workspace = accounts.get_workspace(uow, who.workspace_id)
    if workspace is None:
        raise NotFound("no such workspace")
    return workspace


@dataclass(frozen=True)
class FirstRun:
    workspace: NewWorkspace | None
    operator_token: str | None


def first_run(svc: Services, *, timezone: str = "UTC") -> FirstRun:
    """On an empty database: a default workspace, and an operator token if none is configured.

    Returns the secrets to print once; later starts return nothing. One transaction under a
    lock, so two servers started together on an empty database create one of each.
    """
    with svc.db.transaction() as uow:
        accounts.lock_for_setup(uow)
        operator_token = None
        if svc.settings.operator_token is None and not accounts.any_operator_token(uow):
            operator_token = new_secret("pgn_op")
            token_id = new_id()
            accounts.insert_operator_token(
                uow,
                token_id=token_id,
                prefix=display_prefix(operator_token),
                token_hash=hash_secret(operator_token),
                at=uow.now,
            )
            _audit(uow, None, "system", "operator_token_created", "operator_token", token_id)
        workspace = None
        if accounts.count_workspaces(uow) == 0:
            workspace = _insert_workspace(uow, "default", _timezone(timezone), "system")
    return FirstRun(workspace, operator_token)


# API keys -------------------------------------------------------------------------------


def parse_scopes(raw: list[str] | None, field: str = "scopes") -> frozenset[Scope]:
    if not raw:
        raise ValidationError.field(field, "name at least one of admin, send, read")
    try:
        return frozenset(Scope(s) for s in raw)
    except ValueError:
        raise ValidationError.field(field, "each scope must be admin, send or read") from None


def create_key(
    svc: Services, who: Principal, *, name: str, scopes: frozenset[Scope]
) -> NewSecret[ApiKey]:
    with auth.acting(svc, who) as uow:
        key, secret = _insert_key(
            uow, who.workspace_id, _text(name, "name", max_length=200), scopes, who.actor
        )
    return NewSecret(key, secret)


def list_keys(svc: Services, who: Principal) -> list[ApiKey]:
    with auth.acting(svc, who, readonly=True) as uow:
        return accounts.list_api_keys(uow, who.workspace_id)


def revoke_key(svc: Services, who: Principal, key_id: str) -> None:
    """Revoke a key: every request checks its key inside its own transaction, so none made
    with it succeeds from the commit on; the notification ends its open event streams."""
    with auth.acting(svc, who) as uow:
        if not accounts.revoke_api_key(uow, who.workspace_id, key_id, uow.now):
            raise NotFound("no such active API key")
        _audit(uow, who.workspace_id, who.actor, "api_key_revoked", "api_key", key_id)
        uow.notify(CREDENTIALS, {"workspace_id": who.workspace_id, "revoked_key": key_id})
    svc.credentials.forget(key_id)


def _insert_key(
    uow: UnitOfWork, workspace_id: str, name: str, scopes: frozenset[Scope], actor: str
) -> tuple[ApiKey, str]:
    secret = new_secret(f"pgn_{'admin' if Scope.ADMIN in scopes else 'key'}")
    now = uow.now
    key = ApiKey(new_id(), workspace_id, name, display_prefix(secret), scopes, now, None)
    accounts.insert_api_key(uow, key, hash_secret(secret))
    _audit(
        uow,
        workspace_id,
        actor,
        "api_key_created",
        "api_key",
        key.id,
        {"name": name, "scopes": sorted(scopes)},
    )
    return key, secret


# Channels -------------------------------------------------------------------------------


def create_channel(
    svc: Services,
    who: Principal,
    *,
    kind: str,
    name: str,
    config: Mapping[str, Any] | None,
    on_lease_expiry: str | None = None,
    is_default: bool = False,
) -> Channel:
    channel_kind = _channel_kind(svc, kind)
    checked = _config(config)
    sealed = None
    if channel_kind in MAILBOX_KINDS:
        if is_default:
            raise ValidationError.field("is_default", "a mailbox channel receives; it cannot send")
        prepared = mailboxes.prepare(svc, channel_kind, checked)
        checked, sealed = prepared.public, prepared.sealed
    in_database = svc.queue.name == "sql"
    with auth.acting(svc, who) as uow:
        try:
            channel = _insert_channel(
                uow,
                who.workspace_id,
                channel_kind,
                _text(name, "name", max_length=100),
                checked,
                who.actor,
                is_default=is_default,
                on_lease_expiry=_lease_policy(on_lease_expiry),
                sealed_secrets=sealed,
            )
        except UniqueViolation as error:
            raise _channel_clash(error, name) from None
        if in_database:
            mailboxes.setup(svc, uow, channel)
    if not in_database:
        mailboxes.setup_after_commit(svc, channel)
    return channel


def _channel_clash(error: UniqueViolation, name: str | None) -> PigeonError:
    if error.constraint == CHANNEL_NAME_UNIQUE:
        return ValidationError.field("name", f"a channel named {name!r} exists")
    if error.constraint == ONE_DEFAULT_UNIQUE:
        return Conflict("another channel became this workspace's default meanwhile; try again")
    return error


def list_channels(svc: Services, who: Principal) -> list[Channel]:
    with auth.acting(svc, who, readonly=True) as uow:
        return accounts.list_channels(uow, who.workspace_id)


def get_channel(svc: Services, who: Principal, channel_id: str) -> Channel:
    with auth.acting(svc, who, readonly=True) as uow:
        channel = accounts.get_channel(uow, who.workspace_id, channel_id)
    if channel is None:
        raise NotFound("no such channel")
    return channel


def update_channel(
    svc: Services,
    who: Principal,
    channel_id: str,
    *,
    name: str | None = None,
    config: Mapping[str, Any] | None = None,
    on_lease_expiry: str | None = None,
    is_default: bool | None = None,
    disabled: bool | None = None,
) -> Channel:
    now = svc.clock.now()
    values: dict[str, Any] = {"updated_at": now}
    if name is not None:
        values["name"] = _text(name, "name", max_length=100)
    if on_lease_expiry is not None:
        values["on_lease_expiry"] = _lease_policy(on_lease_expiry)
    if disabled is not None:
        values["disabled_at"] = now if disabled else None
    in_database = svc.queue.name == "sql"
    with auth.acting(svc, who) as uow:
        current = accounts.get_channel(uow, who.workspace_id, channel_id)
        if current is None:
            raise NotFound("no such channel")
        if config is not None:
            values.update(_new_config(svc, current, config))
        if is_default and current.kind in MAILBOX_KINDS:
            raise ValidationError.field("is_default", "a mailbox channel receives; it cannot send")
        if is_default is True and not current.is_default:
            accounts.clear_default_channel(uow, who.workspace_id)
            values["is_default"] = True
        elif is_default is False and current.is_default:
            raise ValidationError.field("is_default", "make another channel the default instead")
        if disabled and (values.get("is_default") or current.is_default):
            raise ValidationError.field("disabled", "the default channel cannot be disabled")
        stays_disabled = disabled or (disabled is None and current.disabled_at is not None)
        if values.get("is_default") and stays_disabled:
            raise ValidationError.field(
                "is_default", "a disabled channel cannot be the default: enable it too"
            )
        try:
            channel = accounts.update_channel(uow, who.workspace_id, channel_id, values)
        except UniqueViolation as error:
            raise _channel_clash(error, name) from None
        assert channel is not None
        changed = sorted({_FIELD.get(k, k) for k in values} - {"updated_at"})
        _audit(
            uow,
            who.workspace_id,
            who.actor,
            "channel_updated",
            "channel",
            channel_id,
            {"fields": changed},
        )
        svc.credentials.mailboxes.drop(channel_id)  # its webhook's secrets may have changed
        # A mailbox reconfigured or enabled again subscribes again.
        set_up = channel.kind in MAILBOX_KINDS and (config is not None or disabled is False)
        if set_up and in_database:
            mailboxes.setup(svc, uow, channel)
    if set_up and not in_database:
        mailboxes.setup_after_commit(svc, channel)
    return channel


_FIELD = {"sealed_secrets": "config"}  # what an audit event calls a changed column


def _new_config(svc: Services, current: Channel, config: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a config update writes: a mailbox channel's keys merge into what is
    stored (secrets sealed again); any other channel's config is replaced."""
    checked = _config(config)
    if current.kind not in MAILBOX_KINDS:
        return {"config": checked}
    prepared = mailboxes.prepare(svc, current.kind, checked, current)
    return {"config": prepared.public, "sealed_secrets": prepared.sealed}


def _channel_kind(svc: Services, kind: str) -> ChannelKind:
    """The kind, if this pigeon can deliver through it (or receive, for a mailbox): a
    channel whose messages nobody sends would accept them and keep them waiting forever."""

    def works(k: ChannelKind) -> bool:
        return svc.can_send(k) or k in MAILBOX_KINDS

    available = [k.value for k in ChannelKind if works(k)]
    try:
        channel_kind = ChannelKind(kind)
    except ValueError:
        channel_kind = None
    if channel_kind is None or not works(channel_kind):
        problem = f"must be one of {', '.join(available)}"
        if channel_kind is not None:
            problem = f"{kind!r} has no sender in this pigeon yet: {problem}"
        raise ValidationError.field("kind", problem)
    return channel_kind


def _lease_policy(value: str | None) -> LeaseExpiryPolicy:
    if value is None:
        return LeaseExpiryPolicy.UNKNOWN
    try:
        return LeaseExpiryPolicy(value)
    except ValueError:
        raise ValidationError.field("on_lease_expiry", "must be unknown or retry") from None


def _insert_channel(
    uow: UnitOfWork,
    workspace_id: str,
    kind: ChannelKind,
    name: str,
    config: dict[str, Any],
    actor: str,
    *,
    is_default: bool,
    on_lease_expiry: LeaseExpiryPolicy = LeaseExpiryPolicy.UNKNOWN,
    sealed_secrets: str | None = None,
) -> Channel:
    now = uow.now
    if is_default:
        accounts.clear_default_channel(uow, workspace_id)
    channel = Channel(
        new_id(),
        workspace_id,
        kind,
        name,
        config,
        is_default,
        on_lease_expiry,
        now,
        now,
        None,
        sealed_secrets=sealed_secrets,
    )
    accounts.insert_channel(uow, channel)
    _audit(
        uow,
        workspace_id,
        actor,
        "channel_created",
        "channel",
        channel.id,
        {"kind": kind, "name": name},
    )
    return channel


# Devices --------------------------------------------------------------------------------


def create_device(
    svc: Services, who: Principal, *, name: str, channel_id: str | None = None
) -> NewSecret[Device]:
    name = _text(name, "name", max_length=200)
    with auth.acting(svc, who) as uow:
        channel = (
            accounts.get_channel(uow, who.workspace_id, channel_id)
            if channel_id
            else accounts.channel_by_name(uow, who.workspace_id, ChannelKind.GATEWAY.value)
        )
        if channel is None:
            raise ValidationError.field("channel_id", "no such channel in this workspace")
        if channel.kind not in PULL_KINDS:
            raise ValidationError.field("channel_id", "devices serve gateway channels only")
        secret = new_secret("pgn_dev")
        device = Device(
            new_id(),
            who.workspace_id,
            channel.id,
            name,
            display_prefix(secret),
            uow.now,
            None,
            None,
        )
        accounts.insert_device(uow, device, hash_secret(secret))
        _audit(
            uow,
            who.workspace_id,
            who.actor,
            "device_created",
            "device",
            device.id,
            {"name": name, "channel_id": channel.id},
        )
    return NewSecret(device, secret)


def find_key(svc: Services, who: Principal, id_or_name: str) -> ApiKey:
    """The active API key with this id, or else the one with this name."""
    return _one_active(list_keys(svc, who), id_or_name, "API key")


def find_device(svc: Services, who: Principal, id_or_name: str) -> Device:
    """The active device with this id, or else the one with this name."""
    return _one_active(list_devices(svc, who), id_or_name, "device")


Revocable = TypeVar("Revocable", ApiKey, Device)


def _one_active(items: list[Revocable], id_or_name: str, what: str) -> Revocable:
    active = [i for i in items if i.revoked_at is None]
    found = [i for i in active if i.id == id_or_name] or [i for i in active if i.name == id_or_name]
    if len(found) != 1:
        problem = f"no such active {what}" if not found else f"several active {what}s have it"
        raise NotFound(f"{problem}: {id_or_name!r}")
    return found[0]


def list_devices(svc: Services, who: Principal) -> list[Device]:
    with auth.acting(svc, who, readonly=True) as uow:
        return accounts.list_devices(uow, who.workspace_id)


@dataclass(frozen=True)
class Revoked:
    """What revoking a device did to the work it held or was pinned to."""

    claims_ended: scheduling.Sweep
    pinned_failed: int


def revoke_device(svc: Services, who: Principal, device_id: str) -> Revoked:
    """Revoke a device and settle its work in the same transaction, visibly.

    Its claims that it never reported end as a lost lease would (its channel's policy:
    `unknown`, or back to the queue for other devices); messages pinned to it that it has
    not claimed fail with the reason, since no other device may send them. Waiting claims
    of the device end at once (the notification), and every later call with its token is
    refused (each checks the device inside its transaction).
    """
    if not is_uuid(device_id):
        raise NotFound("no such active device")
    with auth.acting(svc, who) as uow:
        if not accounts.revoke_device(uow, who.workspace_id, device_id, uow.now):
            raise NotFound("no such active device")
        held = message_store.claims_of(uow, who.workspace_id, device_id)
        ended = scheduling.end_claims(svc, uow, held, actor=who.actor, reason="device_revoked")
        pinned = message_store.fail_pinned(
            uow,
            who.workspace_id,
            device_id,
            error="the device this message was pinned to was revoked",
            actor=who.actor,
        )
        moved = message_store.unassign(
            uow, offline_after=svc.settings.device_offline_seconds, device_id=device_id
        )
        revoked = Revoked(ended, pinned)
        _audit(
            uow,
            who.workspace_id,
            who.actor,
            "device_revoked",
            "device",
            device_id,
            {
                "claims_unknown": ended.unknown,
                "claims_requeued": ended.requeued,
                "claims_failed": ended.failed,
                "pinned_failed": pinned,
                "moved_to_other_devices": moved,
            },
        )
        uow.notify(DEVICES, {"workspace_id": who.workspace_id, "revoked": device_id})
    svc.credentials.forget(device_id)
    return revoked


def audit_trail(svc: Services, who: Principal, *, limit: int = 100) -> list[dict[str, Any]]:
    with auth.acting(svc, who, readonly=True) as uow:
        return accounts.audit_trail(uow, who.workspace_id, limit=limit)


# Helpers --------------------------------------------------------------------------------


def _audit(
    uow: UnitOfWork,
    workspace_id: str | None,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    accounts.audit(
        uow,
        workspace_id=workspace_id,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        at=uow.now,
        detail=detail,
    )
