"""Leases and fencing under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest

from pigeon.clock import FrozenClock
from pigeon.domain.accounts import Device
from pigeon.domain.channels import LeaseExpiryPolicy
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import NotFound
from pigeon.services import admin, gateway, messages, scheduling
from pigeon.services.context import Principal, Services
from tests.factories import add_device, schedule

M = MessageStatus


def _claim_until_done(
    container: Services,
    device: Device,
    out: list[str],
    total: int,
    everyone: list[list[str]],
    errors: list[BaseException],
    start: threading.Barrier,
) -> None:
    # An empty claim is normal while another claimer holds rows; stop once all are handed out.
    try:
        start.wait()
        deadline = time.monotonic() + 30
        while sum(map(len, everyone)) < total and time.monotonic() < deadline:
            claimed = gateway.claim(container, device, limit=7).messages
            out.extend(m.id for m in claimed)
            time.sleep(0.002)  # the device sends; gives the others a turn at the lock
            sent = [gateway.Report(m.id, gateway.Outcome.SENT, m.claim_token) for m in claimed]
            if sent:
                assert all(r.error is None for r in gateway.report(container, device, sent))
    except BaseException as error:  # surfaced by the test
        errors.append(error)


def test_concurrent_gateways_never_share_or_skip(container: Services, who: Principal) -> None:
    total = 300
    created = {m.id for m in schedule(container, who, count=total)}
    devices = [add_device(container, who, f"mac-{i}") for i in range(4)]
    results: list[list[str]] = [[] for _ in devices]
    errors: list[BaseException] = []
    start = threading.Barrier(len(devices))
    threads = [
        threading.Thread(
            target=_claim_until_done,
            args=(container, device, results[i], total, results, errors, start),
        )
        for i, device in enumerate(devices)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    handed_out = Counter(mid for result in results for mid in result)
    assert max(handed_out.values()) == 1, "a message was handed out twice"
    assert set(handed_out) == created, "an eligible message was skipped"
    assert sum(1 for r in results if r) >= 2, "claims did not interleave"


def test_device_pinned_messages_go_to_their_device(container: Services, who: Principal) -> None:
    svc = container
    mine, other = add_device(container, who, "mine"), add_device(container, who, "other")
    [pinned] = schedule(container, who, device_id=mine.id)
    [free] = schedule(container, who)
    assert [m.id for m in gateway.claim(svc, other).messages] == [free.id]
    assert [m.id for m in gateway.claim(svc, mine).messages] == [pinned.id]


def test_a_claim_is_leased_so_another_device_skips_it(container: Services, who: Principal) -> None:
    device, other = add_device(container, who), add_device(container, who, "other")
    schedule(container, who, count=2)
    assert len(gateway.claim(container, device).messages) == 2
    assert gateway.claim(container, other).messages == []


def test_a_claim_whose_answer_was_lost_is_handed_back_not_left_to_expire(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    """A device that claims again gets the claims it holds unreported first, under the same
    tokens and a renewed lease, then new work; they never end `unknown` for want of it."""
    svc = container
    device = add_device(container, who)
    schedule(container, who, count=2)
    lost = gateway.claim(svc, device, limit=2)  # the answer never reached the device
    [later] = schedule(container, who)
    clock.advance(timedelta(seconds=svc.settings.lease_seconds - 5))
    again = gateway.claim(svc, device, limit=5)
    assert [m.id for m in again.messages[:2]] == [m.id for m in lost.messages]
    assert [m.claim_token for m in again.messages[:2]] == [m.claim_token for m in lost.messages]
    assert again.handed_back == {m.id for m in lost.messages}
    assert again.messages[2].id == later.id and later.id not in again.handed_back
    assert all(m.attempts == 1 for m in again.messages)  # handing back is not a new attempt
    clock.advance(timedelta(seconds=10))  # past the first lease, inside the renewed one
    assert scheduling.expire_leases(svc) == scheduling.Sweep()
    reports = [gateway.Report(m.id, gateway.Outcome.SENT, m.claim_token) for m in again.messages]
    assert all(r.error is None for r in gateway.report(svc, device, reports))
    assert gateway.claim(svc, device).messages == []


def _expire(container: Services, clock: FrozenClock) -> scheduling.Sweep:
    clock.advance(timedelta(seconds=container.settings.lease_seconds + 1))
    return scheduling.expire_leases(container)


def test_expired_lease_becomes_unknown_and_a_late_report_settles_it(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    device = add_device(container, who)
    schedule(container, who)
    [claimed] = gateway.claim(svc, device).messages
    assert _expire(container, clock) == scheduling.Sweep(unknown=1)
    assert messages.get(svc, who, claimed.id).message.status is M.UNKNOWN
    # Nobody claimed it since: the holder's late report is still the truth.
    [late] = gateway.report(
        svc, device, [gateway.Report(claimed.id, gateway.Outcome.SENT, claimed.claim_token)]
    )
    assert late.message is not None and late.message.status is M.SENT


def test_stale_lease_cannot_overwrite_the_newer_claim(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    [gateway_channel] = [c for c in admin.list_channels(svc, who) if c.is_default]
    admin.update_channel(svc, who, gateway_channel.id, on_lease_expiry=LeaseExpiryPolicy.RETRY)
    paused, healthy = add_device(container, who, "paused"), add_device(container, who, "healthy")
    schedule(container, who)
    [first] = gateway.claim(svc, paused).messages
    assert _expire(container, clock) == scheduling.Sweep(requeued=1)
    clock.advance(timedelta(hours=2))  # past any backoff
    [second] = gateway.claim(svc, healthy).messages
    assert second.id == first.id and second.claim_token != first.claim_token
    [done] = gateway.report(
        svc, healthy, [gateway.Report(second.id, gateway.Outcome.SENT, second.claim_token)]
    )
    assert done.message is not None and done.message.status is M.SENT
    # The paused device wakes up and reports failure with its old token: refused, and as
    # the message is another device's now, as not found (it learns nothing of it).
    [stale] = gateway.report(
        svc,
        paused,
        [gateway.Report(first.id, gateway.Outcome.FAILED, first.claim_token, "timeout")],
    )
    assert isinstance(stale.error, NotFound)
    # Same when it presents the new token it never had, or reports on the healthy one's claim.
    [forged] = gateway.report(
        svc, paused, [gateway.Report(first.id, gateway.Outcome.FAILED, second.claim_token)]
    )
    assert isinstance(forged.error, NotFound)
    final = messages.get(svc, who, first.id)
    assert final.message.status is M.SENT and final.message.last_error is not None
    assert [e.to_status for e in final.events][-1] is M.SENT


def test_retry_policy_gives_up_after_max_attempts(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    [channel] = [c for c in admin.list_channels(svc, who) if c.is_default]
    admin.update_channel(svc, who, channel.id, on_lease_expiry="retry")
    device = add_device(container, who)
    [message] = schedule(container, who)
    for _ in range(svc.settings.retry.max_attempts - 1):
        assert gateway.claim(svc, device).messages
        assert _expire(container, clock).requeued == 1
        clock.advance(timedelta(hours=2))
    assert gateway.claim(svc, device).messages
    assert _expire(container, clock).failed == 1
    assert messages.get(svc, who, message.id).message.status is M.FAILED


def test_repeated_report_is_harmless(container: Services, who: Principal) -> None:
    svc = container
    device = add_device(container, who)
    schedule(container, who)
    [claimed] = gateway.claim(svc, device).messages
    report = gateway.Report(claimed.id, gateway.Outcome.SENT, claimed.claim_token)
    first, again = gateway.report(svc, device, [report, report])
    assert first.message and again.message and again.message.status is M.SENT
    assert len(messages.get(svc, who, claimed.id).events) == 4


def test_workspaces_are_isolated(container: Services, who: Principal) -> None:
    svc = container
    other_ws = admin.create_workspace(svc, name="other", timezone="UTC", actor="test")
    other = Principal(other_ws.workspace.id, "test", frozenset({"admin"}))
    stranger = add_device(container, other, "stranger")
    [message] = schedule(container, who)
    assert gateway.claim(svc, stranger).messages == []
    [result] = gateway.report(
        svc, stranger, [gateway.Report(message.id, gateway.Outcome.SENT, "x")]
    )
    assert result.error is not None and result.message is None
    with pytest.raises(Exception, match="no such message"):
        messages.get(svc, other, message.id)
    assert messages.get(svc, who, message.id).message.status in (M.QUEUED, M.RELEASED)
