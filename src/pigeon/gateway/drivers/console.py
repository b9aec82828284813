"""The `console` driver: prints each message as one JSON line and calls it sent.

For trying the agent out off a Mac, and for tests and benchmarks: nothing leaves the machine.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TYPE_CHECKING

from pigeon.clock import SystemClock
from pigeon.gateway.drivers.protocols import SendOutcome, SendResult

if TYPE_CHECKING:
    from typing import TextIO

    from pigeon.clock import Clock
    from pigeon.gateway.drivers.protocols import Outgoing


class ConsoleDriver:
    name = "console"

    def __init__(self, stream: TextIO | None = None, *, clock: Clock | None = None) -> None:
        self._stream = stream
        self._clock = clock or SystemClock()
        # A line is one write then a flush; the lock keeps two callers' lines whole.
        self._lock = threading.Lock()

    def send(self, message: Outgoing) -> SendResult:
        line = json.dumps(  # ASCII only: newlines and emoji in a body stay on one line
            {
                "id": message.id,
                "recipient": message.recipient,
                "body": message.body,
                "attempt": message.attempt,
                "sent_at": self._clock.now().isoformat(),
            }
        )
        # Looked up per send, so a test's or a caller's replaced sys.stdout is honoured.
        stream = self._stream if self._stream is not None else sys.stdout
        try:
            with self._lock:
                stream.write(line + "\n")
                stream.flush()
        except (OSError, ValueError) as error:  # a closed stream, a broken pipe
            return SendResult(SendOutcome.FAILED, f"cannot write to the console: {error}")
        return SendResult(SendOutcome.SENT, service="console")
