"""/v1/batches: outreach batches. Create a draft, preview it in full, start, pause, resume,
cancel, and follow its items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from pigeon.api.deps import PigeonRoute, Reader, Sender, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import batch_item_out, batch_out, preview_out
from pigeon.api.v1.schemas import Instant, RepeatIn, Uuid
from pigeon.domain.transitions import BatchStatus, ItemStatus
from pigeon.errors import ValidationError
from pigeon.services import batches, recurrences

router = APIRouter(prefix="/v1", tags=["batches"], route_class=PigeonRoute)
MAX_PAGE = 500


class AudienceIn(BaseModel):
    """Who the batch goes to: contacts with the tags (any or all of them), the contacts
    named, or both, or `all`; `where` keeps those whose attributes equal the values given.
    An audience that names nobody is refused."""

    model_config = ConfigDict(extra="forbid")
    all: StrictBool = Field(
        default=False, description="Every contact (alone: not with tags or contact_ids)"
    )
    tags: list[str] = Field(default_factory=list)
    tags_mode: str = "any"
    contact_ids: list[str] = Field(default_factory=list)
    where: dict[str, Any] = Field(default_factory=dict)


class AutoPauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: StrictInt = 20
    max_failure_rate: StrictFloat = 0.5


class BatchCreateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    template: str = Field(min_length=1, description="Liquid; undefined variables are errors")
    audience: AudienceIn
    channel_id: Uuid | None = None
    variables: dict[str, Any] = Field(default_factory=dict)
    send_at: Instant | None = None
    auto_pause: AutoPauseIn | None = Field(
        default_factory=AutoPauseIn,
        description="Pause when more than max_failure_rate of the last `window` sends failed; "
        "null: never",
    )
    repeat: RepeatIn | None = Field(
        default=None,
        description="Once started, the batch recurs: at each occurrence a copy of it starts, "
        "its audience read then",
    )


@router.post("/batches", status_code=201, responses=answers(404))
def create_batch(body: BatchCreateIn, svc: Svc, who: Sender) -> JSONResponse:
    new = batches.NewBatch(
        name=body.name,
        template=body.template,
        audience=body.audience.model_dump(),
        channel_id=body.channel_id,
        variables=body.variables,
        send_at=body.send_at,
        auto_pause=body.auto_pause.model_dump() if body.auto_pause is not None else None,
        repeat=(
            recurrences.Repeat(body.repeat.rrule, body.repeat.timezone)
            if body.repeat is not None
            else None
        ),
    )
    created = batches.create(svc, who, new)
    return JSONResponse(batch_out(created, None), status_code=201)


@router.get("/batches")
def list_batches(
    svc: Svc,
    who: Reader,
    status: BatchStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Uuid | None = None,
) -> dict[str, Any]:
    found = batches.list_(svc, who, limit=limit + 1, before=cursor, status=status)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [batch_out(b, None) for b in found],
        "next_cursor": found[-1].id if more else None,
    }


@router.get("/batches/{batch_id}", responses=answers(404))
def get_batch(batch_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    found = batches.get(svc, who, batch_id)
    return batch_out(found.batch, found.items)


@router.post("/batches/{batch_id}/preview", responses=answers(404))
def preview_batch(
    batch_id: Uuid,
    svc: Svc,
    who: Reader,
    samples: Annotated[int, Query(ge=0, le=batches.MAX_SAMPLES)] = 5,
) -> dict[str, Any]:
    """A dry run over every recipient; writes nothing."""
    return preview_out(batches.preview(svc, who, batch_id, samples=samples))


@router.post("/batches/{batch_id}/start", responses=answers(404, 409))
def start_batch(batch_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    found = batches.start(svc, who, batch_id)
    return batch_out(found.batch, found.items)


@router.post("/batches/{batch_id}/pause", responses=answers(404, 409))
def pause_batch(batch_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    found = batches.pause(svc, who, batch_id)
    return batch_out(found.batch, found.items)


@router.post("/batches/{batch_id}/resume", responses=answers(404, 409))
def resume_batch(batch_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    found = batches.resume(svc, who, batch_id)
    return batch_out(found.batch, found.items)


@router.post("/batches/{batch_id}/cancel", responses=answers(404, 409))
def cancel_batch(batch_id: Uuid, svc: Svc, who: Sender) -> dict[str, Any]:
    found = batches.cancel(svc, who, batch_id)
    return batch_out(found.batch, found.items)


@router.get("/batches/{batch_id}/items", responses=answers(404))
def list_items(
    batch_id: Uuid,
    svc: Svc,
    who: Reader,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: Uuid | None = None,
) -> dict[str, Any]:
    """Every recipient's fate: queued, sent, failed or skipped (with the reason), and the
    message it became."""
    wanted = None
    if status is not None:
        try:
            wanted = ItemStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in ItemStatus)
            raise ValidationError.field("status", f"must be one of {allowed}") from None
    found = batches.items(svc, who, batch_id, status=wanted, limit=limit + 1, after=cursor)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [batch_item_out(i) for i in found],
        "next_cursor": found[-1].id if more else None,
    }
