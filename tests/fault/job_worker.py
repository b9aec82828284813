"""A job consumer process for the fault tests: pigeon's own runtime and consumer (with the
lease sweep timer) over a test queue whose handler appends `<job id> <pid> <start> <end>` to
a log file. Stops gracefully on SIGTERM.

    python -m tests.fault.job_worker BACKEND URL LOG_FILE [REDIS_PREFIX]
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from typing import Any

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import QueueSettings, Settings
from pigeon.workers.consumer import Consumer, reclaim_expired
from pigeon.workers.runtime import Runtime, Timer

QUEUE = "fault"
LEASE = float(os.environ.get("FAULT_LEASE_SECONDS", "1.0"))
JOB_SECONDS = float(os.environ.get("FAULT_JOB_SECONDS", "0.02"))
CONCURRENCY = int(os.environ.get("FAULT_CONCURRENCY", "4"))


def build(backend: str, url: str, prefix: str | None) -> Any:
    queue = QueueSettings(
        backend=backend, lease_seconds=LEASE, block_seconds=0.2, concurrency=CONCURRENCY
    )
    impl = None
    if backend == "redis":
        from pigeon.clock import SystemClock
        from pigeon.queue.redis_streams import RedisQueue

        impl = RedisQueue(url, SystemClock(), prefix=prefix or "fault:", lease_seconds=LEASE)
        url = f"sqlite:///{os.environ['FAULT_SQLITE']}"
    settings = Settings(database_url=url, queue=queue)
    return bootstrap.build(settings, bus=MemoryBus(), pool_size=4, queue=impl)


def main() -> None:
    backend, url, log_file = sys.argv[1:4]
    prefix = sys.argv[4] if len(sys.argv) > 4 else None
    svc = build(backend, url, prefix)
    log = open(log_file, "a", buffering=1)  # noqa: SIM115 (open for the process's life)

    async def work(_svc: Any, job: Any) -> None:
        started = time.time()
        await asyncio.sleep(JOB_SECONDS)
        log.write(f"{job.id} {os.getpid()} {started:.6f} {time.time():.6f}\n")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        consumer = Consumer(svc, QUEUE, {"work": work}, holder=f"fault-{os.getpid()}", batch=50)
        sweep = Timer("reclaim_jobs", LEASE / 2, lambda: reclaim_expired(svc))
        print("consumer ready", flush=True)
        await Runtime([consumer], [sweep], grace_seconds=5).run(stop)

    asyncio.run(run())
    svc.close()
    print("consumer stopped", flush=True)


if __name__ == "__main__":
    main()
