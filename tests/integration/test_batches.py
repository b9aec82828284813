"""Outreach batches through /v1, on SQLite and PostgreSQL: a template over contacts,
previewed in full (who is skipped and why, when the last one goes), started, delivered by a
device, paused, resumed, canceled and auto-paused; every item ends sent, failed or skipped,
and the batch completes with its last item. Nothing polls: items follow their messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pigeon.clock import FrozenClock
from pigeon.config import RetryPolicy, Settings
from pigeon.services import recurrences, scheduling
from pigeon.services.context import Services
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    NewDevice,
    Tenant,
    new_device,
    problem_fields,
    row_counts,
)

TEMPLATE = "Hi {{ name | first_name }}, your {{ plan }} plan renews on {{ renews }}."


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        lease_seconds=60,
        operator_token=OPERATOR_TOKEN,
        retry=RetryPolicy(base_seconds=10, cap_seconds=60, max_attempts=1, jitter=0),
    )


@pytest.fixture
def device(api: InProcessClient, tenant: Tenant) -> NewDevice:
    made = new_device(api, tenant)
    claim(api, made)  # seen: online
    return made


def contacts(api: InProcessClient, tenant: Tenant, rows: list[dict[str, Any]]) -> list[str]:
    response = api.post("/v1/contacts/bulk", json={"contacts": rows}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def person(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Person{i} Smith",
        "handles": [{"kind": "phone", "value": f"+4420794610{i:02d}"}],
        "tags": ["clients"],
        "attributes": {"plan": "gold"},
        **extra,
    }


def create(api: InProcessClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "renewals",
        "template": TEMPLATE,
        "audience": {"tags": ["clients"]},
        "variables": {"renews": "1 March"},
        **fields,
    }
    response = api.post("/v1/batches", json=body, headers=tenant.auth)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


def act(api: InProcessClient, tenant: Tenant, batch_id: str, action: str) -> dict[str, Any]:
    response = api.post(f"/v1/batches/{batch_id}/{action}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def claim(api: InProcessClient, device: NewDevice, limit: int = 50) -> list[dict[str, Any]]:
    response = api.post("/v1/gateway/claim", json={"limit": limit}, headers=device.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


def report(api: InProcessClient, device: NewDevice, claimed: list[dict[str, Any]], status: str,
           error: str | None = None) -> None:  # fmt: skip
    reports = [
        {"message_id": m["id"], "claim_token": m["claim_token"], "status": status}
        | ({"error": error} if error else {})
        for m in claimed
    ]
    response = api.post("/v1/gateway/report", json={"reports": reports}, headers=device.auth)
    assert response.status_code == 200, response.text


def items(api: InProcessClient, tenant: Tenant, batch_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/batches/{batch_id}/items", headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def test_preview_renders_every_recipient_and_says_who_is_skipped_and_why(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    channel = _gateway(api, tenant)
    contacts(
        api,
        tenant,
        [
            person(1),
            person(2),
            person(3, attributes={}),  # no `plan`: the template cannot render
            {"name": "WhatsApp Only", "handles": [{"kind": "whatsapp", "value": "+442079469999"}],
             "tags": ["clients"], "attributes": {"plan": "x"}, "external_id": "wa"},
            person(4, external_id="dup", handles=[{"kind": "phone", "value": "+442079461001"}]),
            person(5, tags=["prospects"]),  # not in the audience
            person(6),
        ],
    )  # fmt: skip
    api.request(
        "PATCH",
        f"/v1/contacts/{_contact_id(api, tenant, '+442079461006')}",
        json={"consent": {channel: "opted_out"}},
        headers=tenant.auth,
    ).raise_for_status()
    batch = create(api, tenant)
    before = row_counts(container)

    response = api.post(f"/v1/batches/{batch['id']}/preview?samples=2", headers=tenant.auth)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert row_counts(container) == before  # a dry run writes nothing
    assert (preview["audience"], preview["will_send"]) == (6, 2)
    assert preview["skipped"]["by_reason"] == {
        "render_error": 1,
        "no_primary_handle": 1,  # a WhatsApp handle, and the channel sends iMessage/SMS
        "duplicate_recipient": 1,
        "opted_out": 1,
    }
    render = next(s for s in preview["skipped"]["items"] if s["reason"] == "render_error")
    assert render["name"] == "Person3 Smith" and "plan" in render["detail"]
    assert preview["samples"][0] == {
        "contact_id": preview["samples"][0]["contact_id"],
        "name": "Person1 Smith",
        "recipient": "+442079461001",
        "body": "Hi Person1, your gold plan renews on 1 March.",
    }
    assert preview["timeline"]["first_at"] == preview["timeline"]["last_at"]  # no limits


def test_the_timeline_projects_the_throttle_policy_in_force(
    api: InProcessClient, tenant: Tenant
) -> None:
    contacts(api, tenant, [person(i) for i in range(10)])
    api.request("PUT", "/v1/throttle", json={"max_per_minute": 2}, headers=tenant.auth)
    batch = create(api, tenant)
    timeline = act(api, tenant, batch["id"], "preview")["timeline"]
    assert timeline["first_at"] == "2030-01-07T09:00:00Z"
    assert timeline["last_at"] == "2030-01-07T09:04:00Z"  # 2 a minute: the 10th in minute 5
    assert timeline["held_by"] == {"max_per_minute": 8}


def test_a_started_batch_is_sent_and_completes_with_its_last_item(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    contacts(api, tenant, [person(1), person(2), person(3, attributes={})])
    batch = create(api, tenant)
    started = act(api, tenant, batch["id"], "start")
    assert started["status"] == "sending"
    assert started["progress"]["items"] == {
        "pending": 0, "queued": 2, "sent": 0, "failed": 0, "skipped": 1,
    }  # fmt: skip
    listed = {i["recipient"]: i for i in items(api, tenant, batch["id"])}
    message = api.get(
        f"/v1/messages/{listed['+442079461001']['message_id']}", headers=tenant.auth
    ).json()
    assert message["body"] == "Hi Person1, your gold plan renews on 1 March."
    assert message["batch_id"] == batch["id"]
    with pytest.raises(AssertionError):
        act(api, tenant, batch["id"], "start")  # once only

    claimed = claim(api, device)
    assert len(claimed) == 2
    report(api, device, claimed[:1], "sent")
    assert act(api, tenant, batch["id"], "pause")["status"] == "paused"  # one still claimed
    report(api, device, claimed[1:], "sent")
    done = api.get(f"/v1/batches/{batch['id']}", headers=tenant.auth).json()
    assert done["status"] == "completed"
    assert done["progress"]["items"]["sent"] == 2
    assert {i["status"] for i in items(api, tenant, batch["id"])} == {"sent", "skipped"}


def test_pause_holds_what_has_not_gone_and_resume_lets_it_go(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    contacts(api, tenant, [person(i) for i in range(4)])
    batch = create(api, tenant)
    act(api, tenant, batch["id"], "start")
    scheduling.release_due(container)  # released, not yet claimed
    paused = act(api, tenant, batch["id"], "pause")
    assert paused["status"] == "paused"
    assert claim(api, device) == []
    waiting = items(api, tenant, batch["id"])[0]
    message = api.get(f"/v1/messages/{waiting['message_id']}", headers=tenant.auth).json()
    assert (message["status"], message["held"]) == (
        "queued",
        {"reason": "batch_paused", "until": None},
    )
    act(api, tenant, batch["id"], "resume")
    assert len(claim(api, device)) == 4


def test_cancel_skips_what_has_not_gone_and_leaves_claimed_work_to_finish(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    contacts(api, tenant, [person(i) for i in range(3)])
    batch = create(api, tenant)
    act(api, tenant, batch["id"], "start")
    taken = claim(api, device, limit=1)
    canceled = act(api, tenant, batch["id"], "cancel")
    assert canceled["status"] == "canceled"
    assert canceled["progress"]["items"]["skipped"] == 2
    report(api, device, taken, "sent")  # the claimed one still reports
    after = {i["status"]: i for i in items(api, tenant, batch["id"])}
    assert after["sent"]["message_id"] == taken[0]["id"]
    assert after["skipped"]["reason"] == "canceled"


def test_too_many_failures_pause_the_batch(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    contacts(api, tenant, [person(i) for i in range(10)])
    batch = create(api, tenant, auto_pause={"window": 4, "max_failure_rate": 0.5})
    act(api, tenant, batch["id"], "start")
    claimed = claim(api, device, limit=5)
    report(api, device, claimed[:1], "sent")
    report(api, device, claimed[1:4], "failed", error="unknown buddy")
    found = api.get(f"/v1/batches/{batch['id']}", headers=tenant.auth).json()
    assert found["status"] == "paused"
    assert found["status_reason"] == "auto-paused: 3 of the last 4 sends failed"
    assert found["progress"]["items"]["failed"] == 3
    # Only the claim it still holds comes back: the rest wait for a person to resume.
    assert [m["id"] for m in claim(api, device)] == [claimed[4]["id"]]


def test_a_batch_is_refused_naming_the_field(api: InProcessClient, tenant: Tenant) -> None:
    cases = [
        ({"template": "Hi {{ name "}, "template"),
        ({"audience": {"tags_mode": "most"}}, "audience.tags_mode"),
        ({"channel_id": "00000000-0000-4000-8000-000000000000"}, "channel_id"),
        ({"variables": {"a b": 1}}, "variables"),
        ({"auto_pause": {"window": 0}}, "auto_pause.window"),
    ]
    for change, name in cases:
        body = {"name": "b", "template": "x", "audience": {"all": True}, **change}
        response = api.post("/v1/batches", json=body, headers=tenant.auth)
        assert response.status_code == 422, (change, response.text)
        assert name in problem_fields(response), (change, response.text)


def test_another_workspace_cannot_see_or_drive_a_batch(
    api: InProcessClient, tenant: Tenant
) -> None:
    from tests.integration.test_api_support import new_tenant

    batch = create(api, tenant)
    other = new_tenant(api, "other")
    for action in ("preview", "start", "pause", "resume", "cancel"):
        response = api.post(f"/v1/batches/{batch['id']}/{action}", headers=other.auth)
        assert response.status_code == 404, (action, response.text)
    assert api.get(f"/v1/batches/{batch['id']}", headers=other.auth).status_code == 404


def _gateway(api: InProcessClient, tenant: Tenant) -> str:
    channels = api.get("/v1/channels", headers=tenant.auth).json()["items"]
    found: str = next(c["id"] for c in channels if c["kind"] == "gateway")
    return found


def _contact_id(api: InProcessClient, tenant: Tenant, handle: str) -> str:
    found = api.get("/v1/contacts", params={"q": handle}, headers=tenant.auth).json()["items"]
    contact_id: str = found[0]["id"]
    return contact_id


def test_a_repeating_batch_starts_a_copy_at_each_occurrence_with_its_audience_then(
    api: InProcessClient, tenant: Tenant, container: Services, clock: FrozenClock
) -> None:
    contacts(api, tenant, [person(1)])
    batch = create(api, tenant, repeat={"rrule": "FREQ=DAILY", "timezone": "Europe/London"})
    started = act(api, tenant, batch["id"], "start")
    recurrence_id = started["repeat"]["recurrence_id"]
    found = api.get(f"/v1/recurrences/{recurrence_id}", headers=tenant.auth).json()
    assert found["next_at"] == "2030-01-08T09:00:00Z"  # 09:00 London, the day after

    contacts(api, tenant, [person(2)])  # joins before the next occurrence
    clock.advance(timedelta(days=1) - timedelta(seconds=30))
    recurrences.run_upkeep(container)
    listed = api.get("/v1/batches", headers=tenant.auth).json()["items"]
    assert len(listed) == 2
    copy = next(b for b in listed if b["id"] != batch["id"])
    assert (copy["status"], copy["name"]) == ("sending", "renewals (2030-01-08 09:00)")
    assert copy["send_at"] == "2030-01-08T09:00:00Z"
    assert len(items(api, tenant, copy["id"])) == 2  # the audience as it is now
    recurrences.run_upkeep(container)  # nothing more until the next day
    assert len(api.get("/v1/batches", headers=tenant.auth).json()["items"]) == 2


def test_a_repeating_batch_counts_from_its_send_at_and_ends_when_canceled(
    api: InProcessClient, tenant: Tenant
) -> None:
    contacts(api, tenant, [person(1)])
    batch = create(
        api,
        tenant,
        send_at="2030-01-10T14:00:00Z",  # a Thursday, three days after it is started
        repeat={"rrule": "FREQ=WEEKLY", "timezone": "Europe/London"},
    )
    recurrence_id = act(api, tenant, batch["id"], "start")["repeat"]["recurrence_id"]
    found = api.get(f"/v1/recurrences/{recurrence_id}", headers=tenant.auth).json()
    assert found["next_at"] == "2030-01-17T14:00:00Z"  # a week after send_at, not the start
    act(api, tenant, batch["id"], "cancel")
    found = api.get(f"/v1/recurrences/{recurrence_id}", headers=tenant.auth).json()
    assert (found["status"], found["next_at"]) == ("stopped", None)
