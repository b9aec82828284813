"""The one worker runtime: runs a process's workers and upkeep timers until told to stop.

- Workers (the scheduler, the sender, each job consumer) run as supervised tasks: one that
  crashes is logged and started again after a capped backoff, so one bad pass never leaves a
  process serving the API with a dead worker behind it.
- Upkeep timers are named, synchronous chores (reclaiming expired job leases, renewing
  provider subscriptions) run in a thread every so many seconds; a failure is logged with the
  timer's name and the next round runs as planned.
- Stopping is graceful: each worker finishes what it started within `grace_seconds`, is then
  cancelled, and the runtime gives up on it after `hard_seconds` more, so a stuck worker
  cannot hold a process past its deployment's kill timeout.
- `drain` runs everything until nothing is left to do, for tests and scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from anyio import to_thread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

RESTART_BACKOFF = (0.5, 1.0, 2.0, 5.0, 15.0, 30.0)
# A worker that ran this long before it crashed starts again at the first backoff step.
HEALTHY_RUN_SECONDS = 60.0


class Worker(Protocol):
    name: str

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; finish what was started, then return."""
        ...

    async def drain(self) -> int:
        """Do everything that can be done now, without waiting; return how much was done."""
        ...


@dataclass(frozen=True)
class Timer:
    name: str
    every_seconds: float
    run: Callable[[], object]  # synchronous: runs in a thread


class Runtime:
    def __init__(
        self,
        workers: Sequence[Worker],
        timers: Sequence[Timer] = (),
        *,
        grace_seconds: float = 10.0,
        hard_seconds: float = 5.0,
    ) -> None:
        self.workers = list(workers)
        self.timers = list(timers)
        self.grace_seconds = grace_seconds
        self.hard_seconds = hard_seconds

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self._supervise(worker, stop), name=worker.name)
            for worker in self.workers
        ]
        tasks += [
            asyncio.create_task(self._every(timer, stop), name=f"timer:{timer.name}")
            for timer in self.timers
        ]
        try:
            await stop.wait()
        finally:
            stop.set()
            await self._stop(tasks)

    async def drain(self) -> dict[str, int]:
        """Run each timer once, then every worker's `drain` until a whole round does
        nothing; returns how much each worker did."""
        for timer in self.timers:
            await to_thread.run_sync(timer.run)
        done = {worker.name: 0 for worker in self.workers}
        while True:
            round_done = 0
            for worker in self.workers:
                count = await worker.drain()
                done[worker.name] += count
                round_done += count
            if not round_done:
                return done

    async def _supervise(self, worker: Worker, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                await worker.run(stop)
                return
            except Exception:
                if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                    failures = 0
                delay = RESTART_BACKOFF[min(failures, len(RESTART_BACKOFF) - 1)]
                failures += 1
                log.exception(
                    "worker crashed; starting it again",
                    extra={"action": "worker_restart", "worker": worker.name, "delay": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)

    async def _every(self, timer: Timer, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await to_thread.run_sync(timer.run)
            except Exception:
                log.exception(
                    "upkeep failed", extra={"action": "upkeep_failed", "timer": timer.name}
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timer.every_seconds)

    async def _stop(self, tasks: list[asyncio.Task[None]]) -> None:
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=self.grace_seconds)
        for task in pending:
            log.warning(
                "worker did not stop in time; cancelling it",
                extra={"action": "worker_cancelled", "worker": task.get_name()},
            )
            task.cancel()
        if pending:
            _done, stuck = await asyncio.wait(pending, timeout=self.hard_seconds)
            for task in stuck:
                log.error(
                    "worker ignored its cancellation; leaving it behind",
                    extra={"action": "worker_abandoned", "worker": task.get_name()},
                )
