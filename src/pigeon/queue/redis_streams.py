"""The job queue on Redis Streams with one consumer group: for deployments that already run
Redis and want the job engine off the database.

Every step that reads and then writes is a Lua script (in `queue/lua/`, each prefixed with
`common.lua`), so it is atomic however many workers race, and a batch is one round trip:
one script enqueues a batch, one claims, one acks a batch.

Key layout, under `prefix` (`<q>`: a queue name, `<ws>`: a workspace id); times are epoch
microseconds from the injected clock, passed in: no script reads Redis's clock for a run-at
or a lease, because tests freeze time.

    job:<id>          hash: every Job field (payload as JSON); while claimed also token,
                      holder, lease_expires_at and `entry`, its stream entry id
    q:<q>:sched       zset, ready jobs not due yet (delayed, retries), score run-at
    q:<q>:ready       zset, due ready jobs: score -priority, member zero-padded run-at + id,
                      so its head is the contract's order (priority, then run-at, then id)
    q:<q>:stream      stream of hand-outs, group "pigeon", one consumer per holder
    q:<q>:leases      zset, claimed jobs by lease expiry
    q:<q>:dead        set of dead ids;  q:<q>:dlq  dead-letter stream (job id + reason)
    q:<q>:wake        stream of one entry, bumped when work falls due or an earlier run-at
                      is scheduled: what blocking claims wait on
    ws:<ws>:jobs      zset of the workspace's ids, all score 0: ordered by id, i.e. by time
    ws:<ws>:dead      zset of its dead ids, for listing, re-drive and purge
    dd:<ws>:<q>:<key> zset of the live jobs holding a dedupe key (lengths prefixed to each
                      part), oldest first: the twin an enqueue returns
    queues            set of queue names;  finished  zset of done/skipped jobs by end time

How a claim works: promote the scheduled jobs that fell due into `ready`, take its head, XADD
each taken job to the stream and XREADGROUP them back as consumer `holder` (so each sits in
that consumer's pending list), and stamp the hashes with the lease. Ready work waits in the
sorted sets, not in the stream, because a stream is FIFO: a job enqueued later with a higher
priority or an earlier run-at would queue behind whatever was already appended. Promoting
just what one claim takes keeps the contract's order exact; the stream carries the hand-outs
and their delivery state. A blocking claim (`block_seconds` > 0) with nothing due therefore
waits with XREAD BLOCK on the queue's wake stream (bumped by every write that makes work due
or schedules an earlier run-at) rather than XREADGROUP BLOCK, and ends that read itself when
the injected clock reaches the next scheduled run-at: Redis times blocked reads out only on
its `hz` timer, every 100 ms by default.

Leases and fencing: `ack`, `fail`, `extend` and `release` compare the token in the job hash
inside their script. A lease is lost two ways, both settled by `reclaim_expired`: its expiry
(by the injected clock) passed, or its stream entry sat idle for longer than a lease by
Redis's clock (XAUTOCLAIM: a consumer that died). `extend` renews both: the expiry, and the
entry's idle time (XCLAIM to the same consumer). A lost job is ready again (a fresh entry at
its next claim; the old one acked and deleted) or dead, and its old token matches nothing.

Retention: a done or skipped job's hash expires `retention_seconds` after it finished (by
Redis's clock: storage, not scheduling), and `reclaim_expired` drops it from the workspace
index once the injected clock passes the same point. Dead jobs stay until purged; the
dead-letter stream keeps the last ~10,000 deaths per queue.

Limits: the scripts build key names from the prefix instead of declaring them, which suits a
standalone Redis (a cluster would need every key in one slot, e.g. a `{pigeon}:` prefix). A
claim promotes at most `PROMOTE_MAX` scheduled jobs that fell due, earliest first: when more
fall due between two claims, the rest join the priority order at the following claims.
Listing by status (other than dead), kind or channel and per-workspace depth scan the
workspace index. A blocking claim holds one pooled connection while it waits.
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

import redis

from pigeon.bus.redis_pubsub import check_url
from pigeon.clock import check_aware
from pigeon.domain import jobs
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import Depth, Enqueued, Job, Reclaimed
from pigeon.domain.leases import Lease
from pigeon.domain.transitions import JobStatus
from pigeon.errors import NotFound, StaleClaim, StorageUnavailable, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from redis.commands.core import Script

    from pigeon.clock import Clock
    from pigeon.domain.jobs import Ack, DeadFilter, NewJob
    from pigeon.store.database import UnitOfWork

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
RETENTION_SECONDS = 7 * 24 * 3600.0
WATCH = 0.02  # seconds: how often a waiting claim looks at the clocks (no round trip)
PROMOTE_MAX = 10_000  # newly due jobs one claim moves into the priority set
SWEEP_MAX = 1_000  # finished jobs one reclaim drops from the workspace index
CONSUMER_IDLE_MS = 600_000  # a consumer with nothing pending is dropped after this
SCAN_CHUNK = 500  # most ids read per round trip when a listing or depth scans an index
CONNECT_TIMEOUT = 5.0
SCRIPTS = (
    *("enqueue", "claim", "ack", "fail", "extend", "release"),
    *("reclaim", "redrive", "purge", "depth"),
)


class RedisQueue:
    name = "redis"

    def __init__(
        self,
        url: str,
        clock: Clock,
        *,
        prefix: str = "pigeon:",
        lease_seconds: float = 30.0,
        max_attempts: int = 5,
        retention_seconds: float = RETENTION_SECONDS,
    ) -> None:
        check_url(url)
        self.clock = clock
        self.prefix = prefix
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.retention_seconds = retention_seconds
        self._redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=CONNECT_TIMEOUT,
        )
        self._unblock = True  # CLIENT ID and CLIENT UNBLOCK allowed; see _wait
        common = _lua("common")
        self._scripts: dict[str, Script] = {
            name: self._redis.register_script(common + _lua(name)) for name in SCRIPTS
        }

    # Writing ------------------------------------------------------------------------------

    def enqueue(self, new: Sequence[NewJob], *, uow: UnitOfWork | None = None) -> list[Enqueued]:
        if uow is not None:
            raise ValidationError.field("uow", "the redis queue has no transactions")
        for job in new:
            jobs.check_new(job)
        if not new:
            return []
        now = _us(self.clock.now())
        rows = [
            json.dumps(
                [
                    new_id(),
                    job.workspace_id,
                    job.queue,
                    job.kind,
                    json.dumps(dict(job.payload), separators=(",", ":")),
                    str(job.priority),
                    str(now if job.run_at is None else _us(job.run_at, "run_at")),
                    str(job.max_attempts or self.max_attempts),
                    job.dedupe_key,
                    job.channel_id,
                ]
            )
            for job in new
        ]
        out = self._run("enqueue", now, *rows)
        return [Enqueued(out[i], created=out[i + 1] == 1) for i in range(0, len(out), 2)]

    def claim(
        self, queue: str, holder: str, *, limit: int, block_seconds: float = 0.0
    ) -> list[Job]:
        if limit <= 0:
            return []
        deadline = time.monotonic() + block_seconds
        while True:
            now = self.clock.now()
            lease = Lease.new(holder, now + timedelta(seconds=self.lease_seconds))
            rows, next_due, wake_id = self._run(
                "claim",
                _us(now),
                queue,
                holder,
                limit,
                lease.token,
                _us(lease.expires_at),
                PROMOTE_MAX,
            )
            if rows:
                return [_job(row) for row in rows]
            if time.monotonic() >= deadline:
                return []
            due = None if next_due is None else _time(float(next_due))  # a zset score
            with _translated():
                self._wait(queue, wake_id, deadline, due)

    def ack(self, acks: Sequence[Ack]) -> set[str]:
        if not acks:
            return set()
        args: list[str] = []
        for ack in acks:
            how = "done" if ack.skipped is None else "skipped"
            args += (ack.job_id, ack.token, how, ack.skipped or "")
        retention = max(1, round(self.retention_seconds))
        return set(self._run("ack", _us(self.clock.now()), retention, *args))

    def fail(self, job_id: str, token: str, *, error: str, retry_at: datetime | None) -> Job:
        retry = "" if retry_at is None else str(_us(retry_at, "retry_at"))
        out = self._run("fail", _us(self.clock.now()), job_id, token, error, retry)
        if out[0] == "missing":
            raise NotFound(f"no job {job_id}")
        if out[0] == "stale":
            raise StaleClaim(f"job {job_id} is no longer held under this token")
        return _job(out[1])

    def extend(self, job_ids: Sequence[str], token: str) -> set[str]:
        if not job_ids:
            return set()
        now = self.clock.now()
        until = _us(now + timedelta(seconds=self.lease_seconds))
        return set(self._run("extend", _us(now), token, until, *job_ids))

    def release(self, job_ids: Sequence[str], token: str) -> set[str]:
        if not job_ids:
            return set()
        return set(self._run("release", _us(self.clock.now()), token, *job_ids))

    def reclaim_expired(self, *, limit: int = 500) -> Reclaimed:
        now = self.clock.now()
        requeued, dead = self._run(
            "reclaim",
            _us(now),
            max(limit, 0),
            _ms(self.lease_seconds),
            _us(now - timedelta(seconds=self.retention_seconds)),
            SWEEP_MAX,
            CONSUMER_IDLE_MS,
        )
        return Reclaimed(requeued=list(requeued), dead=list(dead))

    def redrive(self, workspace_id: str, where: DeadFilter) -> list[str]:
        ids = [job.id for job in self._dead(workspace_id, where)]
        return list(self._run("redrive", _us(self.clock.now()), *ids)) if ids else []

    def purge(self, workspace_id: str, where: DeadFilter) -> list[str]:
        ids = [job.id for job in self._dead(workspace_id, where)]
        return list(self._run("purge", _us(self.clock.now()), *ids)) if ids else []

    # Reading ------------------------------------------------------------------------------

    def get(self, workspace_id: str, job_id: str) -> Job | None:
        with _translated():
            row = cast("dict[str, str]", self._redis.hgetall(self._key("job", job_id)))
        return _from_hash(row) if row and row.get("workspace_id") == workspace_id else None

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
        if limit <= 0:
            return []
        index = "dead" if status == JobStatus.DEAD else "jobs"
        filtered = status not in (None, JobStatus.DEAD) or kind or channel_id
        found: list[Job] = []
        for job in self._scan(workspace_id, index, before, SCAN_CHUNK if filtered else limit):
            if (
                (status is None or job.status == status)
                and (kind is None or job.kind == kind)
                and (channel_id is None or job.channel_id == channel_id)
            ):
                found.append(job)
                if len(found) == limit:
                    break
        return found

    def depth(self, queue: str | None = None, *, workspace_id: str | None = None) -> Depth:
        now = self.clock.now()
        if workspace_id is not None:
            return self._workspace_depth(workspace_id, queue, now)
        rows = self._run("depth", _us(now), *(() if queue is None else (queue,)))
        counts = [sum(row[i] for row in rows) for i in range(4)]
        heads = [int(row[4]) for row in rows if row[4] is not None]
        age = (_us(now) - min(heads)) / 1e6 if heads else 0.0
        return Depth(counts[0], counts[1], counts[2], counts[3], oldest_ready_seconds=age)

    def close(self) -> None:
        self._redis.close()

    # Helpers ------------------------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _run(self, script: str, now: int, *args: str | int) -> Any:
        with _translated():
            return self._scripts[script](args=[self.prefix, now, *args])

    def _scan(
        self, workspace_id: str, index: str, before: str | None, first: int = SCAN_CHUNK
    ) -> Iterator[Job]:
        """The jobs of a workspace index, newest first, a chunk per round trip (the first of
        `first` ids, then growing); ids whose hash expired (finished, past retention) are
        dropped from the index on the way."""
        key = self._key("ws", workspace_id, index)
        upper = "+" if before is None else f"({before}"
        chunk = max(1, min(first, SCAN_CHUNK))
        while True:
            with _translated():
                ids = cast("list[str]", self._redis.zrevrangebylex(key, upper, "-", 0, chunk))
                if not ids:
                    return
                pipe = self._redis.pipeline(transaction=False)
                for job_id in ids:
                    pipe.hgetall(self._key("job", job_id))
                rows = pipe.execute()
                gone = [job_id for job_id, row in zip(ids, rows, strict=True) if not row]
                if gone:
                    self._redis.zrem(key, *gone)
            for row in rows:
                if row:
                    yield _from_hash(row)
            upper = f"({ids[-1]}"
            chunk = min(chunk * 4, SCAN_CHUNK)

    def _wait(self, queue: str, wake_id: str, deadline: float, due: datetime | None) -> None:
        """Wait until work may be due: an entry on the queue's wake stream after `wake_id`
        (XREAD BLOCK), the injected clock reaching `due` (the next scheduled run-at), or the
        monotonic `deadline`. Redis checks blocking timeouts only on its `hz` timer (every
        100 ms by default) and cannot see the injected clock, so this client keeps the time:
        it watches the socket in short slices and ends the read itself (CLIENT UNBLOCK, or
        a disconnect where the ACL refuses it)."""
        pool = self._redis.connection_pool
        conn: Any = pool.get_connection()  # redis-py leaves its methods untyped
        try:
            if self._unblock:
                conn.send_command("CLIENT", "ID")  # pipelined with the read: no round trip
            block = _ms(deadline - time.monotonic()) + 1000  # a backstop: we end it first
            conn.send_command(
                "XREAD", "BLOCK", block, "STREAMS", self._key("q", queue, "wake"), wake_id
            )
            client_id: int | None = None
            if self._unblock:
                try:
                    client_id = int(conn.read_response())
                except redis.ResponseError:
                    self._unblock = False
            while not conn.can_read(timeout=max(0.0, min(deadline - time.monotonic(), WATCH))):
                if time.monotonic() >= deadline or (due is not None and self.clock.now() >= due):
                    self._end_read(conn, client_id)
                    return
            conn.read_response()
        except BaseException:
            conn.disconnect()
            raise
        finally:
            pool.release(conn)

    def _end_read(self, conn: Any, client_id: int | None) -> None:
        if client_id is not None:
            try:
                self._redis.client_unblock(client_id)
            except redis.ResponseError:  # no permission: end it by disconnecting instead
                self._unblock = False
            else:
                conn.read_response()  # nil, or the entries that came in meanwhile
                return
        conn.disconnect()

    def _dead(self, workspace_id: str, where: DeadFilter) -> list[Job]:
        found = [job for job in self._scan(workspace_id, "dead", None) if jobs.matches(job, where)]
        return sorted(found, key=lambda job: job.id)

    def _workspace_depth(self, workspace_id: str, queue: str | None, now: datetime) -> Depth:
        counts = dict.fromkeys(("ready", "scheduled", "claimed", "dead"), 0)
        oldest: datetime | None = None
        for job in self._scan(workspace_id, "jobs", None):
            if queue is not None and job.queue != queue:
                continue
            if job.status == JobStatus.READY and job.run_at > now:
                counts["scheduled"] += 1
            elif job.status in (JobStatus.READY, JobStatus.CLAIMED, JobStatus.DEAD):
                counts[job.status.value] += 1
            if job.status == JobStatus.READY and job.run_at <= now:
                oldest = job.run_at if oldest is None else min(oldest, job.run_at)
        age = 0.0 if oldest is None else (now - oldest).total_seconds()
        return Depth(oldest_ready_seconds=age, **counts)


def _lua(name: str) -> str:
    return resources.files("pigeon.queue").joinpath(f"lua/{name}.lua").read_text("utf-8")


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Redis unreachable, timing out or not serving writes: StorageUnavailable, cause kept.
    Other errors (a script refused its input) are bugs and stay what they are."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError) as error:
        raise StorageUnavailable(f"redis job queue unavailable: {error}") from error


def _us(value: datetime, field: str = "datetime") -> int:
    try:
        return (check_aware(value, field=field) - EPOCH) // timedelta(microseconds=1)
    except ValueError as error:
        raise ValidationError.field(field, str(error)) from None


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _time(us: str | float) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def _job(encoded: str) -> Job:
    """A job from a script's reply: its hash's HGETALL list, as JSON."""
    flat = json.loads(encoded)
    return _from_hash(dict(zip(flat[::2], flat[1::2], strict=True)))


def _from_hash(row: dict[str, str]) -> Job:
    token = row.get("token")
    lease = None
    if token is not None:
        lease = Lease(token, row["holder"], _time(row["lease_expires_at"]))
    return Job(
        id=row["id"],
        workspace_id=row["workspace_id"],
        queue=row["queue"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        status=JobStatus(row["status"]),
        priority=int(row["priority"]),
        run_at=_time(row["run_at"]),
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        dedupe_key=row.get("dedupe_key"),
        channel_id=row.get("channel_id"),
        last_error=row.get("last_error"),
        lease=lease,
    )
