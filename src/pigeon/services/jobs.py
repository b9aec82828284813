"""The job engine as the surfaces see it: the queues a worker consumes, listing jobs, and
the dead letters (list, re-drive, purge), each change audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pigeon.domain.ids import is_uuid
from pigeon.domain.transitions import JobStatus
from pigeon.errors import NotFound, ValidationError
from pigeon.services import auth
from pigeon.store import accounts

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pigeon.domain.jobs import DeadFilter, Depth, Enqueued, Job, NewJob
    from pigeon.services.context import Principal, Services
    from pigeon.store.database import UnitOfWork
    from pigeon.workers.consumer import Handler

log = logging.getLogger(__name__)

INBOUND = "inbound"
MAX_PAGE = 200
MAX_IDS = 1000


@dataclass(frozen=True)
class Queue:
    """A queue a worker consumes: the handler of each job kind, and the prefix of its log
    events."""

    name: str
    log_prefix: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)


def queues() -> list[Queue]:
    """Every queue pigeon's workers consume, with their handlers (imported on first use)."""
    from pigeon.providers import registry
    from pigeon.services import inbound

    return [
        Queue(INBOUND, LOG_PREFIXES[INBOUND], inbound.handlers()),
        Queue(registry.UPKEEP_QUEUE, LOG_PREFIXES["providers"], registry.upkeep_handlers()),
    ]


def log_prefix(queue: str) -> str:
    return LOG_PREFIXES.get(queue, f"{queue}_queue")


LOG_PREFIXES = {INBOUND: "inbound_email_queue", "providers": "provider_jobs"}


def enqueue(svc: Services, new: Sequence[NewJob], uow: UnitOfWork | None = None) -> list[Enqueued]:
    """Enqueue `new` (inside `uow` on SQL) and log each job's pointer."""
    enqueued = svc.queue.enqueue(new, uow=uow)
    if log.isEnabledFor(logging.INFO):
        for job, result in zip(new, enqueued, strict=True):
            action = f"{log_prefix(job.queue)}_enqueue"
            log.info(
                action,
                extra={
                    "action": action,
                    "job_id": result.job_id,
                    "job_created": result.created,
                    "workspace_id": job.workspace_id,
                    "kind": job.kind,
                    "provider": job.payload.get("provider"),
                    "pointer": dict(job.payload),
                },
            )
    return enqueued


# Reading ----------------------------------------------------------------------------------


def list_jobs(
    svc: Services,
    who: Principal,
    *,
    status: str | None = None,
    kind: str | None = None,
    channel_id: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[Job]:
    if status is not None and status not in set(JobStatus):
        raise ValidationError.field("status", f"expected one of {', '.join(JobStatus)}")
    if before is not None and not is_uuid(before):
        raise ValidationError.field("cursor", "expected a job id")
    _still_valid(svc, who)
    return svc.queue.list_jobs(
        who.workspace_id,
        status=status,
        kind=kind,
        channel_id=channel_id,
        limit=min(max(limit, 1), MAX_PAGE),
        before=before,
    )


def get(svc: Services, who: Principal, job_id: str) -> Job:
    _still_valid(svc, who)
    job = svc.queue.get(who.workspace_id, job_id) if is_uuid(job_id) else None
    if job is None:
        raise NotFound("no such job")
    return job


def depth(svc: Services, who: Principal) -> dict[str, Depth]:
    """Per queue: how much waits, and for how long, in this workspace."""
    _still_valid(svc, who)
    return {q.name: svc.queue.depth(q.name, workspace_id=who.workspace_id) for q in queues()}


# Dead letters -----------------------------------------------------------------------------


def redrive(svc: Services, who: Principal, where: DeadFilter) -> list[str]:
    """Dead jobs back to ready with fresh attempts; audited."""
    _check_filter(where)
    _still_valid(svc, who)
    ids = svc.queue.redrive(who.workspace_id, where)
    _audit(svc, who, "jobs.redriven", where, ids)
    return ids


def purge(svc: Services, who: Principal, where: DeadFilter) -> list[str]:
    """Delete dead jobs for good; audited."""
    _check_filter(where)
    _still_valid(svc, who)
    ids = svc.queue.purge(who.workspace_id, where)
    _audit(svc, who, "jobs.purged", where, ids)
    return ids


def _check_filter(where: DeadFilter) -> None:
    if where.job_ids is not None:
        if len(where.job_ids) > MAX_IDS:
            raise ValidationError.field("job_ids", f"at most {MAX_IDS}")
        bad = [job_id for job_id in where.job_ids if not is_uuid(job_id)]
        if bad:
            raise ValidationError.field("job_ids", f"not a job id: {bad[0][:60]!r}")


def _still_valid(svc: Services, who: Principal) -> None:
    with auth.acting(svc, who, readonly=True):
        pass


def _audit(
    svc: Services, who: Principal, action: str, where: DeadFilter, ids: Sequence[str]
) -> None:
    """The audit event of a dead-letter change. The queue may live outside the database
    (Redis), so the event commits right after the change, not with it; were the database to
    fail in between, the change stands and the failure is logged."""
    if not ids:
        return
    detail = {
        "count": len(ids),
        "job_ids": list(ids[:100]),
        "filter": {k: v for k, v in vars(where).items() if v is not None and k != "job_ids"},
    }
    try:
        with svc.db.transaction() as uow:
            accounts.audit(
                uow,
                workspace_id=who.workspace_id,
                actor=who.actor,
                action=action,
                subject_type="jobs",
                subject_id=ids[0],
                at=uow.now,
                detail=detail,
            )
    except Exception:
        log.exception(
            "dead-letter change made but its audit event failed",
            extra={"action": "audit_failed", "audit_action": action, "count": len(ids)},
        )
