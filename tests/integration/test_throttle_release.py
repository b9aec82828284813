"""The release gate through /v1: throttle policies hold single sends too, held messages say
why and until when and go at the earliest allowed moment, a policy change applies at once,
opted-out recipients are suppressed, and gateway work goes to an online device (the one
that last wrote to the recipient) and moves off devices that go away. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.services import scheduling
from pigeon.services.context import Services
from pigeon.store import consent
from tests.conftest import T0
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    NewDevice,
    Tenant,
    new_device,
    new_message,
)

LONDON = "+442079460958"
NEW_YORK = "+12127365000"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


def put_throttle(api: InProcessClient, tenant: Tenant, query: str = "", **rules: Any) -> None:
    response = api.request("PUT", f"/v1/throttle{query}", json=rules, headers=tenant.auth)
    assert response.status_code == 200, response.text


def release(container: Services) -> list[str]:
    step = scheduling.release_due(container)
    return [moved[0] for moved in step.released]


def message(api: InProcessClient, tenant: Tenant, message_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/v1/messages/{message_id}", headers=tenant.auth).json()
    return found


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_a_per_minute_limit_holds_single_sends_and_every_one_still_goes(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    put_throttle(api, tenant, max_per_minute=3)
    ids = [new_message(api, tenant, body=f"m{i}")["id"] for i in range(7)]

    assert release(container) == ids[:3]
    held = [message(api, tenant, i) for i in ids[3:]]
    assert {m["status"] for m in held} == {"queued"}
    assert [m["held"] for m in held] == [
        {"reason": "max_per_minute", "until": iso(T0 + timedelta(seconds=60))},
        {"reason": "max_per_minute", "until": iso(T0 + timedelta(seconds=60))},
        {"reason": "max_per_minute", "until": iso(T0 + timedelta(seconds=60))},
        {"reason": "max_per_minute", "until": iso(T0 + timedelta(seconds=120))},
    ]
    clock.advance(59)
    assert release(container) == []  # not a moment early
    clock.advance(1)
    assert release(container) == ids[3:6]
    clock.advance(60)
    assert release(container) == ids[6:]
    assert message(api, tenant, ids[6])["held"] is None


def test_relaxing_a_policy_releases_what_it_held_at_once(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    put_throttle(api, tenant, max_per_hour=1)
    ids = [new_message(api, tenant)["id"] for _ in range(3)]
    assert release(container) == ids[:1]
    assert message(api, tenant, ids[2])["held"]["reason"] == "max_per_hour"
    put_throttle(api, tenant, max_per_hour=10)
    assert release(container) == ids[1:]


def test_a_paused_policy_holds_everything_until_it_is_lifted(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    put_throttle(api, tenant, paused=True)
    first = new_message(api, tenant)["id"]
    assert release(container) == []
    assert message(api, tenant, first)["held"] == {"reason": "paused", "until": None}
    put_throttle(api, tenant, paused=False)
    assert release(container) == [first]


def test_quiet_hours_cross_midnight_in_the_workspace_zone(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    put_throttle(
        api, tenant, quiet_hours={"start": "22:00", "end": "07:00"}, timezone="America/New_York"
    )
    clock.set(T0.replace(hour=4))  # 23:00 in New York
    held = new_message(api, tenant)["id"]
    assert release(container) == []
    # 07:00 in New York (EST, UTC-5) is 12:00 UTC.
    assert message(api, tenant, held)["held"] == {
        "reason": "quiet_hours",
        "until": iso(T0.replace(hour=12)),
    }
    clock.set(T0.replace(hour=12))
    assert release(container) == [held]


def test_quiet_hours_in_each_recipients_own_zone(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    put_throttle(
        api, tenant, quiet_hours={"start": "22:00", "end": "07:00"}, quiet_zone="recipient"
    )
    clock.set(T0.replace(hour=23, minute=30))  # London 23:30, New York 18:30
    london = new_message(api, tenant, recipient=LONDON)["id"]
    new_york = new_message(api, tenant, recipient=NEW_YORK)["id"]
    assert release(container) == [new_york]
    assert message(api, tenant, london)["held"] == {
        "reason": "quiet_hours",
        "until": iso((T0 + timedelta(days=1)).replace(hour=7)),
    }


def test_minimum_gaps_between_sends_and_per_recipient(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    put_throttle(api, tenant, min_gap_seconds=10, recipient_min_gap_seconds=3600)
    a1 = new_message(api, tenant, recipient=LONDON)["id"]
    a2 = new_message(api, tenant, recipient=LONDON)["id"]
    b1 = new_message(api, tenant, recipient=NEW_YORK)["id"]
    assert release(container) == [a1]
    assert message(api, tenant, a2)["held"]["reason"] in {"min_gap", "recipient_min_gap"}
    clock.advance(10)
    assert release(container) == [b1]  # the second to London waits an hour, not New York
    clock.advance(3590)
    assert release(container) == [a2]


def test_an_opted_out_recipient_is_suppressed_never_sent(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    stopped = new_message(api, tenant, recipient=LONDON)
    other = new_message(api, tenant, recipient=NEW_YORK)["id"]
    with container.db.transaction() as uow:
        consent.opt_out(uow, tenant.id, stopped["channel_id"], LONDON, source="api")
    assert release(container) == [other]
    found = api.get(f"/v1/messages/{stopped['id']}", headers=tenant.auth).json()
    assert found["status"] == "suppressed"
    assert found["events"][-1]["detail"] == {"reason": "opted_out"}


# Device selection and failover -------------------------------------------------------------


def claim(api: InProcessClient, device: NewDevice, **body: Any) -> list[dict[str, Any]]:
    response = api.post("/v1/gateway/claim", json=body, headers=device.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def sent(api: InProcessClient, device: NewDevice, claimed: list[dict[str, Any]]) -> None:
    reports = [
        {"message_id": m["id"], "claim_token": m["claim_token"], "status": "sent"} for m in claimed
    ]
    response = api.post("/v1/gateway/report", json={"reports": reports}, headers=device.auth)
    assert response.status_code == 200, response.text


def limit_devices(api: InProcessClient, tenant: Tenant, *devices: NewDevice) -> None:
    """Each device its own policy (Apple limits each account): work is given to one at
    release, so that its policy applies."""
    for device in devices:
        put_throttle(api, tenant, f"?device_id={device.id}", max_per_minute=1000)


def test_work_goes_to_the_least_loaded_online_device_and_sticks_to_the_last_sender(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    a, b = new_device(api, tenant, "a"), new_device(api, tenant, "b")
    assert claim(api, a) == [] and claim(api, b) == []  # both online now
    limit_devices(api, tenant, a, b)
    ids = [new_message(api, tenant, recipient=f"+4420794609{i:02d}")["id"] for i in range(4)]
    release(container)
    devices = [message(api, tenant, i)["device_id"] for i in ids]
    assert sorted(devices) == sorted([a.id, a.id, b.id, b.id])
    by_a = claim(api, a)
    assert {m["id"] for m in by_a} == {i for i, d in zip(ids, devices, strict=True) if d == a.id}
    sent(api, a, by_a)
    sent(api, b, claim(api, b))
    # Every recipient gets its next message from the device that last wrote to it.
    again = [new_message(api, tenant, recipient=f"+4420794609{i:02d}")["id"] for i in range(4)]
    release(container)
    assert [message(api, tenant, i)["device_id"] for i in again] == devices


def test_without_device_policies_work_stays_with_the_channel_unless_a_device_wrote_before(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    a, b = new_device(api, tenant, "a"), new_device(api, tenant, "b")
    claim(api, a), claim(api, b)
    first = new_message(api, tenant, recipient=LONDON)["id"]
    release(container)
    assert message(api, tenant, first)["device_id"] is None  # the first free device takes it
    sent(api, b, claim(api, b))
    second = new_message(api, tenant, recipient=LONDON)["id"]
    other = new_message(api, tenant, recipient=NEW_YORK)["id"]
    release(container)
    assert message(api, tenant, second)["device_id"] == b.id  # b wrote to London last
    assert message(api, tenant, other)["device_id"] is None
    assert [m["id"] for m in claim(api, a)] == [other]  # not b's conversation


def test_work_of_a_device_that_goes_quiet_moves_to_one_that_is_online(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    a, b = new_device(api, tenant, "a"), new_device(api, tenant, "b")
    claim(api, a), claim(api, b)
    limit_devices(api, tenant, a, b)
    ids = [new_message(api, tenant, recipient=f"+4420794609{i:02d}")["id"] for i in range(4)]
    release(container)
    on_b = [i for i in ids if message(api, tenant, i)["device_id"] == b.id]
    assert on_b
    clock.advance(container.settings.device_offline_seconds + 1)
    claim(api, a, limit=1)  # a stays online; b has not been seen
    assert scheduling.move_off_gone_devices(container) == len(on_b)
    moved = message(api, tenant, on_b[0])
    assert moved["device_id"] is None
    assert moved["events"][-1]["detail"] == {"reason": "device_gone", "device_id": b.id}
    taken = {m["id"] for m in claim(api, a, limit=10)}
    assert set(on_b) <= taken


def test_revoking_a_device_moves_what_pigeon_gave_it_and_fails_what_was_pinned_to_it(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    a, b = new_device(api, tenant, "a"), new_device(api, tenant, "b")
    claim(api, a), claim(api, b)
    limit_devices(api, tenant, a, b)
    pinned = new_message(api, tenant, device_id=b.id)["id"]
    ids = [new_message(api, tenant, recipient=f"+4420794609{i:02d}")["id"] for i in range(4)]
    release(container)
    given_to_b = [i for i in ids if message(api, tenant, i)["device_id"] == b.id]
    response = api.post(f"/v1/devices/{b.id}/revoke", headers=tenant.auth)
    assert response.status_code == 200, response.text
    assert message(api, tenant, pinned)["status"] == "failed"
    for moved in given_to_b:
        found = message(api, tenant, moved)
        assert (found["status"], found["device_id"]) == ("released", None)


def test_an_opt_out_meets_an_email_address_whatever_its_case(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    stopped = new_message(api, tenant, recipient="Ann.Lee@Example.com")
    with container.db.transaction() as uow:
        consent.opt_out(uow, tenant.id, stopped["channel_id"], "ann.lee@example.com", source="api")
    assert release(container) == []
    assert message(api, tenant, stopped["id"])["status"] == "suppressed"


def test_an_opt_out_suppresses_what_was_already_released_before_a_device_claims_it(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    device = new_device(api, tenant)
    waiting = new_message(api, tenant, recipient=LONDON)
    assert release(container) == [waiting["id"]]
    with container.db.transaction() as uow:
        consent.opt_out(uow, tenant.id, waiting["channel_id"], LONDON, source="api")
    assert claim(api, device) == []
    found = message(api, tenant, waiting["id"])
    assert (found["status"], found["events"][-1]["detail"]) == (
        "suppressed",
        {"reason": "opted_out"},
    )


def test_a_new_message_waits_behind_those_held_before_it(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    put_throttle(api, tenant, max_per_hour=1)
    new_message(api, tenant, recipient=LONDON)
    assert len(release(container)) == 1
    clock.advance(600)
    earlier = new_message(api, tenant, recipient=LONDON)["id"]
    assert release(container) == []  # held until an hour after the first
    clock.advance(600)
    later = new_message(api, tenant, recipient=NEW_YORK)["id"]
    assert release(container) == []
    first, second = (message(api, tenant, i)["held"] for i in (earlier, later))
    assert first["until"] < second["until"], (first, second)  # first come, first served
    assert second["reason"] == "max_per_hour"
