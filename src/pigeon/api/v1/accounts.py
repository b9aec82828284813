"""/v1 workspaces, API keys, devices, channels and the audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pigeon.api.deps import Admin, Operator, PigeonRoute, Reader, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import revoked_device_out
from pigeon.api.v1.schemas import (
    ChannelIn,
    ChannelPatch,
    DeviceIn,
    KeyIn,
    Uuid,
    WorkspaceIn,
    channel_out,
    device_out,
    iso,
    key_out,
    workspace_out,
)
from pigeon.services import admin

router = APIRouter(prefix="/v1", route_class=PigeonRoute)


@router.post("/workspaces", status_code=201, tags=["workspaces"])
def create_workspace(body: WorkspaceIn, svc: Svc, actor: Operator) -> dict[str, Any]:
    created = admin.create_workspace(svc, name=body.name, timezone=body.timezone, actor=actor)
    return {**workspace_out(created.workspace), "api_key": created.api_key}


@router.get("/workspace", tags=["workspaces"])
def current_workspace(svc: Svc, who: Reader) -> dict[str, Any]:
    return workspace_out(admin.get_workspace(svc, who))


@router.post("/keys", status_code=201, tags=["keys"])
def create_key(body: KeyIn, svc: Svc, who: Admin) -> dict[str, Any]:
    created = admin.create_key(svc, who, name=body.name, scopes=admin.parse_scopes(body.scopes))
    return {**key_out(created.item), "key": created.secret}


@router.get("/keys", tags=["keys"])
def list_keys(svc: Svc, who: Admin) -> dict[str, Any]:
    return {"items": [key_out(k) for k in admin.list_keys(svc, who)]}


@router.post("/keys/{key_id}/revoke", tags=["keys"], responses=answers(404))
def revoke_key(key_id: Uuid, svc: Svc, who: Admin) -> dict[str, Any]:
    admin.revoke_key(svc, who, key_id)
    return {"id": key_id, "revoked": True}


@router.post("/devices", status_code=201, tags=["devices"])
def create_device(body: DeviceIn, svc: Svc, who: Admin) -> dict[str, Any]:
    created = admin.create_device(svc, who, name=body.name, channel_id=body.channel_id)
    return {**device_out(created.item), "token": created.secret}


@router.get("/devices", tags=["devices"])
def list_devices(svc: Svc, who: Admin) -> dict[str, Any]:
    return {"items": [device_out(d) for d in admin.list_devices(svc, who)]}


@router.post("/devices/{device_id}/revoke", tags=["devices"], responses=answers(404))
def revoke_device(device_id: Uuid, svc: Svc, who: Admin) -> dict[str, Any]:
    """Revoke a device: its token stops working at once, the messages it claimed and never
    reported end as a lost lease would (its channel's `on_lease_expiry`), and messages
    pinned to it that wait to be sent fail with the reason."""
    return revoked_device_out(device_id, admin.revoke_device(svc, who, device_id))


@router.post("/channels", status_code=201, tags=["channels"])
def create_channel(body: ChannelIn, svc: Svc, who: Admin) -> dict[str, Any]:
    channel = admin.create_channel(
        svc,
        who,
        kind=body.kind,
        name=body.name,
        config=body.config,
        on_lease_expiry=body.on_lease_expiry,
        is_default=body.is_default,
    )
    return channel_out(channel, svc.settings.public_url)


@router.get("/channels", tags=["channels"])
def list_channels(svc: Svc, who: Admin) -> dict[str, Any]:
    public_url = svc.settings.public_url
    return {"items": [channel_out(c, public_url) for c in admin.list_channels(svc, who)]}


@router.get("/channels/{channel_id}", tags=["channels"], responses=answers(404))
def get_channel(channel_id: Uuid, svc: Svc, who: Admin) -> dict[str, Any]:
    return channel_out(admin.get_channel(svc, who, channel_id), svc.settings.public_url)


@router.patch("/channels/{channel_id}", tags=["channels"], responses=answers(404))
def update_channel(channel_id: Uuid, body: ChannelPatch, svc: Svc, who: Admin) -> dict[str, Any]:
    channel = admin.update_channel(
        svc,
        who,
        channel_id,
        name=body.name,
        config=body.config,
        on_lease_expiry=body.on_lease_expiry,
        is_default=body.is_default,
        disabled=body.disabled,
    )
    return channel_out(channel, svc.settings.public_url)


@router.post("/channels/{channel_id}/disable", tags=["channels"], responses=answers(404))
def disable_channel(channel_id: Uuid, svc: Svc, who: Admin) -> dict[str, Any]:
    channel = admin.update_channel(svc, who, channel_id, disabled=True)
    return channel_out(channel, svc.settings.public_url)


@router.get("/audit", tags=["audit"])
def audit_trail(
    svc: Svc, who: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """The newest audit events first, up to `limit`."""
    rows = admin.audit_trail(svc, who, limit=limit)
    return {"items": [{**row, "at": iso(row["at"])} for row in rows]}
