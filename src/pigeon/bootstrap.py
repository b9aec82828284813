"""The composition root: the one place that builds pigeon's parts and wires them together.

The API, the CLI, the workers and the tests all start from `build`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pigeon.bus.memory import MemoryBus
from pigeon.channels.console import ConsoleSender
from pigeon.clock import Clock, SystemClock
from pigeon.config import Settings, load_settings
from pigeon.domain.channels import ChannelKind
from pigeon.services.context import Services
from pigeon.store.database import Database, make_engine

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.bus.protocols import EventBus
    from pigeon.channels.protocols import Sender


@dataclass(frozen=True)
class Container:
    settings: Settings
    services: Services
    bus: EventBus
    senders: Mapping[str, Sender] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.services.db

    def close(self) -> None:
        self.db.dispose()


def build(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    bus: EventBus | None = None,
    pool_size: int = 10,
    senders: Mapping[str, Sender] | None = None,
) -> Container:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    if bus is None and settings.redis_url:
        from pigeon.bus.redis_pubsub import RedisBus  # only teams pay for importing redis

        bus = RedisBus(settings.redis_url)
    bus = bus or MemoryBus()
    db = Database(make_engine(settings.database_url, pool_size=pool_size), clock, bus.publish)
    if senders is None:
        senders = {ChannelKind.CONSOLE: ConsoleSender()}
    return Container(settings, Services(db, clock, settings), bus, senders)
