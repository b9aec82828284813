"""Is pigeon able to serve? The database answers, its schema is current, and it takes writes.

Writes are proven by writing: a read-only file, a full disk or another process holding
SQLite's lock all let reads through while every create fails, and a health check that only
reads would call that healthy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon import __version__
from pigeon.errors import PigeonError
from pigeon.store import migrate, upkeep

if TYPE_CHECKING:
    from pigeon.services.context import Services

# A health check must answer quickly even when writes are stuck behind a lock.
PROBE_BUSY_SECONDS = 0.5


def check(svc: Services) -> dict[str, Any]:
    report: dict[str, Any] = {"status": "ok", "version": __version__}
    try:
        with svc.db.transaction(readonly=True, busy_seconds=PROBE_BUSY_SECONDS) as uow:
            revision = migrate.revision_of(uow.conn)
    except PigeonError as error:
        return {**report, "status": "unavailable", "database": error.message}
    head = migrate.head_revision()
    if revision != head:
        problem = f"schema at {revision or 'nothing'}, code expects {head}: run pigeon migrate"
        return {**report, "status": "unavailable", "database": problem}
    report.update(database="ok", schema=revision)
    try:
        with svc.db.transaction(busy_seconds=PROBE_BUSY_SECONDS) as uow:
            upkeep.mark(uow, "health_probe", holder=None)
    except PigeonError as error:
        return {**report, "status": "unavailable", "writes": error.message}
    report["writes"] = "ok"
    if svc.queue.name != "sql":  # a queue outside the database: webhooks need it to accept
        try:
            svc.queue.depth("inbound")
        except PigeonError as error:
            return {**report, "status": "unavailable", "queue": error.message}
    return {**report, "queue": "ok"}
