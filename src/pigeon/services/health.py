"""Is pigeon able to serve? The database answers, and its schema is current."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon import __version__
from pigeon.errors import StorageUnavailable
from pigeon.store import migrate

if TYPE_CHECKING:
    from pigeon.services.context import Services


def check(svc: Services) -> dict[str, Any]:
    try:
        with svc.db.transaction(readonly=True) as uow:
            revision = migrate.revision_of(uow.conn)
    except StorageUnavailable as error:
        return {"status": "unavailable", "database": str(error), "version": __version__}
    head = migrate.head_revision()
    if revision != head:
        problem = f"schema at {revision or 'nothing'}, code expects {head}: run pigeon migrate"
        return {"status": "unavailable", "database": problem, "version": __version__}
    return {"status": "ok", "database": "ok", "schema": revision, "version": __version__}
