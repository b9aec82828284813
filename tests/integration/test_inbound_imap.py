"""IMAP inbound end to end, against a real Dovecot (tests/fakes/dovecot.py) on loopback:

- the login check a new channel enqueues, and its outcome in the channel's state;
- the webhook a listener run apart posts pointers to: its shared secret checked before the
  body is read, pointers only, 2xx only once durable, 503 with Retry-After otherwise;
- the consume-time fetch: stored once per Message-ID, never marked \\Seen, an expunged UID or
  a changed UIDVALIDITY skipped for good, a refused login retried;
- the listener: IDLE, polling where IDLE is not offered, reconnecting after a drop and
  catching up without duplicates, a changed UIDVALIDITY, and its webhook mode against a
  pigeon served over real HTTP.

Mail is delivered by IMAP APPEND (or into the Maildir while the server is down).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

import pytest
from imapclient.exceptions import LoginError

from pigeon import bootstrap
from pigeon.api.app import create_app
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import QueueSettings, Settings
from pigeon.domain.backoff import Backoff
from pigeon.providers import imap
from pigeon.providers.imap import Account, Pointer, parse_message
from pigeon.providers.imap_listener import (
    DirectSink,
    ListenerWorker,
    Options,
    Target,
    Watches,
    WebhookSink,
    catch_up_once,
    direct_targets,
    run_webhook,
)
from pigeon.queue.sql import SqlQueue
from pigeon.services.context import Services
from pigeon.workers.supervisor import drain
from tests.fakes.dovecot import Dovecot, running_dovecot
from tests.fakes.server import serving
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    Tenant,
    bearer,
    problem_fields,
    row_counts,
)

SECRET = "imap-listener-shared-secret-0123456789"
MAX_ATTEMPTS = 3
# For the listener's tests the database matters little (the consume and webhook tests run on
# both): they run on SQLite only, to keep the file quick.
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
POINTER_JOBS = "inbound.imap"
FAST = Options(
    idle_slice_seconds=0.1,
    poll_seconds=0.2,
    reconnect=Backoff(0.05, 0.3, max_attempts=2**31, jitter=0.5),
)


class BreakableQueue(SqlQueue):
    """The SQL queue, whose enqueue fails while `broken` (a lost connection)."""

    broken = 0  # how many enqueues fail from now

    def enqueue(self, jobs: Any, *, uow: Any = None) -> Any:
        if self.broken:
            self.broken -= 1
            raise ConnectionError("connection to the queue lost")
        return super().enqueue(jobs, uow=uow)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def dovecot_tls() -> Iterator[Dovecot]:
    with running_dovecot(tls=True) as server:
        yield server


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    return dovecot.add_user()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        operator_token=OPERATOR_TOKEN,
        secret_key="a-secret-key-for-tests-0123456789abcdef",
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
    imap.SOURCE.connections.close_all()


# Helpers ----------------------------------------------------------------------------------


def mail(
    subject: str = "Lunch on Friday?",
    *,
    message_id: str | None = "auto",
    text: str | None = "Shall we meet at noon?",
    html: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = "Ann Example <ann@example.org>"
    message["To"] = "Team <team@example.org>, bob@example.org"
    message["Subject"] = subject
    if message_id == "auto":
        message_id = f"<{uuid.uuid4().hex}@example.org>"
    if message_id:
        message["Message-ID"] = message_id
    message["In-Reply-To"] = "<earlier@example.org>"
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message.as_bytes(policy=SMTP)


def imap_config(dovecot: Dovecot, user: str, **changes: Any) -> dict[str, Any]:
    return {
        "host": dovecot.host,
        "port": dovecot.port,
        "tls": False,
        "username": user,
        "password": dovecot.password,
        "shared_secret": SECRET,
        **changes,
    }


def create_channel(api: InProcessClient, tenant: Tenant, config: dict[str, Any]) -> dict[str, Any]:
    response = api.post(
        "/v1/channels",
        json={"kind": "imap", "name": f"mail-{uuid.uuid4().hex[:6]}", "config": config},
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def channel(api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str) -> dict[str, Any]:
    return create_channel(api, tenant, imap_config(dovecot, user))


def run_workers(api: InProcessClient) -> dict[str, int]:
    svc: Services = api.app.state.services
    return api.run(lambda: drain(svc))


def post_pointers(
    api: InProcessClient, channel_id: str, pointers: Any, secret: str | None = SECRET
) -> Any:
    headers = bearer(secret) if secret is not None else {}
    return api.post(f"/webhooks/imap/{channel_id}", json={"pointers": pointers}, headers=headers)


def jobs(api: InProcessClient, tenant: Tenant, kind: str = POINTER_JOBS) -> list[dict[str, Any]]:
    response = api.get("/v1/jobs", params={"kind": kind, "limit": 200}, headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return sorted(found, key=lambda job: job["created_at"] + job["id"])


def inbound(api: InProcessClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = api.get("/v1/inbound", headers=tenant.auth)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


def validity(dovecot: Dovecot, user: str, mailbox: str = "INBOX") -> int:
    with dovecot.session(user) as client:
        return int(client.select_folder(mailbox, readonly=True)[b"UIDVALIDITY"])


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def pointer_uids(api: InProcessClient, tenant: Tenant) -> list[tuple[int, int]]:
    return [(j["pointer"]["uid_validity"], j["pointer"]["uid"]) for j in jobs(api, tenant)]


@contextlib.contextmanager
def watching(sink: Any, targets: list[Target], options: Options = FAST) -> Iterator[Watches]:
    watches = Watches(sink, options)
    watches.reconcile(targets)
    try:
        yield watches
    finally:
        watches.stop_all()


# The login check --------------------------------------------------------------------------


def test_a_new_channel_checks_its_login_and_records_what_the_server_offers(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    dovecot.append(user, mail())
    created = create_channel(api, tenant, imap_config(dovecot, user))
    [check] = jobs(api, tenant, imap.LOGIN_CHECK)
    assert check["status"] == "ready"
    assert check["pointer"] == {"channel_id": created["id"]}
    assert "login" not in created["state"]  # the request itself never calls the server

    run_workers(api)

    shown = api.get(f"/v1/channels/{created['id']}", headers=tenant.auth).json()
    login = shown["state"]["login"]
    assert login["ok"] is True, login
    assert login["error"] is None
    assert login["idle"] is True
    assert "IDLE" in login["capabilities"]
    assert login["mailboxes"] == {
        "INBOX": {"uid_validity": validity(dovecot, user), "uid_next": 2, "exists": 1}
    }
    assert [j["status"] for j in jobs(api, tenant, imap.LOGIN_CHECK)] == ["done"]


def test_a_refused_login_is_recorded_in_the_state_without_the_secret(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    wrong = "not-the-password-4711"
    created = create_channel(api, tenant, imap_config(dovecot, user, password=wrong))
    run_workers(api)

    response = api.get(f"/v1/channels/{created['id']}", headers=tenant.auth)
    login = response.json()["state"]["login"]
    assert login["ok"] is False
    assert login["error"].startswith("login refused"), login
    assert wrong not in response.text and SECRET not in response.text
    assert response.json()["config"].keys() == {"host", "port", "tls", "username", "mailboxes"}


def test_a_mailbox_the_account_cannot_read_fails_the_check(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    config = imap_config(dovecot, user, mailboxes=["INBOX", "Nowhere"])
    created = create_channel(api, tenant, config)
    run_workers(api)
    login = api.get(f"/v1/channels/{created['id']}", headers=tenant.auth).json()["state"]["login"]
    assert login["ok"] is False
    assert login["error"] == "mailboxes not readable: Nowhere"
    assert "uid_validity" in login["mailboxes"]["INBOX"]


@SQLITE_ONLY
def test_tls_and_starttls_verify_the_certificate(
    api: InProcessClient,
    tenant: Tenant,
    dovecot_tls: Dovecot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = dovecot_tls
    user = server.add_user()
    untrusted = create_channel(
        api, tenant, imap_config(server, user, tls=True, port=server.tls_port)
    )
    run_workers(api)
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))  # trust the self-signed one
    implicit = create_channel(
        api, tenant, imap_config(server, user, tls=True, port=server.tls_port)
    )
    starttls = create_channel(api, tenant, imap_config(server, user, tls=False))
    uid = server.append(user, mail("over tls"))
    pointer = {"mailbox": "INBOX", "uid": uid, "uidValidity": validity(server, user)}
    post_pointers(api, implicit["id"], [pointer])
    run_workers(api)

    def login(channel: dict[str, Any]) -> dict[str, Any]:
        shown = api.get(f"/v1/channels/{channel['id']}", headers=tenant.auth).json()
        found: dict[str, Any] = shown["state"]["login"]
        return found

    assert login(implicit)["ok"] is True
    assert login(starttls)["ok"] is True
    assert login(untrusted)["ok"] is False
    assert "CERTIFICATE_VERIFY_FAILED" in login(untrusted)["error"]
    [stored] = inbound(api, tenant)
    assert stored["subject"] == "over tls"
    monkeypatch.delenv("SSL_CERT_FILE")
    # tls=false upgrades with STARTTLS where offered, so an untrusted certificate fails it.
    assert (
        "tls failed"
        in imap.login_outcome(
            imap.Account.with_defaults(
                host=server.host,
                port=server.port,
                tls=False,
                username=user,
                password=server.password,
            ),
            datetime(2030, 1, 1, tzinfo=UTC),
        )["error"]
    )


# The webhook ------------------------------------------------------------------------------


def test_the_webhook_takes_the_shared_secret_before_anything_else(
    api: InProcessClient, tenant: Tenant, container: Services, channel: dict[str, Any]
) -> None:
    before = row_counts(container)
    pointer = [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7}]
    for secret in (None, "wrong-secret-0123456789", SECRET + "x", ""):
        response = post_pointers(api, channel["id"], pointer, secret)
        assert response.status_code == 401, (secret, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
    # Refused before its body is read: not a 400 for the body that is not JSON.
    garbage = api.post(
        f"/webhooks/imap/{channel['id']}", content=b"{not json", headers=bearer("wrong")
    )
    assert garbage.status_code == 401
    assert row_counts(container) == before
    assert jobs(api, tenant) == []


def test_the_webhook_of_no_imap_channel_is_not_found(
    api: InProcessClient, tenant: Tenant, channel: dict[str, Any]
) -> None:
    pointer = [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7}]
    for channel_id in (str(uuid.uuid4()), "not-an-id"):
        assert post_pointers(api, channel_id, pointer).status_code == 404
    api.post(f"/v1/channels/{channel['id']}/disable", headers=tenant.auth)
    assert post_pointers(api, channel["id"], pointer).status_code == 404


# (body, the field named): under `pointers[0].`, or, written `/name`, at the top.
REFUSED: list[tuple[Any, str]] = [
    ({"pointers": [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7, "body": "hi"}]}, "body"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7, "raw": "x"}]}, "raw"),
    ({"pointers": [], "rawMime": "From: ann"}, "/rawMime"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 1, "x": {"html": "<p>"}}]}, "x.html"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7, "x": 1}]}, "x"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 1}]}, "uidValidity"),
    ({"pointers": [{"mailbox": "INBOX", "uid": "1", "uidValidity": 7}]}, "uid"),
    ({"pointers": [{"mailbox": "", "uid": 1, "uidValidity": 7}]}, "mailbox"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 0, "uidValidity": 7}]}, "uid"),
    (
        {"pointers": [{"mailbox": "I", "uid": 1, "uidValidity": 7, "uid_validity": 7}]},
        "uid_validity",
    ),
    ({"pointers": "INBOX"}, "/pointers"),
    ({}, "/pointers"),
    ([1, 2], "/request_body"),
    ({"pointers": [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7}] * 501}, "/pointers"),
    # The channel watches INBOX only: another folder is not pigeon's to read.
    ({"pointers": [{"mailbox": "Private", "uid": 1, "uidValidity": 7}]}, "mailbox"),
    ({"pointers": [{"mailbox": "IN\u0000BOX", "uid": 1, "uidValidity": 7}]}, "mailbox"),
]


def test_the_webhook_refuses_anything_but_pointers_naming_the_field(
    api: InProcessClient, tenant: Tenant, container: Services, channel: dict[str, Any]
) -> None:
    before = row_counts(container)
    for body, field in REFUSED:
        response = api.post(f"/webhooks/imap/{channel['id']}", json=body, headers=bearer(SECRET))
        assert response.status_code == 400, (body, response.text)
        wanted = field[1:] if field.startswith("/") else f"pointers[0].{field}"
        assert problem_fields(response) == [wanted], body
    assert row_counts(container) == before


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"pointers": [], "x": ' + b'{"a":' * 990 + b"1" + b"}" * 991],
    ids=["malformed", "nested too deep for the parser"],
)
def test_the_webhook_refuses_a_body_that_is_not_json(
    api: InProcessClient, channel: dict[str, Any], raw: bytes
) -> None:
    response = api.post(f"/webhooks/imap/{channel['id']}", content=raw, headers=bearer(SECRET))
    assert response.status_code == 400
    assert problem_fields(response) == ["request_body"]


def test_the_webhook_enqueues_one_pointer_job_per_pointer(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    channel = create_channel(
        api, tenant, imap_config(dovecot, user, mailboxes=["INBOX", "Support"])
    )
    pointers = [
        {"mailbox": "INBOX", "uid": 4, "uidValidity": 77, "messageId": "<a@example.org>"},
        {"mailbox": "Support", "uid": 9, "uid_validity": 78},  # the jobs' own names
    ]
    response = post_pointers(api, channel["id"], pointers)
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    found = jobs(api, tenant)
    assert {j["id"] for j in found} == set(response.json()["job_ids"])
    assert [j["pointer"] for j in found] == [
        {
            "provider": "imap",
            "channel_id": channel["id"],
            "mailbox": "INBOX",
            "uid": 4,
            "uid_validity": 77,
            "message_id": "<a@example.org>",
        },
        {
            "provider": "imap",
            "channel_id": channel["id"],
            "mailbox": "Support",
            "uid": 9,
            "uid_validity": 78,
        },
    ]
    assert all(j["status"] == "ready" and j["channel_id"] == channel["id"] for j in found)


def test_the_webhook_answers_503_with_retry_after_when_the_queue_fails(
    api: InProcessClient, tenant: Tenant, container: Services, channel: dict[str, Any]
) -> None:
    queue = container.queue
    assert isinstance(queue, BreakableQueue)
    queue.broken = 1
    response = post_pointers(api, channel["id"], [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7}])
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert jobs(api, tenant) == []


# The consume-time fetch -------------------------------------------------------------------


def test_a_pointer_brings_the_message_in_once_and_leaves_it_unseen(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str, channel: dict[str, Any]
) -> None:
    message_id = "<lunch-4711@example.org>"
    uid = dovecot.append(user, mail(message_id=message_id))
    pointer = {"mailbox": "INBOX", "uid": uid, "uidValidity": validity(dovecot, user)}
    assert post_pointers(api, channel["id"], [pointer]).status_code == 202
    assert post_pointers(api, channel["id"], [pointer]).status_code == 202  # a retried post

    run_workers(api)

    [stored] = inbound(api, tenant)
    assert stored["external_id"] == f"imap:{message_id}"
    assert stored["internet_message_id"] == message_id
    assert stored["channel_id"] == channel["id"]
    assert stored["subject"] == "Lunch on Friday?"
    assert stored["from"] == "ann@example.org"
    assert stored["to"] == ["team@example.org", "bob@example.org"]
    assert stored["text"].strip() == "Shall we meet at noon?"
    assert stored["in_reply_to"] == "<earlier@example.org>"
    assert stored["mailbox"] == "INBOX"
    assert datetime.fromisoformat(stored["received_at"]).tzinfo is not None
    assert [j["status"] for j in jobs(api, tenant)] == ["done", "done"]
    with dovecot.session(user) as client:
        client.select_folder("INBOX", readonly=True)
        assert b"\\Seen" not in client.get_flags([uid])[uid]


def test_a_message_without_message_id_is_known_by_its_mailbox_and_uid(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str, channel: dict[str, Any]
) -> None:
    html = "<html><head><style>p {}</style></head><body><p>Meet&nbsp;at <b>noon</b></p></body>"
    uid = dovecot.append(user, mail(message_id=None, text=None, html=html))
    uid_validity = validity(dovecot, user)
    post_pointers(
        api, channel["id"], [{"mailbox": "INBOX", "uid": uid, "uidValidity": uid_validity}]
    )
    run_workers(api)
    [stored] = inbound(api, tenant)
    assert stored["external_id"] == f"imap:INBOX/{uid_validity}/{uid}"
    assert stored["internet_message_id"] is None
    assert stored["text"] == "Meet at noon"
    assert "<b>noon</b>" in stored["html"]


def test_an_expunged_uid_is_skipped_and_never_retried(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str, channel: dict[str, Any]
) -> None:
    uid = dovecot.append(user, mail())
    with dovecot.session(user) as client:
        client.select_folder("INBOX")
        client.delete_messages([uid])
        client.expunge()
    pointer = {"mailbox": "INBOX", "uid": uid, "uidValidity": validity(dovecot, user)}
    post_pointers(api, channel["id"], [pointer])
    run_workers(api)
    [job] = jobs(api, tenant)
    assert job["status"] == "skipped"
    assert job["last_error"] == "source_unavailable:imap_uid_missing"
    assert job["attempts"] == 1
    assert inbound(api, tenant) == []


def test_a_changed_uidvalidity_is_skipped_and_never_retried(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str, channel: dict[str, Any]
) -> None:
    uid = dovecot.append(user, mail())
    old = validity(dovecot, user)
    dovecot.set_uid_validity(user, "INBOX", old + 1000)
    post_pointers(api, channel["id"], [{"mailbox": "INBOX", "uid": uid, "uidValidity": old}])
    run_workers(api)
    [job] = jobs(api, tenant)
    assert job["status"] == "skipped"
    assert job["last_error"] == "source_unavailable:imap_uidvalidity_changed"
    assert job["attempts"] == 1
    assert inbound(api, tenant) == []


def test_a_mailbox_that_is_gone_is_skipped_and_never_retried(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    channel = create_channel(
        api, tenant, imap_config(dovecot, user, mailboxes=["INBOX", "Archive"])
    )
    pointer = {"mailbox": "Archive", "uid": 1, "uidValidity": 7}
    assert post_pointers(api, channel["id"], [pointer]).status_code == 202
    run_workers(api)
    [job] = jobs(api, tenant)
    assert (job["status"], job["last_error"], job["attempts"]) == (
        "skipped",
        "source_unavailable:imap_mailbox_missing",
        1,
    )


def test_a_pointer_to_a_folder_no_longer_watched_is_skipped(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    channel = create_channel(
        api, tenant, imap_config(dovecot, user, mailboxes=["INBOX", "Private"])
    )
    pointer = {"mailbox": "Private", "uid": 1, "uidValidity": 7}
    assert post_pointers(api, channel["id"], [pointer]).status_code == 202
    narrowed = api.patch(
        f"/v1/channels/{channel['id']}",
        json={"config": {"mailboxes": ["INBOX"]}},
        headers=tenant.auth,
    )
    assert narrowed.status_code == 200, narrowed.text
    run_workers(api)
    [job] = jobs(api, tenant)
    assert (job["status"], job["last_error"]) == (
        "skipped",
        "source_unavailable:imap_mailbox_not_watched",
    )


def test_a_refused_login_at_fetch_time_is_retried_then_dead(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str
) -> None:
    created = create_channel(api, tenant, imap_config(dovecot, user, password="wrong-one"))
    post_pointers(api, created["id"], [{"mailbox": "INBOX", "uid": 1, "uidValidity": 7}])
    run_workers(api)
    [job] = jobs(api, tenant)
    assert job["status"] == "dead"
    assert job["attempts"] == MAX_ATTEMPTS
    assert "LoginError" in job["last_error"]
    assert "wrong-one" not in job["last_error"]


def test_a_kept_connection_that_died_is_replaced(
    api: InProcessClient, tenant: Tenant, dovecot: Dovecot, user: str, channel: dict[str, Any]
) -> None:
    first = dovecot.append(user, mail("first"))
    second = dovecot.append(user, mail("second"))
    uid_validity = validity(dovecot, user)
    post_pointers(
        api, channel["id"], [{"mailbox": "INBOX", "uid": first, "uidValidity": uid_validity}]
    )
    run_workers(api)
    dovecot.kick(user)  # the connection kept since the first fetch is gone
    post_pointers(
        api, channel["id"], [{"mailbox": "INBOX", "uid": second, "uidValidity": uid_validity}]
    )
    run_workers(api)
    assert [j["attempts"] for j in jobs(api, tenant)] == [1, 1]
    assert sorted(m["subject"] for m in inbound(api, tenant)) == ["first", "second"]


def test_errors_never_show_the_password() -> None:
    account = Account.with_defaults(
        host="imap.example.org", port=None, tls=True, username="ann", password="hunter2-secret"
    )
    assert account.port == 993
    refused = LoginError("b'[AUTHENTICATIONFAILED] no such user ann/hunter2-secret'")
    assert imap.describe(refused, account) == (
        "login refused: [AUTHENTICATIONFAILED] no such user ann/***"
    )
    assert "hunter2" not in repr(account)


def test_parsing_survives_malformed_headers_and_unknown_charsets() -> None:
    raw = (
        b"From: <<<broken\r\nTo: ,,,\r\nSubject: =?x-unknown?q?caf=E9?=\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\n\r\ncaf\xe9\r\n"
    )
    when = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    parsed = parse_message(raw, Pointer("INBOX", 5, 9), when)
    assert parsed.message_id == "INBOX/9/5"
    assert parsed.text.startswith("caf")
    assert parsed.received_at == when


# The listener -----------------------------------------------------------------------------


def test_the_listener_emits_new_mail_and_catches_up_after_a_drop_without_duplicates(
    api: InProcessClient,
    tenant: Tenant,
    container: Services,
    dovecot: Dovecot,
    user: str,
    channel: dict[str, Any],
) -> None:
    before = dovecot.append(user, mail("before the channel's login check"))
    run_workers(api)  # the login check: the listener starts at the UIDNEXT it saw
    while_unwatched = dovecot.append(user, mail("after the check, before the listener"))
    uid_validity = validity(dovecot, user)

    with watching(DirectSink(container), direct_targets(container)) as watches:
        [watch] = watches.watches
        wait_for(lambda: watch.sessions == 1, "in sync")
        assert watch.mode == "idle"
        assert len(jobs(api, tenant)) == 1  # the mail since the login check
        idled = dovecot.append(user, mail("while idling"))
        wait_for(lambda: len(jobs(api, tenant)) == 2, "a pointer for the new mail")

        dovecot.stop()  # the connection drops; reconnecting is refused for a while
        wait_for(lambda: watch.failures >= 2, "reconnecting to a stopped server")
        dovecot.deliver(user, mail("while the server was down"))
        dovecot.start()
        wait_for(lambda: watch.sessions == 2, "in sync again after the restart")
        assert len(jobs(api, tenant)) == 3  # the catch-up brought it

        dovecot.kick(user)  # dropped; back in sync with nothing new: nothing handed over
        wait_for(lambda: watch.sessions == 3, "in sync again after the kick")
        dovecot.append(user, mail("after the kick"))
        wait_for(lambda: len(jobs(api, tenant)) == 4, "a pointer after the kick")

        dovecot.crash(user)  # the connection ends without a word
        wait_for(lambda: watch.sessions == 4, "in sync again after the crash")
        dovecot.append(user, mail("after the crash"))
        wait_for(lambda: len(jobs(api, tenant)) == 5, "a pointer after the crash")
        time.sleep(0.3)  # nothing more comes

    found = pointer_uids(api, tenant)
    assert found == [(uid_validity, u) for u in range(while_unwatched, while_unwatched + 5)]
    assert before < while_unwatched < idled
    assert all(j["pointer"]["message_id"].endswith("@example.org>") for j in jobs(api, tenant))
    state = api.get(f"/v1/channels/{channel['id']}", headers=tenant.auth).json()["state"]
    assert state["cursors"]["INBOX"]["uid_validity"] == uid_validity
    assert state["cursors"]["INBOX"]["last_uid"] == while_unwatched + 4

    run_workers(api)
    assert len(inbound(api, tenant)) == 5
    with dovecot.session(user) as client:  # the listener and the fetch only PEEKed
        client.select_folder("INBOX", readonly=True)
        assert not any(b"\\Seen" in flags for flags in client.get_flags(client.search()).values())

    # A listener started again (a new process) goes on from the cursor in the state.
    with watching(DirectSink(container), direct_targets(container)):
        dovecot.append(user, mail("after a restart of the listener"))
        wait_for(lambda: len(jobs(api, tenant)) == 6, "a pointer after restarting")
        time.sleep(0.3)
    assert len(jobs(api, tenant)) == 6


@SQLITE_ONLY
@pytest.mark.parametrize("how", ["server without IDLE", "IDLE turned off"])
def test_the_listener_polls_where_it_cannot_idle(
    api: InProcessClient, tenant: Tenant, container: Services, dovecot: Dovecot, how: str
) -> None:
    with contextlib.ExitStack() as stack:
        server = dovecot
        if how == "server without IDLE":
            server = stack.enter_context(running_dovecot(idle=False))
        user = server.add_user()
        create_channel(api, tenant, imap_config(server, user))
        run_workers(api)
        options = dataclasses.replace(FAST, use_idle=how != "IDLE turned off")
        sink = DirectSink(container)
        watches = stack.enter_context(watching(sink, direct_targets(container), options))
        [watch] = watches.watches
        wait_for(lambda: watch.sessions == 1, "in sync")
        assert watch.mode == "poll"
        server.append(user, mail())
        wait_for(lambda: len(jobs(api, tenant)) == 1, "a pointer by polling")
        server.append(user, mail())
        wait_for(lambda: len(jobs(api, tenant)) == 2, "a second pointer by polling")
        assert watch.emitted == 2


@SQLITE_ONLY
def test_the_listener_starts_over_when_uidvalidity_changes(
    api: InProcessClient,
    tenant: Tenant,
    container: Services,
    dovecot: Dovecot,
    user: str,
    channel: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run_workers(api)
    old = validity(dovecot, user)
    with watching(DirectSink(container), direct_targets(container)):
        dovecot.append(user, mail("seen before the change"))
        wait_for(lambda: len(jobs(api, tenant)) == 1, "the first pointer")

    new = old + 1000
    dovecot.set_uid_validity(user, "INBOX", new)
    dovecot.append(user, mail("after the change"))
    with (
        caplog.at_level(logging.WARNING),
        watching(DirectSink(container), direct_targets(container)),
    ):
        wait_for(lambda: len(jobs(api, tenant)) == 3, "pointers with the new UIDVALIDITY")
        time.sleep(0.3)
    assert pointer_uids(api, tenant) == [(old, 1), (new, 1), (new, 2)]
    [changed] = [
        r for r in caplog.records if getattr(r, "action", "") == "imap_uidvalidity_changed"
    ]
    assert changed.__dict__["uid_validity"] == new

    run_workers(api)
    statuses = [
        (j["pointer"]["uid_validity"], j["status"], j["last_error"]) for j in jobs(api, tenant)
    ]
    assert statuses == [
        (old, "skipped", "source_unavailable:imap_uidvalidity_changed"),
        (new, "done", None),
        (new, "done", None),
    ]
    assert sorted(m["subject"] for m in inbound(api, tenant)) == [
        "after the change",
        "seen before the change",
    ]
    cursor = api.get(f"/v1/channels/{channel['id']}", headers=tenant.auth).json()["state"]
    assert cursor["cursors"]["INBOX"]["uid_validity"] == new


@SQLITE_ONLY
def test_the_listener_posts_to_the_webhook_of_a_live_pigeon_and_retries(
    api: InProcessClient,
    tenant: Tenant,
    container: Services,
    dovecot: Dovecot,
    user: str,
    channel: dict[str, Any],
    tmp_path: Any,
) -> None:
    account = Account.with_defaults(
        host=dovecot.host, port=dovecot.port, tls=False, username=user, password=dovecot.password
    )
    target = Target(channel["id"], account)
    state_file = tmp_path / "cursors.json"
    with serving(create_app(container)) as base_url:
        url = f"{base_url}/webhooks/imap/{channel['id']}"
        retry = Backoff(0.05, 0.2, max_attempts=6)
        sink = WebhookSink(url, SECRET, state_file=state_file, retry=retry)
        queue = container.queue
        assert isinstance(queue, BreakableQueue)
        try:
            with watching(sink, [target]) as watches:
                [watch] = watches.watches
                wait_for(lambda: watch.sessions == 1, "in sync")
                queue.broken = 2  # two 503s, then it takes them
                uid = dovecot.append(user, mail("through the webhook"))
                wait_for(lambda: len(jobs(api, tenant)) == 1, "a pointer through the webhook")
                assert queue.broken == 0
                assert watch.failures == 0  # retried by the sink, not by reconnecting
        finally:
            sink.close()
        assert json.loads(state_file.read_text())[channel["id"]]["INBOX"]["last_uid"] == uid

        # A wrong secret is refused for good: nothing enqueued, the cursor stays.
        wrong = WebhookSink(url, "not-the-secret-0123456789", retry=retry)
        try:
            done = catch_up_once([target], wrong)
            dovecot.append(user, mail("refused"))
            assert catch_up_once([target], wrong) == {f"{channel['id']}/INBOX": -1}
        finally:
            wrong.close()
        assert done == {f"{channel['id']}/INBOX": 0}
    run_workers(api)
    [stored] = inbound(api, tenant)
    assert stored["subject"] == "through the webhook"
    assert len(jobs(api, tenant)) == 1


def test_the_worker_watches_the_enabled_channels_as_they_change(
    api: InProcessClient, tenant: Tenant, container: Services, dovecot: Dovecot
) -> None:
    first, second = dovecot.add_user(), dovecot.add_user()
    early = create_channel(api, tenant, imap_config(dovecot, first))
    worker = ListenerWorker(container, FAST, refresh_seconds=0.1)
    stop = asyncio.Event()
    running = api.portal.start_task_soon(worker.run, stop)

    def in_sync(count: int) -> Callable[[], bool]:
        def check() -> bool:
            watches = worker.watching.watches if worker.watching else []
            return len(watches) == count and all(w.sessions for w in watches)

        return check

    try:
        wait_for(in_sync(1), "watching the first channel")
        dovecot.append(first, mail())
        wait_for(lambda: len(jobs(api, tenant)) == 1, "a pointer from the first channel")
        late = create_channel(api, tenant, imap_config(dovecot, second))
        wait_for(in_sync(2), "watching a channel made later too")
        dovecot.append(second, mail())
        wait_for(lambda: len(jobs(api, tenant)) == 2, "a pointer from a channel made later")
        api.post(f"/v1/channels/{early['id']}/disable", headers=tenant.auth)
        wait_for(in_sync(1), "no longer watching the disabled channel")
        dovecot.append(first, mail())
        time.sleep(0.8)  # Dovecot tells an IDLE client within 0.5 s
        assert [j["channel_id"] for j in jobs(api, tenant)] == [early["id"], late["id"]]
        assert api.run(worker.drain) == 0  # a drain never waits for mail
    finally:
        api.portal.call(stop.set)
        running.result(10)
    assert not [t for t in threading.enumerate() if t.name.startswith("imap:")]


@SQLITE_ONLY
def test_a_listener_without_a_cursor_starts_at_the_current_uidnext(
    api: InProcessClient,
    tenant: Tenant,
    dovecot: Dovecot,
    user: str,
    channel: dict[str, Any],
    tmp_path: Path,
) -> None:
    """As `pigeon imap-listen --webhook-url URL --once --state-file FILE` runs it."""
    dovecot.append(user, mail("older than the listener"))
    account = Account.with_defaults(
        host=dovecot.host, port=dovecot.port, tls=False, username=user, password=dovecot.password
    )
    state_file = tmp_path / "cursors.json"
    done = run_webhook(
        f"http://127.0.0.1:9/webhooks/imap/{channel['id']}",  # never called: nothing is new
        SECRET,
        account,
        stop=threading.Event(),
        state_file=state_file,
        once=True,
    )
    assert done == {f"{channel['id']}/INBOX": 0}
    kept = json.loads(state_file.read_text())[channel["id"]]["INBOX"]
    assert (kept["uid_validity"], kept["last_uid"]) == (validity(dovecot, user), 1)
    assert jobs(api, tenant) == []
