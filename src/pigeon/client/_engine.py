"""/v1 inbound messages, the engine's jobs, dead letters and stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import Call, query, segment

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pigeon.client.types import InboundMessage, Job, JobStatus, Page, Purged, Redriven, Stats


def list_inbound(
    *, channel_id: str | None = None, cursor: str | None = None, limit: int | None = None
) -> Call[Page[InboundMessage]]:
    """Messages pigeon received (mailboxes, devices), newest first."""
    params = query(channel_id=channel_id, cursor=cursor, limit=limit)
    return Call("GET", "/v1/inbound", params=params)


def get_inbound(message_id: str) -> Call[InboundMessage]:
    return Call("GET", f"/v1/inbound/{segment(message_id)}")


class Inbound(Group[M]):
    """/v1/inbound."""

    list = endpoint(list_inbound)
    get = endpoint(get_inbound)


def list_jobs(
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    channel_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[Page[Job]]:
    """The engine's jobs, newest first."""
    params = query(status=status, kind=kind, channel_id=channel_id, cursor=cursor, limit=limit)
    return Call("GET", "/v1/jobs", params=params)


def get_job(job_id: str) -> Call[Job]:
    return Call("GET", f"/v1/jobs/{segment(job_id)}")


class Jobs(Group[M]):
    """/v1/jobs."""

    list = endpoint(list_jobs)
    get = endpoint(get_job)


def list_dead_letters(
    *,
    kind: str | None = None,
    channel_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[Page[Job]]:
    """The dead jobs, newest first."""
    params = query(kind=kind, channel_id=channel_id, cursor=cursor, limit=limit)
    return Call("GET", "/v1/dead-letters", params=params)


def _which(
    job_ids: Iterable[str] | None,
    kind: str | None,
    queue: str | None,
    channel_id: str | None,
    all: bool,
) -> dict[str, object]:
    ids = list(job_ids) if job_ids is not None else None
    chosen = query(job_ids=ids, kind=kind, queue=queue, channel_id=channel_id)
    if all:
        chosen["all"] = True
    return chosen


def redrive_dead_letters(
    *,
    job_ids: Iterable[str] | None = None,
    kind: str | None = None,
    queue: str | None = None,
    channel_id: str | None = None,
    all: bool = False,
) -> Call[Redriven]:
    """Make dead jobs ready again with fresh attempts: those listed, those matching the
    filters, or (`all=True`) every one of the workspace."""
    body = _which(job_ids, kind, queue, channel_id, all)
    return Call("POST", "/v1/dead-letters/redrive", json=body)


def purge_dead_letters(
    *,
    job_ids: Iterable[str] | None = None,
    kind: str | None = None,
    queue: str | None = None,
    channel_id: str | None = None,
    all: bool = False,
) -> Call[Purged]:
    """Delete dead jobs, chosen as for `redrive`."""
    body = _which(job_ids, kind, queue, channel_id, all)
    return Call("POST", "/v1/dead-letters/purge", json=body)


class DeadLetters(Group[M]):
    """/v1/dead-letters (redrive and purge: admin)."""

    list = endpoint(list_dead_letters)
    redrive = endpoint(redrive_dead_letters)
    purge = endpoint(purge_dead_letters)


def get_stats() -> Call[Stats]:
    """Messages by status, and the depth of each job queue."""
    return Call("GET", "/v1/stats")


class StatsGroup(Group[M]):
    """/v1/stats."""

    get = endpoint(get_stats)
