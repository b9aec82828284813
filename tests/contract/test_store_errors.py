"""Driver errors become pigeon's at the store's edge, the same on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import insert

from pigeon.domain.leases import Lease
from pigeon.errors import InvalidValue
from pigeon.services import push
from pigeon.services.context import Principal, Services
from pigeon.store import messages as store
from pigeon.store.database import UniqueViolation
from pigeon.store.tables import channels, idempotency_keys
from tests.factories import schedule


def test_a_unique_violation_names_its_constraint(container: Services, who: Principal) -> None:
    [channel] = [c for c in store_channels(container, who) if c["name"] == "console"]
    duplicate = {**channel, "id": "01900000-0000-7000-8000-00000000000c"}
    with pytest.raises(UniqueViolation) as caught, container.db.transaction() as uow:
        uow.conn.execute(insert(channels).values(**duplicate))
    assert caught.value.constraint == "uq_channels_workspace_id_name"
    record = {
        "workspace_id": who.workspace_id,
        "scope": "s",
        "key": "k",
        "request_hash": "h",
        "status_code": 201,
        "response": {},
        "created_at": container.clock.now(),
    }
    with pytest.raises(UniqueViolation) as caught, container.db.transaction() as uow:
        uow.conn.execute(insert(idempotency_keys).values(**record))
        uow.conn.execute(insert(idempotency_keys).values(**record))
    assert caught.value.constraint == "pk_idempotency_keys"


def store_channels(container: Services, who: Principal) -> list[dict[str, object]]:
    with container.db.transaction(readonly=True) as uow:
        rows = uow.conn.execute(
            channels.select().where(channels.c.workspace_id == who.workspace_id)
        )
        return [dict(row._mapping) for row in rows]


def test_a_value_the_database_refuses_is_invalid_input_not_a_crash(
    container: Services, who: Principal
) -> None:
    if container.db.dialect == "sqlite":
        pytest.skip("SQLite stores both: it checks neither VARCHAR lengths nor NUL in text")
    [message] = schedule(container, who)
    lease = Lease.new("x" * 37, container.clock.now() + timedelta(minutes=1))  # claimed_by: 36
    with pytest.raises(InvalidValue) as caught, container.db.transaction() as uow:
        store.claim_for_device(
            uow,
            workspace_id=who.workspace_id,
            channel_id=message.channel_id,
            device_id="d",
            limit=1,
            lease=lease,
        )
    assert list(caught.value.errors) == ["request_body"]
    with pytest.raises(InvalidValue), container.db.transaction() as uow:
        uow.conn.execute(
            channels.update().where(channels.c.id == message.channel_id).values(name="a\x00b")
        )


def test_a_worker_on_a_host_with_a_long_name_can_claim(
    container: Services, who: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        push.socket, "gethostname", lambda: "ip-10-0-0-1.eu-west-1.compute.internal"
    )
    holder = push.worker_identity()
    assert len(holder) <= push.HOLDER_CHARS and holder.startswith("w:ip-10-0-0-1")
    [console] = [c for c in store_channels(container, who) if c["kind"] == "console"]
    [message] = schedule(container, who, channel_id=str(console["id"]))
    pushing = replace(container, senders={"console": object()})  # type: ignore[dict-item]
    [claimed] = push.claim(pushing, holder, 10)
    assert claimed.message.id == message.id and claimed.message.claimed_by == holder
