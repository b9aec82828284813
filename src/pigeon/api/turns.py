"""Turns for writes on SQLite, taken on the event loop rather than on a thread.

SQLite has one writer at a time. When another process holds its lock, every write request
of this one would sit on a request thread until its bound ran out; sixty of them held every
thread, and reads and health checks waited behind them. Writes here queue for one of a few
turns without a thread, within the same bound (store/database.WRITE_DEADLINE), and answer
503 with Retry-After when it passes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from anyio import to_thread

from pigeon.errors import StorageUnavailable
from pigeon.store.database import WRITE_DEADLINE

T = TypeVar("T")
TURNS = 4  # one writes, the rest are ready on their threads to go next


class WriteTurns:
    def __init__(self, bound_seconds: float, *, turns: int = TURNS) -> None:
        self._bound = bound_seconds
        self._turns = asyncio.Semaphore(turns)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        deadline = time.monotonic() + self._bound
        try:
            if self._turns.locked():
                async with asyncio.timeout(self._bound):
                    await self._turns.acquire()
            else:
                await self._turns.acquire()  # free: no timer to arm
        except TimeoutError:
            raise StorageUnavailable(
                f"the database is busy: no turn to write within {self._bound:g} s "
                "(nothing was written; try again)"
            ) from None
        token = WRITE_DEADLINE.set(deadline)
        try:
            yield
        finally:
            WRITE_DEADLINE.reset(token)
            self._turns.release()

    async def run(self, fn: Callable[[], T]) -> T:
        """Run a write in a thread once it has its turn."""
        async with self.turn():
            return await to_thread.run_sync(fn)


async def unlimited(fn: Callable[[], T]) -> T:
    """PostgreSQL takes concurrent writers: no turns, just the thread."""
    return await to_thread.run_sync(fn)


Runner = Callable[[Callable[[], T]], Awaitable[T]]
