"""/v1/recurrences: recurring messages (made by `POST /v1/messages` with `repeat`), their
next occurrence, and stopping them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from pigeon.api.deps import PigeonRoute, Reader, Sender, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import recurrence_out
from pigeon.api.v1.schemas import Uuid
from pigeon.services import recurrences

router = APIRouter(prefix="/v1", tags=["recurrences"], route_class=PigeonRoute)


@router.get("/recurrences")
def list_recurrences(
    svc: Svc,
    who: Reader,
    cursor: Annotated[Uuid | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=recurrences.MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Oldest first; `next_cursor` pages on."""
    found = recurrences.list_(svc, who, limit=limit + 1, after_id=cursor)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [recurrence_out(r) for r in found],
        "next_cursor": found[-1].id if more else None,
    }


@router.get("/recurrences/{recurrence_id}", responses=answers(404))
def get_recurrence(recurrence_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    return recurrence_out(recurrences.get(svc, who, recurrence_id))


@router.delete("/recurrences/{recurrence_id}", responses=answers(404))
def stop_recurrence(recurrence_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    """Stop it: no further occurrence is made. Messages made already stay, and can be
    canceled as any other."""
    return recurrence_out(recurrences.stop(svc, who, recurrence_id))
