"""The SQL job queue: jobs in pigeon's own database, SQLite or PostgreSQL.

A job is a row of `jobs` (store/tables.py). Claims, acks, failures, lease renewals and the
sweep of run-out leases all go through store/claims.py, the one lease-and-fence mechanism,
and every status they write is one the JOBS machine allows from the statuses they move.
A job leaves `claimed` with its claim columns cleared, so a token that no longer holds
matches nothing.

Throughput comes from batches: an enqueue is one INSERT whatever the number of jobs, a claim
one statement (two on SQLite) for up to `limit` jobs, an ack one UPDATE for any number of
acks, each built once. An enqueue may run inside the caller's unit of work, so the job
commits (or rolls back) with the caller's rows.

Waiting for work: on PostgreSQL an enqueue sends `NOTIFY pigeon_jobs, '<queue>'` within its
transaction (delivered at commit), and a thread of this queue LISTENs on a connection of its
own and wakes the claimers of that queue. In-process writes (enqueue, fail, release, reclaim,
re-drive) wake them directly. On SQLite, other processes' commits are seen by a thread that
reads `PRAGMA data_version` every few milliseconds on a connection of its own (a read of a
counter in shared memory: microseconds, no lock) and wakes the claimers when it changes.
A waiting claimer sleeps until the earliest run-at of the queue's ready jobs (a job retried
or scheduled for later falls due without a notification), and looks again at least every
`poll_seconds` in case a notification was lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import replace
from datetime import timedelta
from select import select as wait_readable
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg
from psycopg import pq
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    delete,
    event,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pigeon.domain import jobs as rules
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import Depth, Enqueued, Job, Reclaimed
from pigeon.domain.leases import Lease
from pigeon.domain.transitions import JOBS, JobStatus
from pigeon.errors import Conflict, NotFound, StaleClaim, ValidationError
from pigeon.store import claims
from pigeon.store.sql import one_of, status_is
from pigeon.store.tables import jobs

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from sqlalchemy import Row
    from sqlalchemy.engine import Connection

    from pigeon.domain.jobs import Ack, DeadFilter, NewJob
    from pigeon.store.database import Database, UnitOfWork

log = logging.getLogger(__name__)

J = JobStatus
CHANNEL = "pigeon_jobs"  # the NOTIFY channel; its payload is the queue's name
LIVE = (J.READY, J.CLAIMED)
CLEARED = {"claim_token": None, "claimed_by": None, "lease_expires_at": None}
# An enqueue that met a twin and then found none (it finished in between) tries again.
DEDUPE_ROUNDS = 5
LISTEN_RETRY_SECONDS = 1.0


def _from(*targets: JobStatus) -> frozenset[str]:
    """The statuses a write may move from to reach any of `targets` (the JOBS machine)."""
    sources = frozenset.intersection(*(JOBS.sources_of(target) for target in targets))
    if not sources:
        raise AssertionError(f"the job machine leaves no way to {targets}")
    return frozenset(str(status) for status in sources)


c = jobs.c
# A settle moves from the statuses the JOBS machine allows for its target.
ACK_FROM = _from(J.DONE, J.SKIPPED)
FAIL_FROM = {status: _from(status) for status in (J.READY, J.DEAD)}
RELEASE_FROM = _from(J.READY)
# The moves made without reading the status first (claim, lease sweep, re-drive): this
# module refuses to load if the machine stops allowing one.
for _source, _target in (
    (J.READY, J.CLAIMED),
    (J.CLAIMED, J.READY),
    (J.CLAIMED, J.DEAD),
    (J.DEAD, J.READY),
):
    JOBS.check(_source, _target)

_CLAIM = claims.Claim(
    jobs,
    eligible=and_(
        status_is(jobs, J.READY),
        c.queue == bindparam("for_queue"),
        c.run_at <= bindparam("due_by"),
    ),
    order_by=[c.priority.desc(), c.run_at, c.id],
    claimed_status=J.CLAIMED,
    extra_values={"attempts": c.attempts + 1, "updated_at": bindparam("claimed_at")},
)
_ATTEMPT_BACK = c.attempts - 1  # a release: the claim never started
# A run-out lease, as `domain.jobs.after_failure(retry=True)` decides it, row by row.
_AFTER_LEASE = case((c.attempts < c.max_attempts, literal(J.READY.value)), else_=J.DEAD.value)
_BY_ID = select(jobs).where(c.id == bindparam("job_id"))
# The earliest run-at of the queue's ready jobs (the claim index's second column after the
# priority: a short scan of the partial index of ready jobs).
_NEXT_RUN_AT = select(func.min(c.run_at)).where(
    status_is(jobs, J.READY), c.queue == bindparam("for_queue")
)
_LIVE_TWIN = and_(c.dedupe_key.is_not(None), or_(*(status_is(jobs, s) for s in LIVE)))

# PostgreSQL: the jobs travel as one array per column (the statement is the same for any
# count, and prepared after five runs); the queues that gained a job are notified.
_PG_ENQUEUE: LiteralString = """
WITH created AS (
    INSERT INTO jobs (id, workspace_id, queue, kind, payload, status, priority, run_at,
                      attempts, max_attempts, dedupe_key, channel_id, created_at, updated_at)
    SELECT n.id, n.workspace_id, n.queue, n.kind, n.payload::json, %(status)s, n.priority,
           n.run_at, 0, n.max_attempts, n.dedupe_key, n.channel_id, %(now)s, %(now)s
    FROM unnest(%(id)s::text[], %(workspace_id)s::text[], %(queue)s::text[], %(kind)s::text[],
                %(payload)s::text[], %(priority)s::int[], %(run_at)s::timestamptz[],
                %(max_attempts)s::int[], %(dedupe_key)s::text[], %(channel_id)s::text[])
         AS n(id, workspace_id, queue, kind, payload, priority, run_at, max_attempts,
              dedupe_key, channel_id)
    ON CONFLICT DO NOTHING
    RETURNING queue
)
SELECT pg_notify(%(channel)s, queue) FROM (SELECT DISTINCT queue FROM created) AS woken
"""
_COLUMNS = (
    "id",
    "workspace_id",
    "queue",
    "kind",
    "payload",
    "priority",
    "run_at",
    "max_attempts",
    "dedupe_key",
    "channel_id",
)
_SQLITE_ENQUEUE = sqlite_insert(jobs).on_conflict_do_nothing()


class SqlQueue:
    name = "sql"

    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float = 30.0,
        max_attempts: int = 5,
        poll_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.poll_seconds = poll_seconds
        self._wakeups = _Wakeups()
        self._listener: _Listener | _SqliteWatcher | None = None
        self._listener_lock = threading.Lock()

    # Writing ------------------------------------------------------------------------------

    def enqueue(self, new: Sequence[NewJob], *, uow: UnitOfWork | None = None) -> list[Enqueued]:
        for job in new:
            rules.check_new(job)
            if job.run_at is not None and job.run_at.tzinfo is None:
                raise ValidationError.field("run_at", "must carry a time zone")
        if not new:
            return []
        queues = {job.queue for job in new}
        if uow is not None:
            enqueued = self._insert(uow, new)
            # Claimers in this process wake once the caller commits (PostgreSQL's NOTIFY
            # reaches the others); a rollback wakes nobody.
            event.listen(uow.conn, "commit", lambda _conn: self._wakeups.bump(queues))
            return enqueued
        with self.db.transaction() as own:
            enqueued = self._insert(own, new)
        self._wakeups.bump(queues)
        return enqueued

    def _insert(self, uow: UnitOfWork, new: Sequence[NewJob]) -> list[Enqueued]:
        """Insert the jobs; one with a live twin (same workspace, queue and dedupe key) is
        left out by the unique index and answered with the twin, read back afterwards."""
        ids = [new_id() for _ in new]
        out: list[Enqueued | None] = [None] * len(new)
        pending = list(range(len(new)))
        for _ in range(DEDUPE_ROUNDS):
            self._insert_rows(uow, [(ids[i], new[i]) for i in pending])
            keyed = []
            for i in pending:
                if new[i].dedupe_key is None:
                    out[i] = Enqueued(ids[i], created=True)
                else:
                    keyed.append(i)
            twins = _live_twins(uow.conn, [new[i] for i in keyed]) if keyed else {}
            pending = []
            for i in keyed:
                job = new[i]
                twin = twins.get((job.workspace_id, job.queue, job.dedupe_key))
                if twin is None:
                    pending.append(i)  # the twin finished between the insert and the read
                else:
                    out[i] = Enqueued(twin, created=twin == ids[i])
            if not pending:
                return [enqueued for enqueued in out if enqueued is not None]
        raise Conflict("jobs with this dedupe key keep finishing while enqueued; try again")

    def _insert_rows(self, uow: UnitOfWork, rows: Sequence[tuple[str, NewJob]]) -> None:
        now = uow.now
        if uow.dialect == "postgresql":
            arrays: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
            for job_id, job in rows:
                for name, value in zip(_COLUMNS, self._values(job_id, job, now), strict=True):
                    arrays[name].append(value)
            arrays["payload"] = [json.dumps(payload) for payload in arrays["payload"]]
            params = {**arrays, "status": J.READY.value, "now": now, "channel": CHANNEL}
            uow.conn.exec_driver_sql(_PG_ENQUEUE, params).all()
            return
        uow.conn.execute(
            _SQLITE_ENQUEUE,
            [
                {
                    **dict(zip(_COLUMNS, self._values(job_id, job, now), strict=True)),
                    "status": J.READY,
                    "attempts": 0,
                    "created_at": now,
                    "updated_at": now,
                }
                for job_id, job in rows
            ],
        )

    def _values(self, job_id: str, job: NewJob, now: datetime) -> tuple[Any, ...]:
        """A job's values, in the order of `_COLUMNS`."""
        return (
            job_id,
            job.workspace_id,
            job.queue,
            job.kind,
            dict(job.payload),
            job.priority,
            job.run_at or now,
            job.max_attempts or self.max_attempts,
            job.dedupe_key,
            job.channel_id,
        )

    def claim(
        self, queue: str, holder: str, *, limit: int, block_seconds: float = 0.0
    ) -> list[Job]:
        deadline = time.monotonic() + block_seconds
        if block_seconds > 0:
            self._listen()
        while True:
            seen = self._wakeups.seen(queue)
            taken = self._claim_now(queue, holder, limit)
            left = deadline - time.monotonic()
            if taken or left <= 0:
                return taken
            # Nothing due: sleep until the next run-at, or a wake-up (new work, another
            # process's write), looking again at least every `poll_seconds` in case a
            # notification was lost. A read, not a claim: on SQLite a claim takes the one
            # write lock every process shares.
            until_due = self._seconds_until_due(queue)
            if until_due == 0:  # due, but held by a claim still committing: look again soon
                self._wakeups.wait(queue, seen, min(left, RETRY_SOON_SECONDS))
            while until_due > 0:
                wait = min(until_due, left, self.poll_seconds)
                if self._wakeups.wait(queue, seen, wait) or wait >= left:
                    break
                left = deadline - time.monotonic()
                until_due = self._seconds_until_due(queue)

    def _seconds_until_due(self, queue: str) -> float:
        """How long until the queue's earliest ready job falls due (0: due now; the poll
        interval when none waits)."""
        with self.db.transaction(readonly=True) as uow:
            earliest: datetime | None = uow.conn.execute(
                _NEXT_RUN_AT, {"for_queue": queue}
            ).scalar()
            now = uow.now
        if earliest is None:
            return self.poll_seconds
        return max((earliest - now).total_seconds(), 0.0)

    def _claim_now(self, queue: str, holder: str, limit: int) -> list[Job]:
        with self.db.transaction() as uow:
            lease = Lease.new(holder, uow.now + timedelta(seconds=self.lease_seconds))
            rows = _CLAIM.run(
                uow.conn,
                limit=limit,
                lease=lease,
                for_queue=queue,
                due_by=uow.now,
                claimed_at=uow.now,
            )
        return [_job(row) for row in rows]

    def ack(self, acks: Sequence[Ack]) -> set[str]:
        if not acks:
            return set()
        rows = [
            {
                "id": ack.job_id,
                "token": ack.token,
                "status": J.DONE.value if ack.skipped is None else J.SKIPPED.value,
                "last_error": ack.skipped,
            }
            for ack in acks
        ]
        with self.db.transaction() as uow:
            return claims.settle_each(
                uow.conn,
                jobs,
                rows=rows,
                from_statuses=ACK_FROM,
                values={"updated_at": uow.now, **CLEARED},
            )

    def fail(self, job_id: str, token: str, *, error: str, retry_at: datetime | None) -> Job:
        if retry_at is not None and retry_at.tzinfo is None:
            raise ValidationError.field("retry_at", "must carry a time zone")
        with self.db.transaction() as uow:
            job = self._held(uow.conn, job_id, token)
            status = rules.after_failure(job.attempts, job.max_attempts, retry=retry_at is not None)
            JOBS.check(job.status, status)
            values: dict[str, Any] = {
                "status": status,
                "last_error": error,
                "run_at": retry_at or job.run_at,
                "updated_at": uow.now,
                **CLEARED,
            }
            moved = claims.settle(
                uow.conn,
                jobs,
                row_ids=[job_id],
                token=token,
                from_statuses=FAIL_FROM[status],
                values=values,
            )
            if not moved:  # reclaimed between the read and the write
                raise StaleClaim(f"job {job_id} is no longer held under this token")
        if status == J.READY:
            self._wakeups.bump({job.queue})
        return replace(
            job,
            status=status,
            last_error=error,
            run_at=values["run_at"],
            updated_at=values["updated_at"],
            lease=None,
        )

    def _held(self, conn: Connection, job_id: str, token: str) -> Job:
        row = conn.execute(_BY_ID, {"job_id": job_id}).first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        job = _job(row)
        if job.status != J.CLAIMED or job.lease is None or job.lease.token != token:
            raise StaleClaim(f"job {job_id} is no longer held under this token")
        return job

    def extend(self, job_ids: Sequence[str], token: str) -> set[str]:
        if not job_ids:
            return set()
        with self.db.transaction() as uow:
            return claims.extend(
                uow.conn,
                jobs,
                row_ids=job_ids,
                token=token,
                claimed_status=J.CLAIMED,
                expires_at=uow.now + timedelta(seconds=self.lease_seconds),
                values={"updated_at": uow.now},
            )

    def release(self, job_ids: Sequence[str], token: str) -> set[str]:
        if not job_ids:
            return set()
        with self.db.transaction() as uow:
            released = claims.settle(
                uow.conn,
                jobs,
                row_ids=job_ids,
                token=token,
                from_statuses=RELEASE_FROM,
                values={
                    "status": J.READY,
                    "attempts": _ATTEMPT_BACK,
                    "updated_at": uow.now,
                    **CLEARED,
                },
            )
        if released:
            self._wakeups.bump(None)
        return released

    def reclaim_expired(self, *, limit: int = 500) -> Reclaimed:
        with self.db.transaction() as uow:
            rows = claims.reclaim(
                uow.conn,
                jobs,
                claimed_status=J.CLAIMED,
                now=uow.now,
                limit=limit,
                values={
                    "status": _AFTER_LEASE,
                    "run_at": uow.now,
                    "last_error": "lease expired",
                    "updated_at": uow.now,
                    **CLEARED,
                },
                returning=("id", "status", "queue"),
            )
        result = Reclaimed()
        for row in rows:
            (result.requeued if row.status == J.READY else result.dead).append(row.id)
        if result.requeued:
            self._wakeups.bump({row.queue for row in rows if row.status == J.READY})
        return result

    def redrive(self, workspace_id: str, where: DeadFilter) -> list[str]:
        with self.db.transaction() as uow:
            rows = uow.conn.execute(
                update(jobs)
                .where(*_dead(uow.dialect, workspace_id, where), _no_live_twin())
                .values(status=J.READY, attempts=0, run_at=uow.now, updated_at=uow.now)
                .returning(c.id, c.queue)
            ).all()
        if rows:
            self._wakeups.bump({row.queue for row in rows})
        return sorted(row.id for row in rows)  # ids follow creation order

    def purge(self, workspace_id: str, where: DeadFilter) -> list[str]:
        with self.db.transaction() as uow:
            ids = uow.conn.execute(
                delete(jobs).where(*_dead(uow.dialect, workspace_id, where)).returning(c.id)
            ).scalars()
            return sorted(ids)

    # Reading ------------------------------------------------------------------------------

    def get(self, workspace_id: str, job_id: str) -> Job | None:
        with self.db.transaction(readonly=True) as uow:
            row = uow.conn.execute(_BY_ID, {"job_id": job_id}).first()
        return _job(row) if row is not None and row.workspace_id == workspace_id else None

    def list_jobs(
        self,
        workspace_id: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        channel_id: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[Job]:
        query = select(jobs).where(c.workspace_id == workspace_id)
        if status is not None:
            query = query.where(c.status == status)
        if kind is not None:
            query = query.where(c.kind == kind)
        if channel_id is not None:
            query = query.where(c.channel_id == channel_id)
        if before is not None:
            query = query.where(c.id < before)
        with self.db.transaction(readonly=True) as uow:
            rows = uow.conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
        return [_job(row) for row in rows]

    def depth(self, queue: str | None = None, *, workspace_id: str | None = None) -> Depth:
        """One round trip; each count reads the partial index of its status."""
        with self.db.transaction(readonly=True) as uow:
            now = uow.now

            def of(status: JobStatus, *where: ColumnElement[bool]) -> list[ColumnElement[bool]]:
                scope = [status_is(jobs, status), *where]
                if queue is not None:
                    scope.append(c.queue == queue)
                if workspace_id is not None:
                    scope.append(c.workspace_id == workspace_id)
                return scope

            def count(*where: ColumnElement[bool]) -> Any:
                return select(func.count()).where(*where).scalar_subquery()

            due = of(J.READY, c.run_at <= now)
            row = uow.conn.execute(
                select(
                    count(*due).label("ready"),
                    count(*of(J.READY, c.run_at > now)).label("scheduled"),
                    count(*of(J.CLAIMED)).label("claimed"),
                    count(*of(J.DEAD)).label("dead"),
                    select(func.min(c.run_at)).where(*due).scalar_subquery().label("oldest"),
                )
            ).one()
        oldest: datetime | None = row.oldest
        age = 0.0 if oldest is None else (now - oldest).total_seconds()
        return Depth(
            ready=row.ready,
            scheduled=row.scheduled,
            claimed=row.claimed,
            dead=row.dead,
            oldest_ready_seconds=age,
        )

    # Waiting ------------------------------------------------------------------------------

    def _listen(self) -> None:
        """Start the thread that hears other processes' writes, once: LISTEN on PostgreSQL,
        `data_version` on SQLite."""
        if self._listener is not None:
            return
        with self._listener_lock:
            if self._listener is not None:
                return
            url = self.db.engine.url
            if self.db.dialect == "postgresql":
                dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
                self._listener = _Listener(dsn, self._wakeups.bump)
            elif url.database and url.database != ":memory:":
                self._listener = _SqliteWatcher(url.database, self._wakeups.bump)

    def close(self) -> None:
        with self._listener_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()


def _job(row: Row[Any]) -> Job:
    lease = (
        Lease(row.claim_token, row.claimed_by, row.lease_expires_at)
        if row.claim_token is not None
        else None
    )
    return Job(
        id=row.id,
        workspace_id=row.workspace_id,
        queue=row.queue,
        kind=row.kind,
        payload=row.payload,
        status=JobStatus(row.status),
        priority=row.priority,
        run_at=row.run_at,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        created_at=row.created_at,
        updated_at=row.updated_at,
        dedupe_key=row.dedupe_key,
        channel_id=row.channel_id,
        last_error=row.last_error,
        lease=lease,
    )


def _live_twins(conn: Connection, new: Sequence[NewJob]) -> dict[tuple[str, str, str | None], str]:
    """The live jobs holding the dedupe keys of `new`, by (workspace, queue, key)."""
    dialect = conn.dialect.name
    rows = conn.execute(
        select(c.id, c.workspace_id, c.queue, c.dedupe_key).where(
            _LIVE_TWIN,
            # Every column of the unique index, so the read is a lookup of its keys.
            one_of(dialect, c.workspace_id, {job.workspace_id for job in new}),
            one_of(dialect, c.queue, {job.queue for job in new}),
            one_of(dialect, c.dedupe_key, {job.dedupe_key for job in new if job.dedupe_key}),
        )
    ).all()
    return {(row.workspace_id, row.queue, row.dedupe_key): row.id for row in rows}


def _dead(dialect: str, workspace_id: str, where: DeadFilter) -> list[ColumnElement[bool]]:
    """The dead jobs of a workspace that `where` takes (domain.jobs.matches, in SQL)."""
    found = [c.workspace_id == workspace_id, status_is(jobs, J.DEAD)]
    if where.job_ids is not None:
        found.append(one_of(dialect, c.id, where.job_ids) if where.job_ids else literal(False))
    if where.queue is not None:
        found.append(c.queue == where.queue)
    if where.kind is not None:
        found.append(c.kind == where.kind)
    if where.channel_id is not None:
        found.append(c.channel_id == where.channel_id)
    return found


def _no_live_twin() -> ColumnElement[bool]:
    """A dead job may come back only if no job with its dedupe key is live, nor a newer one
    dead: a second live twin is what the unique index refuses."""
    twin = jobs.alias("twin")
    return or_(
        c.dedupe_key.is_(None),
        ~exists().where(
            twin.c.workspace_id == c.workspace_id,
            twin.c.queue == c.queue,
            twin.c.dedupe_key == c.dedupe_key,
            twin.c.id != c.id,
            or_(twin.c.status.in_(LIVE), and_(twin.c.status == J.DEAD, twin.c.id > c.id)),
        ),
    )


WATCH_SECONDS = 0.005
WATCH_IDLE_SECONDS = 0.05
WATCH_BUSY_FOR_SECONDS = 1.0
RETRY_SOON_SECONDS = 0.01


class _Wakeups:
    """A count of wake-ups per queue, under one condition. A claimer notes the counts before
    it looks and then waits only while they are unchanged, so work that arrives between its
    look and its wait still wakes it."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._counts: dict[str, int] = {}
        self._everyone = 0  # a wake-up for every queue

    def seen(self, queue: str) -> tuple[int, int]:
        with self._changed:
            return self._now(queue)

    def _now(self, queue: str) -> tuple[int, int]:
        return self._counts.get(queue, 0), self._everyone

    def bump(self, queues: Iterable[str] | None) -> None:
        with self._changed:
            if queues is None:
                self._everyone += 1
            else:
                for queue in queues:
                    self._counts[queue] = self._counts.get(queue, 0) + 1
            self._changed.notify_all()

    def wait(self, queue: str, seen: tuple[int, int], timeout: float) -> bool:
        """Wait up to `timeout` for a wake-up since `seen`; whether one came."""
        with self._changed:
            return self._changed.wait_for(lambda: self._now(queue) != seen, timeout)


class _SqliteWatcher:
    """A thread that wakes every claimer when another connection commits to the SQLite
    file: `PRAGMA data_version` changes then. Read every `WATCH_SECONDS` while the file
    changes (every `WATCH_IDLE_SECONDS` after a quiet second) on a read-only connection of
    its own; each read costs microseconds and takes no lock."""

    def __init__(self, path: str, woken: Callable[[Iterable[str] | None], None]) -> None:
        self._path = path
        self._woken = woken
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pigeon-jobs-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import sqlite3

        try:
            conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, timeout=1)
        except sqlite3.Error:
            log.warning("cannot watch the SQLite file; claimers poll", exc_info=True)
            return
        try:
            last = None
            changed_at = time.monotonic()
            while True:
                # Every few milliseconds while the file changes; ten times slower after a
                # quiet second, so an idle server spends next to nothing watching.
                busy = time.monotonic() - changed_at < WATCH_BUSY_FOR_SECONDS
                if self._stopping.wait(WATCH_SECONDS if busy else WATCH_IDLE_SECONDS):
                    return
                try:
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    continue
                if last is not None and version != last:
                    changed_at = time.monotonic()
                    self._woken(None)
                last = version
        finally:
            conn.close()


class _Listener:
    """A thread holding a PostgreSQL connection of its own that LISTENs on `CHANNEL` and
    passes each notified queue name to `woken`. After a (re)connection it wakes every queue:
    notifications sent while nobody listened are lost. `stop` interrupts its wait at once
    (a socket pair beside the connection's socket in the select)."""

    def __init__(self, dsn: str, woken: Callable[[Iterable[str] | None], None]) -> None:
        self._dsn = dsn
        self._woken = woken
        self._stopping = threading.Event()
        self._interrupt, self._interrupted = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="pigeon-jobs-listen", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._interrupt.send(b"x")
        self._thread.join(timeout=5)
        self._interrupt.close()
        self._interrupted.close()

    def _run(self) -> None:
        failing = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    failing = False
                    self._woken(None)
                    self._relay(conn)
            except psycopg.Error:
                if not failing:
                    log.warning(
                        "job notifications lost; claimers poll until they are back",
                        exc_info=True,
                        extra={"action": "jobs_listen_failed"},
                    )
                failing = True
                self._stopping.wait(LISTEN_RETRY_SECONDS)

    def _relay(self, conn: psycopg.Connection[Any]) -> None:
        pgconn = conn.pgconn
        interrupted = self._interrupted.fileno()
        while not self._stopping.is_set():
            ready, _, _ = wait_readable([conn.fileno(), interrupted], [], [], 60.0)
            if interrupted in ready:
                return
            if not ready:
                continue
            pgconn.consume_input()
            if pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("the listening connection was lost")
            queues = set()
            while (notice := pgconn.notifies()) is not None:
                queues.add(notice.extra.decode())
            if queues:
                self._woken(queues)
