"""Recurring messages: `POST /v1/messages` with `repeat`, the upkeep that makes each
occurrence as it comes near, /v1/recurrences, stopping. In process, on SQLite and
PostgreSQL, with the frozen clock."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.domain.recurrence import Recurrence
from pigeon.services import recurrences
from pigeon.services.context import Services
from pigeon.store import recurrences as store
from pigeon.store.tables import recurrences as recurrences_table
from pigeon.workers import supervisor
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    InProcessClient,
    Tenant,
    bearer,
    new_device,
    new_tenant,
    problem_fields,
    row_counts,
)

RECURRENCE = "pigeon.recurrence_id"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN, imap_listener=False
    )


def create(api: InProcessClient, tenant: Tenant, **fields: Any) -> httpx.Response:
    body = {"recipient": PHONE, "body": "take your pills", **fields}
    return api.post("/v1/messages", json=body, headers=tenant.auth)


def repeating(
    api: InProcessClient,
    tenant: Tenant,
    rrule: str = "FREQ=DAILY",
    *,
    at: str = "2030-01-07T10:00:00Z",
    timezone: str | None = "Europe/London",
    **fields: Any,
) -> dict[str, Any]:
    repeat = {"rrule": rrule} if timezone is None else {"rrule": rrule, "timezone": timezone}
    response = create(api, tenant, scheduled_for=at, repeat=repeat, **fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def recurrence(api: InProcessClient, tenant: Tenant, recurrence_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/recurrences/{recurrence_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def made_by(api: InProcessClient, tenant: Tenant, recurrence_id: str) -> list[dict[str, Any]]:
    """The messages of a recurrence, by scheduled time."""
    items = api.get("/v1/messages", params={"limit": 200}, headers=tenant.auth).json()["items"]
    mine = [m for m in items if (m["meta"] or {}).get(RECURRENCE) == recurrence_id]
    return sorted(mine, key=lambda m: m["scheduled_for"])


def upkeep(container: Services) -> int:
    return recurrences.run_upkeep(container)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def audit_actions(api: InProcessClient, tenant: Tenant) -> list[str]:
    items = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    return [item["action"] for item in reversed(items)]


# Creating ---------------------------------------------------------------------------------


def test_a_repeating_message_is_the_first_message_and_a_recurrence(
    api: InProcessClient, tenant: Tenant
) -> None:
    first = repeating(api, tenant, meta={"ref": 7})
    assert first["scheduled_for"] == "2030-01-07T10:00:00Z"
    assert first["status"] == "queued"
    assert first["meta"] == {"ref": 7, RECURRENCE: first["recurrence_id"]}
    found = recurrence(api, tenant, first["recurrence_id"])
    assert found["status"] == "active"
    assert (found["kind"], found["rrule"], found["timezone"]) == (
        "message",
        "FREQ=DAILY",
        "Europe/London",
    )
    assert found["dtstart"] == "2030-01-07T10:00:00Z"
    assert found["next_at"] == "2030-01-08T10:00:00Z"
    assert found["occurrences"] == 1
    assert found["template"] == {
        "channel_id": first["channel_id"],
        "device_id": None,
        "recipient": PHONE,
        "body": "take your pills",
        "meta": {"ref": 7},
    }
    assert audit_actions(api, tenant)[-1] == "recurrence_created"


def test_each_occurrence_becomes_its_own_message_shortly_before_it_is_due(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    first = repeating(api, tenant)
    rid = first["recurrence_id"]
    assert upkeep(container) == 0  # the next is tomorrow
    clock.set(utc("2030-01-08T09:58:59Z"))
    assert upkeep(container) == 0  # not within the minute's lead yet
    clock.set(utc("2030-01-08T09:59:30Z"))
    assert upkeep(container) == 1
    assert upkeep(container) == 0  # made once
    made = made_by(api, tenant, rid)
    assert [m["scheduled_for"] for m in made] == ["2030-01-07T10:00:00Z", "2030-01-08T10:00:00Z"]
    assert made[1]["id"] != first["id"] and made[1]["status"] == "queued"
    assert made[1]["meta"] == {RECURRENCE: rid}
    found = recurrence(api, tenant, rid)
    assert (found["next_at"], found["occurrences"]) == ("2030-01-09T10:00:00Z", 2)


def test_occurrences_keep_their_wall_time_across_march_and_october(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    first = repeating(api, tenant, "FREQ=WEEKLY;BYDAY=MO", at="2030-03-18T09:00:00Z")
    rid = first["recurrence_id"]
    for _ in range(33):
        clock.set(utc(recurrence(api, tenant, rid)["next_at"]) - timedelta(seconds=30))
        assert upkeep(container) == 1
    times = [m["scheduled_for"] for m in made_by(api, tenant, rid)]
    assert len(times) == 34
    assert times[:3] == ["2030-03-18T09:00:00Z", "2030-03-25T09:00:00Z", "2030-04-01T08:00:00Z"]
    assert times[-3:] == ["2030-10-21T08:00:00Z", "2030-10-28T09:00:00Z", "2030-11-04T09:00:00Z"]
    assert all(t[11:16] in ("09:00", "08:00") for t in times)


def test_the_timezone_defaults_to_the_workspaces(
    api: InProcessClient, container: Services, clock: FrozenClock
) -> None:
    created = api.post(
        "/v1/workspaces",
        json={"name": "nyc", "timezone": "America/New_York"},
        headers=bearer(OPERATOR_TOKEN),
    ).json()
    nyc = Tenant(created["id"], created["api_key"])
    first = repeating(api, nyc, at="2030-03-09T14:00:00Z", timezone=None)  # 09:00 EST
    found = recurrence(api, nyc, first["recurrence_id"])
    assert found["timezone"] == "America/New_York"
    assert found["next_at"] == "2030-03-10T13:00:00Z"  # 09:00 EDT, the day clocks go forward


def test_a_start_in_the_past_is_not_made_up_for(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    first = repeating(api, tenant, "FREQ=HOURLY", at="2030-01-06T09:30:00Z")  # now: 01-07 09:00
    assert recurrence(api, tenant, first["recurrence_id"])["next_at"] == "2030-01-07T09:30:00Z"
    assert upkeep(container) == 0  # the 23 hours between are not made
    clock.set(utc("2030-01-07T09:29:30Z"))
    assert upkeep(container) == 1
    assert len(made_by(api, tenant, first["recurrence_id"])) == 2


def test_a_rule_with_an_end_ends(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    rid = repeating(api, tenant, "FREQ=DAILY;COUNT=2")["recurrence_id"]
    clock.set(utc("2030-01-08T10:00:00Z"))
    assert upkeep(container) == 1
    found = recurrence(api, tenant, rid)
    assert (found["status"], found["next_at"], found["occurrences"]) == ("ended", None, 2)
    clock.advance(timedelta(days=3))
    assert upkeep(container) == 0


# Outages ----------------------------------------------------------------------------------


def test_after_an_outage_missed_occurrences_are_not_sent_in_a_burst(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    rid = repeating(api, tenant)["recurrence_id"]
    # A week down; back 20 minutes after today's occurrence: today's goes, late, alone.
    clock.set(utc("2030-01-14T10:20:00Z"))
    assert upkeep(container) == 1
    assert [m["scheduled_for"] for m in made_by(api, tenant, rid)][1:] == ["2030-01-14T10:00:00Z"]
    assert recurrence(api, tenant, rid)["next_at"] == "2030-01-15T10:00:00Z"

    # Fifty years on, two hours after the day's occurrence: nothing is sent late, nothing
    # in between is made, and the rule goes on from there.
    clock.set(utc("2080-01-07T12:00:00Z"))
    assert upkeep(container) == 0
    assert len(made_by(api, tenant, rid)) == 2
    found = recurrence(api, tenant, rid)
    assert (found["next_at"], found["occurrences"]) == ("2080-01-08T10:00:00Z", 2)


def test_a_lost_step_cannot_make_an_occurrence_twice(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    rid = repeating(api, tenant)["recurrence_id"]
    clock.set(utc("2030-01-08T10:00:00Z"))
    assert upkeep(container) == 1
    # As if the move of next_at had been lost (a restored backup): the occurrence's
    # idempotency key finds the message made already.
    with container.db.transaction() as uow:
        uow.conn.execute(
            update(recurrences_table)
            .where(recurrences_table.c.id == rid)
            .values(next_at=utc("2030-01-08T10:00:00Z"))
        )
    assert upkeep(container) == 0
    assert len(made_by(api, tenant, rid)) == 2
    found = recurrence(api, tenant, rid)
    assert (found["next_at"], found["occurrences"]) == ("2030-01-09T10:00:00Z", 2)


def test_an_occurrence_that_cannot_be_made_is_skipped_and_audited(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    device = new_device(api, tenant)
    rid = repeating(api, tenant, device_id=device.id)["recurrence_id"]
    assert api.post(f"/v1/devices/{device.id}/revoke", headers=tenant.auth).status_code == 200
    clock.set(utc("2030-01-08T10:00:00Z"))
    assert upkeep(container) == 0
    assert len(made_by(api, tenant, rid)) == 1
    assert recurrence(api, tenant, rid)["next_at"] == "2030-01-09T10:00:00Z"
    assert audit_actions(api, tenant)[-1] == "recurrence_occurrence_skipped"


def test_the_worker_runtime_makes_occurrences_on_drain(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    rid = repeating(api, tenant)["recurrence_id"]
    clock.set(utc("2030-01-08T10:00:00Z"))
    asyncio.run(supervisor.drain(container))
    made = made_by(api, tenant, rid)
    assert [m["scheduled_for"] for m in made][1:] == ["2030-01-08T10:00:00Z"]


# Kinds --------------------------------------------------------------------------------------


def _survey_recurrence(container: Services, tenant: Tenant) -> str:
    with container.db.transaction() as uow:
        found = Recurrence(
            id="01900000-0000-7000-8000-00000000ba7c",
            workspace_id=tenant.id,
            kind="survey",  # a kind no maker makes
            rrule="FREQ=DAILY",
            timezone="UTC",
            dtstart=utc("2030-01-07T08:00:00Z"),
            template={"batch_id": "b"},
            next_at=utc("2030-01-08T08:00:00Z"),
            occurrences=1,
            created_at=uow.now,
            updated_at=uow.now,
            stopped_at=None,
        )
        store.insert(uow, found)
    return found.id


def test_a_kind_nothing_makes_is_left_alone_with_a_log_line(
    api: InProcessClient,
    tenant: Tenant,
    container: Services,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(recurrences, "_WARNED", set())
    rid = _survey_recurrence(container, tenant)
    message_rid = repeating(api, tenant)["recurrence_id"]
    clock.set(utc("2030-01-08T10:00:00Z"))
    with caplog.at_level(logging.WARNING, logger="pigeon.services.recurrences"):
        assert upkeep(container) == 1  # the message's occurrence; the batch's waits
        upkeep(container)
    unknown = [r for r in caplog.records if getattr(r, "action", "") == "recurrence_kind_unknown"]
    assert len(unknown) == 1  # once per process
    assert recurrence(api, tenant, rid)["next_at"] == "2030-01-08T08:00:00Z"
    assert len(made_by(api, tenant, message_rid)) == 2


def test_a_registered_maker_makes_its_kinds_occurrences(
    api: InProcessClient,
    tenant: Tenant,
    container: Services,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[tuple[str, datetime]] = []

    def make_survey(svc: Services, uow: Any, found: Recurrence, at: datetime) -> str:
        made.append((found.id, at))
        return "a-survey"

    monkeypatch.setitem(recurrences._MAKERS, "survey", make_survey)
    rid = _survey_recurrence(container, tenant)
    clock.set(utc("2030-01-08T08:00:00Z"))
    assert upkeep(container) == 1
    assert made == [(rid, utc("2030-01-08T08:00:00Z"))]
    found = recurrence(api, tenant, rid)
    assert (found["next_at"], found["occurrences"]) == ("2030-01-09T08:00:00Z", 2)


# Stopping, reading --------------------------------------------------------------------------


def test_a_stopped_recurrence_makes_no_more_and_keeps_what_it_made(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    rid = repeating(api, tenant)["recurrence_id"]
    clock.set(utc("2030-01-08T10:00:00Z"))
    upkeep(container)
    stopped = api.request("DELETE", f"/v1/recurrences/{rid}", headers=tenant.auth)
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert (body["status"], body["next_at"], body["stopped_at"]) == (
        "stopped",
        None,
        "2030-01-08T10:00:00Z",
    )
    assert audit_actions(api, tenant)[-1] == "recurrence_stopped"
    clock.advance(timedelta(days=3))
    assert upkeep(container) == 0
    made = made_by(api, tenant, rid)
    assert len(made) == 2
    cancel = api.post(f"/v1/messages/{made[1]['id']}/cancel", headers=tenant.auth)
    assert cancel.json()["status"] == "canceled"
    again = api.request("DELETE", f"/v1/recurrences/{rid}", headers=tenant.auth)
    assert again.json()["stopped_at"] == "2030-01-08T10:00:00Z"  # stopping twice: a no-op


def test_recurrences_are_the_workspaces_own(api: InProcessClient, tenant: Tenant) -> None:
    rid = repeating(api, tenant)["recurrence_id"]
    other = new_tenant(api, "other")
    assert api.get(f"/v1/recurrences/{rid}", headers=other.auth).status_code == 404
    assert api.request("DELETE", f"/v1/recurrences/{rid}", headers=other.auth).status_code == 404
    assert api.get("/v1/recurrences", headers=other.auth).json()["items"] == []
    assert recurrence(api, tenant, rid)["status"] == "active"


def test_recurrences_are_listed_oldest_first_by_pages(api: InProcessClient, tenant: Tenant) -> None:
    ids = [repeating(api, tenant, body=f"m{i}")["recurrence_id"] for i in range(3)]
    page = api.get("/v1/recurrences", params={"limit": 2}, headers=tenant.auth).json()
    assert [r["id"] for r in page["items"]] == ids[:2]
    rest = api.get(
        "/v1/recurrences", params={"cursor": page["next_cursor"]}, headers=tenant.auth
    ).json()
    assert [r["id"] for r in rest["items"]] == ids[2:]
    assert rest["next_cursor"] is None


# Refusals and replays -----------------------------------------------------------------------


def test_bad_repeats_are_refused_naming_the_field(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    counts = row_counts(container)
    for repeat, field in [
        ({"rrule": "FREQ=MINUTELY"}, "repeat.rrule"),
        ({"rrule": "FREQ=DAILY;COUNT=100001"}, "repeat.rrule"),
        ({"rrule": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"}, "repeat.rrule"),  # never occurs
        ({"rrule": "FREQ=DAILY", "timezone": "Mars/Olympus"}, "repeat.timezone"),
        ({"timezone": "UTC"}, "repeat.rrule"),
    ]:
        response = create(api, tenant, repeat=repeat)
        assert response.status_code == 422, (repeat, response.text)
        assert problem_fields(response) == [field], repeat
    batch = {"items": [{"recipient": PHONE, "body": "x", "repeat": {"rrule": "FREQ=DAILY"}}]}
    response = api.post("/v1/messages/batch", json=batch, headers=tenant.auth)
    assert response.status_code == 422
    assert problem_fields(response) == ["items[0].repeat"]
    assert "not taken in a batch" in response.json()["errors"][0]["detail"]
    assert row_counts(container) == counts


def test_pigeons_meta_keys_are_not_the_callers(api: InProcessClient, tenant: Tenant) -> None:
    response = create(api, tenant, meta={RECURRENCE: "01900000-0000-7000-8000-000000000000"})
    assert response.status_code == 422
    assert problem_fields(response) == ["meta"]


def test_an_idempotency_key_replays_the_message_and_its_recurrence(
    api: InProcessClient, tenant: Tenant
) -> None:
    key = {**tenant.auth, "Idempotency-Key": "weekly-1"}
    body = {
        "recipient": PHONE,
        "body": "hi",
        "scheduled_for": "2030-01-07T10:00:00Z",
        "repeat": {"rrule": "FREQ=WEEKLY", "timezone": "UTC"},
    }
    first = api.post("/v1/messages", json=body, headers=key)
    again = api.post("/v1/messages", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    changed = {**body, "repeat": {"rrule": "FREQ=DAILY", "timezone": "UTC"}}
    assert api.post("/v1/messages", json=changed, headers=key).status_code == 409
    assert len(api.get("/v1/recurrences", headers=tenant.auth).json()["items"]) == 1


# Two workers ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_two_upkeeps_at_once_make_each_occurrence_once(
    postgres_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Each takes what the other holds not (SKIP LOCKED): neither even tries one twice,
    which the occurrence's idempotency key would refuse with an error."""
    from pigeon import bootstrap
    from pigeon.bus.memory import MemoryBus
    from tests.integration.test_api_support import serve_in_process

    settings = Settings(
        database_url=postgres_url, operator_token=OPERATOR_TOKEN, imap_listener=False
    )
    workers = [bootstrap.build(settings, clock=clock, bus=MemoryBus(), pool_size=4) for _ in "ab"]
    try:
        with serve_in_process(workers[0]) as api:
            tenant = new_tenant(api)
            ids = [repeating(api, tenant, body=f"m{i}")["recurrence_id"] for i in range(30)]
            for day in (8, 9, 10):
                clock.set(utc(f"2030-01-{day:02d}T10:00:00Z"))
                start = threading.Barrier(2)
                made: list[int] = []

                def run(svc: Services, barrier: threading.Barrier, made: list[int]) -> None:
                    barrier.wait()
                    made.append(recurrences.run_upkeep(svc))

                threads = [threading.Thread(target=run, args=(w, start, made)) for w in workers]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
                assert sum(made) == 30, made
            counts = {rid: len(made_by(api, tenant, rid)) for rid in ids}
            assert set(counts.values()) == {4}, counts
            failed = [r for r in caplog.records if getattr(r, "action", "") == "recurrence_failed"]
            assert not failed
    finally:
        for svc in workers:
            svc.close()
