"""/v1/throttle: the throttle policy of the workspace, a channel (`?channel_id=`) or a
device (`?device_id=`). Release enforces it on every message, single sends included."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt

from pigeon.api.deps import Admin, PigeonRoute, Reader, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import iso
from pigeon.api.v1.schemas import Uuid
from pigeon.domain.throttle import ThrottleRules
from pigeon.services import throttle

router = APIRouter(prefix="/v1", tags=["throttle"], route_class=PigeonRoute)


class QuietHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str  # HH:MM, local time
    end: str  # HH:MM; may be earlier than start (the hours cross midnight)


class ThrottleIn(BaseModel):
    """Every field: one left out is off. Windows slide; quiet hours are read in the
    workspace's zone (or `timezone`), or in each recipient's own with `quiet_zone`."""

    model_config = ConfigDict(extra="forbid")
    max_per_minute: StrictInt | None = None
    max_per_hour: StrictInt | None = None
    max_per_day: StrictInt | None = None
    min_gap_seconds: StrictFloat | None = None
    recipient_min_gap_seconds: StrictFloat | None = None
    quiet_hours: QuietHoursIn | None = None
    quiet_zone: Literal["workspace", "recipient"] = "workspace"
    timezone: str | None = None
    paused: StrictBool = False


ChannelId = Annotated[Uuid | None, Query(description="A channel's policy")]
DeviceId = Annotated[Uuid | None, Query(description="A device's policy")]


def policy_out(scope: str, scope_id: str, policy: throttle.Policy | None) -> dict[str, Any]:
    rules = policy.rules if policy is not None else ThrottleRules()
    return {
        "scope": scope,
        "scope_id": scope_id,
        "rules": rules.to_json(),
        "configured": policy is not None,
        "updated_at": iso(policy.updated_at) if policy is not None else None,
    }


@router.get("/throttle", responses=answers(404))
def get_throttle(
    svc: Svc, who: Reader, channel_id: ChannelId = None, device_id: DeviceId = None
) -> dict[str, Any]:
    scope, scope_id = throttle.scope_of(channel_id, device_id)
    policy = throttle.get(svc, who, scope, scope_id)
    return policy_out(scope, scope_id or who.workspace_id, policy)


@router.put("/throttle", responses=answers(404))
def put_throttle(
    body: ThrottleIn, svc: Svc, who: Admin, channel_id: ChannelId = None, device_id: DeviceId = None
) -> dict[str, Any]:
    scope, scope_id = throttle.scope_of(channel_id, device_id)
    policy = throttle.put(svc, who, scope, scope_id, body.model_dump(exclude_none=True))
    return policy_out(scope, policy.scope_id, policy)


@router.delete("/throttle", status_code=204, responses=answers(404))
def delete_throttle(
    svc: Svc, who: Admin, channel_id: ChannelId = None, device_id: DeviceId = None
) -> Response:
    scope, scope_id = throttle.scope_of(channel_id, device_id)
    throttle.delete(svc, who, scope, scope_id)
    return Response(status_code=204)


@router.get("/throttle/policies")
def list_policies(svc: Svc, who: Reader) -> dict[str, Any]:
    """Every policy of the workspace, at every scope."""
    return {"items": [policy_out(p.scope, p.scope_id, p) for p in throttle.list_(svc, who)]}
