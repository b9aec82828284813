"""Bringing the database schema up to date: `pigeon migrate`, and `pigeon serve` at start."""

from __future__ import annotations

from pigeon.store import migrate as store_migrate


def migrate(database_url: str) -> str | None:
    """Apply every pending migration (under a lock: see store/migrations/env.py); returns
    the revision the database is at."""
    store_migrate.upgrade(database_url)
    return store_migrate.current_revision(database_url)
