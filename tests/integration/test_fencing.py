"""A lease whose holder lost it: what its token may still do, on both lease-expiry policies.

The rule: once a lease has ended, its token can no longer fail, requeue or otherwise steer
the message; a late `sent` or `delivered` from the last holder is still recorded while no
other claim exists (it prevents a second send); once another claim exists, every report
under the old token is refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pigeon.clock import FrozenClock
from pigeon.domain.accounts import Device
from pigeon.domain.channels import LeaseExpiryPolicy
from pigeon.domain.messages import Message
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import LeaseExpired, NotFound
from pigeon.services import admin, gateway, messages, scheduling
from pigeon.services.context import Principal, Services
from tests.factories import add_device, schedule

M = MessageStatus


def _policy(container: Services, who: Principal, policy: LeaseExpiryPolicy) -> None:
    [channel] = [c for c in admin.list_channels(container, who) if c.is_default]
    admin.update_channel(container, who, channel.id, on_lease_expiry=policy)


def _lose_the_lease(container: Services, clock: FrozenClock) -> scheduling.Sweep:
    clock.advance(timedelta(seconds=container.settings.lease_seconds + 1))
    return scheduling.expire_leases(container)


def _report(
    container: Services, device: Device, message: Message, outcome: gateway.Outcome, error: str = ""
) -> gateway.ReportResult:
    [result] = gateway.report(
        container, device, [gateway.Report(message.id, outcome, message.claim_token, error or None)]
    )
    return result


def _one_claimed(container: Services, who: Principal) -> tuple[Device, Message]:
    """A device of the workspace holding the lease on one due message."""
    holder = add_device(container, who)
    schedule(container, who)
    [claimed] = gateway.claim(container, holder).messages
    return holder, claimed


def _history(container: Services, who: Principal, message: Message) -> list[MessageStatus]:
    return [e.to_status for e in messages.get(container, who, message.id).events]


def test_a_stale_holder_cannot_requeue_a_message_released_again(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    _policy(container, who, LeaseExpiryPolicy.RETRY)
    holder = add_device(container, who, "slow mac")
    schedule(container, who)
    [claimed] = gateway.claim(container, holder).messages
    assert _lose_the_lease(container, clock) == scheduling.Sweep(requeued=1)
    clock.advance(timedelta(hours=2))  # past the backoff
    assert len(scheduling.release_due(container).released) == 1
    before = _history(container, who, claimed)
    for _ in range(3):  # and again: it could once do so on every release
        late = _report(container, holder, claimed, gateway.Outcome.FAILED, "timeout")
        assert isinstance(late.error, LeaseExpired), late
    now = messages.get(container, who, claimed.id).message
    assert now.status is M.RELEASED and now.scheduled_for <= clock.now()
    assert _history(container, who, claimed) == before  # nothing written


@pytest.mark.parametrize("policy", list(LeaseExpiryPolicy))
def test_a_late_send_report_is_recorded_and_nobody_sends_again(
    container: Services, who: Principal, clock: FrozenClock, policy: LeaseExpiryPolicy
) -> None:
    _policy(container, who, policy)
    holder, other = add_device(container, who, "slow mac"), add_device(container, who, "spare")
    schedule(container, who)
    [claimed] = gateway.claim(container, holder).messages
    _lose_the_lease(container, clock)
    clock.advance(timedelta(hours=2))
    late = _report(container, holder, claimed, gateway.Outcome.SENT)
    assert late.error is None and late.message is not None
    assert late.message.status is M.SENT
    assert gateway.claim(container, other).messages == []  # no second send
    assert messages.get(container, who, claimed.id).message.sent_at == clock.now()


@pytest.mark.parametrize("policy", list(LeaseExpiryPolicy))
def test_a_late_failure_cannot_steer_on_either_policy(
    container: Services, who: Principal, clock: FrozenClock, policy: LeaseExpiryPolicy
) -> None:
    _policy(container, who, policy)
    holder, claimed = _one_claimed(container, who)
    _lose_the_lease(container, clock)
    ended = messages.get(container, who, claimed.id).message
    late = _report(container, holder, claimed, gateway.Outcome.FAILED, "buddy not found")
    assert isinstance(late.error, LeaseExpired)
    assert messages.get(container, who, claimed.id).message == ended


def test_a_failure_after_the_lease_ran_out_is_refused_before_the_sweep(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    holder, claimed = _one_claimed(container, who)
    clock.advance(timedelta(seconds=container.settings.lease_seconds + 1))  # no sweep yet
    assert isinstance(
        _report(container, holder, claimed, gateway.Outcome.FAILED).error, LeaseExpired
    )
    sent = _report(container, holder, claimed, gateway.Outcome.SENT)  # it did go out: recorded
    assert sent.message is not None and sent.message.status is M.SENT


def test_every_report_under_an_old_token_is_refused_once_another_claim_exists(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    _policy(container, who, LeaseExpiryPolicy.RETRY)
    holder, other = add_device(container, who, "slow mac"), add_device(container, who, "spare")
    schedule(container, who)
    [first] = gateway.claim(container, holder).messages
    _lose_the_lease(container, clock)
    clock.advance(timedelta(hours=2))
    [second] = gateway.claim(container, other).messages
    assert second.id == first.id and second.claim_token != first.claim_token
    for outcome in gateway.Outcome:
        refused = _report(container, holder, first, outcome)
        # Another device's claim now: not found, whatever the report says.
        assert isinstance(refused.error, NotFound), outcome
    assert messages.get(container, who, first.id).message.status is M.CLAIMED


def test_a_report_in_time_still_retries_with_backoff(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    holder, claimed = _one_claimed(container, who)
    failed = _report(container, holder, claimed, gateway.Outcome.FAILED, "busy")
    assert failed.message is not None and failed.message.status is M.QUEUED
    again = _report(container, holder, claimed, gateway.Outcome.FAILED, "busy")  # a repeat
    assert again.error is None and len(_history(container, who, claimed)) == 4


def test_a_repeated_failure_does_not_steer_a_message_released_again(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    """The holder's failure requeued the message in time; when it comes again after the
    message was released anew, it is the same report: nothing changes."""
    holder, claimed = _one_claimed(container, who)
    first = _report(container, holder, claimed, gateway.Outcome.FAILED, "busy")
    assert first.message is not None and first.message.status is M.QUEUED
    clock.advance(timedelta(hours=2))
    assert len(scheduling.release_due(container).released) == 1
    before = _history(container, who, claimed)
    again = _report(container, holder, claimed, gateway.Outcome.FAILED, "busy")
    assert again.error is None
    assert messages.get(container, who, claimed.id).message.status is M.RELEASED
    assert _history(container, who, claimed) == before


def test_an_old_final_failure_does_not_undo_a_persons_retry(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    holder, claimed = _one_claimed(container, who)
    rejected = _report(container, holder, claimed, gateway.Outcome.REJECTED, "no such buddy")
    assert rejected.message is not None and rejected.message.status is M.FAILED
    messages.retry(container, who, claimed.id)  # a person decides to try again
    assert len(scheduling.release_due(container).released) == 1
    again = _report(container, holder, claimed, gateway.Outcome.REJECTED, "no such buddy")
    assert again.error is None
    assert messages.get(container, who, claimed.id).message.status is M.RELEASED
