"""Mailbox channels as the admin services keep them: secrets sealed and merged, provider
state merged under the row lock, setup jobs enqueued with the channel's write."""

from __future__ import annotations

import threading

import pytest

from pigeon import bootstrap
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.domain.transitions import JobStatus
from pigeon.errors import StorageUnavailable
from pigeon.queue.memory import MemoryQueue
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


class FlakyQueue(MemoryQueue):
    """A queue outside the database that is down until told otherwise."""

    down = True

    def enqueue(self, new, *, uow=None):  # type: ignore[no-untyped-def]
        if self.down:
            raise StorageUnavailable("redis job queue unavailable")
        return super().enqueue(new, uow=uow)


def test_a_setup_lost_to_a_queue_outage_is_enqueued_by_the_upkeep(
    sqlite_url: str, clock: FrozenClock
) -> None:
    queue = FlakyQueue(clock)
    svc = bootstrap.build(
        Settings(database_url=sqlite_url, secret_key="k" * 40), clock=clock, queue=queue
    )
    try:
        made = admin.create_workspace(svc, name="w", timezone="UTC", actor="t")
        who = Principal(made.workspace.id, "t", frozenset({"admin"}))
        channel = admin.create_channel(svc, who, kind="imap", name="box", config=IMAP)
        assert queue.list_jobs(who.workspace_id) == []  # the channel stands; its setup was lost
        mailboxes.run_upkeep(svc)  # still down: nothing, and no error
        queue.down = False
        mailboxes.run_upkeep(svc)
        [setup] = queue.list_jobs(who.workspace_id)
        assert setup.kind == "imap.login_check" and setup.channel_id == channel.id
        mailboxes.run_upkeep(svc)  # set up now: not again
        assert len(queue.list_jobs(who.workspace_id)) == 1
        updated = admin.update_channel(svc, who, channel.id, config={"username": "bob"})
        # The live check (deduplicated) reads the new config when it runs; the setup of the
        # new config is recorded, so the upkeep does not enqueue it again.
        with svc.db.transaction(readonly=True) as uow:
            stored = accounts.channels_by_id(uow, [channel.id])[channel.id]
        assert stored.state["setup_for"] == mailboxes.fingerprint(updated)
        assert stored.state["setup_for"] != mailboxes.fingerprint(channel)
    finally:
        svc.close()
