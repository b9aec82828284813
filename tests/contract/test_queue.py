"""The job queue contract, run over every backend: memory, SQLite, PostgreSQL and Redis
Streams. Time moves by the frozen clock, never by sleeping: every backend takes its notion of
now (run-at, lease expiry) from the clock it was given."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import Ack, DeadFilter, NewJob
from pigeon.domain.transitions import JobStatus
from pigeon.errors import StaleClaim, ValidationError
from pigeon.queue.memory import MemoryQueue
from pigeon.queue.protocols import JobQueue
from pigeon.services import admin
from tests.conftest import REDIS_URL, service_missing

LEASE = 30.0
MAX_ATTEMPTS = 3
Q = "inbound"


@dataclass
class Env:
    queue: JobQueue
    clock: FrozenClock
    workspaces: list[str]
    backend: str
    services: object | None = None
    extra: list[object] = field(default_factory=list)

    @property
    def ws(self) -> str:
        return self.workspaces[0]

    def put(self, kind: str = "noop", **options: object) -> str:
        options.setdefault("workspace_id", self.ws)
        options.setdefault("queue", Q)
        [enqueued] = self.queue.enqueue([NewJob(kind=kind, **options)])  # type: ignore[arg-type]
        return enqueued.job_id

    def expire(self) -> None:
        self.clock.advance(LEASE + 1)


def _sql_env(url: str, clock: FrozenClock, backend: str) -> Iterator[Env]:
    from pigeon.queue.sql import SqlQueue

    services = bootstrap.build(
        Settings(database_url=url), clock=clock, bus=MemoryBus(), pool_size=4
    )
    spaces = [
        admin.create_workspace(services, name=n, timezone="UTC", actor="test").workspace.id
        for n in ("acme", "globex")
    ]
    queue = SqlQueue(services.db, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS)
    yield Env(queue, clock, spaces, backend, services)
    queue.close()
    services.close()


def _redis_env(clock: FrozenClock) -> Iterator[Env]:
    from pigeon.queue.redis_streams import RedisQueue

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    prefix = f"pigeon-test-{uuid.uuid4().hex[:8]}:"
    queue = RedisQueue(
        REDIS_URL, clock, prefix=prefix, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS
    )
    yield Env(queue, clock, [new_id(), new_id()], "redis")
    queue.close()
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def env(request: pytest.FixtureRequest, clock: FrozenClock) -> Iterator[Env]:
    backend = request.param
    if backend == "memory":
        queue = MemoryQueue(clock, lease_seconds=LEASE, max_attempts=MAX_ATTEMPTS)
        yield Env(queue, clock, [new_id(), new_id()], backend)
    elif backend == "redis":
        yield from _redis_env(clock)
    else:
        yield from _sql_env(request.getfixturevalue(f"{backend}_url"), clock, backend)


# Enqueue and claim ----------------------------------------------------------------------


def test_a_claimed_job_carries_its_lease_payload_and_first_attempt(env: Env) -> None:
    job_id = env.put("inbound.imap", payload={"mailbox": "INBOX", "uid": 7, "ids": [1, 2]})
    [job] = env.queue.claim(Q, "worker-1", limit=10)
    assert job.id == job_id
    assert job.status == JobStatus.CLAIMED
    assert job.attempts == 1
    assert job.kind == "inbound.imap"
    assert dict(job.payload) == {"mailbox": "INBOX", "uid": 7, "ids": [1, 2]}
    assert job.lease is not None and job.lease.holder == "worker-1"
    assert job.lease.expires_at == env.clock.now() + timedelta(seconds=LEASE)
    assert env.queue.claim(Q, "worker-2", limit=10) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"rawMime": "From: a"},
        {"pointer": {"message": {"body": "hi"}}},
        {"items": [{"ok": 1}, {"attachments": []}]},
        {"HTML": "<p>"},
    ],
)
def test_content_anywhere_in_a_payload_is_refused_and_nothing_is_stored(
    env: Env, payload: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as refused:
        env.queue.enqueue(
            [
                NewJob(workspace_id=env.ws, kind="ok", queue=Q, payload={"uid": 1}),
                NewJob(workspace_id=env.ws, kind="bad", queue=Q, payload=payload),
            ]
        )
    assert any(name.startswith("payload") for name in refused.value.errors)
    assert env.queue.list_jobs(env.ws) == []


def test_a_job_waits_for_its_run_at(env: Env) -> None:
    env.put(run_at=env.clock.now() + timedelta(seconds=60))
    assert env.queue.claim(Q, "w", limit=10) == []
    env.clock.advance(61)
    assert len(env.queue.claim(Q, "w", limit=10)) == 1


def test_claims_take_higher_priority_first_then_earlier_run_at(env: Env) -> None:
    now = env.clock.now()
    low_old = env.put(priority=0, run_at=now - timedelta(seconds=30))
    high_new = env.put(priority=5, run_at=now - timedelta(seconds=1))
    high_old = env.put(priority=5, run_at=now - timedelta(seconds=20))
    low_new = env.put(priority=0, run_at=now - timedelta(seconds=2))
    urgent = env.put(priority=9, run_at=now)
    taken = [job.id for job in env.queue.claim(Q, "w", limit=3)]
    taken += [job.id for job in env.queue.claim(Q, "w", limit=3)]
    assert taken == [urgent, high_old, high_new, low_old, low_new]


def test_claims_respect_the_limit_and_the_queue(env: Env) -> None:
    for _ in range(5):
        env.put()
    env.put(queue="other")
    first = env.queue.claim(Q, "a", limit=2)
    second = env.queue.claim(Q, "b", limit=10)
    assert len(first) == 2 and len(second) == 3
    assert not {j.id for j in first} & {j.id for j in second}
    assert len({j.token for j in first}) == 1  # one lease per claim
    assert first[0].token != second[0].token
    assert [j.queue for j in env.queue.claim("other", "c", limit=10)] == ["other"]


def test_concurrent_claimers_never_share_a_job(env: Env) -> None:
    ids = {env.put() for _ in range(60)}
    taken: list[str] = []
    lock = threading.Lock()

    def drain(holder: str) -> None:
        while True:
            jobs = env.queue.claim(Q, holder, limit=7)
            if not jobs:
                return
            with lock:
                taken.extend(job.id for job in jobs)

    threads = [threading.Thread(target=drain, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(ids)


# Ack, skip, fail ------------------------------------------------------------------------


def test_ack_finishes_a_job_and_only_its_token_counts(env: Env) -> None:
    env.put()
    env.put()
    first, second = env.queue.claim(Q, "w", limit=2)
    acked = env.queue.ack(
        [Ack(first.id, first.token), Ack(second.id, "not-the-token"), Ack(new_id(), first.token)]
    )
    assert acked == {first.id}
    assert _status(env, first.id) == JobStatus.DONE
    assert _status(env, second.id) == JobStatus.CLAIMED
    assert env.queue.ack([Ack(first.id, first.token)]) == set()  # finished already


def test_a_skipped_job_records_its_reason_and_is_never_retried(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "w", limit=1)
    env.queue.ack([Ack(job.id, job.token, skipped="source_unavailable:imap_uid_missing")])
    stored = env.queue.get(env.ws, job.id)
    assert stored is not None
    assert stored.status == JobStatus.SKIPPED
    assert stored.last_error == "source_unavailable:imap_uid_missing"
    env.expire()
    env.queue.reclaim_expired()
    assert env.queue.claim(Q, "w", limit=1) == []


def test_a_failed_job_comes_back_at_its_retry_time_with_the_error(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "w", limit=1)
    retry_at = env.clock.now() + timedelta(seconds=40)
    failed = env.queue.fail(job.id, job.token, error="HTTP 502", retry_at=retry_at)
    assert failed.status == JobStatus.READY
    assert failed.last_error == "HTTP 502"
    assert env.queue.claim(Q, "w", limit=1) == []
    env.clock.advance(41)
    [again] = env.queue.claim(Q, "w", limit=1)
    assert again.id == job.id and again.attempts == 2 and again.token != job.token


def test_a_poison_job_is_dead_after_exactly_max_attempts_and_runs_once_after_redrive(
    env: Env,
) -> None:
    job_id = env.put()
    claims = 0
    while jobs := env.queue.claim(Q, "w", limit=1):
        claims += 1
        [job] = jobs
        last = env.queue.fail(
            job.id, job.token, error="boom", retry_at=env.clock.now() + timedelta(seconds=1)
        )
        env.clock.advance(2)
    assert claims == MAX_ATTEMPTS
    assert last.status == JobStatus.DEAD
    [dead] = env.queue.list_jobs(env.ws, status="dead")
    assert dead.id == job_id and dead.last_error == "boom"

    assert env.queue.redrive(env.ws, DeadFilter()) == [job_id]
    [job] = env.queue.claim(Q, "w", limit=5)
    assert job.attempts == 1
    assert env.queue.ack([Ack(job.id, job.token)]) == {job.id}
    env.clock.advance(3600)
    assert env.queue.claim(Q, "w", limit=5) == []
    assert _status(env, job_id) == JobStatus.DONE


def test_a_failure_not_worth_retrying_is_dead_at_once(env: Env) -> None:
    env.put(max_attempts=10)
    [job] = env.queue.claim(Q, "w", limit=1)
    assert env.queue.fail(job.id, job.token, error="bad", retry_at=None).status == JobStatus.DEAD


def test_a_job_takes_its_own_max_attempts(env: Env) -> None:
    env.put(max_attempts=1)
    [job] = env.queue.claim(Q, "w", limit=1)
    failed = env.queue.fail(
        job.id, job.token, error="x", retry_at=env.clock.now() + timedelta(seconds=1)
    )
    assert failed.status == JobStatus.DEAD and failed.max_attempts == 1


def test_a_stale_token_cannot_fail_a_job(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "w", limit=1)
    with pytest.raises(StaleClaim):
        env.queue.fail(job.id, "someone-else", error="x", retry_at=None)
    assert _status(env, job.id) == JobStatus.CLAIMED


# Leases ---------------------------------------------------------------------------------


def test_an_expired_lease_is_reclaimed_and_the_old_holder_is_fenced_out(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "crashed", limit=1)
    env.clock.advance(LEASE - 1)
    assert env.queue.reclaim_expired().requeued == []  # not yet
    env.clock.advance(2)
    assert env.queue.reclaim_expired().requeued == [job.id]
    assert env.queue.ack([Ack(job.id, job.token)]) == set()
    with pytest.raises(StaleClaim):
        env.queue.fail(job.id, job.token, error="late", retry_at=None)
    assert env.queue.extend([job.id], job.token) == set()
    [again] = env.queue.claim(Q, "healthy", limit=1)
    assert again.id == job.id and again.attempts == 2
    assert env.queue.ack([Ack(job.id, job.token)]) == set()
    assert env.queue.ack([Ack(again.id, again.token)]) == {job.id}


def test_a_slow_holder_may_still_ack_until_its_job_is_reclaimed(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "slow", limit=1)
    env.expire()
    assert env.queue.ack([Ack(job.id, job.token)]) == {job.id}
    assert env.queue.reclaim_expired().requeued == []


def test_a_lease_run_out_with_attempts_spent_is_dead(env: Env) -> None:
    env.put(max_attempts=1)
    [job] = env.queue.claim(Q, "crashed", limit=1)
    env.expire()
    reclaimed = env.queue.reclaim_expired()
    assert reclaimed.dead == [job.id] and reclaimed.requeued == []
    stored = env.queue.get(env.ws, job.id)
    assert stored is not None and stored.status == JobStatus.DEAD
    assert stored.last_error == "lease expired"


def test_extend_renews_a_held_lease_only(env: Env) -> None:
    env.put()
    env.put()
    mine, other = env.queue.claim(Q, "w", limit=2)
    env.clock.advance(LEASE - 5)
    assert env.queue.extend([mine.id, other.id], mine.token) == {mine.id, other.id}
    assert env.queue.extend([mine.id], "stale") == set()
    env.clock.advance(10)  # past the first lease, inside the renewed one
    assert env.queue.reclaim_expired().requeued == []
    stored = env.queue.get(env.ws, mine.id)
    assert stored is not None and stored.lease is not None
    renewed_at = env.clock.now() - timedelta(seconds=10)
    assert stored.lease.expires_at == renewed_at + timedelta(seconds=LEASE)
    env.clock.advance(LEASE)
    assert sorted(env.queue.reclaim_expired().requeued) == sorted([mine.id, other.id])


def test_release_hands_back_unstarted_jobs_without_spending_an_attempt(env: Env) -> None:
    env.put()
    [job] = env.queue.claim(Q, "stopping", limit=1)
    assert env.queue.release([job.id], "stale") == set()
    assert env.queue.release([job.id], job.token) == {job.id}
    [again] = env.queue.claim(Q, "next", limit=1)
    assert again.id == job.id and again.attempts == 1


# Dedupe and workspaces ------------------------------------------------------------------


def test_a_dedupe_key_returns_the_live_twin_until_it_finishes(env: Env) -> None:
    first = env.queue.enqueue([NewJob(env.ws, "renew", queue=Q, dedupe_key="sub-1")])
    twin = env.queue.enqueue([NewJob(env.ws, "renew", queue=Q, dedupe_key="sub-1")])
    elsewhere = env.queue.enqueue([NewJob(env.workspaces[1], "renew", queue=Q, dedupe_key="sub-1")])
    assert twin[0].job_id == first[0].job_id and not twin[0].created
    assert first[0].created and elsewhere[0].created
    assert elsewhere[0].job_id != first[0].job_id
    claimed = [j for j in env.queue.claim(Q, "w", limit=5) if j.workspace_id == env.ws]
    assert [j.id for j in claimed] == [first[0].job_id]
    # Claimed is still live.
    assert env.queue.enqueue([NewJob(env.ws, "renew", queue=Q, dedupe_key="sub-1")])[0] == twin[0]
    env.queue.ack([Ack(claimed[0].id, claimed[0].token)])
    after = env.queue.enqueue([NewJob(env.ws, "renew", queue=Q, dedupe_key="sub-1")])
    assert after[0].created and after[0].job_id != first[0].job_id


def test_a_workspace_sees_and_steers_its_own_jobs_only(env: Env) -> None:
    mine = env.put(max_attempts=1)
    theirs = env.put(workspace_id=env.workspaces[1], max_attempts=1)
    for job in env.queue.claim(Q, "w", limit=5):
        env.queue.fail(job.id, job.token, error="x", retry_at=None)
    assert env.queue.get(env.workspaces[1], mine) is None
    assert [j.id for j in env.queue.list_jobs(env.ws)] == [mine]
    assert env.queue.redrive(env.ws, DeadFilter(job_ids=(theirs,))) == []
    assert env.queue.purge(env.ws, DeadFilter(job_ids=(theirs,))) == []
    assert _status(env, theirs, env.workspaces[1]) == JobStatus.DEAD
    assert env.queue.depth(workspace_id=env.ws).dead == 1


def test_redrive_and_purge_take_a_filter(env: Env) -> None:
    a = env.put("inbound.gmail", max_attempts=1, channel_id=None)
    b = env.put("inbound.imap", max_attempts=1)
    c = env.put("inbound.imap", max_attempts=1)
    for job in env.queue.claim(Q, "w", limit=5):
        env.queue.fail(job.id, job.token, error="x", retry_at=None)
    assert env.queue.redrive(env.ws, DeadFilter(kind="inbound.gmail")) == [a]
    assert sorted(env.queue.purge(env.ws, DeadFilter(job_ids=(b,)))) == [b]
    assert env.queue.get(env.ws, b) is None
    assert [j.id for j in env.queue.list_jobs(env.ws, status="dead")] == [c]
    assert env.queue.purge(env.ws, DeadFilter(job_ids=(a,))) == []  # ready, not dead


def test_list_jobs_filters_and_pages_newest_first(env: Env) -> None:
    ids = [env.put("a" if n % 2 else "b") for n in range(5)]
    newest_first = list(reversed(ids))
    assert [j.id for j in env.queue.list_jobs(env.ws)] == newest_first
    assert [j.id for j in env.queue.list_jobs(env.ws, kind="a")] == [ids[3], ids[1]]
    page = env.queue.list_jobs(env.ws, limit=2)
    rest = env.queue.list_jobs(env.ws, limit=10, before=page[-1].id)
    assert [j.id for j in page + rest] == newest_first
    env.queue.claim(Q, "w", limit=1)
    assert [j.id for j in env.queue.list_jobs(env.ws, status="claimed")] == [ids[0]]


def test_depth_counts_each_status_and_the_oldest_due_age(env: Env) -> None:
    now = env.clock.now()
    env.put(run_at=now - timedelta(seconds=90))
    env.put(run_at=now - timedelta(seconds=10))
    env.put(run_at=now + timedelta(seconds=60))
    env.put(max_attempts=1, priority=10)
    [job] = env.queue.claim(Q, "w", limit=1)
    env.queue.fail(job.id, job.token, error="x", retry_at=None)
    env.put(priority=10)
    env.queue.claim(Q, "w", limit=1)
    depth = env.queue.depth(Q)
    assert (depth.ready, depth.scheduled, depth.claimed, depth.dead) == (2, 1, 1, 1)
    assert depth.oldest_ready_seconds == pytest.approx(90, abs=1)
    assert env.queue.depth("elsewhere").ready == 0


# Waiting --------------------------------------------------------------------------------


def test_a_blocking_claim_wakes_when_a_job_arrives(env: Env) -> None:
    started = time.monotonic()
    assert env.queue.claim(Q, "w", limit=1, block_seconds=0.2) == []
    assert 0.15 <= time.monotonic() - started < 2

    timer = threading.Timer(0.2, env.put)
    timer.start()
    started = time.monotonic()
    jobs = env.queue.claim(Q, "w", limit=1, block_seconds=5)
    waited = time.monotonic() - started
    timer.join()
    assert len(jobs) == 1
    assert waited < 1.0


def test_on_sql_a_job_commits_or_rolls_back_with_the_callers_writes(env: Env) -> None:
    job = NewJob(env.ws, "noop", queue=Q)
    if env.services is None:
        with pytest.raises(ValidationError):
            env.queue.enqueue([job], uow=object())  # type: ignore[arg-type]
        return
    db = env.services.db  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError), db.transaction() as uow:
        env.queue.enqueue([job], uow=uow)
        raise RuntimeError("the caller's write failed")
    assert env.queue.list_jobs(env.ws) == []
    with db.transaction() as uow:
        [kept] = env.queue.enqueue([job], uow=uow)
    assert [j.id for j in env.queue.list_jobs(env.ws)] == [kept.job_id]


def _status(env: Env, job_id: str, workspace_id: str | None = None) -> JobStatus | None:
    job = env.queue.get(workspace_id or env.ws, job_id)
    return None if job is None else job.status


# A stateful model ------------------------------------------------------------------------


@dataclass
class ModelJob:
    priority: int
    run_at: object
    max_attempts: int
    status: JobStatus = JobStatus.READY
    attempts: int = 0
    token: str | None = None
    expires_at: object = None


class QueueModel(RuleBasedStateMachine):
    """Random sequences of enqueue, claim, ack, fail, release, extend, time passing, reclaim
    and re-drive; after each step every job's status and attempts match a plain model."""

    env: Env

    def __init__(self) -> None:
        super().__init__()
        self.queue_name = f"q-{uuid.uuid4().hex[:8]}"
        self.jobs: dict[str, ModelJob] = {}

    @property
    def held(self) -> list[str]:
        return sorted(i for i, j in self.jobs.items() if j.status == JobStatus.CLAIMED)

    @rule(priority=st.integers(0, 2), delay=st.sampled_from([0, 0, 5]), attempts=st.integers(1, 3))
    def enqueue(self, priority: int, delay: int, attempts: int) -> None:
        run_at = self.env.clock.now() + timedelta(seconds=delay)
        job = NewJob(
            self.env.ws,
            "noop",
            queue=self.queue_name,
            priority=priority,
            run_at=run_at,
            max_attempts=attempts,
        )
        [enqueued] = self.env.queue.enqueue([job])
        self.jobs[enqueued.job_id] = ModelJob(priority, run_at, attempts)

    @rule(limit=st.integers(1, 3))
    def claim(self, limit: int) -> None:
        now = self.env.clock.now()
        due = {
            i: j
            for i, j in self.jobs.items()
            if j.status == JobStatus.READY and j.run_at <= now  # type: ignore[operator]
        }
        taken = self.env.queue.claim(self.queue_name, "w", limit=limit)
        assert len(taken) == min(limit, len(due))
        rank = {i: (-j.priority, j.run_at) for i, j in due.items()}
        for job in taken:
            assert job.id in due
            model = self.jobs[job.id]
            model.status, model.attempts = JobStatus.CLAIMED, model.attempts + 1
            model.token, model.expires_at = job.token, now + timedelta(seconds=LEASE)
        left = [rank[i] for i in due if i not in {job.id for job in taken}]
        if left:
            assert max(rank[job.id] for job in taken) <= min(left)  # type: ignore[type-var]

    @precondition(lambda self: self.held)
    @rule(data=st.data(), stale=st.booleans(), skipped=st.booleans())
    def ack(self, data: st.DataObject, stale: bool, skipped: bool) -> None:
        job_id = data.draw(st.sampled_from(self.held))
        model = self.jobs[job_id]
        token = "stale" if stale else model.token
        acked = self.env.queue.ack([Ack(job_id, token or "", "gone" if skipped else None)])
        assert acked == (set() if stale else {job_id})
        if not stale:
            model.status = JobStatus.SKIPPED if skipped else JobStatus.DONE

    @precondition(lambda self: self.held)
    @rule(data=st.data(), retry=st.booleans())
    def fail(self, data: st.DataObject, retry: bool) -> None:
        job_id = data.draw(st.sampled_from(self.held))
        model = self.jobs[job_id]
        retry_at = self.env.clock.now() + timedelta(seconds=3) if retry else None
        failed = self.env.queue.fail(job_id, model.token or "", error="e", retry_at=retry_at)
        model.status = (
            JobStatus.READY if retry and model.attempts < model.max_attempts else JobStatus.DEAD
        )
        if model.status == JobStatus.READY:
            model.run_at = retry_at
        assert failed.status == model.status

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(self.held))
        model = self.jobs[job_id]
        assert self.env.queue.release([job_id], model.token or "") == {job_id}
        model.status, model.attempts = JobStatus.READY, model.attempts - 1

    @precondition(lambda self: self.held)
    @rule()
    def extend(self) -> None:
        tokens = {self.jobs[i].token for i in self.held}
        for token in tokens:
            ids = [i for i in self.held if self.jobs[i].token == token]
            assert self.env.queue.extend(ids, token or "") == set(ids)
            for i in ids:
                self.jobs[i].expires_at = self.env.clock.now() + timedelta(seconds=LEASE)

    @rule(seconds=st.sampled_from([1, 4, 20, LEASE + 1]))
    def time_passes(self, seconds: float) -> None:
        self.env.clock.advance(seconds)

    @rule()
    def reclaim(self) -> None:
        now = self.env.clock.now()
        result = self.env.queue.reclaim_expired()
        expired = {
            i
            for i, j in self.jobs.items()
            if j.status == JobStatus.CLAIMED and j.expires_at < now  # type: ignore[operator]
        }
        mine = set(self.jobs)
        assert (set(result.requeued) | set(result.dead)) & mine == expired
        for job_id in expired:
            model = self.jobs[job_id]
            dead = model.attempts >= model.max_attempts
            model.status = JobStatus.DEAD if dead else JobStatus.READY
            model.run_at, model.token = now, None
            assert (job_id in result.dead) == dead

    @rule()
    def redrive(self) -> None:
        dead = {i for i, j in self.jobs.items() if j.status == JobStatus.DEAD}
        moved = self.env.queue.redrive(self.env.ws, DeadFilter(queue=self.queue_name))
        assert set(moved) == dead
        for job_id in dead:
            model = self.jobs[job_id]
            model.status, model.attempts, model.run_at = (
                JobStatus.READY,
                0,
                self.env.clock.now(),
            )

    @invariant()
    def every_job_matches_the_model(self) -> None:
        for job_id, model in self.jobs.items():
            job = self.env.queue.get(self.env.ws, job_id)
            assert job is not None
            assert (job.status, job.attempts) == (model.status, model.attempts), job_id


def test_random_sequences_match_the_model(env: Env) -> None:
    QueueModel.env = env
    run_state_machine_as_test(
        QueueModel,
        settings=settings(
            max_examples=15 if env.backend == "memory" else 8,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
