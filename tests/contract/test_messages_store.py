"""Message lifecycle through the services, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pigeon.clock import FrozenClock
from pigeon.domain.transitions import MessageStatus
from pigeon.errors import IdempotencyConflict, IllegalTransition, NotFound, ValidationError
from pigeon.services import gateway, messages, scheduling
from pigeon.services.context import Principal, Services
from pigeon.store import messages as store
from pigeon.store.messages import MessageFilter
from tests.factories import add_device, schedule

M = MessageStatus


def test_create_validates_every_field(container: Services, who: Principal) -> None:
    bad = messages.NewMessage(recipient="12", body=" ", channel_id="nope", device_id="nope")
    with pytest.raises(ValidationError) as caught:
        messages.create(container, who, bad)
    assert set(caught.value.errors) == {"recipient", "body", "channel_id", "device_id"}
    assert messages.list_(container, who, MessageFilter()) == []


def test_batch_is_all_or_nothing(container: Services, who: Principal) -> None:
    requests = [
        messages.NewMessage(recipient="+14155552671", body="ok"),
        messages.NewMessage(recipient="not a handle", body="ok"),
    ]
    with pytest.raises(ValidationError) as caught:
        messages.create_batch(container, who, requests)
    assert "items[1].recipient" in caught.value.errors
    assert messages.list_(container, who, MessageFilter()) == []


def test_handles_are_normalised(container: Services, who: Principal) -> None:
    [phone] = schedule(container, who, recipient="+1 (415) 555-2671")
    [email] = schedule(container, who, recipient="Ann@Example.COM")
    assert phone.recipient == "+14155552671"
    assert email.recipient == "Ann@example.com"


def test_idempotency_key_replays_and_refuses_changes(container: Services, who: Principal) -> None:
    svc = container
    request = messages.NewMessage(recipient="+14155552671", body="hi", idempotency_key="k-1")
    first = messages.create(svc, who, request)
    again = messages.create(svc, who, request)
    assert not first.replayed and again.replayed and again.message == first.message
    changed = messages.NewMessage(recipient="+14155552671", body="bye", idempotency_key="k-1")
    with pytest.raises(IdempotencyConflict):
        messages.create(svc, who, changed)
    assert len(messages.list_(svc, who, MessageFilter())) == 1


def test_full_lifecycle_records_every_event(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    device = add_device(container, who)
    [message] = schedule(container, who, at=clock.now() + timedelta(minutes=5))
    assert gateway.claim(svc, device).messages == []  # not due yet
    clock.advance(timedelta(minutes=5))
    [claimed] = gateway.claim(svc, device).messages
    assert claimed.id == message.id and claimed.attempts == 1
    [result] = gateway.report(
        svc, device, [gateway.Report(claimed.id, gateway.Outcome.SENT, claimed.claim_token)]
    )
    assert result.message is not None and result.message.status is M.SENT
    history = messages.get(svc, who, message.id).events
    assert [(e.from_status, e.to_status) for e in history] == [
        (None, M.QUEUED),
        (M.QUEUED, M.RELEASED),
        (M.RELEASED, M.CLAIMED),
        (M.CLAIMED, M.SENT),
    ]


def test_failed_report_backs_off_then_gives_up(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    device = add_device(container, who)
    [message] = schedule(container, who)
    max_attempts = svc.settings.retry.max_attempts
    for attempt in range(1, max_attempts + 1):
        [claimed] = gateway.claim(svc, device).messages
        assert claimed.attempts == attempt
        [result] = gateway.report(
            svc,
            device,
            [
                gateway.Report(
                    claimed.id, gateway.Outcome.FAILED, claimed.claim_token, error=f"boom {attempt}"
                )
            ],
        )
        moved = result.message
        assert moved is not None and moved.last_error == f"boom {attempt}"
        if attempt < max_attempts:
            assert moved.status is M.QUEUED
            delay = (moved.scheduled_for - clock.now()).total_seconds()
            nominal = svc.backoff.nominal_delay(attempt)
            assert nominal * (1 - svc.settings.retry.jitter) <= delay <= nominal
            assert gateway.claim(svc, device).messages == []  # backing off
            clock.advance(timedelta(seconds=delay))
        else:
            assert moved.status is M.FAILED
    assert messages.get(svc, who, message.id).message.status is M.FAILED


def test_cancel_only_before_the_send(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    svc = container
    device = add_device(container, who)
    first, second = schedule(container, who, count=2, at=clock.now() + timedelta(hours=1))
    assert messages.cancel(svc, who, first.id).status is M.CANCELED
    clock.advance(timedelta(hours=1))
    [claimed] = gateway.claim(svc, device).messages
    assert claimed.id == second.id
    with pytest.raises(IllegalTransition):
        messages.cancel(svc, who, second.id)
    with pytest.raises(NotFound):
        messages.cancel(svc, who, "00000000-0000-0000-0000-000000000000")


def test_release_touches_only_due_messages(
    container: Services, who: Principal, clock: FrozenClock
) -> None:
    schedule(container, who, count=3, at=clock.now() - timedelta(seconds=1))
    schedule(container, who, count=2, at=clock.now() + timedelta(days=1))
    assert len(scheduling.release_due(container).released) == 3
    assert len(scheduling.release_due(container).released) == 0
    counts = messages.count_by_status(container, who)
    assert counts == {M.RELEASED: 3, M.QUEUED: 2}
    due = scheduling.look_ahead(container, leases=False).next_due
    assert due == clock.now() + timedelta(days=1)


def test_listing_filters_and_pages(container: Services, who: Principal, clock: FrozenClock) -> None:
    svc = container
    created = schedule(container, who, count=7)
    schedule(container, who, count=2, recipient="ann@example.com")
    pages, cursor = [], None
    while True:
        page = messages.list_(
            svc, who, MessageFilter(recipient="+14155552671", after_id=cursor), limit=3
        )
        if not page:
            break
        pages.append(page)
        cursor = page[-1].id
    seen = [m.id for page in pages for m in page]
    assert seen == sorted((m.id for m in created), reverse=True)
    window = MessageFilter(
        scheduled_from=clock.now(),
        scheduled_until=clock.now() + timedelta(seconds=1),
        statuses=frozenset({M.QUEUED}),
    )
    assert len(messages.list_(svc, who, window, limit=100)) == 9


def test_store_refuses_an_illegal_transition(container: Services, who: Principal) -> None:
    [message] = schedule(container, who)
    with container.db.transaction() as uow, pytest.raises(IllegalTransition):
        store.move(uow, message, M.SENT, at=uow.now, actor="test")
