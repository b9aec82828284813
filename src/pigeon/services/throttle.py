"""Throttle policies: read and set them at workspace, channel or device scope.

The release gate (store/throttle.py) enforces them; a change lets every message the old
policy held be looked at again at once, so a relaxed limit takes effect immediately.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.throttle import HoldReason, ThrottleRules
from pigeon.errors import NotFound, ValidationError
from pigeon.services import auth
from pigeon.store import accounts
from pigeon.store import throttle as store

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.domain.accounts import Channel, Device
    from pigeon.services.context import Principal, Services
    from pigeon.store.database import UnitOfWork

Policy = store.Policy
SCOPES = ("workspace", "channel", "device")
THROTTLE_HOLDS = frozenset(str(reason) for reason in HoldReason)


def list_(svc: Services, who: Principal) -> list[Policy]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.policies_of(uow, who.workspace_id)


def get(svc: Services, who: Principal, scope: str, scope_id: str | None) -> Policy | None:
    """The policy of one scope; None if it has none (nothing is limited there)."""
    with auth.acting(svc, who, readonly=True) as uow:
        target = _target(uow, who, scope, scope_id)
        for policy in store.policies_of(uow, who.workspace_id):
            if (policy.scope, policy.scope_id) == (scope, target):
                return policy
    return None


def scope_of(channel_id: str | None, device_id: str | None) -> tuple[str, str | None]:
    """The scope a request names: a device, a channel, or else the workspace."""
    if channel_id is not None and device_id is not None:
        raise ValidationError.field("device_id", "give a channel_id or a device_id, not both")
    if device_id is not None:
        return "device", device_id
    if channel_id is not None:
        return "channel", channel_id
    return "workspace", None


def put(
    svc: Services, who: Principal, scope: str, scope_id: str | None, rules: Mapping[str, Any]
) -> Policy:
    """Create or replace the policy of one scope (every field; those left out are off)."""
    parsed = ThrottleRules.from_json(rules)
    with auth.acting(svc, who) as uow:
        target = _target(uow, who, scope, scope_id)
        policy = store.put_policy(uow, who.workspace_id, scope, target, parsed, new_id=new_id())
        lifted = store.lift_holds(uow, who.workspace_id, reasons=THROTTLE_HOLDS)
        detail = {"scope": scope, "scope_id": target, "rules": parsed.to_json()}
        _audit(uow, who, "throttle_set", policy.id, {**detail, "holds_lifted": lifted})
        return policy


def delete(svc: Services, who: Principal, scope: str, scope_id: str | None) -> None:
    with auth.acting(svc, who) as uow:
        target = _target(uow, who, scope, scope_id)
        if not store.delete_policy(uow, who.workspace_id, scope, target):
            raise NotFound(f"no throttle policy for this {scope}")
        lifted = store.lift_holds(uow, who.workspace_id, reasons=THROTTLE_HOLDS)
        _audit(uow, who, "throttle_removed", target, {"scope": scope, "holds_lifted": lifted})


def _target(uow: UnitOfWork, who: Principal, scope: str, scope_id: str | None) -> str:
    """The id the policy is keyed by: the workspace's own, or a channel or device of it."""
    if scope == "workspace":
        return who.workspace_id
    found: Channel | Device | None = None
    if scope_id is not None and is_uuid(scope_id):
        if scope == "channel":
            found = accounts.get_channel(uow, who.workspace_id, scope_id)
        elif scope == "device":
            found = accounts.get_device(uow, who.workspace_id, scope_id)
    if found is None:
        raise NotFound(f"no such {scope} in this workspace")
    return found.id


def _audit(
    uow: UnitOfWork, who: Principal, action: str, subject_id: str, detail: Mapping[str, Any]
) -> None:
    accounts.audit(
        uow,
        workspace_id=who.workspace_id,
        actor=who.actor,
        action=action,
        subject_type="throttle_policy",
        subject_id=subject_id,
        at=uow.now,
        detail=detail,
    )
