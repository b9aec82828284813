"""Gmail inbound end to end, against a fake Google over real HTTP (tests/fakes/gmail.py):
the Pub/Sub push (its OIDC token checked before anything else, the envelope reduced to a
pointer, 2xx only once durable), the consume-time fetch (history.list from the stored
cursor, messages.get, resync, retries and dead letters), and the watch kept alive.

Push tokens are real RS256 JWTs signed by the fake's key and dated by the test's
FrozenClock (2030): pigeon checks their times against its injected clock.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import QueueSettings, Settings
from pigeon.providers import gmail as gmail_provider
from pigeon.queue.sql import SqlQueue
from pigeon.services import mailboxes
from pigeon.services.context import Services
from pigeon.workers.supervisor import drain
from tests.fakes.gmail import GMAIL_READONLY, FakeGoogle, signing_key
from tests.fakes.server import serving
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    Tenant,
    problem_fields,
)

MAILBOX = "ann@example.com"
PUSHER = "gmail-push@proj.iam.gserviceaccount.com"
PUBLIC_URL = "https://pigeon.example"
TOPIC = "projects/proj/topics/gmail-inbox"
MAX_ATTEMPTS = 3


class BreakableQueue(SqlQueue):
    """The SQL queue, whose enqueue fails while `broken`, as a lost connection would."""

    broken = False

    def enqueue(self, jobs: Any, *, uow: Any = None) -> Any:
        if self.broken:
            raise ConnectionError("connection to the queue lost")
        return super().enqueue(jobs, uow=uow)


@pytest.fixture
def google(clock: FrozenClock) -> Iterator[FakeGoogle]:
    fake = FakeGoogle(MAILBOX, clock)
    with serving(fake.app) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def settings(db_url: str, google: FakeGoogle) -> Settings:
    return Settings(
        database_url=db_url,
        operator_token=OPERATOR_TOKEN,
        secret_key="a-secret-key-for-tests-0123456789abcdef",
        public_url=PUBLIC_URL,
        google_certs_url=f"{google.base_url}/certs",
        # Retries at once, so that one drain goes from the first attempt to the dead letter.
        queue=QueueSettings(max_attempts=MAX_ATTEMPTS, retry_base_seconds=0, retry_cap_seconds=0),
    )


@pytest.fixture
def container(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    built = bootstrap.build(settings, clock=clock, bus=MemoryBus(), pool_size=4)
    queue = BreakableQueue(
        built.db, lease_seconds=settings.queue.lease_seconds, max_attempts=MAX_ATTEMPTS
    )
    services = dataclasses.replace(built, queue=queue)
    yield services
    services.close()


# Helpers ----------------------------------------------------------------------------------


def gmail_config(google: FakeGoogle, **changes: Any) -> dict[str, Any]:
    config = {
        "mailbox": MAILBOX,
        "service_account_email": PUSHER,
        "credentials": google.service_account_info(),
        "api_base_url": google.base_url,
        "topic": TOPIC,
        **changes,
    }
    return {k: v for k, v in config.items() if v is not None}


def create_channel(api: InProcessClient, tenant: Tenant, config: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/v1/channels",
        json={"kind": "gmail", "name": f"ann-{uuid.uuid4().hex[:6]}", "config": config},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def channel(api: InProcessClient, tenant: Tenant, google: FakeGoogle) -> dict[str, Any]:
    """A Gmail channel whose first watch ran: its cursor is the mailbox's history id."""
    created = create_channel(api, tenant, gmail_config(google))
    run_workers(api, api.app.state.services)
    return created


def run_workers(api: InProcessClient, svc: Services) -> dict[str, int]:
    return api.run(lambda: drain(svc))


def token_for(google: FakeGoogle, channel_id: str, **overrides: Any) -> str:
    audience = f"{PUBLIC_URL}/webhooks/gmail/{channel_id}"
    return google.google_key.sign(google.push_claims(audience, PUSHER, **overrides))


def push(
    api: InProcessClient,
    channel_id: str,
    token: str | None,
    body: Any,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if isinstance(body, bytes | str):
        return api.post(f"/webhooks/gmail/{channel_id}", content=body, headers=headers)
    return api.post(f"/webhooks/gmail/{channel_id}", json=body, headers=headers)


def pushed(api: InProcessClient, google: FakeGoogle, channel_id: str, history_id: int) -> None:
    response = push(
        api, channel_id, token_for(google, channel_id), google.push_envelope(history_id)
    )
    assert response.status_code == 204, response.text


def jobs_of(api: InProcessClient, tenant: Tenant, kind: str) -> list[dict[str, Any]]:
    response = api.get("/v1/jobs", params={"kind": kind}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def inbound(api: InProcessClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = api.get("/v1/inbound", headers=tenant.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def state_of(api: InProcessClient, tenant: Tenant, channel_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/channels/{channel_id}", headers=tenant.auth)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()["state"]
    return state


def cursor_of(api: InProcessClient, tenant: Tenant, channel_id: str) -> int:
    return int(state_of(api, tenant, channel_id)["history_id"])


# The push: authenticated before anything else ---------------------------------------------


def test_a_valid_push_is_acknowledged_once_one_pointer_job_is_stored(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, channel: dict[str, Any]
) -> None:
    google.deliver()
    envelope = google.push_envelope()
    response = push(api, channel["id"], token_for(google, channel["id"]), envelope)
    assert response.status_code == 204, response.text
    [job] = jobs_of(api, tenant, "inbound.gmail")
    assert job["status"] == "ready"
    assert job["channel_id"] == channel["id"]
    assert job["pointer"] == {
        "provider": "gmail",
        "channel_id": channel["id"],
        "email_address": MAILBOX,
        "history_id": str(google.history_id),
        "pubsub_message_id": envelope["message"]["messageId"],
    }
    assert not google.calls_to("history")  # nothing is fetched at ingress


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c"],
)
def test_a_push_without_a_google_token_is_401(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = api.post(
        f"/webhooks/gmail/{channel['id']}", json=google.push_envelope(), headers=headers
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert jobs_of(api, tenant, "inbound.gmail") == []


def _other_key_same_kid(google: FakeGoogle, claims: dict[str, Any]) -> str:
    return signing_key("impostor").sign(claims, kid=google.google_key.kid)


def _unknown_kid(google: FakeGoogle, claims: dict[str, Any]) -> str:
    return signing_key("impostor").sign(claims)


@pytest.mark.parametrize(
    ("overrides", "sign", "status"),
    [
        pytest.param({"aud": "https://elsewhere.example/push"}, None, 403, id="wrong-audience"),
        pytest.param(
            {"email": "someone@proj.iam.gserviceaccount.com"}, None, 403, id="wrong-email"
        ),
        pytest.param({"email_verified": False}, None, 403, id="email-not-verified"),
        pytest.param({"email_verified": "true"}, None, 403, id="email-verified-not-boolean"),
        pytest.param({"iss": "https://evil.example"}, None, 401, id="wrong-issuer"),
        pytest.param({"exp": "far"}, None, 401, id="exp-not-a-number"),
        pytest.param({}, _other_key_same_kid, 401, id="signed-by-another-key"),
        pytest.param({}, _unknown_kid, 401, id="unknown-key-id"),
    ],
)
def test_a_token_that_does_not_hold_is_refused_and_nothing_enqueued(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    overrides: dict[str, Any],
    sign: Any,
    status: int,
) -> None:
    audience = f"{PUBLIC_URL}/webhooks/gmail/{channel['id']}"
    claims = google.push_claims(audience, PUSHER, **overrides)
    token = sign(google, claims) if sign else google.google_key.sign(claims)
    response = push(api, channel["id"], token, google.push_envelope())
    assert response.status_code == status, response.text
    assert jobs_of(api, tenant, "inbound.gmail") == []


def test_token_times_are_checked_against_pigeons_clock(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    clock: FrozenClock,
) -> None:
    issued = token_for(google, channel["id"])  # iat now, exp in an hour, by the FrozenClock
    early = token_for(google, channel["id"], iat=int(clock.now().timestamp()) + 60)
    assert push(api, channel["id"], early, google.push_envelope()).status_code == 401
    clock.advance(timedelta(seconds=3600))
    assert push(api, channel["id"], issued, google.push_envelope()).status_code == 204
    clock.advance(timedelta(seconds=1))
    expired = push(api, channel["id"], issued, google.push_envelope())
    assert expired.status_code == 401, expired.text
    assert len(jobs_of(api, tenant, "inbound.gmail")) == 1


def test_the_token_is_checked_before_the_body_is_read(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, channel: dict[str, Any]
) -> None:
    bad = google.google_key.sign(
        google.push_claims("https://elsewhere.example", PUSHER)
    )  # a Google token for another audience
    assert push(api, channel["id"], "garbage", b"{not json").status_code == 401
    assert push(api, channel["id"], bad, b"{not json").status_code == 403
    assert jobs_of(api, tenant, "inbound.gmail") == []


def _envelope_with(google: FakeGoogle, **message: Any) -> dict[str, Any]:
    envelope = google.push_envelope()
    envelope["message"].update(message)
    return envelope


def _data(payload: Any) -> str:
    import base64
    import json

    return base64.b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "request_body"),
        ([], "request_body"),
        ({"subscription": "s"}, "message"),
        ({"message": "text"}, "message"),
        ("no-message-id", "message.messageId"),
        ("data-not-base64", "message.data"),
        ("data-not-an-object", "message.data"),
        ("no-email", "message.data.emailAddress"),
        ("history-not-a-number", "message.data.historyId"),
        ("history-negative", "message.data.historyId"),
    ],
)
def test_a_malformed_envelope_is_400_naming_the_field(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    body: Any,
    field: str,
) -> None:
    cases = {
        "no-message-id": {"messageId": None, "message_id": None},
        "data-not-base64": {"data": "%%%"},
        "data-not-an-object": {"data": _data([1, 2])},
        "no-email": {"data": _data({"historyId": 5})},
        "history-not-a-number": {"data": _data({"emailAddress": MAILBOX, "historyId": "x"})},
        "history-negative": {"data": _data({"emailAddress": MAILBOX, "historyId": -4})},
    }
    if isinstance(body, str):
        body = _envelope_with(google, **cases[body])
    response = push(api, channel["id"], token_for(google, channel["id"]), body)
    assert response.status_code == 400, response.text
    assert problem_fields(response) == [field]
    assert jobs_of(api, tenant, "inbound.gmail") == []


def test_a_push_for_another_mailbox_is_acknowledged_and_ignored(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, channel: dict[str, Any]
) -> None:
    envelope = google.push_envelope(email_address="mallory@example.com")
    response = push(api, channel["id"], token_for(google, channel["id"]), envelope)
    assert response.status_code == 204  # acknowledged: Pub/Sub would redeliver it forever
    assert jobs_of(api, tenant, "inbound.gmail") == []


def test_a_push_to_no_such_channel_is_404(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, channel: dict[str, Any]
) -> None:
    other = str(uuid.uuid4())
    response = push(api, other, token_for(google, other), google.push_envelope())
    assert response.status_code == 404
    # A disabled channel takes no pushes either.
    disabled = api.post(f"/v1/channels/{channel['id']}/disable", headers=tenant.auth)
    assert disabled.status_code == 200
    response = push(api, channel["id"], token_for(google, channel["id"]), google.push_envelope())
    assert response.status_code == 404
    assert jobs_of(api, tenant, "inbound.gmail") == []


def test_a_configured_audience_replaces_the_webhook_url(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle
) -> None:
    created = create_channel(api, tenant, gmail_config(google, audience="gmail-push-aud"))
    claims = google.push_claims("gmail-push-aud", PUSHER)
    response = push(api, created["id"], google.google_key.sign(claims), google.push_envelope())
    assert response.status_code == 204, response.text
    default = push(api, created["id"], token_for(google, created["id"]), google.push_envelope())
    assert default.status_code == 403


def test_when_the_queue_is_down_the_push_is_503_and_nothing_is_enqueued(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    assert isinstance(container.queue, BreakableQueue)
    container.queue.broken = True
    response = push(api, channel["id"], token_for(google, channel["id"]), google.push_envelope())
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    container.queue.broken = False
    assert jobs_of(api, tenant, "inbound.gmail") == []
    # Pub/Sub pushes again: now it is taken.
    response = push(api, channel["id"], token_for(google, channel["id"]), google.push_envelope())
    assert response.status_code == 204


def test_googles_keys_are_cached_for_their_max_age(
    api: InProcessClient,
    google: FakeGoogle,
    channel: dict[str, Any],
    clock: FrozenClock,
) -> None:
    for _ in range(3):
        pushed(api, google, channel["id"], google.history_id)
    assert google.certs_fetches == 1
    clock.advance(timedelta(seconds=google.certs_max_age))
    pushed(api, google, channel["id"], google.history_id)
    assert google.certs_fetches == 2


def test_when_googles_keys_cannot_be_fetched_the_push_is_503(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, channel: dict[str, Any]
) -> None:
    google.fail["certs"] = 500
    response = push(api, channel["id"], token_for(google, channel["id"]), google.push_envelope())
    assert response.status_code == 503, response.text  # no verdict: Pub/Sub pushes again
    assert response.headers["retry-after"] == "1"
    assert jobs_of(api, tenant, "inbound.gmail") == []
    del google.fail["certs"]
    pushed(api, google, channel["id"], google.history_id)


# Consume-time fetch -----------------------------------------------------------------------


def test_a_push_brings_the_message_in_through_history_and_messages_get(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    start = cursor_of(api, tenant, channel["id"])
    assert start == google.history_id  # the watch's history id
    first = google.deliver(
        "=?UTF-8?B?Q2Fmw6kgb24gRnJpZGF5Pw==?=",  # "Café on Friday?"
        "Are we still on for Friday at noon?",
        html="<p>Are we still on for <b>Friday</b> at noon?</p>",
    )
    second = google.deliver("Invoice", None, html="<div>Invoice <b>42</b></div><p>Due soon</p>")
    third = google.deliver("Tickets", "Your tickets", labels=("SENT",))  # not INBOX: not inbound
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)

    [history] = google.calls_to("history")[:1]
    assert history["startHistoryId"] == str(start)
    assert history["historyTypes"] == "messageAdded"
    got = [call for call in google.calls_to("messages.get")]
    assert len(got) == 2 and all(call["format"] == "full" for call in got)
    stored = {m["external_id"]: m for m in inbound(api, tenant)}
    assert set(stored) == {f"gmail:{first}", f"gmail:{second}"}
    assert f"gmail:{third}" not in stored
    message = stored[f"gmail:{first}"]
    assert message["from"] == "bob@example.org"
    assert message["to"] == [MAILBOX, "carol@example.org"]
    assert message["subject"] == "Café on Friday?"
    assert message["text"] == "Are we still on for Friday at noon?"
    assert message["html"] == "<p>Are we still on for <b>Friday</b> at noon?</p>"
    assert message["internet_message_id"] == f"<{first}@mail.example.org>"
    assert message["in_reply_to"] == "<earlier@mail.example.org>"
    assert message["mailbox"] == MAILBOX
    assert message["channel_id"] == channel["id"]
    internal = int(google.messages[first]["internalDate"]) / 1000
    assert message["received_at"] == datetime.fromtimestamp(internal, UTC).isoformat()[:-6] + "Z"
    assert stored[f"gmail:{second}"]["text"] == "Invoice 42\nDue soon"  # HTML only
    assert cursor_of(api, tenant, channel["id"]) == google.history_id
    [job] = jobs_of(api, tenant, "inbound.gmail")
    assert job["status"] == "done"


def test_latin1_text_is_decoded_by_its_charset(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    google.deliver("Menu", "Crème brûlée à volonté", charset="ISO-8859-1")
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)
    [message] = inbound(api, tenant)
    assert message["text"] == "Crème brûlée à volonté"


def test_the_access_token_is_fetched_once_for_the_mailbox_and_reused(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    for _ in range(3):
        google.deliver()
        pushed(api, google, channel["id"], google.history_id)
        run_workers(api, container)
    assert len(inbound(api, tenant)) == 3
    [grant] = google.token_grants
    assert grant["grant"] == "jwt"
    assert grant["sub"] == MAILBOX  # domain-wide delegation: acting as the mailbox's user
    assert grant["scope"] == GMAIL_READONLY


def test_an_oauth_client_with_a_refresh_token_works_too(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, container: Services
) -> None:
    created = create_channel(
        api, tenant, gmail_config(google, credentials=google.authorized_user_info())
    )
    run_workers(api, container)
    google.deliver()
    pushed(api, google, created["id"], google.history_id)
    run_workers(api, container)
    assert len(inbound(api, tenant)) == 1
    assert {grant["grant"] for grant in google.token_grants} == {"refresh_token"}


def test_a_duplicate_push_stores_nothing_new(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    google.deliver()
    envelope = google.push_envelope()
    token = token_for(google, channel["id"])
    for _ in range(2):  # Pub/Sub redelivers: two pointer jobs, run together
        assert push(api, channel["id"], token, envelope).status_code == 204
    run_workers(api, container)
    assert len(inbound(api, tenant)) == 1
    assert push(api, channel["id"], token, envelope).status_code == 204  # and once more later
    history_calls = len(google.calls_to("history"))
    run_workers(api, container)
    assert len(inbound(api, tenant)) == 1
    assert len(google.calls_to("history")) == history_calls  # at the cursor: nothing to ask
    assert {j["status"] for j in jobs_of(api, tenant, "inbound.gmail")} == {"done"}


def test_pushes_out_of_order_never_move_the_cursor_back(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    google.deliver("one")
    early = google.history_id
    google.deliver("two")
    late = google.history_id
    pushed(api, google, channel["id"], late)
    run_workers(api, container)
    assert cursor_of(api, tenant, channel["id"]) == late
    pushed(api, google, channel["id"], early)  # the older notification arrives last
    run_workers(api, container)
    assert cursor_of(api, tenant, channel["id"]) == late
    assert sorted(m["subject"] for m in inbound(api, tenant)) == ["one", "two"]
    # A push for changes the cursor passed is done without asking Gmail.
    assert len(google.calls_to("history")) == 1


def test_the_cursor_is_what_history_list_saw_not_the_pushs_number(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    google.deliver("one")
    pushed(api, google, channel["id"], google.history_id)
    google.deliver("two")  # arrives before the first push is consumed
    run_workers(api, container)
    assert sorted(m["subject"] for m in inbound(api, tenant)) == ["one", "two"]
    assert cursor_of(api, tenant, channel["id"]) == google.history_id
    pushed(api, google, channel["id"], google.history_id)  # the second message's push
    run_workers(api, container)
    assert len(google.calls_to("history")) == 1  # listed already: nothing to ask


def test_a_long_history_is_taken_in_parts_the_cursor_at_the_last_whole_record(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gmail_provider, "MAX_MESSAGES_PER_FETCH", 2)
    google.deliver("one")
    google.deliver("two")
    second = google.history_id
    google.deliver("three")
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)
    assert sorted(m["subject"] for m in inbound(api, tenant)) == ["one", "two"]
    assert cursor_of(api, tenant, channel["id"]) == second
    pushed(api, google, channel["id"], google.history_id)  # the next push takes the rest
    run_workers(api, container)
    assert sorted(m["subject"] for m in inbound(api, tenant)) == ["one", "three", "two"]
    assert cursor_of(api, tenant, channel["id"]) == google.history_id


def test_a_channel_moved_to_another_mailbox_starts_its_history_afresh(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    assert cursor_of(api, tenant, channel["id"]) == google.history_id
    other = "bob@example.com"
    google.mailbox, google.history_id = other, 50  # a younger mailbox: lower history ids
    patched = api.patch(
        f"/v1/channels/{channel['id']}", json={"config": {"mailbox": other}}, headers=tenant.auth
    )
    assert patched.status_code == 200, patched.text
    run_workers(api, container)  # the watch of the new mailbox
    state = state_of(api, tenant, channel["id"])
    assert (int(state["history_id"]), state["history_mailbox"]) == (50, other)
    message = google.deliver()
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)
    assert [m["external_id"] for m in inbound(api, tenant)] == [f"gmail:{message}"]


def test_a_cursor_too_old_for_gmail_resyncs_the_last_day(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    stale = cursor_of(api, tenant, channel["id"])
    old = google.deliver("two days ago", age=timedelta(days=2))
    recent = google.deliver("an hour ago", age=timedelta(hours=1))
    new = google.deliver("just now")
    google.oldest_history_id = google.history_id  # Gmail no longer keeps history that old
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)

    assert google.calls_to("history")[0]["startHistoryId"] == str(stale)
    [listing, *_] = google.calls_to("messages.list")
    assert listing["q"] == "newer_than:1d"
    stored = {m["external_id"] for m in inbound(api, tenant)}
    assert stored == {f"gmail:{recent}", f"gmail:{new}"}
    assert f"gmail:{old}" not in stored
    state = state_of(api, tenant, channel["id"])
    assert int(state["history_id"]) == google.history_id
    assert state["resync_reason"] == "history_expired"
    [job] = jobs_of(api, tenant, "inbound.gmail")
    assert job["status"] == "done"


def test_a_push_before_any_cursor_resyncs_instead_of_skipping_its_message(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, container: Services
) -> None:
    created = create_channel(api, tenant, gmail_config(google, topic=None))
    run_workers(api, container)  # no topic: no watch, so no cursor
    assert "history_id" not in state_of(api, tenant, created["id"])
    message = google.deliver()
    pushed(api, google, created["id"], google.history_id)
    run_workers(api, container)
    assert [m["external_id"] for m in inbound(api, tenant)] == [f"gmail:{message}"]
    state = state_of(api, tenant, created["id"])
    assert int(state["history_id"]) == google.history_id
    assert state["resync_reason"] == "no_cursor"
    assert google.calls_to("history") == []


def test_a_message_deleted_before_its_fetch_is_skipped_not_the_job(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    gone = google.deliver("deleted at once")
    kept = google.deliver("kept")
    google.delete(gone)
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)
    assert [m["external_id"] for m in inbound(api, tenant)] == [f"gmail:{kept}"]
    [job] = jobs_of(api, tenant, "inbound.gmail")
    assert job["status"] == "done"
    assert cursor_of(api, tenant, channel["id"]) == google.history_id


def test_a_gmail_outage_is_retried_then_dead_lettered_and_a_redrive_runs_it_again(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    start = cursor_of(api, tenant, channel["id"])
    google.deliver()
    google.fail["history"] = 500
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)

    assert len(google.calls_to("history")) == MAX_ATTEMPTS
    [dead] = api.get("/v1/dead-letters", headers=tenant.auth).json()["items"]
    assert dead["kind"] == "inbound.gmail"
    assert dead["attempts"] == MAX_ATTEMPTS
    assert "500" in dead["last_error"]
    assert inbound(api, tenant) == []
    assert cursor_of(api, tenant, channel["id"]) == start  # nothing fetched, nothing moved

    del google.fail["history"]
    redriven = api.post(
        "/v1/dead-letters/redrive", json={"job_ids": [dead["id"]]}, headers=tenant.auth
    )
    assert redriven.status_code == 200, redriven.text
    run_workers(api, container)
    assert len(google.calls_to("history")) == MAX_ATTEMPTS + 1
    assert len(inbound(api, tenant)) == 1
    assert cursor_of(api, tenant, channel["id"]) == google.history_id


def test_a_message_fetch_failing_fails_the_job_and_stores_nothing(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
) -> None:
    start = cursor_of(api, tenant, channel["id"])
    google.deliver()
    google.fail["messages.get"] = 503
    pushed(api, google, channel["id"], google.history_id)
    run_workers(api, container)
    [dead] = api.get("/v1/dead-letters", headers=tenant.auth).json()["items"]
    assert dead["attempts"] == MAX_ATTEMPTS
    assert inbound(api, tenant) == []
    assert cursor_of(api, tenant, channel["id"]) == start


# The watch --------------------------------------------------------------------------------


def test_creating_the_channel_enqueues_a_watch_that_records_its_outcome(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    container: Services,
    clock: FrozenClock,
) -> None:
    created = create_channel(api, tenant, gmail_config(google))
    [job] = jobs_of(api, tenant, "gmail.watch")
    assert job["status"] == "ready"
    assert job["pointer"] == {"channel_id": created["id"]}
    assert google.watches == []  # the request itself never calls Google

    run_workers(api, container)
    assert google.watches == [{"topicName": TOPIC, "labelIds": ["INBOX"]}]
    state = state_of(api, tenant, created["id"])
    assert int(state["history_id"]) == google.history_id
    expected = clock.now() + google.watch_lifetime
    assert datetime.fromisoformat(state["watch_expiration"]) == expected.replace(microsecond=0)
    assert datetime.fromisoformat(state["last_ok_at"]) == clock.now()
    assert state["last_error"] is None
    [job] = jobs_of(api, tenant, "gmail.watch")
    assert job["status"] == "done"


def test_the_watch_is_renewed_daily_and_keeps_the_cursor(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    channel: dict[str, Any],
    container: Services,
    clock: FrozenClock,
) -> None:
    cursor = cursor_of(api, tenant, channel["id"])
    assert mailboxes.run_upkeep(container) == 0  # renewed just now
    clock.advance(timedelta(hours=23))
    assert mailboxes.run_upkeep(container) == 0
    google.deliver()  # the mailbox moves on; the cursor is the fetches' to move
    clock.advance(timedelta(hours=1))
    assert mailboxes.run_upkeep(container) == 1
    assert mailboxes.run_upkeep(container) == 0  # one renewal waiting is enough
    run_workers(api, container)
    assert len(google.watches) == 2
    state = state_of(api, tenant, channel["id"])
    assert int(state["history_id"]) == cursor
    assert datetime.fromisoformat(state["watch_renewed_at"]) == clock.now()


def test_a_watch_about_to_expire_is_renewed(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    container: Services,
    clock: FrozenClock,
) -> None:
    google.watch_lifetime = timedelta(hours=30)  # Gmail may end a watch early
    create_channel(api, tenant, gmail_config(google))
    run_workers(api, container)
    clock.advance(timedelta(hours=5))
    assert mailboxes.run_upkeep(container) == 0
    clock.advance(timedelta(hours=1, seconds=1))  # 24 h left
    assert mailboxes.run_upkeep(container) == 1
    run_workers(api, container)
    assert len(google.watches) == 2


def test_without_a_topic_the_watch_fails_for_good_and_says_why(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    container: Services,
    clock: FrozenClock,
) -> None:
    created = create_channel(api, tenant, gmail_config(google, topic=None))
    run_workers(api, container)
    [dead] = api.get("/v1/dead-letters", headers=tenant.auth).json()["items"]
    assert dead["kind"] == "gmail.watch"
    assert dead["attempts"] == 1  # permanent: not retried
    state = state_of(api, tenant, created["id"])
    assert "config.topic" in state["last_error"]
    assert state["watch_error_permanent"] is True
    assert google.watches == []
    clock.advance(timedelta(days=2))
    assert mailboxes.run_upkeep(container) == 0  # waits for the config to change

    patched = api.patch(
        f"/v1/channels/{created['id']}", json={"config": {"topic": TOPIC}}, headers=tenant.auth
    )
    assert patched.status_code == 200, patched.text
    run_workers(api, container)
    assert google.watches == [{"topicName": TOPIC, "labelIds": ["INBOX"]}]
    state = state_of(api, tenant, created["id"])
    assert state["last_error"] is None
    assert state["watch_error_permanent"] is False


def test_a_watch_gmail_refuses_is_recorded_and_not_retried(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    container: Services,
    clock: FrozenClock,
) -> None:
    google.fail["watch"] = 400  # e.g. a topic Gmail may not publish to
    created = create_channel(api, tenant, gmail_config(google))
    run_workers(api, container)
    assert len(google.calls_to("watch")) == 1
    state = state_of(api, tenant, created["id"])
    assert "400" in state["last_error"]
    assert state["watch_error_permanent"] is True
    [newest, *_] = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    assert newest["action"] == "gmail.watch_failed"
    clock.advance(timedelta(days=2))
    assert mailboxes.run_upkeep(container) == 0  # waits for the config to change
    assert len(google.calls_to("watch")) == 1


def test_a_watch_outage_is_retried_and_recorded(
    api: InProcessClient,
    tenant: Tenant,
    google: FakeGoogle,
    container: Services,
    clock: FrozenClock,
) -> None:
    google.fail["watch"] = 503
    created = create_channel(api, tenant, gmail_config(google))
    run_workers(api, container)
    assert len(google.calls_to("watch")) == MAX_ATTEMPTS
    state = state_of(api, tenant, created["id"])
    assert "503" in state["last_error"]
    assert state["watch_error_permanent"] is False
    del google.fail["watch"]
    clock.advance(timedelta(minutes=59))
    assert mailboxes.run_upkeep(container) == 0  # a failed watch is tried again hourly
    clock.advance(timedelta(minutes=1))
    assert mailboxes.run_upkeep(container) == 1
    run_workers(api, container)
    assert state_of(api, tenant, created["id"])["last_error"] is None


# Secrets ----------------------------------------------------------------------------------


def test_the_credentials_never_appear_in_a_channel_response(
    api: InProcessClient, tenant: Tenant, google: FakeGoogle, container: Services
) -> None:
    info = google.service_account_info()
    created = api.post(
        "/v1/channels",
        json={"kind": "gmail", "name": "ann", "config": gmail_config(google)},
        headers=tenant.auth,
    )
    assert created.status_code == 201
    channel_id = created.json()["id"]
    run_workers(api, container)
    responses = [
        created,
        api.get("/v1/channels", headers=tenant.auth),
        api.get(f"/v1/channels/{channel_id}", headers=tenant.auth),
        api.patch(f"/v1/channels/{channel_id}", json={"name": "ann2"}, headers=tenant.auth),
        api.patch(
            f"/v1/channels/{channel_id}",
            json={"config": {"credentials": google.authorized_user_info()}},
            headers=tenant.auth,
        ),
        api.post(f"/v1/channels/{channel_id}/disable", headers=tenant.auth),
    ]
    key_body = info["private_key"].splitlines()[1]
    for response in responses:
        assert response.status_code in (200, 201), response.text
        for secret in (
            key_body,
            "private_key",
            google.oauth_client["client_secret"],
            google.oauth_client["refresh_token"],
        ):
            assert secret not in response.text
        body = response.json()
        shown_all = [c for c in body.get("items", [body]) if c["kind"] == "gmail"]
        assert shown_all
        for shown in shown_all:
            assert "credentials" not in shown["config"]
            assert shown["secrets"] == ["credentials"]
