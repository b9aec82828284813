"""Job engine benchmark: drain rate and enqueue→start latency of no-op jobs, per backend.

    python bench/queue.py                        # SQLite, PostgreSQL and Redis
    python bench/queue.py --backends redis --jobs 50000
    python bench/queue.py --quick                # smoke run (< 60 s)

Prints progress lines, then ONE JSON object on the last line. See docs/benchmarks.md.

Per backend (a fresh SQLite file, a scratch PostgreSQL database, a fresh Redis key prefix):

1. Drain. `--jobs` no-op jobs are enqueued (batches of 500; the enqueue rate of single-job
   calls is measured apart), then P consumer processes (1, then 2) drain them with
   concurrency 1, each through pigeon's own `Consumer` (claims of up to 100, acks batched,
   lease heartbeat on). Rate = jobs / (first start .. last finish) over all processes, so
   process start-up is excluded. Every job is checked done exactly once.
2. Latency. One consumer process runs (`Consumer.run`, blocking claims); this process offers
   jobs at `--rate` per second for `--seconds`, one enqueue call per job (open loop: job k
   is due at start + k/rate). Each job carries its enqueue time; the handler records
   start - enqueue. p50/p99/max are reported.
3. Webhooks (PostgreSQL): see `--webhooks`; `pigeon serve` on PostgreSQL with its workers,
   an IMAP mailbox channel, signed webhook pointers fired by 16 keep-alive clients for
   `--seconds`; accepted (2xx) per second while the consumer drains the jobs.

Durability: SQLite WAL with synchronous=FULL (pigeon's setting, read back), PostgreSQL as
configured on this machine (fsync and synchronous_commit read back), Redis as running
(appendonly read back): all stated in the JSON.
"""

# ruff: noqa: E402 (the standard library must win over this file's name; see below)
from __future__ import annotations

import sys
from pathlib import Path

# This file is named as the issue names it, which shadows the standard library's `queue`
# for anything imported from here (psycopg imports it): the bench folder goes last.
_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in ("", _HERE)] + [_HERE]

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
import uuid
from typing import TYPE_CHECKING, Any

from _common import (
    DEFAULT_PG_ADMIN_URL,
    DEFAULT_REDIS_URL,
    machine_facts,
    percentile,
    pigeon_source,
    postgres_facts,
    progress,
    scratch_postgres,
    sqlite_facts,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

QUEUE = "bench"


# The engine, built the way pigeon builds it ------------------------------------------------


def build(backend: str, url: str, prefix: str) -> Any:
    """pigeon's services with the queue of `backend`, migrated."""
    from pigeon import bootstrap
    from pigeon.bus.memory import MemoryBus
    from pigeon.config import QueueSettings, Settings
    from pigeon.store import migrate

    database_url = url if backend != "redis" else f"sqlite:///{prefix}"
    queue = QueueSettings(
        backend="redis" if backend == "redis" else "sql",
        concurrency=1,
        block_seconds=1.0,
        lease_seconds=30.0,
    )
    settings = Settings(
        database_url=database_url,
        redis_url=DEFAULT_REDIS_URL if backend == "redis" else None,
        queue=queue,
    )
    migrate.upgrade(database_url)
    queue_impl = None
    if backend == "redis":
        from pigeon.clock import SystemClock
        from pigeon.queue.redis_streams import RedisQueue

        queue_impl = RedisQueue(
            DEFAULT_REDIS_URL, SystemClock(), prefix=f"pigeon-bench-{Path(prefix).stem}:"
        )
    return bootstrap.build(settings, bus=MemoryBus(), pool_size=2, queue=queue_impl)


def workspace_of(svc: Any) -> str:
    from pigeon.services import admin

    first = admin.first_workspace(svc)
    if first is not None:
        return str(first.id)
    created = admin.create_workspace(svc, name="bench", timezone="UTC", actor="bench")
    return str(created.workspace.id)


# Consumer processes ------------------------------------------------------------------------


def _drain_process(backend: str, url: str, prefix: str, out: Any) -> None:
    """A consumer process: drain the queue, report (count, first start, last finish)."""
    from pigeon.api import server
    from pigeon.workers.consumer import Consumer

    svc = build(backend, url, prefix)
    starts: list[float] = []

    async def noop(_svc: Any, _job: Any) -> None:
        starts.append(time.time())

    async def main() -> int:
        consumer = Consumer(svc, QUEUE, {"noop": noop}, holder=f"bench-{os.getpid()}", batch=100)
        return await consumer.drain()

    found: list[int] = []

    async def counted() -> None:
        found.append(await main())

    server.run(counted())  # uvloop, as `pigeon worker` runs
    count = found[0]
    out.put((count, starts[0] if starts else None, time.time()))
    svc.close()


def _latency_process(backend: str, url: str, prefix: str, expected: int, out: Any) -> None:
    """A consumer process that runs until it has started `expected` jobs."""
    from pigeon.api import server
    from pigeon.workers.consumer import Consumer

    svc = build(backend, url, prefix)
    waits: list[float] = []
    stop = asyncio.Event()

    async def noop(_svc: Any, job: Any) -> None:
        waits.append(time.time() - job.payload["t"])
        if len(waits) >= expected:
            stop.set()

    async def main() -> None:
        consumer = Consumer(svc, QUEUE, {"noop": noop}, holder=f"bench-{os.getpid()}", batch=100)
        await consumer.run(stop)

    out.put("ready")
    server.run(main())
    out.put(waits)
    svc.close()


# Measurements ------------------------------------------------------------------------------


def measure_drain(backend: str, url: str, prefix: str, jobs: int, procs: int) -> dict[str, Any]:
    from pigeon.domain.jobs import NewJob

    svc = build(backend, url, prefix)
    ws = workspace_of(svc)
    batch = [NewJob(ws, "noop", queue=QUEUE, payload={"i": i}) for i in range(500)]
    started = time.perf_counter()
    for _ in range(jobs // 500):
        svc.queue.enqueue(batch)
    enqueue_batch_rate = jobs / (time.perf_counter() - started)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [
        context.Process(target=_drain_process, args=(backend, url, prefix, out))
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    reports = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(60)
    done = sum(r[0] for r in reports)
    first = min(r[1] for r in reports if r[1] is not None)
    last = max(r[2] for r in reports)
    depth = svc.queue.depth(QUEUE)
    svc.close()
    return {
        "jobs": jobs,
        "ran": done,
        "left_ready": depth.ready,
        "drain_jobs_per_s": round(done / (last - first), 1),
        "enqueue_batched_jobs_per_s": round(enqueue_batch_rate, 1),
        "exactly_once": done == jobs and depth.ready == 0 and depth.claimed == 0,
    }


def measure_enqueue_single(backend: str, url: str, prefix: str, jobs: int) -> float:
    from pigeon.domain.jobs import NewJob

    svc = build(backend, url, prefix)
    ws = workspace_of(svc)
    started = time.perf_counter()
    for i in range(jobs):
        svc.queue.enqueue([NewJob(ws, "noop", queue="enqueue-only", payload={"i": i})])
    rate = jobs / (time.perf_counter() - started)
    svc.close()
    return round(rate, 1)


def measure_latency(
    backend: str, url: str, prefix: str, rate: float, seconds: float
) -> dict[str, Any]:
    from pigeon.domain.jobs import NewJob

    svc = build(backend, url, prefix)
    ws = workspace_of(svc)
    total = int(rate * seconds)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    worker = context.Process(target=_latency_process, args=(backend, url, prefix, total, out))
    worker.start()
    assert out.get(timeout=120) == "ready"
    time.sleep(1.0)  # the consumer's first claim is waiting
    start = time.perf_counter()
    lag = 0.0
    for k in range(total):
        due = start + k / rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        lag = max(lag, time.perf_counter() - due)
        svc.queue.enqueue([NewJob(ws, "noop", queue=QUEUE, payload={"t": time.time()})])
    waits = out.get(timeout=300)
    worker.join(30)
    svc.close()
    ms = [w * 1000 for w in waits]
    return {
        "offered_per_s": rate,
        "jobs": total,
        "started": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
        "max_producer_lag_ms": round(lag * 1000, 1),
    }


# Backends ------------------------------------------------------------------------------------


@contextlib.contextmanager
def backend_url(backend: str, args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str]]:
    """(database URL, a per-run prefix) for one measurement, cleaned up afterwards."""
    label = uuid.uuid4().hex[:8]
    prefix = str(workdir / f"{label}.db")
    if backend == "postgres":
        with scratch_postgres(args.pg_admin_url, "queue") as url:
            yield url.replace("postgresql://", "postgresql+psycopg://"), prefix
    else:
        yield f"sqlite:///{prefix}", prefix
        if backend == "redis":
            import redis

            client = redis.Redis.from_url(DEFAULT_REDIS_URL)
            keys = list(client.scan_iter(f"pigeon-bench-{label}:*"))
            if keys:
                client.delete(*keys)


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for procs in (1, 2):
        with backend_url(backend, args, workdir) as (url, prefix):
            progress(f"{backend}: drain {args.jobs} jobs, {procs} process(es)")
            result[f"drain_{procs}procs"] = measure_drain(backend, url, prefix, args.jobs, procs)
    with backend_url(backend, args, workdir) as (url, prefix):
        progress(f"{backend}: single enqueues")
        result["enqueue_single_jobs_per_s"] = measure_enqueue_single(
            backend, url, prefix, min(args.jobs, 5000)
        )
    with backend_url(backend, args, workdir) as (url, prefix):
        progress(f"{backend}: latency at {args.rate}/s for {args.seconds} s")
        result["latency"] = measure_latency(backend, url, prefix, args.rate, args.seconds)
    return result


# Webhooks ------------------------------------------------------------------------------------

PUSHER = "pubsub-pusher@proj.iam.gserviceaccount.com"


def measure_webhooks(args: argparse.Namespace, workdir: Path, *, split: bool) -> dict[str, Any]:
    """`pigeon serve` on PostgreSQL with its workers (or, `split`, the team shape: `serve
    --no-workers` beside one `pigeon worker`); Gmail pushes with real RS256 OIDC tokens from
    16 keep-alive clients for `--seconds`; accepted (2xx) per second while the consumer
    drains the pointer jobs (its fetch asks a fake Gmail for new history)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.fakes
    from tests.fakes.gmail import FakeGoogle
    from tests.fakes.server import serving

    from _common import Server, free_port, server_env
    from pigeon.clock import SystemClock

    google = FakeGoogle(mailbox="ann@example.org", clock=SystemClock())  # type: ignore[arg-type]
    with serving(google.app) as fake_url, scratch_postgres(args.pg_admin_url, "hooks") as url:
        google.base_url = fake_url
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        env = server_env(
            url.replace("postgresql://", "postgresql+psycopg://"),
            PIGEON_OPERATOR_TOKEN="bench-operator-token-0123456789",
            PIGEON_SECRET_KEY="bench-secret-key-" + "0" * 32,
            PIGEON_GOOGLE_CERTS_URL=f"{fake_url}/certs",
            PIGEON_PUBLIC_URL=public,
            PIGEON_IMAP_LISTENER="off",
            PIGEON_LOG_LEVEL="WARNING",
        )
        serve = ["serve", "--port", str(port)] + (["--no-workers"] if split else [])
        server = Server(serve, env, workdir / "hooks.log").start()
        worker = Server(["worker"], env, workdir / "hooks-worker.log").start() if split else None
        try:
            found = asyncio.run(_fire_pushes(server.url or public, google, args.seconds))
            return {**found, "shape": "serve --no-workers + worker" if split else "serve"}
        finally:
            if worker is not None:
                worker.stop()
            server.stop()


async def _fire_pushes(base: str, google: Any, seconds: float) -> dict[str, Any]:
    import httpx

    admin = {"Authorization": "Bearer bench-operator-token-0123456789"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as setup:
        made = (await setup.post("/v1/workspaces", json={"name": "hooks"}, headers=admin)).json()
        key = {"Authorization": f"Bearer {made['api_key']}"}
        config = {
            "mailbox": google.mailbox,
            "service_account_email": PUSHER,
            "credentials": google.service_account_info(),
            "topic": "projects/proj/topics/gmail",
            "api_base_url": google.base_url,
        }
        channel = (
            await setup.post(
                "/v1/channels", json={"kind": "gmail", "name": "g", "config": config}, headers=key
            )
        ).json()
    hook = channel["webhook_path"]
    token = google.google_key.sign(google.push_claims(channel["webhook_url"], PUSHER))
    auth = {"Authorization": f"Bearer {token}"}
    accepted = refused = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal accepted, refused
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=auth) as http:
            while time.monotonic() < deadline:
                answer = await http.post(hook, json=google.push_envelope())
                if 200 <= answer.status_code < 300:
                    accepted += 1
                else:
                    refused += 1

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(16)))
    elapsed = time.monotonic() - started
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=key) as reader:
        drained_by = time.monotonic() + 120
        while time.monotonic() < drained_by:
            stats = (await reader.get("/v1/stats")).json()["queues"]["inbound"]
            if stats["ready"] + stats["claimed"] + stats["scheduled"] == 0:
                break
            await asyncio.sleep(0.5)
        jobs = (await reader.get("/v1/jobs?status=done&limit=1")).json()["items"]
    return {
        "accepted": accepted,
        "refused": refused,
        "seconds": round(elapsed, 2),
        "accepted_per_s": round(accepted / elapsed, 1),
        "drained_after_s": round(time.monotonic() - started, 1),
        "left_in_queue": stats,
        "some_job_done": bool(jobs),
        "clients": 16,
    }


def durability(backends: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    if "sqlite" in backends or "redis" in backends:
        facts["sqlite"] = sqlite_facts(f"sqlite:///{workdir / 'facts.db'}")
    if "postgres" in backends:
        facts["postgres"] = postgres_facts(args.pg_admin_url)
    if "redis" in backends:
        import redis

        info = redis.Redis.from_url(DEFAULT_REDIS_URL).config_get("appendonly")
        facts["redis"] = {"appendonly": info.get("appendonly"), "note": "jobs live in Redis"}
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres,redis")
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--webhooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure signed Gmail webhooks accepted per second on PostgreSQL",
    )
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.seconds = 2000, 3.0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="pigeon-bench-queue-"))
    figures: dict[str, Any] = {}
    details: dict[str, Any] = {}
    try:
        for backend in backends:
            found = run_backend(backend, args, workdir)
            details[backend] = found
            figures[f"drain_jobs_per_s_{backend}"] = found["drain_1procs"]["drain_jobs_per_s"]
            figures[f"drain_jobs_per_s_{backend}_2procs"] = found["drain_2procs"][
                "drain_jobs_per_s"
            ]
            figures[f"p99_ms_at_{int(args.rate)}_per_s_{backend}"] = found["latency"]["p99_ms"]
            figures[f"enqueue_single_jobs_per_s_{backend}"] = found["enqueue_single_jobs_per_s"]
        if args.webhooks:
            for split in (False, True):
                progress(f"postgres: signed webhooks for {args.seconds} s, split={split}")
                details[f"webhooks_postgres_{'split' if split else 'one'}"] = measure_webhooks(
                    args, workdir, split=split
                )
            one, two = details["webhooks_postgres_one"], details["webhooks_postgres_split"]
            figures["webhooks_accepted_per_s_postgres"] = max(
                one["accepted_per_s"], two["accepted_per_s"]
            )
            figures["webhooks_accepted_per_s_postgres_one_process"] = one["accepted_per_s"]
        facts = durability(backends, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        json.dumps(
            {
                **figures,
                "units": "jobs/s for rates, milliseconds for latencies",
                "durability": facts,
                "details": details,
                "machine": machine_facts(),
                "pigeon": pigeon_source(),
            }
        )
    )


if __name__ == "__main__":
    main()
