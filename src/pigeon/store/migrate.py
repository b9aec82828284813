"""Apply Alembic migrations from code: `pigeon migrate` and `pigeon serve` call `upgrade`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pigeon.store.database import make_throwaway_engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = make_throwaway_engine(url)
    try:
        with engine.connect() as conn:
            return revision_of(conn)
    finally:
        engine.dispose()


@functools.cache
def head_revision(url: str = "sqlite://") -> str | None:
    """The newest revision this code knows; the same for every database."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def revision_of(conn: Connection) -> str | None:
    """The revision the database behind `conn` is at (None: never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def is_current(url: str) -> bool:
    return current_revision(url) == head_revision(url)
