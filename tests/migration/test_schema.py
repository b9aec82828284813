"""The migrated schema is exactly the table metadata, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from pigeon.domain.channels import ChannelKind, LeaseExpiryPolicy
from pigeon.domain.transitions import JobStatus, MessageStatus
from pigeon.store import migrate
from pigeon.store.database import make_throwaway_engine
from pigeon.store.tables import metadata


def test_head_matches_metadata(db_url: str) -> None:
    engine = make_throwaway_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []
    assert migrate.is_current(db_url)


def test_downgrade_and_upgrade_round_trip(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    engine = make_throwaway_engine(db_url)
    assert "messages" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    migrate.upgrade(db_url)
    assert migrate.is_current(db_url)


@pytest.mark.parametrize(
    ("table", "constraint", "enum"),
    [
        ("messages", "ck_messages_status", MessageStatus),
        ("jobs", "ck_jobs_status", JobStatus),
        ("channels", "ck_channels_kind", ChannelKind),
        ("channels", "ck_channels_on_lease_expiry", LeaseExpiryPolicy),
    ],
)
def test_check_constraints_follow_the_enums(
    db_url: str, table: str, constraint: str, enum: type
) -> None:
    engine = make_throwaway_engine(db_url)
    checks = {c["name"]: c["sqltext"] for c in sa.inspect(engine).get_check_constraints(table)}
    engine.dispose()
    text = checks[constraint]
    for member in enum:  # type: ignore[attr-defined]
        assert f"'{member.value}'" in text


def _predicate(index_options: dict[str, Any], dialect: str) -> str | None:
    where = index_options.get(f"{dialect}_where")
    if where is None:
        return None
    text = str(where).lower()
    for noise in ("::text", "::character varying", "(", ")", " "):
        text = text.replace(noise, "")
    return text


def test_partial_index_predicates_match_the_metadata(db_url: str) -> None:
    # compare_metadata above does not look at an index's WHERE clause; this does.
    engine = make_throwaway_engine(db_url)
    dialect = engine.dialect.name
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
        for index in table.indexes:
            found = reflected[str(index.name)]
            assert found["column_names"] == [c.name for c in index.columns]
            expected = _predicate(index.dialect_kwargs, dialect)
            assert _predicate(found.get("dialect_options", {}), dialect) == expected
    engine.dispose()


def test_seed000_records_move_to_their_own_scope(db_url: str) -> None:
    migrate.downgrade(db_url, "0002")
    engine = make_throwaway_engine(db_url)
    row = "INSERT INTO workspaces (id, name, timezone, created_at) VALUES ('w', 'w', 'UTC', {now})"
    record = (
        "INSERT INTO idempotency_keys (workspace_id, scope, key, request_hash, status_code, "
        "response, created_at) VALUES ('w', 'messages', :key, 'h', 201, :response, {now})"
    )
    now = "CURRENT_TIMESTAMP"
    with engine.begin() as conn:
        conn.execute(sa.text(row.format(now=now)))
        for key, response in [
            ("send-queue:item-1", '{"sendQueueId": "q1"}'),
            ("send-queue:mine", '{"id": "m1"}'),  # a /v1 key that happens to look alike
            ("order-7", '{"id": "m2"}'),
        ]:
            conn.execute(sa.text(record.format(now=now)), {"key": key, "response": response})
    migrate.upgrade(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT scope, key FROM idempotency_keys ORDER BY key")).all()
    engine.dispose()
    assert sorted(map(tuple, rows)) == [
        ("messages", "order-7"),
        ("messages", "send-queue:mine"),
        ("seed000:send-queue", "item-1"),
    ]
