"""/v1/inbound: the inbound messages the engine brought in, newest first."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pigeon.api.deps import PigeonRoute, Reader, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import inbound_out
from pigeon.api.v1.schemas import Uuid
from pigeon.services import inbound

router = APIRouter(prefix="/v1", tags=["inbound"], route_class=PigeonRoute)


@router.get("/inbound")
def list_inbound(
    svc: Svc,
    who: Reader,
    channel_id: Annotated[Uuid | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=inbound.MAX_PAGE)] = 50,
    cursor: Annotated[Uuid | None, Query()] = None,
) -> dict[str, Any]:
    found = inbound.list_messages(svc, who, channel_id=channel_id, limit=limit + 1, before=cursor)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [inbound_out(m) for m in found],
        "next_cursor": found[-1].id if more else None,
    }


@router.get("/inbound/{message_id}", responses=answers(404))
def get_inbound(message_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    return inbound_out(inbound.get(svc, who, message_id))
