"""The job engine under process faults, on SQLite, PostgreSQL and Redis:

- a consumer SIGKILLed while it holds leases: every job still ends done, and the jobs it
  held are run again by the surviving consumer within twice the lease;
- a consumer SIGTERMed mid-batch: it stops within its grace period and hands back the jobs
  it had claimed but not started, at once (none is left to wait out its lease).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from pigeon.domain.ids import new_id
from pigeon.domain.jobs import NewJob
from pigeon.domain.transitions import JobStatus
from pigeon.store import migrate
from tests.conftest import REDIS_URL, service_missing
from tests.fault.conftest import budget

pytestmark = [pytest.mark.fault, pytest.mark.xdist_group("fault"), budget(90)]

LEASE = 1.0
REPO = Path(__file__).resolve().parents[2]


class Engine:
    """The queue of one backend, seen from the test, and consumer processes on it."""

    def __init__(self, backend: str, url: str, tmp: Path) -> None:
        self.backend, self.url, self.tmp = backend, url, tmp
        self.prefix = f"fault-{uuid.uuid4().hex[:8]}:"
        self.sqlite = tmp / "side.db"
        self.log = tmp / "runs.log"
        self.log.touch()
        db_url = url if backend != "redis" else f"sqlite:///{self.sqlite}"
        migrate.upgrade(db_url)
        queue = None
        if backend == "redis":
            from pigeon.clock import SystemClock
            from pigeon.queue.redis_streams import RedisQueue

            queue = RedisQueue(url, SystemClock(), prefix=self.prefix, lease_seconds=LEASE)
        self.svc = bootstrap.build(
            Settings(database_url=db_url), bus=MemoryBus(), pool_size=2, queue=queue
        )
        self.workspace = new_id()
        if backend != "redis":
            from pigeon.services import admin

            made = admin.create_workspace(self.svc, name="f", timezone="UTC", actor="t")
            self.workspace = made.workspace.id
        self.processes: list[subprocess.Popen[str]] = []

    def enqueue(self, count: int) -> list[str]:
        new = [
            NewJob(self.workspace, "work", queue="fault", payload={"n": n}) for n in range(count)
        ]
        return [e.job_id for e in self.svc.queue.enqueue(new)]

    def consumer(self, **env: str) -> subprocess.Popen[str]:
        args = [
            sys.executable,
            "-m",
            "tests.fault.job_worker",
            self.backend,
            self.url,
            str(self.log),
        ]
        if self.backend == "redis":
            args.append(self.prefix)
        environ = {
            **os.environ,
            "FAULT_LEASE_SECONDS": str(LEASE),
            "FAULT_SQLITE": str(self.sqlite),
            **env,
        }
        process = subprocess.Popen(args, cwd=REPO, env=environ, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "consumer ready"
        self.processes.append(process)
        return process

    def runs(self) -> list[tuple[str, int, float, float]]:
        rows = []
        for line in self.log.read_text().splitlines():
            job_id, pid, start, end = line.split()
            rows.append((job_id, int(pid), float(start), float(end)))
        return rows

    def statuses(self, ids: list[str]) -> dict[str, JobStatus]:
        found = {}
        for job_id in ids:
            job = self.svc.queue.get(self.workspace, job_id)
            assert job is not None
            found[job_id] = job.status
        return found

    def wait_all_done(self, ids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(self.statuses(ids).values()) == {JobStatus.DONE}:
                return
            time.sleep(0.1)
        left = {k: v for k, v in self.statuses(ids).items() if v != JobStatus.DONE}
        pytest.fail(f"{len(left)} jobs not done after {timeout} s: {list(left.items())[:5]}")

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
        self.svc.close()
        if self.backend == "redis":
            client = redis.Redis.from_url(self.url)
            keys = list(client.scan_iter(f"{self.prefix}*"))
            if keys:
                client.delete(*keys)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    elif backend == "postgres":
        url = request.getfixturevalue("scratch_postgres_url")
    else:
        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError as error:
            service_missing("Redis", error)
        url = REDIS_URL
    built = Engine(backend, url, tmp_path)
    yield built
    built.close()


def test_a_killed_consumers_jobs_are_recovered_within_twice_the_lease(engine: Engine) -> None:
    ids = engine.enqueue(300)
    # Slow jobs: the doomed consumer holds several leases when it dies, and cannot finish
    # the queue (300 jobs at 16 a second) while the survivor starts on a loaded machine.
    doomed = engine.consumer(FAULT_JOB_SECONDS="0.25", FAULT_CONCURRENCY="4")
    deadline = time.monotonic() + 20
    while len(engine.runs()) < 8:
        assert time.monotonic() < deadline, "the first consumer ran nothing"
        time.sleep(0.02)
    survivor = engine.consumer(FAULT_JOB_SECONDS="0.01", FAULT_CONCURRENCY="4")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    killed_at = time.time()
    engine.wait_all_done(ids, timeout=60)

    runs = engine.runs()
    finished_by_doomed = {job for job, pid, _s, _e in runs if pid == doomed.pid}
    reclaimed = {
        job.id
        for job in (engine.svc.queue.get(engine.workspace, i) for i in ids)
        if job is not None and job.attempts >= 2
    }
    assert reclaimed, "the killed consumer held no lease: the test proved nothing"
    assert set(ids) == finished_by_doomed | {job for job, pid, *_ in runs if pid == survivor.pid}
    # Each reclaimed job ran again on the survivor within twice the lease of the kill.
    restarts = {
        job: start for job, pid, start, _e in runs if pid == survivor.pid and job in reclaimed
    }
    assert set(restarts) == reclaimed
    worst = max(restarts.values()) - killed_at
    assert worst <= 2 * LEASE, f"a reclaimed job waited {worst:.2f} s after the kill"


def test_sigterm_hands_back_unstarted_jobs_at_once(engine: Engine) -> None:
    ids = engine.enqueue(400)
    consumer = engine.consumer(FAULT_JOB_SECONDS="0.001", FAULT_CONCURRENCY="1")
    deadline = time.monotonic() + 20
    while len(engine.runs()) < 150:  # fast jobs: claims have grown to whole batches
        assert time.monotonic() < deadline, "the consumer ran too little"
        time.sleep(0.005)
    consumer.send_signal(signal.SIGTERM)
    consumer.wait(10)
    assert consumer.returncode == 0
    statuses = engine.statuses(ids)
    ran = {job for job, *_ in engine.runs()}
    left = [i for i in ids if i not in ran]
    assert left, "the consumer finished everything before the stop: the test proved nothing"
    assert JobStatus.CLAIMED not in statuses.values()
    for job_id in left:
        job: Any = engine.svc.queue.get(engine.workspace, job_id)
        assert job.status == JobStatus.READY and job.attempts == 0
    assert {statuses[j] for j in ran} == {JobStatus.DONE}
