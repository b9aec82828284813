"""Mailbox channels as the admin services keep them: secrets sealed and merged, provider
state merged under the row lock, setup jobs enqueued with the channel's write."""

from __future__ import annotations

import threading

import pytest

from pigeon.config import Settings
from pigeon.domain.transitions import JobStatus
from pigeon.services import admin, mailboxes
from pigeon.services.context import Principal, Services
from pigeon.store import accounts

IMAP = {"host": "imap.example.org", "username": "ann", "password": "first-password"}


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, secret_key="k" * 40)


def test_secrets_are_sealed_and_an_update_merges_them(container: Services, who: Principal) -> None:
    channel = admin.create_channel(container, who, kind="imap", name="support", config=IMAP)
    assert "password" not in channel.config and "first-password" not in str(channel)
    assert channel.sealed_secrets and "first-password" not in channel.sealed_secrets
    opened = container.secrets.open(channel.sealed_secrets)
    assert opened["password"] == "first-password" and len(opened["shared_secret"]) >= 16

    updated = admin.update_channel(container, who, channel.id, config={"username": "bob"})
    kept = container.secrets.open(updated.sealed_secrets)
    assert updated.config["username"] == "bob" and updated.config["host"] == "imap.example.org"
    assert kept == opened  # secrets not named stay, the generated one too

    again = admin.update_channel(container, who, channel.id, config={"password": "second"})
    assert container.secrets.open(again.sealed_secrets)["password"] == "second"


def test_creating_a_mailbox_enqueues_its_setup_with_the_write(
    container: Services, who: Principal
) -> None:
    channel = admin.create_channel(container, who, kind="imap", name="support", config=IMAP)
    [setup] = container.queue.list_jobs(who.workspace_id, channel_id=channel.id)
    assert setup.kind == "imap.login_check" and setup.status == JobStatus.READY
    with pytest.raises(Exception, match="password"):
        admin.create_channel(container, who, kind="imap", name="bad", config={"host": "h"})
    assert [c.name for c in admin.list_channels(container, who) if c.kind == "imap"] == ["support"]


def test_a_state_change_may_depend_on_what_is_stored_when_it_is_written(
    container: Services, who: Principal
) -> None:
    channel = admin.create_channel(container, who, kind="imap", name="support", config=IMAP)

    def keep_larger(cursor: int):  # type: ignore[no-untyped-def]
        return lambda stored: {"cursor": max(cursor, int(stored.get("cursor", 0)))}

    mailboxes.record_outcome(container, channel.id, keep_larger(150))
    mailboxes.record_outcome(container, channel.id, keep_larger(140))  # a slower fetch
    threads = [
        threading.Thread(
            target=mailboxes.record_outcome, args=(container, channel.id, keep_larger(n))
        )
        for n in (160, 155, 170, 165)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with container.db.transaction(readonly=True) as uow:
        stored = accounts.channels_by_id(uow, [channel.id])[channel.id]
    assert stored.state["cursor"] == 170
