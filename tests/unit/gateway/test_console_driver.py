"""The console driver: one JSON line per message, flushed, always sent."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime

import pytest

from pigeon.clock import FrozenClock
from pigeon.gateway.drivers.console import ConsoleDriver
from pigeon.gateway.drivers.protocols import Outgoing, SendOutcome

NOW = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_each_message_is_one_json_line() -> None:
    stream = CountingStream()
    driver = ConsoleDriver(stream, clock=FrozenClock(NOW))
    first = Outgoing("msg_1", "+15550100", 'two\nlines, "quoted", 🕊️', attempt=2)
    second = Outgoing("msg_2", "a@example.com", "")
    assert driver.send(first).outcome == SendOutcome.SENT
    assert driver.send(second).outcome == SendOutcome.SENT

    lines = stream.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "id": "msg_1",
            "recipient": "+15550100",
            "body": 'two\nlines, "quoted", 🕊️',
            "attempt": 2,
            "sent_at": "2025-03-01T12:30:00+00:00",
        },
        {
            "id": "msg_2",
            "recipient": "a@example.com",
            "body": "",
            "attempt": 1,
            "sent_at": "2025-03-01T12:30:00+00:00",
        },
    ]
    assert stream.flushes == 2  # each line is out before send returns


def test_it_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleDriver().send(Outgoing("msg_1", "+15550100", "hi"))
    assert json.loads(capsys.readouterr().out)["id"] == "msg_1"


def test_a_closed_stream_fails_instead_of_raising() -> None:
    stream = io.StringIO()
    stream.close()
    result = ConsoleDriver(stream).send(Outgoing("msg_1", "+15550100", "hi"))
    assert result.outcome == SendOutcome.FAILED
    assert result.error is not None and "console" in result.error


def test_lines_stay_whole_from_several_threads() -> None:
    stream = io.StringIO()
    driver = ConsoleDriver(stream)

    def send_many(worker: int) -> None:
        for n in range(200):
            driver.send(Outgoing(f"msg_{worker}_{n}", "+15550100", "x" * 50))

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {json.loads(line)["id"] for line in stream.getvalue().splitlines()}
    assert len(ids) == 800
