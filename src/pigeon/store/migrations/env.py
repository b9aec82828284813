"""Alembic's entry point: every migration of one `upgrade` runs in ONE transaction that
holds a lock, so processes started together migrate one after the other; the later ones
find the schema current and do nothing."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from pigeon.store.database import make_throwaway_engine
from pigeon.store.tables import metadata

config = context.config
# pg_advisory_xact_lock key of migrations (any constant unique to pigeon will do).
MIGRATION_LOCK = 0x70_69_67_65_6F_6E_02


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_throwaway_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
            # SQLite runs DDL in transactions too; one transaction, begun IMMEDIATE by the
            # engine, is what serialises concurrent migrations there.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            if not sqlite:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            context.run_migrations()
    engine.dispose()


run_migrations()
