"""What the Redis Streams queue adds to the contract in `test_queue.py`: recovery from a
consumer that died (XAUTOCLAIM, by real time while the injected clock stands still), the
dead-letter stream, priority for work that arrives after a claim, waking a blocking claim
from another client and at a delayed job's run-at, and the bookkeeping around them. Last,
seeded random walks run side by side on this queue and the memory reference, which must
agree field for field after every step."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis

from pigeon.clock import FrozenClock, SystemClock
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import Ack, DeadFilter, Enqueued, Job, NewJob, Reclaimed
from pigeon.domain.transitions import JobStatus
from pigeon.errors import StaleClaim, StorageUnavailable
from pigeon.queue.memory import MemoryQueue
from pigeon.queue.redis_streams import RedisQueue
from tests.conftest import REDIS_URL, T0, service_missing

pytestmark = pytest.mark.redis

Q = "inbound"
WS = new_id()
SHORT_LEASE = 0.3

Make = Callable[..., RedisQueue]


def _client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


def _drop(prefix: str) -> None:
    client = _client()
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    try:
        _client().ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    prefix = f"pigeon-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    _drop(prefix)


@pytest.fixture
def make(prefix: str, clock: FrozenClock) -> Iterator[Make]:
    """Queues on one prefix (so two of them are two clients of one queue), closed after."""
    made: list[RedisQueue] = []

    def make(**options: Any) -> RedisQueue:
        options.setdefault("prefix", prefix)
        queue = RedisQueue(REDIS_URL, options.pop("clock", clock), **options)
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.close()


def _put(queue: RedisQueue, **options: Any) -> str:
    options.setdefault("queue", Q)
    [enqueued] = queue.enqueue([NewJob(WS, "noop", **options)])
    return enqueued.job_id


def _recover(queue: RedisQueue, within: float) -> tuple[list[str], float]:
    """Call the upkeep sweep until it requeues something; what and after how long."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if requeued := queue.reclaim_expired().requeued:
            return requeued, time.monotonic() - started
        time.sleep(0.02)
    return [], time.monotonic() - started


# A consumer that died ---------------------------------------------------------------------


def test_a_crashed_consumer_is_recovered_by_xautoclaim_within_two_leases(make: Make) -> None:
    queue = make(lease_seconds=SHORT_LEASE)
    job_id = _put(queue)
    [job] = queue.claim(Q, "crashed", limit=1)  # and then never a word from it
    client = _client()
    assert client.xpending(f"{queue.prefix}q:{Q}:stream", "pigeon")["pending"] == 1

    # The frozen clock never passes the lease: only the entry's idle time can tell.
    requeued, after = _recover(queue, within=2 * SHORT_LEASE)
    assert requeued == [job_id]
    assert after >= SHORT_LEASE * 0.9
    assert client.xpending(f"{queue.prefix}q:{Q}:stream", "pigeon")["pending"] == 0
    [again] = queue.claim(Q, "healthy", limit=1)
    assert again.id == job_id and again.attempts == 2 and again.token != job.token
    assert again.last_error == "lease expired"


def test_a_stale_ack_after_reclaim_is_refused(make: Make) -> None:
    queue = make(lease_seconds=SHORT_LEASE)
    _put(queue)
    [job] = queue.claim(Q, "slow", limit=1)
    assert _recover(queue, within=2 * SHORT_LEASE)[0] == [job.id]

    assert queue.ack([Ack(job.id, job.token)]) == set()
    assert queue.extend([job.id], job.token) == set()
    assert queue.release([job.id], job.token) == set()
    with pytest.raises(StaleClaim):
        queue.fail(job.id, job.token, error="late", retry_at=None)
    stored = queue.get(WS, job.id)
    assert stored is not None and stored.status == JobStatus.READY and stored.lease is None


def test_extend_keeps_a_live_consumer_from_being_reclaimed(make: Make) -> None:
    queue = make(lease_seconds=SHORT_LEASE)
    _put(queue)
    [job] = queue.claim(Q, "busy", limit=1)
    started = time.monotonic()
    while time.monotonic() - started < 3 * SHORT_LEASE:
        assert queue.extend([job.id], job.token) == {job.id}
        assert queue.reclaim_expired().requeued == []
        time.sleep(SHORT_LEASE / 3)
    assert _recover(queue, within=2 * SHORT_LEASE)[0] == [job.id]  # once it stops


# Dead letters -------------------------------------------------------------------------------


def test_the_dead_letter_stream_receives_each_dead_job_with_its_reason(
    make: Make, clock: FrozenClock
) -> None:
    queue = make(max_attempts=1)
    failed, lost = _put(queue), _put(queue)
    first, _ = queue.claim(Q, "w", limit=2)
    queue.fail(first.id, first.token, error="HTTP 400", retry_at=None)
    clock.advance(queue.lease_seconds + 1)
    assert queue.reclaim_expired().dead == [lost]

    letters = _client().xrange(f"{queue.prefix}q:{Q}:dlq")
    assert [(fields["job_id"], fields["reason"]) for _, fields in letters] == [
        (failed, "HTTP 400"),
        (lost, "lease expired"),
    ]
    assert {j.id for j in queue.list_jobs(WS, status="dead")} == {failed, lost}
    assert queue.depth(Q).dead == 2


# Priority -----------------------------------------------------------------------------------


def test_priority_holds_for_work_that_arrives_after_a_claim(make: Make, clock: FrozenClock) -> None:
    # A stream alone is FIFO: what was appended first is read first. Work enqueued after the
    # stream was used must still overtake by priority, then by run-at.
    queue = make()
    now = clock.now()
    first_low = _put(queue, priority=0)
    later_low = _put(queue, priority=0)
    [taken] = queue.claim(Q, "w", limit=1)
    assert taken.id == first_low
    urgent = _put(queue, priority=9)
    overdue = _put(queue, priority=0, run_at=now - timedelta(minutes=5))
    retried = _put(queue, priority=9, run_at=now + timedelta(seconds=5))
    clock.advance(5)
    order = [job.id for job in queue.claim(Q, "w", limit=2)]
    order += [job.id for job in queue.claim(Q, "w", limit=2)]
    assert order == [urgent, retried, overdue, later_low]


# Waiting --------------------------------------------------------------------------------------


def _claim_in_thread(queue: RedisQueue, block: float) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def claim() -> None:
        out.append(queue.claim(Q, "waiter", limit=1, block_seconds=block))
        out.append(time.monotonic())

    thread = threading.Thread(target=claim)
    thread.start()
    return thread, out


def test_a_blocking_claim_wakes_on_an_enqueue_from_another_client(make: Make) -> None:
    waiting, producer = make(), make()
    thread, out = _claim_in_thread(waiting, block=5.0)
    time.sleep(0.2)
    job_id = _put(producer)
    enqueued = time.monotonic()
    thread.join(6)
    [jobs, woke] = out
    assert [job.id for job in jobs] == [job_id]
    assert woke - enqueued < 0.05


def test_a_blocking_claim_without_work_waits_its_time(make: Make) -> None:
    # Redis alone would end the read on its 100 ms timer: 0.33 s would become 0.4 s. The
    # margin leaves room for a loaded machine (the suite runs on two busy cores).
    started = time.monotonic()
    assert make().claim(Q, "w", limit=1, block_seconds=0.33) == []
    assert 0.33 <= time.monotonic() - started < 0.39


def test_a_delayed_job_is_promoted_when_due(make: Make, clock: FrozenClock) -> None:
    queue = make()
    job_id = _put(queue, run_at=clock.now() + timedelta(seconds=10))
    client = _client()
    assert queue.claim(Q, "w", limit=5) == []
    assert client.zrange(f"{queue.prefix}q:{Q}:sched", 0, -1) == [job_id]
    assert queue.depth(Q).scheduled == 1
    clock.advance(10)
    assert queue.depth(Q).ready == 1
    assert [job.id for job in queue.claim(Q, "w", limit=5)] == [job_id]
    assert client.zcard(f"{queue.prefix}q:{Q}:sched") == 0


def test_a_blocking_claim_wakes_when_a_delayed_job_falls_due(make: Make) -> None:
    queue, producer = make(clock=SystemClock()), make(clock=SystemClock())
    _put(queue, run_at=queue.clock.now() + timedelta(seconds=3))
    thread, out = _claim_in_thread(queue, block=5.0)
    time.sleep(0.1)
    # Scheduled by another client while the claim waits, and earlier than what it waits for.
    due = time.monotonic() + 0.3
    job_id = _put(producer, run_at=producer.clock.now() + timedelta(seconds=0.3))
    thread.join(6)
    [jobs, woke] = out
    assert [job.id for job in jobs] == [job_id]
    assert -0.01 < woke - due < 0.05


def test_a_blocking_claim_wakes_when_the_injected_clock_passes_a_run_at(
    make: Make, clock: FrozenClock
) -> None:
    queue = make()
    job_id = _put(queue, run_at=clock.now() + timedelta(minutes=5))
    thread, out = _claim_in_thread(queue, block=5.0)
    time.sleep(0.2)
    clock.advance(timedelta(minutes=5))
    moved = time.monotonic()
    thread.join(6)
    [jobs, woke] = out
    assert [job.id for job in jobs] == [job_id]
    assert woke - moved < 0.05


# Bookkeeping ----------------------------------------------------------------------------------


def test_settled_claims_leave_nothing_on_the_stream(make: Make, clock: FrozenClock) -> None:
    queue = make()
    for _ in range(10):
        _put(queue)
    jobs = queue.claim(Q, "w", limit=10)
    token = jobs[0].token
    assert queue.ack([Ack(job.id, token) for job in jobs[:4]]) == {job.id for job in jobs[:4]}
    queue.fail(jobs[4].id, token, error="x", retry_at=clock.now() + timedelta(seconds=1))
    queue.fail(jobs[5].id, token, error="x", retry_at=None)
    assert len(queue.release([job.id for job in jobs[6:8]], token)) == 2
    clock.advance(queue.lease_seconds + 1)
    assert len(queue.reclaim_expired().requeued) == 2
    stream = f"{queue.prefix}q:{Q}:stream"
    client = _client()
    assert client.xlen(stream) == 0
    assert client.xpending(stream, "pigeon")["pending"] == 0
    assert client.zcard(f"{queue.prefix}q:{Q}:leases") == 0


def test_finished_jobs_leave_after_the_retention(make: Make, clock: FrozenClock) -> None:
    queue = make(retention_seconds=3600)
    kept, finished = _put(queue), _put(queue)
    [job] = [j for j in queue.claim(Q, "w", limit=2) if j.id == finished]
    queue.ack([Ack(job.id, job.token)])
    client = _client()
    assert 3590 < client.ttl(f"{queue.prefix}job:{finished}") <= 3600
    clock.advance(3599)
    queue.reclaim_expired()
    assert client.zcard(f"{queue.prefix}ws:{WS}:jobs") == 2
    clock.advance(2)
    queue.reclaim_expired()
    assert client.zrange(f"{queue.prefix}ws:{WS}:jobs", 0, -1) == [kept]
    assert not client.exists(f"{queue.prefix}job:{finished}")
    assert queue.get(WS, finished) is None


def test_concurrent_enqueues_of_one_dedupe_key_create_one_job(make: Make) -> None:
    queues = [make() for _ in range(6)]
    results: list[str] = []
    created: list[bool] = []
    barrier = threading.Barrier(len(queues))

    def enqueue(queue: RedisQueue) -> None:
        barrier.wait()
        for _ in range(20):
            [out] = queue.enqueue([NewJob(WS, "renew", queue=Q, dedupe_key="sub-1")])
            results.append(out.job_id)
            created.append(out.created)

    threads = [threading.Thread(target=enqueue, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and created.count(True) == 1
    holders = f"{queues[0].prefix}dd:{len(WS)}:{WS}:{len(Q)}:{Q}:sub-1"
    assert _client().zrange(holders, 0, -1) == results[:1]
    [job] = queues[0].claim(Q, "w", limit=1)
    queues[0].ack([Ack(job.id, job.token)])
    assert not _client().exists(holders)  # the key is free once its job is done


def test_an_unreachable_redis_is_storage_unavailable() -> None:
    queue = RedisQueue("redis://127.0.0.1:1/0", FrozenClock(T0))
    with pytest.raises(StorageUnavailable) as failed:
        queue.enqueue([NewJob(WS, "noop")])
    assert isinstance(failed.value.__cause__, redis.ConnectionError)
    queue.close()


# Side by side with the memory reference ------------------------------------------------------


class Twins:
    """The memory reference and a Redis queue on one frozen clock, driven by the same calls.
    Results, every job (ids and tokens mapped), listings and depths must agree after each
    step."""

    def __init__(self, prefix: str, seed: int) -> None:
        self.clock = FrozenClock(T0)
        self.memory = MemoryQueue(self.clock, lease_seconds=30, max_attempts=3)
        self.redis = RedisQueue(
            REDIS_URL, self.clock, prefix=prefix, lease_seconds=30, max_attempts=3
        )
        self.random = random.Random(seed)
        self.ids: dict[str, str] = {}  # memory id -> redis id
        self.tokens: dict[str, str] = {}
        self.workspaces = [new_id(), new_id()]
        self.steps = 0

    def step(self) -> str:
        steps = [
            (self.enqueue, 4),
            (self.claim, 4),
            (self.ack, 3),
            (self.fail, 2),
            (self.extend_or_release, 1),
            (self.time_passes, 2),
            (self.reclaim, 1),
            (self.redrive_or_purge, 1),
        ]
        action = self.random.choices([s for s, _ in steps], [w for _, w in steps])[0]
        done = action()
        self.steps += 1
        self.agree(fully=self.steps % 5 == 0)
        return done

    def enqueue(self) -> str:
        r, now = self.random, self.clock.now()
        new = []
        for _ in range(r.randint(1, 3)):
            priority, delay = r.randint(0, 2), r.choice([-7, 0, 0, 4])
            new.append(
                NewJob(
                    r.choice(self.workspaces),
                    f"kind-{priority}",
                    {"n": priority, "at": [delay, 0.5]},
                    queue=r.choice("aab"),
                    run_at=now + timedelta(seconds=delay) if delay else None,
                    priority=priority,
                    max_attempts=r.choice([None, 1, 2]),
                    dedupe_key=r.choice([None, None, "k"]),
                    channel_id=r.choice([None, "ch"]),
                )
            )
        expected, got = self.memory.enqueue(new), self.redis.enqueue(new)
        for mine, theirs in zip(expected, got, strict=True):
            if mine.created:
                self.ids[mine.job_id] = theirs.job_id
        assert [Enqueued(self.ids[e.job_id], e.created) for e in expected] == got
        return f"enqueue {new}"

    def claim(self) -> str:
        queue, limit = self.random.choice("aab"), self.random.randint(1, 4)
        expected = self.memory.claim(queue, "w", limit=limit)
        got = self.redis.claim(queue, "w", limit=limit)
        if expected and got:
            self.tokens[expected[0].token] = got[0].token
        assert [self._mapped(j) for j in expected] == got
        return f"claim {queue} {limit}: {len(got)}"

    def _held(self) -> list[Job]:
        held = [j for j in self.memory._jobs.values() if j.status == JobStatus.CLAIMED]
        return self.random.sample(held, min(len(held), self.random.randint(1, 3)))

    def _token(self, token: str) -> str:
        return self.tokens.get(token, token)

    def ack(self) -> str:
        stale, reason = self.random.random() < 0.2, self.random.choice([None, "gone"])
        acks = [Ack(j.id, "stale" if stale else j.token, reason) for j in self._held()]
        expected = self.memory.ack(acks)
        got = self.redis.ack([Ack(self.ids[a.job_id], self._token(a.token), reason) for a in acks])
        assert {self.ids[i] for i in expected} == got
        return f"ack {len(acks)} stale={stale}"

    def fail(self) -> str:
        if not (held := self._held()):
            return "fail: nothing held"
        job, stale = held[0], self.random.random() < 0.2
        token = "stale" if stale else job.token
        retry = self.random.choice([None, -3, 0, 5])
        retry_at = None if retry is None else self.clock.now() + timedelta(seconds=retry)
        theirs = self.ids[job.id], self._token(token)
        try:
            expected = self.memory.fail(job.id, token, error="boom", retry_at=retry_at)
        except StaleClaim:
            with pytest.raises(StaleClaim):
                self.redis.fail(*theirs, error="boom", retry_at=retry_at)
        else:
            assert self._mapped(expected) == self.redis.fail(
                *theirs, error="boom", retry_at=retry_at
            )
        return f"fail retry={retry} stale={stale}"

    def extend_or_release(self) -> str:
        if not (held := self._held()):
            return "extend/release: nothing held"
        token, ids = held[0].token, [j.id for j in held]  # some may hold other tokens
        theirs = [self.ids[i] for i in ids]
        if release := self.random.random() < 0.5:
            expected = self.memory.release(ids, token)
            got = self.redis.release(theirs, self._token(token))
        else:
            expected = self.memory.extend(ids, token)
            got = self.redis.extend(theirs, self._token(token))
        assert {self.ids[i] for i in expected} == got
        return f"{'release' if release else 'extend'} {len(ids)}"

    def time_passes(self) -> str:
        seconds = self.random.choice([1, 5, 31])
        self.clock.advance(seconds)
        return f"time +{seconds}"

    def reclaim(self) -> str:
        limit = self.random.randint(1, 5)
        expected = self.memory.reclaim_expired(limit=limit)
        got = self.redis.reclaim_expired(limit=limit)
        mapped = Reclaimed(
            [self.ids[i] for i in expected.requeued], [self.ids[i] for i in expected.dead]
        )
        assert mapped == got
        return f"reclaim {limit}: {got}"

    def redrive_or_purge(self) -> str:
        workspace = self.random.choice(self.workspaces)
        where = self.random.choice(
            [DeadFilter(), DeadFilter(queue="a"), DeadFilter(kind="kind-1"), DeadFilter(("x",))]
        )
        if purge := self.random.random() < 0.3:
            expected, got = self.memory.purge(workspace, where), self.redis.purge(workspace, where)
        else:
            expected = self.memory.redrive(workspace, where)
            got = self.redis.redrive(workspace, where)
        assert [self.ids[i] for i in expected] == got
        return f"{'purge' if purge else 'redrive'} {where}: {len(got)}"

    def agree(self, *, fully: bool) -> None:
        """Queue depths and the first page of each workspace always; `fully`: every job,
        the filtered listings and the workspace depths too (they scan, so not every step)."""
        for queue in (None, "a", "b"):
            assert self.memory.depth(queue) == self.redis.depth(queue)
        for workspace in self.workspaces:
            for status in (None, "dead", "ready", "claimed", "done")[: 5 if fully else 2]:
                expected_list = self.memory.list_jobs(workspace, status=status, limit=4)
                got_list = self.redis.list_jobs(workspace, status=status, limit=4)
                assert [self._mapped(j) for j in expected_list] == got_list
            if fully:
                depth = self.memory.depth(workspace_id=workspace)
                assert depth == self.redis.depth(workspace_id=workspace)
                for mine, theirs in self.ids.items():
                    expected = self.memory.get(workspace, mine)
                    got = self.redis.get(workspace, theirs)
                    assert (expected and self._mapped(expected)) == got

    def _mapped(self, job: Job) -> Job:
        """A memory job as the Redis queue should hold it."""
        lease = job.lease and replace(job.lease, token=self._token(job.lease.token))
        return replace(job, id=self.ids[job.id], lease=lease)


@pytest.mark.parametrize("seed", range(6))
def test_random_walks_match_the_memory_queue_field_for_field(prefix: str, seed: int) -> None:
    twins = Twins(prefix, seed)
    done: list[str] = []
    try:
        for _ in range(150):
            done.append(twins.step())
        twins.agree(fully=True)
    except AssertionError as error:
        trail = "\n".join(done[-15:])
        raise AssertionError(f"seed {seed}, after {len(done)} steps; the last:\n{trail}") from error
    finally:
        twins.redis.close()
    kinds = " ".join(done)
    assert "claim" in kinds and "reclaim" in kinds and "redrive" in kinds
