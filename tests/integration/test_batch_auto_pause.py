"""Auto-pause counts every failed send of a batch, a failed attempt that will be retried
included: a run of failures pauses the batch long before the retries run out."""

from __future__ import annotations

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import RetryPolicy, Settings
from tests.integration.test_api_support import OPERATOR_TOKEN, InProcessClient, Tenant, new_device
from tests.integration.test_batches import act, claim, contacts, create, person, report


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        lease_seconds=60,
        operator_token=OPERATOR_TOKEN,
        retry=RetryPolicy(base_seconds=10, cap_seconds=60, max_attempts=5, jitter=0),
    )


def test_failed_attempts_that_will_be_retried_pause_a_batch(
    api: InProcessClient, tenant: Tenant, clock: FrozenClock
) -> None:
    device = new_device(api, tenant)
    contacts(api, tenant, [person(i) for i in range(3)])  # fewer than the window of 20
    batch = create(api, tenant)  # the default auto-pause: over half of the last 20
    act(api, tenant, batch["id"], "start")
    report(api, device, claim(api, device), "failed", error="not registered with iMessage")
    found = api.get(f"/v1/batches/{batch['id']}", headers=tenant.auth).json()
    assert found["progress"]["items"]["failed"] == 0  # each will be retried ...
    assert found["status"] == "paused"  # ... but the batch stops sending at once
    assert found["status_reason"] == "auto-paused: 3 of the last 3 sends failed"
    clock.advance(60)
    assert claim(api, device) == []  # the retries wait for a person to resume


def test_a_failed_send_is_not_retried_once_its_batch_is_canceled_and_waits_while_paused(
    api: InProcessClient, tenant: Tenant, clock: FrozenClock
) -> None:
    device = new_device(api, tenant)
    contacts(api, tenant, [person(i) for i in range(2)])
    batch = create(api, tenant, auto_pause=None)
    act(api, tenant, batch["id"], "start")
    first, second = claim(api, device)

    act(api, tenant, batch["id"], "pause")
    report(api, device, [first], "failed", error="timed out")
    waiting = api.get(f"/v1/messages/{first['id']}", headers=tenant.auth).json()
    assert (waiting["status"], waiting["held"]) == (
        "queued",
        {"reason": "batch_paused", "until": None},
    )

    act(api, tenant, batch["id"], "cancel")
    report(api, device, [second], "failed", error="timed out")
    stopped = api.get(f"/v1/messages/{second['id']}", headers=tenant.auth).json()
    assert stopped["status"] == "failed"
    assert stopped["last_error"] == "timed out; not retried: its batch was canceled"
    clock.advance(3600)
    assert claim(api, device) == []  # nothing of a canceled batch goes out
