"""The agent's loops: claim and send, report, heartbeat (and inbound sync, in inbound.py).

Sending is one message at a time, in claim order, each through the journal: intent on
disk, the driver, result on disk, then a report in the background. Reports never block
sending, and nothing is lost while the server is away: the journal keeps every result
until the server acknowledges it.

On SIGTERM (`stop()`), the send under way finishes and is reported; the rest of the
claimed batch is handed back (`/v1/gateway/release`) so other devices take it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pigeon.gateway.drivers.protocols import Outgoing, SendOutcome
from pigeon.gateway.server import Refused, Unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from pigeon.gateway.drivers.protocols import Driver
    from pigeon.gateway.inbound import InboundSync
    from pigeon.gateway.journal import Journal
    from pigeon.gateway.server import Claim, Claimed, Server
    from pigeon.gateway.settings import AgentSettings

log = logging.getLogger("pigeon.gateway")
T = TypeVar("T")

STOP_GRACE_SECONDS = 10.0  # after the last send: for the release and the last reports
JOURNAL_KEEP_SECONDS = 7 * 86_400
DEFAULT_LEASE_SECONDS = 60.0
REPORTS_BEFORE_CLAIM_SECONDS = 2.0  # when the clocks disagree too much to trust the server's


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter, for a server that does not answer."""

    base: float = 0.5
    cap: float = 30.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        self.failures += 1
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** min(self.failures, 16)))

    def reset(self) -> None:
        self.failures = 0


class Agent:
    def __init__(
        self,
        settings: AgentSettings,
        server: Server,
        driver: Driver,
        journal: Journal,
        inbound: InboundSync | None = None,
    ) -> None:
        self.settings = settings
        self.server = server
        self.driver = driver
        self.journal = journal
        self.inbound = inbound
        self._stopping = asyncio.Event()
        self._to_report = asyncio.Event()
        self._claim_limit = settings.batch
        self.sent = 0

    def stop(self) -> None:
        """Finish the send under way, report it, hand the rest back, then return from run."""
        self._stopping.set()

    async def run(self) -> None:
        in_doubt = self.journal.settle_in_doubt()
        if in_doubt:
            log.warning(
                "%d sends were under way when the agent stopped: reported as unknown, "
                "not sent again",
                in_doubt,
            )
        self._to_report.set()  # whatever the journal kept from before
        background = [
            asyncio.create_task(self._report_loop(), name="reports"),
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
        ]
        if self.inbound is not None:
            background.append(asyncio.create_task(self._inbound_loop(), name="inbound"))
        log.info(
            "gateway %s started: %s driver, server %s",
            self.settings.name,
            self.driver.name,
            self.settings.url,
        )
        try:
            await self._claim_loop()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await self._last_reports()
            log.info("gateway %s stopped after %d sends", self.settings.name, self.sent)

    # Claim and send ------------------------------------------------------------------------

    async def _claim_loop(self) -> None:
        backoff = Backoff(cap=60.0)
        while not self._stopping.is_set():
            await self._reports_landed(REPORTS_BEFORE_CLAIM_SECONDS)
            try:
                claim = await self._unless_stopping(
                    self.server.claim(limit=self._claim_limit, wait=self.settings.poll_seconds)
                )
            except Unreachable as error:
                delay = backoff.next()
                log.warning("server unreachable (%s): claiming again in %.1f s", error, delay)
                await self._pause(delay)
                continue
            except Refused as error:
                delay = backoff.next()
                log.error("claim refused: %s; trying again in %.1f s%s", error, delay, _hint(error))
                await self._pause(delay)
                continue
            backoff.reset()
            if claim is not None and claim.messages:
                await self._work(claim)
            elif claim is not None and self.settings.poll_seconds == 0:
                await self._pause(1.0)  # no long-poll: do not spin

    async def _work(self, claim: Claim) -> None:
        deadline = self._deadline(claim)
        waiting = list(claim.messages)
        sent = 0
        while waiting and not self._stopping.is_set() and time.monotonic() < deadline:
            if sent and self.settings.send_interval:
                # Never past the lease: what cannot be sent in time goes back before it ends.
                await self._pause(min(self.settings.send_interval, deadline - time.monotonic()))
                if self._stopping.is_set() or time.monotonic() >= deadline:
                    break
            sending = asyncio.ensure_future(self._send(waiting.pop(0)))
            stopping = asyncio.ensure_future(self._stopping.wait())
            either: set[asyncio.Future[Any]] = {sending, stopping}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not sending.done() and waiting:
                # A stop: the rest goes back at once, while the send under way finishes.
                await self._release(waiting, "stopping")
                waiting = []
            await sending
            sent += 1
        if waiting:
            why = "stopping" if self._stopping.is_set() else "lease nearly over"
            await self._release(waiting, why)
            if not self._stopping.is_set():
                # Claim no more than can be sent within a lease next time.
                self._claim_limit = max(1, sent)
        else:
            self._claim_limit = min(self.settings.batch, self._claim_limit * 2)

    async def _send(self, message: Claimed) -> None:
        before = self.journal.get(message.id)
        decided = self.journal.reclaimed(message.id, message.claim_token)
        if decided is not None:
            # Handed out again (a lost answer, or a lease that ran out): the journal knows
            # what happened, so it is reported, never sent twice.
            same_claim = before is not None and before.claim_token == message.claim_token
            log.log(
                logging.DEBUG if same_claim else logging.INFO,
                "message %s was %s already: reported again",
                message.id,
                decided.outcome,
            )
            self._to_report.set()
            return
        outgoing = Outgoing(message.id, message.recipient, message.body, message.attempt)
        self.journal.intend(outgoing, message.claim_token)
        # Shielded: a stop or a cancellation lets the send under way finish and be recorded.
        result = await asyncio.shield(asyncio.to_thread(self._drive, outgoing))
        self.journal.finish(message.id, result[0], result[1])
        if result[0] == SendOutcome.SENT:
            self.sent += 1
        else:
            log.warning("message %s %s: %s", message.id, result[0], result[1])
        self._to_report.set()

    def _drive(self, outgoing: Outgoing) -> tuple[str, str | None]:
        try:
            result = self.driver.send(outgoing)
        except Exception as error:  # a driver bug: it may have sent, so never again
            log.exception("the %s driver failed on message %s", self.driver.name, outgoing.id)
            return SendOutcome.UNKNOWN, f"the {self.driver.name} driver failed: {error}"
        return result.outcome, result.error

    async def _release(self, messages: Sequence[Claimed], why: str) -> None:
        claims = [(m.id, m.claim_token) for m in messages]
        for attempt in range(3):
            try:
                results = await self.server.release(claims)
            except (Unreachable, Refused) as error:
                log.warning("could not hand back %d claims (%s)", len(claims), error)
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            released = sum(1 for r in results if r.status == "released")
            level = logging.INFO if released == len(claims) else logging.WARNING
            log.log(level, "handed back %d of %d claimed messages (%s)", released, len(claims), why)
            return
        log.warning(
            "%d claimed messages were not handed back: the server settles them when their "
            "lease ends",
            len(claims),
        )

    def _deadline(self, claim: Claim) -> float:
        """When to stop starting sends from this claim: its lease's end, less a send's time.
        The lease is measured against our clock; a clock too far off is not trusted."""
        if claim.lease_expires_at is None:
            return math.inf
        remaining = (claim.lease_expires_at - datetime.now(UTC)).total_seconds()
        if not 0 < remaining < 3600:
            remaining = DEFAULT_LEASE_SECONDS
        return time.monotonic() + remaining - min(self.settings.send_timeout, remaining / 4)

    # Reports -------------------------------------------------------------------------------

    async def _report_loop(self) -> None:
        backoff = Backoff()
        while True:
            await self._to_report.wait()
            self._to_report.clear()
            while await self._report_some() is not None:
                backoff.reset()
            if self.journal.count_unreported():
                delay = backoff.next()
                log.warning("reports kept in the journal; trying again in %.1f s", delay)
                await asyncio.sleep(delay)
                self._to_report.set()

    async def _report_some(self) -> int | None:
        """Report one batch from the journal: how many, or None when none was reported
        (nothing left, or the server did not take them)."""
        pending = self.journal.unreported()
        if not pending:
            return None
        try:
            results = await self.server.report(pending)
        except (Unreachable, Refused) as error:
            log.warning("could not report %d results: %s%s", len(pending), error, _hint(error))
            return None
        for result in results:
            if result.status is None:
                # Refused for good (another claim since, the lease's policy decided): the
                # server holds the truth now; nothing more to tell it.
                log.warning("report on %s refused: %s", result.message_id, result.detail)
        self.journal.acknowledge(pending)
        return len(pending)

    async def _reports_landed(self, timeout: float) -> None:
        """Wait (a little) for the results of the last claim to reach the server: a claim
        sent before them would be handed those messages back, as if their answer had been
        lost."""
        deadline = time.monotonic() + timeout
        while self.journal.outcomes_unreported() and time.monotonic() < deadline:
            self._to_report.set()
            await asyncio.sleep(0.005)

    async def _last_reports(self) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline:
            try:
                reported = await asyncio.wait_for(
                    self._report_some(), timeout=max(deadline - time.monotonic(), 0.1)
                )
            except TimeoutError:
                break
            if reported is None:
                break
        left = self.journal.count_unreported()
        if left:
            log.warning("%d results kept in the journal: reported at the next start", left)

    # Heartbeat and inbound -----------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self.server.heartbeat()
            except (Unreachable, Refused) as error:
                log.warning("heartbeat failed: %s%s", error, _hint(error))
            self.journal.prune(before=time.time() - JOURNAL_KEEP_SECONDS)
            await asyncio.sleep(self.settings.heartbeat_seconds)

    async def _inbound_loop(self) -> None:
        assert self.inbound is not None
        backoff = Backoff(cap=60.0)
        while True:
            try:
                if await self.inbound.step():
                    self._to_report.set()  # receipts to report
                backoff.reset()
                delay = self.settings.inbound_seconds
            except Exception as error:
                delay = backoff.next()
                log.warning("inbound sync failed (%s): trying again in %.1f s", error, delay)
            await asyncio.sleep(delay)

    # Helpers -------------------------------------------------------------------------------

    async def _unless_stopping(self, call: Awaitable[T]) -> T | None:
        """`call`'s result, or None if a stop came first (then the call is cancelled: a
        waiting claim whose client leaves claims nothing on the server)."""
        task: asyncio.Future[T] = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(self._stopping.wait())
        either: set[asyncio.Future[Any]] = {task, stopping}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if task.cancelled():
            return None
        return task.result()  # finished as the stop came: its messages are ours to hand back

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _hint(error: Any) -> str:
    if isinstance(error, Refused) and error.status == 401:
        return " (the device token was revoked or mistyped: check PIGEON_DEVICE_TOKEN)"
    return ""
