"""The composition root: the one place that builds pigeon's parts and wires them together.

The API, the CLI, the workers and the tests all start from `build`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pigeon.bus.memory import MemoryBus
from pigeon.channels.console import ConsoleSender
from pigeon.clock import Clock, SystemClock
from pigeon.config import Settings, load_settings
from pigeon.domain.channels import ChannelKind
from pigeon.extract.settings import Deferred, build_extractor
from pigeon.services.context import Services
from pigeon.store.database import Database, make_engine

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.bus.protocols import EventBus
    from pigeon.channels.protocols import Sender
    from pigeon.extract.protocols import Extractor
    from pigeon.queue.protocols import JobQueue


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    pool_size: int | None = None,
    senders: Mapping[str, Sender] | None = None,
    queue: JobQueue | None = None,
    extractor: Extractor | None = None,
) -> Services:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    if bus is None and settings.redis_url:
        from pigeon.bus.redis_pubsub import RedisBus  # only teams pay for importing redis

        bus = RedisBus(settings.redis_url)
    bus = bus or MemoryBus()
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size if pool_size is None else pool_size,
        busy_seconds=settings.sqlite_busy_seconds,
    )
    db = Database(engine, clock, bus.publish, busy_seconds=settings.sqlite_busy_seconds)
    if senders is None:
        senders = {ChannelKind.CONSOLE: ConsoleSender()}
    if extractor is None:
        # Built on first use: the API's start and the CLI's quick commands never need it.
        extract = settings.extract
        extractor = Deferred(lambda: build_extractor(extract))
    return Services(
        db,
        clock,
        settings,
        bus,
        queue or _queue(settings, db, clock),
        extractor=extractor,
        senders=senders,
    )


def _queue(settings: Settings, db: Database, clock: Clock) -> JobQueue:
    options = settings.queue
    if options.backend == "redis" and settings.redis_url:
        from pigeon.queue.redis_streams import RedisQueue

        return RedisQueue(
            settings.redis_url,
            clock,
            lease_seconds=options.lease_seconds,
            max_attempts=options.max_attempts,
        )
    from pigeon.queue.sql import SqlQueue

    return SqlQueue(db, lease_seconds=options.lease_seconds, max_attempts=options.max_attempts)
