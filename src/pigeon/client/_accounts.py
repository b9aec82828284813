"""/v1 workspaces, API keys, devices, channels and the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import Call, json_items, query, segment

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Unpack

    from pigeon.client.types import (
        ApiKey,
        AuditEvent,
        Channel,
        ChannelChanges,
        Device,
        LeaseExpiry,
        NewApiKey,
        NewDevice,
        NewWorkspace,
        Revoked,
        RevokedDevice,
        Scope,
        Workspace,
    )


def create_workspace(name: str, *, timezone: str = "UTC") -> Call[NewWorkspace]:
    """Create a workspace (with the server's operator token); the answer holds its first
    API key (`api_key`, admin scope), shown once."""
    return Call("POST", "/v1/workspaces", json={"name": name, "timezone": timezone})


def current_workspace() -> Call[Workspace]:
    """The workspace of the key in use."""
    return Call("GET", "/v1/workspace")


class Workspaces(Group[M]):
    """/v1/workspaces: `client.workspaces.current()`."""

    create = endpoint(create_workspace)
    current = endpoint(current_workspace)


def create_key(name: str, scopes: Iterable[Scope]) -> Call[NewApiKey]:
    """An API key with these scopes (`read` < `send` < `admin`); its secret, `key`, is shown
    once."""
    return Call("POST", "/v1/keys", json={"name": name, "scopes": list(scopes)})


def list_keys() -> Call[list[ApiKey]]:
    return Call("GET", "/v1/keys", parse=json_items)


def revoke_key(key_id: str) -> Call[Revoked]:
    return Call("POST", f"/v1/keys/{segment(key_id)}/revoke")


class Keys(Group[M]):
    """/v1/keys (admin)."""

    create = endpoint(create_key)
    list = endpoint(list_keys)
    revoke = endpoint(revoke_key)


def create_device(name: str, *, channel_id: str | None = None) -> Call[NewDevice]:
    """A device of a gateway channel (the default one when left out). Its `token`, shown
    once, is what the device authenticates with."""
    return Call("POST", "/v1/devices", json=query(name=name, channel_id=channel_id))


def list_devices() -> Call[list[Device]]:
    return Call("GET", "/v1/devices", parse=json_items)


def revoke_device(device_id: str) -> Call[RevokedDevice]:
    """Revoke a device at once; what it claimed and never reported ends as a lost lease."""
    return Call("POST", f"/v1/devices/{segment(device_id)}/revoke")


class Devices(Group[M]):
    """/v1/devices (admin)."""

    create = endpoint(create_device)
    list = endpoint(list_devices)
    revoke = endpoint(revoke_device)


def create_channel(
    kind: str,
    name: str,
    *,
    config: dict[str, Any] | None = None,
    on_lease_expiry: LeaseExpiry | None = None,
    is_default: bool = False,
) -> Call[Channel]:
    body = {"kind": kind, "name": name, "config": config or {}, "is_default": is_default}
    if on_lease_expiry is not None:
        body["on_lease_expiry"] = on_lease_expiry
    return Call("POST", "/v1/channels", json=body)


def list_channels() -> Call[list[Channel]]:
    return Call("GET", "/v1/channels", parse=json_items)


def get_channel(channel_id: str) -> Call[Channel]:
    return Call("GET", f"/v1/channels/{segment(channel_id)}")


def update_channel(channel_id: str, **changes: Unpack[ChannelChanges]) -> Call[Channel]:
    """Change the fields given (`disabled=False` enables a disabled channel)."""
    return Call("PATCH", f"/v1/channels/{segment(channel_id)}", json=dict(changes))


def disable_channel(channel_id: str) -> Call[Channel]:
    return Call("POST", f"/v1/channels/{segment(channel_id)}/disable")


class Channels(Group[M]):
    """/v1/channels (admin)."""

    create = endpoint(create_channel)
    list = endpoint(list_channels)
    get = endpoint(get_channel)
    update = endpoint(update_channel)
    disable = endpoint(disable_channel)


def audit_trail(*, limit: int | None = None) -> Call[list[AuditEvent]]:
    """The newest audit events first, up to `limit` (1 to 1,000; 100)."""
    return Call("GET", "/v1/audit", params=query(limit=limit), parse=json_items)


class Audit(Group[M]):
    """/v1/audit (admin)."""

    list = endpoint(audit_trail)
