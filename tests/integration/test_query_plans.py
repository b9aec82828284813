"""The workers' queries reach the partial status indexes, on both databases.

A partial index is chosen only when the planner can prove its predicate from the query, so a
status sent as a bound parameter would silently fall back to scanning the table. Each service
call's statements are captured as executed and explained: on PostgreSQL with sequential scans
disabled, so that the plan shows whether the index is usable at all, not whether a tiny table
makes a scan cheaper, and with generic plans, which cannot see a bound parameter's value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import psycopg.sql
import pytest
from sqlalchemy import event

from pigeon.clock import FrozenClock
from pigeon.services import gateway, push, scheduling
from pigeon.services.context import Principal, Services
from tests.factories import add_device, schedule

if TYPE_CHECKING:
    from sqlalchemy import Connection


@contextmanager
def _captured(container: Services) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "WITH")):
            statements.append((statement, params))

    event.listen(container.db.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(container.db.engine, "before_cursor_execute", capture)


def _plans(container: Services, statements: list[tuple[str, Any]]) -> str:
    engine = container.db.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            # The plan a statement gets once psycopg has prepared it (after 5 runs) and
            # PostgreSQL has settled on one plan for any parameter values.
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            plans = [_generic_plan(conn, *captured) for captured in statements]
        else:
            plans = [
                str(conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all())
                for statement, params in statements
            ]
        conn.rollback()
    return "\n".join(plans)


def _generic_plan(conn: Connection, statement: str, params: dict[str, Any]) -> str:
    names: list[str] = []

    def positional(match: re.Match[str]) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    conn.exec_driver_sql("PREPARE plan_probe AS " + re.sub(r"%\((\w+)\)s", positional, statement))
    driver = conn.connection.driver_connection
    arguments = ", ".join(psycopg.sql.Literal(params[name]).as_string(driver) for name in names)
    rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE plan_probe({arguments})").all()
    conn.exec_driver_sql("DEALLOCATE plan_probe")
    return "\n".join(row[0] for row in rows)


def _release(container: Services, who: Principal) -> Callable[[], object]:
    return lambda: scheduling.release_due(container)


def _next_due(container: Services, who: Principal) -> Callable[[], object]:
    return lambda: scheduling.look_ahead(container, leases=True)


def _device_claim(container: Services, who: Principal) -> Callable[[], object]:
    device = add_device(container, who)
    return lambda: gateway.claim(container, device)


def _push_claim(container: Services, who: Principal) -> Callable[[], object]:
    pushing = replace(container, senders={"console": object()})  # type: ignore[dict-item]
    return lambda: push.claim(pushing, "worker-1", 10)


def _lease_sweep(container: Services, who: Principal) -> Callable[[], object]:
    return lambda: scheduling.expire_leases(container)


@pytest.mark.parametrize(
    ("call", "index"),
    [
        (_release, "ix_messages_queued_release_at"),
        (_next_due, "ix_messages_queued_release_at"),
        (_device_claim, "ix_messages_released_channel_id_scheduled_for_id"),
        (_push_claim, "ix_messages_released_channel_id_scheduled_for_id"),
        (_lease_sweep, "ix_messages_claimed_lease_expires_at"),
    ],
)
def test_worker_queries_use_their_partial_index(
    container: Services,
    who: Principal,
    clock: FrozenClock,
    call: Callable[[Services, Principal], Callable[[], object]],
    index: str,
) -> None:
    schedule(container, who, count=3)
    run = call(container, who)
    with _captured(container) as statements:
        run()
    assert statements
    assert index in _plans(container, statements)
