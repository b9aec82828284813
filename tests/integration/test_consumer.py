"""The worker runtime and the job consumer: retries, dead letters, skips, lease heartbeats,
releases at a stop, supervision and timers. On the memory queue (the contract suite proves
the other backends behave the same) with real services around it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import QueueSettings, Settings
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import NewJob
from pigeon.domain.transitions import JobStatus
from pigeon.queue.memory import MemoryQueue
from pigeon.services.context import Services
from pigeon.workers.consumer import Consumer, PermanentJobError, Skipped, reclaim_expired
from pigeon.workers.runtime import Runtime, Timer

pytestmark = pytest.mark.anyio
Q = "work"
LEASE = 0.3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def svc(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    queue_settings = QueueSettings(
        max_attempts=3,
        lease_seconds=LEASE,
        block_seconds=0.05,
        retry_base_seconds=10,
        retry_cap_seconds=60,
        concurrency=1,
    )
    settings = Settings(database_url=sqlite_url, queue=queue_settings)
    queue = MemoryQueue(clock, lease_seconds=LEASE, max_attempts=3)
    built = bootstrap.build(settings, clock=clock, bus=MemoryBus(), pool_size=2, queue=queue)
    yield built
    built.close()


WS = new_id()


def _put(svc: Services, kind: str, count: int = 1, **payload: object) -> list[str]:
    new = [NewJob(WS, kind, queue=Q, payload={"n": n, **payload}) for n in range(count)]
    return [e.job_id for e in svc.queue.enqueue(new)]


def _status(svc: Services, job_id: str) -> JobStatus:
    job = svc.queue.get(WS, job_id)
    assert job is not None
    return job.status


async def test_jobs_run_once_each_and_are_acked(svc: Services) -> None:
    ran: list[int] = []

    async def record(_svc: Services, job: object) -> None:
        ran.append(job.payload["n"])  # type: ignore[attr-defined]

    ids = _put(svc, "record", 7)
    consumer = Consumer(svc, Q, {"record": record}, holder="w1")
    assert await consumer.drain() == 7
    assert sorted(ran) == list(range(7))
    assert {_status(svc, i) for i in ids} == {JobStatus.DONE}


async def test_a_failing_job_retries_with_growing_delays_then_dies(
    svc: Services, clock: FrozenClock
) -> None:
    calls = 0

    async def broken(_svc: Services, _job: object) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("provider said 502")

    [job_id] = _put(svc, "broken")
    consumer = Consumer(svc, Q, {"broken": broken}, holder="w1")
    delays = []
    for _ in range(2):
        await consumer.drain()
        job = svc.queue.get(WS, job_id)
        assert job is not None and job.status == JobStatus.READY
        assert job.last_error == "RuntimeError: provider said 502"
        delays.append((job.run_at - clock.now()).total_seconds())
        clock.set(job.run_at)
    await consumer.drain()
    assert calls == 3
    assert _status(svc, job_id) == JobStatus.DEAD
    # base 10 s then 20 s, each shrunk by at most half (jitter), never past the cap.
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20


async def test_a_permanent_error_is_dead_at_once_and_a_skip_is_not_retried(
    svc: Services,
) -> None:
    async def refuse(_svc: Services, _job: object) -> None:
        raise PermanentJobError("no such mailbox")

    async def gone(_svc: Services, _job: object) -> Skipped:
        return Skipped("source_unavailable:imap_uid_missing")

    [dead] = _put(svc, "refuse")
    [skipped] = _put(svc, "gone")
    [unknown] = _put(svc, "nobody-handles-this")
    await Consumer(svc, Q, {"refuse": refuse, "gone": gone}, holder="w").drain()
    assert _status(svc, dead) == JobStatus.DEAD
    assert _status(svc, skipped) == JobStatus.SKIPPED
    stored = svc.queue.get(WS, skipped)
    assert stored is not None and stored.last_error == "source_unavailable:imap_uid_missing"
    job = svc.queue.get(WS, unknown)
    assert job is not None and job.status == JobStatus.DEAD
    assert "no handler" in (job.last_error or "")


async def test_a_long_job_keeps_its_lease_by_heartbeat(svc: Services, clock: FrozenClock) -> None:
    started = asyncio.Event()
    finish = asyncio.Event()

    async def slow(_svc: Services, _job: object) -> None:
        started.set()
        await finish.wait()

    [job_id] = _put(svc, "slow")
    task = asyncio.create_task(Consumer(svc, Q, {"slow": slow}, holder="w").drain())
    await started.wait()
    for _ in range(4):  # four leases pass; the heartbeat renews each time
        await asyncio.sleep(LEASE / 2)
        clock.advance(LEASE / 2)
        assert svc.queue.reclaim_expired().requeued == []
    finish.set()
    await task
    assert _status(svc, job_id) == JobStatus.DONE


async def test_without_a_heartbeat_a_lease_runs_out_and_is_reclaimed(
    svc: Services, clock: FrozenClock
) -> None:
    [job_id] = _put(svc, "x")
    [job] = svc.queue.claim(Q, "crashed", limit=1)  # a consumer that died holding it
    clock.advance(LEASE * 2)
    reclaim_expired(svc)
    ran = []

    async def record(_svc: Services, job: object) -> None:
        ran.append(job)

    await Consumer(svc, Q, {"x": record}, holder="healthy").drain()
    assert len(ran) == 1 and ran[0].attempts == 2  # type: ignore[attr-defined]
    assert _status(svc, job_id) == JobStatus.DONE
    assert job.token != ran[0].lease.token  # type: ignore[attr-defined]


async def test_a_stop_releases_unstarted_jobs_at_once(svc: Services) -> None:
    stop = asyncio.Event()
    started: list[int] = []

    async def first_stops(_svc: Services, job: object) -> None:
        started.append(job.payload["n"])  # type: ignore[attr-defined]
        stop.set()

    ids = _put(svc, "s", 5)
    consumer = Consumer(svc, Q, {"s": first_stops}, holder="w", batch=5)
    consumer._take = 5  # as after a run of fast jobs: one claim takes all five
    await asyncio.wait_for(consumer.run(stop), 5)
    assert started == [0]
    assert _status(svc, ids[0]) == JobStatus.DONE
    for job_id in ids[1:]:
        job = svc.queue.get(WS, job_id)
        assert job is not None and job.status == JobStatus.READY and job.attempts == 0


async def test_concurrency_runs_jobs_side_by_side(svc: Services) -> None:
    running = 0
    peak = 0

    async def overlap(_svc: Services, _job: object) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1

    _put(svc, "o", 8)
    consumer = Consumer(svc, Q, {"o": overlap}, holder="w", concurrency=4)
    assert await consumer.drain() == 8
    assert peak == 4


async def test_the_runtime_restarts_a_crashed_worker_and_keeps_its_timers(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    class Flaky:
        name = "flaky"
        runs = 0

        async def run(self, stop: asyncio.Event) -> None:
            self.runs += 1
            if self.runs == 1:
                raise RuntimeError("first pass breaks")
            await stop.wait()

        async def drain(self) -> int:
            return 0

    ticks: list[int] = []
    flaky = Flaky()
    stop = asyncio.Event()
    runtime = Runtime([flaky], [Timer("tick", 0.05, lambda: ticks.append(1))])
    task = asyncio.create_task(runtime.run(stop))
    with caplog.at_level(logging.ERROR):
        await asyncio.sleep(0.8)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert flaky.runs == 2
    assert len(ticks) >= 3
    assert any(getattr(r, "action", "") == "worker_restart" for r in caplog.records)


async def test_a_stuck_worker_is_cancelled_after_the_grace_period(svc: Services) -> None:
    cancelled = asyncio.Event()

    class Stuck:
        name = "stuck"

        async def run(self, stop: asyncio.Event) -> None:
            try:
                await asyncio.sleep(3600)  # ignores the stop
            except asyncio.CancelledError:
                cancelled.set()
                raise

        async def drain(self) -> int:
            return 0

    stop = asyncio.Event()
    runtime = Runtime([Stuck()], grace_seconds=0.1, hard_seconds=0.5)
    task = asyncio.create_task(runtime.run(stop))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert cancelled.is_set()


async def test_drain_runs_every_worker_until_nothing_is_left(svc: Services) -> None:
    chained: list[str] = []

    async def first(s: Services, _job: object) -> None:
        chained.append("first")
        s.queue.enqueue([NewJob(WS, "second", queue=Q)])

    async def second(_svc: Services, _job: object) -> None:
        chained.append("second")

    _put(svc, "first")
    consumer = Consumer(svc, Q, {"first": first, "second": second}, holder="w")
    done = await Runtime([consumer]).drain()
    assert chained == ["first", "second"]
    assert done == {consumer.name: 2}


async def test_job_logs_carry_the_pointer_never_content(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    async def gone(_svc: Services, _job: object) -> Skipped:
        return Skipped("source_unavailable:msgraph_message_not_found")

    _put(svc, "g", 1, provider="msgraph", message_id="AAMk1")
    consumer = Consumer(svc, Q, {"g": gone}, holder="w", log_prefix="inbound_email_queue")
    with caplog.at_level(logging.DEBUG, logger="pigeon.workers.consumer"):
        await consumer.drain()
    actions = [getattr(r, "action", None) for r in caplog.records]
    assert "inbound_email_queue_consume_start" in actions
    assert "inbound_email_queue_skip" in actions
    assert "inbound_email_queue_ack" in actions
    [skip] = [r for r in caplog.records if getattr(r, "action", "") == "inbound_email_queue_skip"]
    assert skip.provider == "msgraph"  # type: ignore[attr-defined]
    assert skip.pointer["message_id"] == "AAMk1"  # type: ignore[attr-defined]
    assert skip.attempt == 1 and skip.workspace_id == WS  # type: ignore[attr-defined]


async def test_an_enqueue_is_logged_with_its_pointer(
    svc: Services, caplog: pytest.LogCaptureFixture
) -> None:
    from pigeon.services import jobs

    new = NewJob(WS, "inbound.imap", queue="inbound", payload={"provider": "imap", "uid": 7})
    with caplog.at_level(logging.INFO, logger="pigeon.services.jobs"):  # as in production
        [enqueued] = jobs.enqueue(svc, [new])
    [record] = [r for r in caplog.records if r.name == "pigeon.services.jobs"]
    assert record.action == "inbound_email_queue_enqueue"  # type: ignore[attr-defined]
    assert record.job_id == enqueued.job_id  # type: ignore[attr-defined]
    assert record.pointer == {"provider": "imap", "uid": 7}  # type: ignore[attr-defined]


async def test_jobs_still_running_past_the_grace_period_are_handed_back(svc: Services) -> None:
    started = asyncio.Event()

    async def stuck(_svc: Services, _job: object) -> None:
        started.set()
        await asyncio.sleep(3600)  # a provider that never answers

    ids = _put(svc, "stuck", 3)
    consumer = Consumer(svc, Q, {"stuck": stuck}, holder="w", concurrency=2)
    stop = asyncio.Event()
    runtime = Runtime([consumer], grace_seconds=0.2, hard_seconds=2)
    task = asyncio.create_task(runtime.run(stop))
    await asyncio.wait_for(started.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert {_status(svc, job_id) for job_id in ids} == {JobStatus.READY}
