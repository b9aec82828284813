"""Is pigeon able to serve? The database answers, and its schema is current."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from pigeon import __version__
from pigeon.errors import StorageUnavailable

if TYPE_CHECKING:
    from pigeon.services.context import Services


def check(svc: Services) -> dict[str, Any]:
    try:
        with svc.db.transaction(readonly=True) as uow:
            uow.conn.execute(text("SELECT 1"))
    except StorageUnavailable as error:
        return {"status": "unavailable", "database": str(error), "version": __version__}
    return {"status": "ok", "database": "ok", "version": __version__}
