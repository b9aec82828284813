"""/v1 jobs of the engine, the dead letters (list, re-drive, purge) and /v1/stats."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from pigeon.api.deps import Admin, PigeonRoute, Reader, Svc
from pigeon.api.openapi import answers
from pigeon.api.v1.render import depth_out, job_out
from pigeon.api.v1.schemas import Flag, Uuid
from pigeon.domain.jobs import DeadFilter
from pigeon.domain.transitions import JobStatus, MessageStatus
from pigeon.services import jobs, messages

router = APIRouter(prefix="/v1", route_class=PigeonRoute)

Text = Annotated[str | None, Query(max_length=100)]


class DeadLettersIn(BaseModel):
    """Which dead letters to re-drive or purge: the listed ids, or every one matching the
    filters; `all: true` is needed to take every dead letter of the workspace."""

    model_config = ConfigDict(extra="forbid")
    job_ids: list[Uuid] | None = Field(default=None, min_length=1, max_length=jobs.MAX_IDS)
    kind: str | None = Field(default=None, max_length=100)
    queue: str | None = Field(default=None, max_length=100)
    channel_id: Uuid | None = None
    all: Flag = False

    def where(self) -> DeadFilter:
        ids = tuple(self.job_ids) if self.job_ids is not None else None
        return DeadFilter(job_ids=ids, queue=self.queue, kind=self.kind, channel_id=self.channel_id)

    def check(self) -> None:
        from pigeon.errors import ValidationError

        empty = self.job_ids is None and not (self.kind or self.queue or self.channel_id)
        if empty and not self.all:
            raise ValidationError.field(
                "all", "name job_ids or a filter, or set all: true to take every dead letter"
            )


def _page(found: list[Any], limit: int) -> dict[str, Any]:
    more = len(found) > limit
    found = found[:limit]
    return {"items": [job_out(j) for j in found], "next_cursor": found[-1].id if more else None}


@router.get("/jobs", tags=["jobs"])
def list_jobs(
    svc: Svc,
    who: Reader,
    status: Annotated[JobStatus | None, Query()] = None,
    kind: Text = None,
    channel_id: Annotated[Uuid | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=jobs.MAX_PAGE)] = 50,
    cursor: Annotated[Uuid | None, Query()] = None,
) -> dict[str, Any]:
    found = jobs.list_jobs(
        svc,
        who,
        status=status,
        kind=kind,
        channel_id=channel_id,
        limit=limit + 1,
        before=cursor,
    )
    return _page(found, limit)


@router.get("/jobs/{job_id}", tags=["jobs"], responses=answers(404))
def get_job(job_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    return job_out(jobs.get(svc, who, job_id))


@router.get("/dead-letters", tags=["jobs"])
def list_dead_letters(
    svc: Svc,
    who: Reader,
    kind: Text = None,
    channel_id: Annotated[Uuid | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=jobs.MAX_PAGE)] = 50,
    cursor: Annotated[Uuid | None, Query()] = None,
) -> dict[str, Any]:
    return list_jobs(svc, who, JobStatus.DEAD, kind, channel_id, limit, cursor)


@router.post("/dead-letters/redrive", tags=["jobs"])
def redrive_dead_letters(body: DeadLettersIn, svc: Svc, who: Admin) -> dict[str, Any]:
    body.check()
    ids = jobs.redrive(svc, who, body.where())
    return {"redriven": len(ids), "job_ids": ids}


@router.post("/dead-letters/purge", tags=["jobs"])
def purge_dead_letters(body: DeadLettersIn, svc: Svc, who: Admin) -> dict[str, Any]:
    body.check()
    ids = jobs.purge(svc, who, body.where())
    return {"purged": len(ids), "job_ids": ids}


@router.get("/stats", tags=["stats"])
def stats(svc: Svc, who: Reader) -> dict[str, Any]:
    counts = messages.count_by_status(svc, who)
    return {
        "messages": {"by_status": {s.value: counts.get(s, 0) for s in MessageStatus}},
        "queues": {name: depth_out(d) for name, d in jobs.depth(svc, who).items()},
        "queue_backend": svc.queue.name,
    }
