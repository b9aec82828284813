"""pigeon's job engine in the shared peer benchmark (../shared/bench-peers): SQLite,
PostgreSQL and Redis Streams backends, one adapter. See docs/benchmarks.md for how to run it.

Workers are pigeon's own runtime and consumer (`pigeon.workers`), running the harness's job
body (`bench_record.arecord`, one Redis round trip) for jobs of kind `noop`. The producer
enqueues one job per call through `JobQueue.enqueue`, as an application would.
"""

from __future__ import annotations

if __name__ == "__main__":  # the harness's entry point; must come first
    import sys

    import bench_common

    sys.exit(bench_common.main("pigeon_bench"))

import contextlib
import os

from bench_record import arecord

QUEUE = "bench"
SIDE_DB = "pigeon-side.db"  # Redis keeps the jobs; workspaces live in a small SQLite file


async def noop(_svc, job):
    await arecord(job.payload["i"], job.payload["t"])


def _database_url(backend, pg_dsn, sqlite_path):
    if backend == "postgres":
        return pg_dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    if backend == "redis":
        return f"sqlite:///{os.path.join(os.path.dirname(sqlite_path), SIDE_DB)}"
    return f"sqlite:///{sqlite_path}"


def _services(backend, redis_url, pg_dsn, sqlite_path, concurrency=1):
    from pigeon import bootstrap
    from pigeon.bus.memory import MemoryBus
    from pigeon.config import QueueSettings, Settings

    queue = QueueSettings(
        backend="redis" if backend == "redis" else "sql",
        concurrency=concurrency,
        block_seconds=1.0,
    )
    settings = Settings(
        database_url=_database_url(backend, pg_dsn, sqlite_path),
        redis_url=redis_url if backend == "redis" else None,
        queue=queue,
    )
    return bootstrap.build(settings, bus=MemoryBus(), pool_size=2)


def work():
    """A worker process: `python -c 'import pigeon_bench; pigeon_bench.work()'`."""
    import asyncio
    import signal

    from pigeon.api import server
    from pigeon.workers.consumer import Consumer, reclaim_expired
    from pigeon.workers.runtime import Runtime, Timer

    env = os.environ
    svc = _services(
        env["BENCH_BACKEND"],
        env["BENCH_REDIS_URL"],
        env["BENCH_PG_DSN"],
        env["BENCH_SQLITE_PATH"],
        int(env.get("BENCH_CONCURRENCY", "1")),
    )

    async def run():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        consumer = Consumer(svc, QUEUE, {"noop": noop}, holder=f"bench-{os.getpid()}")
        sweep = Timer("reclaim_jobs", svc.queue.lease_seconds / 2, lambda: reclaim_expired(svc))
        await Runtime([consumer], [sweep]).run(stop)

    server.run(run())  # uvloop, as `pigeon worker` runs
    svc.close()


class PigeonAdapter:
    name = "pigeon"
    package = "pigeon"
    backends = ("sqlite", "postgres", "redis")
    variants = ("default",)
    is_async = False

    def settings(self, cfg):
        return {
            "claim_batch_max": 100,
            "acks": "batched (100 jobs or 50 ms)",
            "lease_s": 30,
            "sqlite": "WAL, synchronous=FULL",
            "postgres_wakeup": "LISTEN/NOTIFY",
            "redis": "Streams + consumer group, Lua",
        }

    def reset(self, cfg):
        import bench_common as bc

        from pigeon.store import migrate

        if cfg.backend == "postgres":
            bc.reset_pg(cfg.pg_dsn)
        else:
            paths = [cfg.sqlite_path, os.path.join(os.path.dirname(cfg.sqlite_path), SIDE_DB)]
            for path in paths:
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path + suffix)
            os.makedirs(os.path.dirname(cfg.sqlite_path) or ".", exist_ok=True)
            if cfg.backend == "redis":
                bc.flush_redis(cfg.redis_url)
        migrate.upgrade(_database_url(cfg.backend, cfg.pg_dsn, cfg.sqlite_path))

    @contextlib.contextmanager
    def producer(self, cfg):
        from pigeon.domain.jobs import NewJob
        from pigeon.services import admin

        svc = _services(cfg.backend, cfg.redis_url, cfg.pg_dsn, cfg.sqlite_path)
        first = admin.first_workspace(svc)
        if first is None:
            first = admin.create_workspace(svc, name="bench", timezone="UTC", actor="bench")
            first = first.workspace
        workspace = first.id

        def enqueue(i, t):
            svc.queue.enqueue([NewJob(workspace, "noop", queue=QUEUE, payload={"i": i, "t": t})])

        try:
            yield enqueue
        finally:
            svc.close()

    def worker_cmds(self, cfg):
        import bench_common as bc

        command = [bc.venv_bin("python"), "-c", "import pigeon_bench; pigeon_bench.work()"]
        return [list(command) for _ in range(cfg.procs)]


ADAPTER = PigeonAdapter()
