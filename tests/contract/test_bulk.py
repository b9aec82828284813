"""Bulk inserts write the same rows on both dialects (COPY on PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from pigeon.domain.transitions import MessageStatus
from pigeon.services.context import Principal, Services
from pigeon.store.bulk import insert_rows
from pigeon.store.tables import message_events
from tests.factories import schedule


def test_insert_rows_round_trips_json_enums_and_times(container: Services, who: Principal) -> None:
    [message] = schedule(container, who, meta={"batch": "b-1", "n": [1, 2]})
    rows = [
        {
            "message_id": message.id,
            "workspace_id": who.workspace_id,
            "from_status": MessageStatus.QUEUED,
            "to_status": MessageStatus.RELEASED,
            "at": message.created_at,
            "actor": "bulk",
            "detail": {"why": "bulk", "ok": True} if i else None,
        }
        for i in range(3)
    ]
    with container.db.transaction() as uow:
        insert_rows(uow, message_events, rows)
    with container.db.engine.connect() as conn:
        stored = conn.execute(
            sa.select(message_events)
            .where(message_events.c.actor == "bulk")
            .order_by(message_events.c.id)
        ).all()
    assert [r.detail for r in stored] == [
        None,
        {"why": "bulk", "ok": True},
        {"why": "bulk", "ok": True},
    ]
    assert {r.to_status for r in stored} == {"released"}
    assert all(r.at == message.created_at for r in stored)
    assert message.meta == {"batch": "b-1", "n": [1, 2]}


def test_insert_rows_is_part_of_the_transaction(container: Services, who: Principal) -> None:
    [message] = schedule(container, who)
    row = {
        "message_id": message.id,
        "workspace_id": who.workspace_id,
        "from_status": None,
        "to_status": MessageStatus.QUEUED,
        "at": message.created_at,
        "actor": "rolled-back",
        "detail": None,
    }
    try:
        with container.db.transaction() as uow:
            insert_rows(uow, message_events, [row])
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    with container.db.engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(message_events)
            .where(message_events.c.actor == "rolled-back")
        ).scalar()
    assert count == 0
