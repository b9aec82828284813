"""The agent's rules, against an in-memory server: never send twice, never lose a result,
hand back what it will not send. (tests/fault/test_gateway_agents.py runs real agents
against a real server.)"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pigeon.gateway.agent import Agent
from pigeon.gateway.drivers.protocols import Outgoing, SendOutcome, SendResult
from pigeon.gateway.journal import Journal, Pending
from pigeon.gateway.server import Claim, Claimed, ItemResult, Unreachable
from pigeon.gateway.settings import AgentSettings

pytestmark = pytest.mark.anyio


@dataclass
class FakeServer:
    """Hands out `queue` in claims of `limit`, records reports and releases; `down` makes
    every call fail as an unreachable server's would."""

    queue: list[Claimed] = field(default_factory=list)
    lease_seconds: float = 60.0
    down: bool = False
    reports: list[Pending] = field(default_factory=list)
    released: list[tuple[str, str]] = field(default_factory=list)
    claims: int = 0

    def _check(self) -> None:
        if self.down:
            raise Unreachable("connection refused")

    async def claim(self, *, limit: int, wait: float) -> Claim:
        self._check()
        self.claims += 1
        taken, self.queue = self.queue[:limit], self.queue[limit:]
        if not taken:
            await asyncio.sleep(min(wait, 0.01))
        expires = datetime.now(UTC) + timedelta(seconds=self.lease_seconds)
        return Claim(taken, expires if taken else None)

    async def report(self, reports: Sequence[Pending]) -> list[ItemResult]:
        self._check()
        self.reports.extend(reports)
        return [ItemResult(r.message_id, r.status) for r in reports]

    async def release(self, claims: Sequence[tuple[str, str]]) -> list[ItemResult]:
        self._check()
        self.released.extend(claims)
        return [ItemResult(m, "released") for m, _t in claims]

    async def heartbeat(self) -> None:
        self._check()

    async def push_inbound(self, messages: Sequence[object]) -> tuple[int, int]:
        return len(messages), 0

    async def aclose(self) -> None:
        pass


class RecordingDriver:
    name = "recording"

    def __init__(self, outcome: SendOutcome = SendOutcome.SENT) -> None:
        self.sent: list[str] = []
        self.outcome = outcome
        self.on_send: threading.Event | None = None  # set while a send is under way
        self.hold: threading.Event | None = None  # a send waits for it

    def send(self, message: Outgoing) -> SendResult:
        if self.on_send is not None:
            self.on_send.set()
        if self.hold is not None:
            self.hold.wait(5)
        self.sent.append(message.id)
        return SendResult(self.outcome, None if self.outcome is SendOutcome.SENT else "nope")


def settings(tmp_path: Path, **values: object) -> AgentSettings:
    return AgentSettings(
        url="http://pigeon.test",
        token="t",
        name="test",
        driver="console",
        journal=tmp_path / "journal.db",
        poll_seconds=0.01,
        batch=5,
        heartbeat_seconds=3600,
        **values,  # type: ignore[arg-type]
    )


def claimed(n: int, token: str = "tok", *, handed_back: bool = False) -> Claimed:
    return Claimed(f"m{n}", "+14155550100", f"hello {n}", f"{token}-{n}", 1, handed_back)


async def run_until(agent: Agent, done: object, timeout: float = 5.0) -> None:
    """Run the agent until `done()` holds, then stop it and wait for it to end."""
    task = asyncio.create_task(agent.run())
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        assert not task.done(), task
        await asyncio.sleep(0.005)
    agent.stop()
    await asyncio.wait_for(task, 5)


def statuses(server: FakeServer) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for report in server.reports:
        seen.setdefault(report.message_id, []).append(report.status)
    return seen


async def test_every_claimed_message_is_sent_once_and_reported(tmp_path: Path) -> None:
    server = FakeServer([claimed(i) for i in range(12)])
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, Journal(tmp_path / "journal.db"))
    await run_until(agent, lambda: len(server.reports) == 12)
    assert driver.sent == [f"m{i}" for i in range(12)]
    assert {r.claim_token for r in server.reports} == {f"tok-{i}" for i in range(12)}
    assert all(s == ["sent"] for s in statuses(server).values())


async def test_a_send_in_doubt_after_a_crash_is_reported_unknown_never_sent(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.intend(Outgoing("m1", "+14155550100", "hi"), "tok-1")  # then the crash
    journal.intend(Outgoing("m2", "+14155550100", "hi"), "tok-2")
    journal.finish("m2", "sent", None)  # finished, never reported
    journal.close()
    # The server hands m1 back (its lease is still running): it must not be sent.
    server = FakeServer([claimed(1, handed_back=True)])
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, Journal(tmp_path / "journal.db"))
    await run_until(agent, lambda: server.claims > 2 and len(server.reports) >= 3)
    assert driver.sent == []
    assert statuses(server)["m1"][0] == "unknown"
    assert statuses(server)["m2"] == ["sent"]


async def test_a_message_handed_out_again_under_a_new_token_is_reported_not_resent(
    tmp_path: Path,
) -> None:
    """Its `sent` report was lost, the lease ran out and the server queued it again."""
    journal = Journal(tmp_path / "journal.db")
    journal.intend(Outgoing("m1", "+14155550100", "hi"), "old")
    journal.finish("m1", "sent", None)
    journal.acknowledge([Pending("m1", "old", "sent", None)])
    server = FakeServer([claimed(1, token="new")])
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, journal)
    await run_until(agent, lambda: len(server.reports) >= 1)
    assert driver.sent == []
    assert [(r.status, r.claim_token) for r in server.reports] == [("sent", "new-1")]


async def test_a_failed_send_is_sent_again_when_the_server_retries_it(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    journal.intend(Outgoing("m1", "+14155550100", "hi"), "first")
    journal.finish("m1", "failed", "no network")
    journal.acknowledge([Pending("m1", "first", "failed", "no network")])
    server = FakeServer([claimed(1, token="retry")])
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, journal)
    await run_until(agent, lambda: len(server.reports) >= 1)
    assert driver.sent == ["m1"]
    assert [(r.status, r.claim_token) for r in server.reports] == [("sent", "retry-1")]


async def test_results_wait_in_the_journal_while_the_server_is_down(tmp_path: Path) -> None:
    server = FakeServer([claimed(i) for i in range(3)])
    driver = RecordingDriver()
    journal = Journal(tmp_path / "journal.db")
    agent = Agent(settings(tmp_path), server, driver, journal)
    original = server.report

    async def report_while_down(reports: Sequence[Pending]) -> list[ItemResult]:
        raise Unreachable("connection refused")

    server.report = report_while_down  # type: ignore[method-assign]
    task = asyncio.create_task(agent.run())
    while len(driver.sent) < 3:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert journal.count_unreported() == 3
    server.report = original  # type: ignore[method-assign]
    while len(server.reports) < 3:
        await asyncio.sleep(0.02)
    agent.stop()
    await asyncio.wait_for(task, 5)
    assert journal.count_unreported() == 0
    assert sorted(statuses(server)) == ["m0", "m1", "m2"]


async def test_results_left_at_a_stop_are_reported_at_the_next_start(tmp_path: Path) -> None:
    server = FakeServer([claimed(i) for i in range(2)], down=False)
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, Journal(tmp_path / "journal.db"))

    async def never(reports: Sequence[Pending]) -> list[ItemResult]:
        raise Unreachable("connection refused")

    server.report = never  # type: ignore[method-assign]
    await run_until(agent, lambda: len(driver.sent) == 2)
    agent.journal.close()

    again = FakeServer()
    restarted = Agent(settings(tmp_path), again, driver, Journal(tmp_path / "journal.db"))
    await run_until(restarted, lambda: len(again.reports) == 2)
    assert driver.sent == ["m0", "m1"]
    assert sorted(statuses(again)) == ["m0", "m1"]


async def test_a_stop_finishes_the_send_under_way_and_hands_the_rest_back(
    tmp_path: Path,
) -> None:
    server = FakeServer([claimed(i) for i in range(5)])
    driver = RecordingDriver()
    driver.on_send, driver.hold = threading.Event(), threading.Event()
    agent = Agent(settings(tmp_path), server, driver, Journal(tmp_path / "journal.db"))
    task = asyncio.create_task(agent.run())
    await asyncio.to_thread(driver.on_send.wait, 5)  # m0 is being sent
    agent.stop()
    await asyncio.sleep(0.05)
    driver.hold.set()
    await asyncio.wait_for(task, 5)
    assert driver.sent == ["m0"]
    assert statuses(server) == {"m0": ["sent"]}
    assert server.released == [(f"m{i}", f"tok-{i}") for i in range(1, 5)]


async def test_claims_whose_lease_is_nearly_over_are_handed_back_unsent(tmp_path: Path) -> None:
    server = FakeServer([claimed(i) for i in range(3)], lease_seconds=0.4)
    driver = RecordingDriver()
    driver.hold = threading.Event()
    threading.Timer(0.6, driver.hold.set).start()  # the first send outlasts the lease
    agent = Agent(
        settings(tmp_path, send_timeout=0.05),
        server,
        driver,
        Journal(tmp_path / "journal.db"),
    )
    await run_until(agent, lambda: len(server.released) == 2)
    assert driver.sent == ["m0"]
    assert server.released == [("m1", "tok-1"), ("m2", "tok-2")]


async def test_a_driver_that_raises_leaves_the_message_unknown(tmp_path: Path) -> None:
    class Broken(RecordingDriver):
        def send(self, message: Outgoing) -> SendResult:
            raise RuntimeError("boom")

    server = FakeServer([claimed(1)])
    agent = Agent(settings(tmp_path), server, Broken(), Journal(tmp_path / "journal.db"))
    await run_until(agent, lambda: len(server.reports) == 1)
    assert server.reports[0].status == "unknown"
    assert "boom" in (server.reports[0].error or "")


@pytest.mark.parametrize("outcome", [SendOutcome.FAILED, SendOutcome.REJECTED])
async def test_failures_are_reported_with_their_error(tmp_path: Path, outcome: SendOutcome) -> None:
    server = FakeServer([claimed(1)])
    agent = Agent(
        settings(tmp_path), server, RecordingDriver(outcome), Journal(tmp_path / "journal.db")
    )
    await run_until(agent, lambda: len(server.reports) == 1)
    assert (server.reports[0].status, server.reports[0].error) == (outcome.value, "nope")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_failure_handed_back_under_the_same_claim_is_reported_not_resent(
    tmp_path: Path,
) -> None:
    """The next claim reached the server before the failure's report did: the server hands
    the message back under the same token, and the failure is reported, not tried again
    outside the server's backoff."""
    journal = Journal(tmp_path / "journal.db")
    journal.intend(Outgoing("m1", "+14155550100", "hi"), "tok-1")
    journal.finish("m1", "failed", "busy")
    server = FakeServer([claimed(1, handed_back=True)])
    driver = RecordingDriver()
    agent = Agent(settings(tmp_path), server, driver, journal)
    await run_until(agent, lambda: server.claims >= 2 and len(server.reports) >= 1)
    assert driver.sent == []
    assert (server.reports[0].status, server.reports[0].claim_token) == ("failed", "tok-1")


async def test_a_pace_longer_than_the_lease_hands_back_in_time_and_claims_less(
    tmp_path: Path,
) -> None:
    server = FakeServer([claimed(i) for i in range(4)], lease_seconds=0.6)
    driver = RecordingDriver()
    agent = Agent(
        settings(tmp_path, send_interval=5.0, send_timeout=0.1),
        server,
        driver,
        Journal(tmp_path / "journal.db"),
    )
    began = asyncio.get_running_loop().time()
    await run_until(agent, lambda: len(server.released) == 3)
    # Handed back before the lease ended (0.6 s), not after the 5 s pause.
    assert asyncio.get_running_loop().time() - began < 1.5
    assert driver.sent == ["m0"]
    assert agent._claim_limit == 1


async def test_a_stop_hands_the_rest_back_before_the_send_under_way_ends(
    tmp_path: Path,
) -> None:
    server = FakeServer([claimed(i) for i in range(3)])
    driver = RecordingDriver()
    driver.on_send, driver.hold = threading.Event(), threading.Event()
    agent = Agent(settings(tmp_path), server, driver, Journal(tmp_path / "journal.db"))
    task = asyncio.create_task(agent.run())
    await asyncio.to_thread(driver.on_send.wait, 5)
    agent.stop()
    for _ in range(200):
        if server.released:
            break
        await asyncio.sleep(0.01)
    assert server.released == [("m1", "tok-1"), ("m2", "tok-2")]
    assert driver.sent == []  # m0 is still being sent
    driver.hold.set()
    await asyncio.wait_for(task, 5)
    assert driver.sent == ["m0"]
    assert statuses(server) == {"m0": ["sent"]}
