"""Group commit for ingress: concurrent webhook requests share one enqueue.

Each request's answer must wait for its jobs to be durable, and a commit (an fsync) costs more
than the insert it makes durable. So requests that arrive while a commit is under way wait
for the next one and go in together: the first request to find no commit running becomes the
leader and writes everything added since, in one enqueue, until nothing is left; the others
wait for their share of the result. An idle server commits each request at once (no timer,
no added latency); a busy one commits in proportion to its disk, not to its requests.

A failure of a shared commit fails every request in it (each answers 503 and its provider
retries); jobs are checked before they join, so one bad request cannot fail the others.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

from pigeon.domain import jobs as job_rules

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pigeon.domain.jobs import Enqueued, NewJob

WAIT_SECONDS = 60.0  # a follower's bound; the leader's enqueue has its own timeouts


class GroupCommit:
    def __init__(self, write: Callable[[Sequence[NewJob]], list[Enqueued]]) -> None:
        self._write = write  # enqueue durably, in order, one result per job
        self._lock = threading.Lock()
        self._pending: list[tuple[Sequence[NewJob], Future[list[Enqueued]]]] = []
        self._leading = False

    def enqueue(self, new: Sequence[NewJob]) -> list[Enqueued]:
        for job in new:
            job_rules.check_new(job)
        mine: Future[list[Enqueued]] = Future()
        with self._lock:
            self._pending.append((new, mine))
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        return mine.result(timeout=WAIT_SECONDS)

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._leading = False
                    return
            try:
                results = self._write([job for jobs, _ in batch for job in jobs])
            except BaseException as error:
                for _, waiter in batch:
                    waiter.set_exception(error)
                if not isinstance(error, Exception):
                    with self._lock:
                        self._leading = False
                    raise
                continue
            start = 0
            for jobs, waiter in batch:
                waiter.set_result(results[start : start + len(jobs)])
                start += len(jobs)
