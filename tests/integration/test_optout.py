"""Opt-out keywords through the API: devices push what they receive (POST
/v1/gateway/inbound); STOP, START and HELP act on consent for the device's channel; the
workspace's keywords are read and replaced at /v1/opt-out. In process, on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest

from pigeon.config import Settings
from pigeon.domain.optout import DEFAULT, REPLY_META_KEY
from pigeon.services import optout
from pigeon.services.context import Services
from pigeon.store import consent
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    PHONE,
    PHONE_2,
    InProcessClient,
    NewDevice,
    Tenant,
    bearer,
    new_device,
    new_key,
    new_tenant,
    problem_fields,
    row_counts,
)

HELP_TEXT = DEFAULT.to_json()["languages"]["en"]["help_text"]
_guids = itertools.count(1)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


@pytest.fixture
def device(api: InProcessClient, tenant: Tenant) -> NewDevice:
    return new_device(api, tenant)


def received(text: str, sender: str = PHONE, guid: str | None = None) -> dict[str, Any]:
    return {
        "guid": guid or f"guid-{next(_guids)}",
        "from": sender,
        "text": text,
        "received_at": "2030-01-07T08:59:00+00:00",
        "service": "iMessage",
    }


def push(api: InProcessClient, device: NewDevice, *messages: dict[str, Any]) -> httpx.Response:
    return api.post("/v1/gateway/inbound", json={"messages": list(messages)}, headers=device.auth)


def pushed(api: InProcessClient, device: NewDevice, *messages: dict[str, Any]) -> dict[str, Any]:
    response = push(api, device, *messages)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def opted_out(container: Services, tenant: Tenant) -> list[tuple[str, str, str | None]]:
    with container.db.transaction(readonly=True) as uow:
        found = consent.of_handles(uow, tenant.id, [PHONE, PHONE_2])
    return [(o.channel_id, o.handle, o.keyword) for o in found]


def channel_of(api: InProcessClient, tenant: Tenant, device: NewDevice) -> str:
    [listed] = [d for d in api.get("/v1/devices", headers=tenant.auth).json()["items"]]
    assert listed["id"] == device.id
    channel_id: str = listed["channel_id"]
    return channel_id


def audit_actions(api: InProcessClient, tenant: Tenant) -> list[str]:
    items = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    return [item["action"] for item in reversed(items)]


def messages_to(api: InProcessClient, tenant: Tenant, handle: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.get(
        "/v1/messages", params={"recipient": handle}, headers=tenant.auth
    ).json()["items"]
    return items


# Keywords from a device ---------------------------------------------------------------------


def test_stop_opts_the_sender_out_of_the_devices_channel_and_start_back_in(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    channel_id = channel_of(api, tenant, device)
    assert pushed(api, device, received("Stop.")) == {"accepted": 1, "duplicates": 0}
    assert opted_out(container, tenant) == [(channel_id, PHONE, "STOP")]
    assert audit_actions(api, tenant)[-1] == "opted_out"

    pushed(api, device, received("start"))
    assert opted_out(container, tenant) == []
    assert audit_actions(api, tenant)[-2:] == ["opted_out", "opted_in"]


def test_a_keyword_inside_a_sentence_is_only_stored(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    pushed(api, device, received("please don't stop texting me"), received("stop by tomorrow"))
    assert opted_out(container, tenant) == []
    inbound = api.get("/v1/inbound", headers=tenant.auth).json()["items"]
    assert sorted(m["text"] for m in inbound) == [
        "please don't stop texting me",
        "stop by tomorrow",
    ]


def test_help_queues_the_help_text_to_the_sender_on_the_same_channel(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    pushed(api, device, received("HELP", sender="+1 415 555 0100"))
    [reply] = messages_to(api, tenant, PHONE)
    assert reply["body"] == HELP_TEXT
    assert reply["status"] == "queued"
    assert reply["channel_id"] == channel_of(api, tenant, device)
    assert reply["device_id"] == device.id  # the same Apple ID answers
    assert reply["meta"] == {REPLY_META_KEY: "help"}


def test_help_is_answered_to_an_opted_out_handle_too(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    pushed(api, device, received("STOP"), received("help"))
    assert len(opted_out(container, tenant)) == 1
    [reply] = messages_to(api, tenant, PHONE)
    # Marked as a keyword reply, which the release gate lets through to an opted-out handle.
    assert reply["body"] == HELP_TEXT and reply["meta"][REPLY_META_KEY] == "help"


def test_a_repeated_guid_changes_nothing(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    first = [received("HELP", guid="A-1"), received("STOP", guid="A-2")]
    assert pushed(api, device, *first) == {"accepted": 2, "duplicates": 0}
    counts = row_counts(container)
    assert pushed(api, device, *first) == {"accepted": 0, "duplicates": 2}
    assert row_counts(container) == counts  # no second reply, no second audit event
    # The same GUID twice in one push is stored once.
    again = [received("hi", guid="B-1"), received("hi", guid="B-1")]
    assert pushed(api, device, *again) == {"accepted": 1, "duplicates": 1}
    assert len(messages_to(api, tenant, PHONE)) == 1


def test_a_second_stop_is_no_second_consent_change(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    pushed(api, device, received("STOP"))
    pushed(api, device, received("unsubscribe"))
    assert [o[2] for o in opted_out(container, tenant)] == ["STOP"]  # the first keyword
    assert audit_actions(api, tenant).count("opted_out") == 1


def test_the_same_inbound_handled_twice_changes_nothing_the_second_time(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    channel_id = channel_of(api, tenant, device)
    inbound_id = "01900000-0000-7000-8000-0000000000a1"
    for text in ("HELP", "HELP", "STOP", "STOP"):
        match = optout.handle_inbound(
            container, tenant.id, channel_id, PHONE, text, actor="test", inbound_id=inbound_id
        )
        assert match is not None and match.keyword == text
    assert len(messages_to(api, tenant, PHONE)) == 1  # one answer to one inbound message
    assert audit_actions(api, tenant).count("opted_out") == 1
    assert optout.handle_inbound(container, tenant.id, channel_id, PHONE, "hi", actor="t") is None


def test_inbound_messages_are_listed_once_under_their_gateway_identity(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    pushed(api, device, received("see you at 5", sender="+1 (415) 555-0101", guid="G-9"))
    [message] = api.get("/v1/inbound", headers=tenant.auth).json()["items"]
    assert message["provider"] == "gateway"
    assert message["external_id"] == "gateway:G-9"
    assert message["from"] == PHONE_2  # normalised
    assert message["channel_id"] == channel_of(api, tenant, device)
    assert message["received_at"] == "2030-01-07T08:59:00Z"
    assert (message["subject"], message["text"]) == ("", "see you at 5")


def test_a_sender_that_is_no_handle_is_stored_and_never_opted_out(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    assert pushed(api, device, received("STOP", sender="AMAZON")) == {
        "accepted": 1,
        "duplicates": 0,
    }
    with container.db.transaction(readonly=True) as uow:
        assert consent.any_in(uow, [tenant.id]) == set()
    [message] = api.get("/v1/inbound", headers=tenant.auth).json()["items"]
    assert message["from"] == "AMAZON"


def test_another_workspaces_device_cannot_affect_this_workspace(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    other = new_tenant(api, "other")
    theirs = new_device(api, other)
    pushed(api, theirs, received("STOP", guid="same-guid"), received("HELP"))
    assert opted_out(container, tenant) == []
    assert messages_to(api, tenant, PHONE) == []
    assert api.get("/v1/inbound", headers=tenant.auth).json()["items"] == []
    # Identities are per workspace: the same GUID here is a message of this workspace.
    assert pushed(api, device, received("STOP", guid="same-guid"))["accepted"] == 1
    assert len(opted_out(container, tenant)) == 1
    assert len(opted_out(container, other)) == 1


def test_inbound_takes_a_device_token_and_a_valid_body(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    body = {"messages": [received("STOP")]}
    assert api.post("/v1/gateway/inbound", json=body, headers=tenant.auth).status_code == 401
    counts = row_counts(container)
    naive = {**received("x"), "received_at": "2030-01-07T08:59:00"}
    nameless = {k: v for k, v in received("x").items() if k != "from"}
    response = push(api, device, received("STOP"), naive, nameless, {**received("x"), "guid": ""})
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == [
        "messages[1].received_at",
        "messages[2].from",
        "messages[3].guid",
    ]
    assert row_counts(container) == counts
    empty = api.post("/v1/gateway/inbound", json={"messages": []}, headers=device.auth)
    assert empty.status_code == 422


def test_text_a_database_cannot_store_is_cleaned_not_refused(
    api: InProcessClient, tenant: Tenant, device: NewDevice
) -> None:
    raw = '{"messages": [{"guid": "u1", "from": "+14155550100", "text": "ok\\u0000\\ud800!",'
    raw += ' "received_at": "2030-01-07T08:59:00Z"}]}'
    response = api.post(
        "/v1/gateway/inbound",
        content=raw.encode(),
        headers={**device.auth, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    [message] = api.get("/v1/inbound", headers=tenant.auth).json()["items"]
    assert message["text"] == "ok?!"


# The workspace's keywords -------------------------------------------------------------------


CUSTOM = {
    "languages": {
        "en": {
            "stop": ["HALT"],
            "start": ["RESUME"],
            "help": ["WHAT"],
            "help_text": "Call 555-0100 for help.",
            "stop_text": "You will get no more messages. Reply RESUME to start again.",
        }
    }
}


def test_the_keywords_are_the_default_until_replaced(
    api: InProcessClient, tenant: Tenant, device: NewDevice, container: Services
) -> None:
    assert api.get("/v1/opt-out", headers=tenant.auth).json() == DEFAULT.to_json()
    response = api.request("PUT", "/v1/opt-out", json=CUSTOM, headers=tenant.auth)
    assert response.status_code == 200, response.text
    stored = api.get("/v1/opt-out", headers=tenant.auth).json()
    assert stored["languages"]["en"]["stop"] == ["HALT"]
    assert stored["languages"]["en"]["start_text"] is None
    assert list(stored["languages"]) == ["en"]
    assert audit_actions(api, tenant)[-1] == "opt_out_keywords_updated"
    # Round trip: what GET answers, PUT takes.
    assert api.request("PUT", "/v1/opt-out", json=stored, headers=tenant.auth).json() == stored

    pushed(api, device, received("STOP"))
    assert opted_out(container, tenant) == []  # no longer a keyword here
    pushed(api, device, received("halt!"), received("HALT"))
    assert [o[2] for o in opted_out(container, tenant)] == ["HALT"]
    # The confirmation goes once: the second HALT changed nothing.
    [confirmation] = messages_to(api, tenant, PHONE)
    assert confirmation["body"].startswith("You will get no more messages")
    assert confirmation["meta"] == {REPLY_META_KEY: "stop"}
    pushed(api, device, received("what"))
    assert {m["body"] for m in messages_to(api, tenant, PHONE)} >= {"Call 555-0100 for help."}


def test_a_bad_configuration_is_refused_naming_each_field(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    counts = row_counts(container)
    bad = {
        "languages": {
            "en": {"stop": ["STOP", "STOP!"], "start": ["stop"], "help_text": ""},
            "xx-!!": {"help_text": "hi"},
        }
    }
    response = api.request("PUT", "/v1/opt-out", json=bad, headers=tenant.auth)
    assert response.status_code == 422
    assert sorted(problem_fields(response)) == [
        "languages.en.help_text",
        "languages.en.start[0]",
        "languages.en.stop[1]",
        "languages.xx-!!",
    ]
    assert row_counts(container) == counts
    assert api.get("/v1/opt-out", headers=tenant.auth).json() == DEFAULT.to_json()


def test_reading_takes_a_read_key_and_writing_an_admin_key(
    api: InProcessClient, tenant: Tenant
) -> None:
    for scope in ("read", "send"):
        key = bearer(new_key(api, tenant, scope))
        assert api.get("/v1/opt-out", headers=key).status_code == 200
        assert api.request("PUT", "/v1/opt-out", json=CUSTOM, headers=key).status_code == 403
    assert api.request("PUT", "/v1/opt-out", json=CUSTOM).status_code == 401
