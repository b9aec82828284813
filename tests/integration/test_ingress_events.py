"""Ingress for providers that push content and keep no history: the event is stored at
ingress, the job points at it; accepted means durable, with either queue backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from pigeon import bootstrap
from pigeon.bus.memory import MemoryBus
from pigeon.clock import FrozenClock
from pigeon.config import Settings
from pigeon.domain.channels import ChannelKind
from pigeon.domain.inbound import SourceUnavailable
from pigeon.errors import StorageUnavailable, ValidationError
from pigeon.services import admin, ingress
from pigeon.services.context import Principal, Services
from tests.conftest import REDIS_URL, service_missing

EVENT = {
    "entry": [{"changes": [{"value": {"messages": [{"id": "wamid.1", "text": {"body": "hi"}}]}}]}]
}


def _whatsapp(svc: Services, who: Principal):  # type: ignore[no-untyped-def]
    from pigeon.domain.accounts import Channel
    from pigeon.domain.channels import LeaseExpiryPolicy
    from pigeon.domain.ids import new_id
    from pigeon.store import accounts

    now = svc.clock.now()
    channel = Channel(
        new_id(), who.workspace_id, ChannelKind.WHATSAPP, "wa", {}, False,
        LeaseExpiryPolicy.UNKNOWN, now, now, None,
    )  # fmt: skip
    with svc.db.transaction() as uow:  # the WhatsApp channel API comes with its sender
        accounts.insert_channel(uow, channel)
    return channel


def test_an_event_is_stored_and_its_job_carries_only_its_id(
    container: Services, who: Principal
) -> None:
    channel = _whatsapp(container, who)
    enqueued = ingress.accept_event(container, channel, "whatsapp", EVENT)
    job = container.queue.get(who.workspace_id, enqueued.job_id)
    assert job is not None and job.kind == "inbound.whatsapp"
    assert set(job.payload) == {"provider", "channel_id", "event_id"}
    assert "hi" not in str(job.payload)
    assert ingress.stored_event(container, who.workspace_id, job.payload) == EVENT
    with pytest.raises(SourceUnavailable):
        ingress.stored_event(container, "another-workspace", job.payload)


def test_an_event_that_cannot_be_stored_is_refused_whole(
    container: Services, who: Principal
) -> None:
    channel = _whatsapp(container, who)
    with pytest.raises(ValidationError):
        ingress.accept_event(container, channel, "whatsapp", {"x": "a" * 300_000})
    assert container.queue.list_jobs(who.workspace_id) == []


@pytest.fixture
def redis_down(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    """Services whose job queue is a Redis nobody listens on."""
    from pigeon.queue.redis_streams import RedisQueue

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    dead = RedisQueue("redis://127.0.0.1:1/0", clock, prefix="nowhere:")
    built = bootstrap.build(
        Settings(database_url=sqlite_url), clock=clock, bus=MemoryBus(), queue=dead
    )
    yield built
    built.close()


@pytest.mark.redis
def test_ingress_answers_unavailable_when_the_queue_is_down(redis_down: Services) -> None:
    made = admin.create_workspace(redis_down, name="w", timezone="UTC", actor="t")
    who = Principal(made.workspace.id, "t", frozenset({"admin"}))
    channel = _whatsapp(redis_down, who)
    with pytest.raises(StorageUnavailable):
        ingress.accept_event(redis_down, channel, "whatsapp", EVENT)


@pytest.mark.redis
def test_health_is_unavailable_while_the_queue_is_down(redis_down: Services) -> None:
    from pigeon.services import health
    from pigeon.store import migrate

    migrate.upgrade(redis_down.settings.database_url)
    report = health.check(redis_down)
    assert report["status"] == "unavailable" and report["writes"] == "ok"
    assert "redis" in report["queue"].lower()
