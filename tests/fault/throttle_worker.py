"""A releasing process for the throttle concurrency test: pigeon's own release step, run
in a loop on a clock that runs `FAULT_SPEED` times faster than the wall clock from a start
every process shares, so that three processes live one simulated hour in a minute.

    python -m tests.fault.throttle_worker URL EPOCH SIM_START SPEED SIM_SECONDS
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.config import Settings
from pigeon.services import scheduling


class FastClock:
    """Simulated time: `start` at wall time `epoch`, then `speed` times faster."""

    def __init__(self, epoch: float, start: datetime, speed: float) -> None:
        self.epoch, self.start, self.speed = epoch, start, speed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.speed)


def main() -> None:
    url, epoch, start, speed, span = sys.argv[1:6]
    clock = FastClock(float(epoch), datetime.fromisoformat(start), float(speed))
    svc = bootstrap.build(Settings(database_url=url), clock=clock, bus=MemoryBus(), pool_size=2)
    end = clock.start + timedelta(seconds=float(span))
    print("ready", flush=True)
    try:
        while clock.now() < end:
            step = scheduling.release_due(svc, limit=50)
            if step.considered < 50:
                time.sleep(0.002)
    finally:
        svc.close()


if __name__ == "__main__":
    main()
