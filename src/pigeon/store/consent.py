"""Consent: which handles opted out of which channels (the `opt_outs` table).

A handle opts out of one channel (STOP to that number, or the API); release suppresses what
would go to it there. Opting back in deletes the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from pigeon.store.sql import one_of
from pigeon.store.tables import opt_outs

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from pigeon.store.database import UnitOfWork


CHUNK = 5000  # handles per statement: SQLite binds each one


def key(handle: str) -> str:
    """The form consent is kept under: an email address whole in lower case (messages keep
    the local part as given, contacts lower-case it all: both must meet the same opt-out)."""
    return handle.lower() if "@" in handle else handle


@dataclass(frozen=True, slots=True)
class OptOut:
    channel_id: str
    handle: str
    source: str  # keyword | api | import
    keyword: str | None
    at: datetime


def opt_out(
    uow: UnitOfWork,
    workspace_id: str,
    channel_id: str,
    handle: str,
    *,
    source: str,
    keyword: str | None = None,
) -> bool:
    """Record that `handle` opted out of `channel_id`, and suppress what waits to go to it
    there; False if it had already opted out."""
    from pigeon.store import messages

    messages.suppress_waiting(
        uow, workspace_id, channel_id, [handle, key(handle)], actor=f"opt-out:{source}"
    )
    dialect = postgresql if uow.dialect == "postgresql" else sqlite
    row = uow.conn.execute(
        dialect.insert(opt_outs)
        .values(
            workspace_id=workspace_id,
            channel_id=channel_id,
            handle=key(handle),
            source=source,
            keyword=keyword,
            at=uow.now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "channel_id", "handle"])
        .returning(opt_outs.c.handle)
    ).first()
    return row is not None


def opt_in(uow: UnitOfWork, workspace_id: str, channel_id: str, handle: str) -> bool:
    """Lift an opt-out; False if there was none."""
    result = uow.conn.execute(
        delete(opt_outs).where(
            opt_outs.c.workspace_id == workspace_id,
            opt_outs.c.channel_id == channel_id,
            opt_outs.c.handle == key(handle),
        )
    )
    return result.rowcount > 0


def of_handles(uow: UnitOfWork, workspace_id: str, handles: Iterable[str]) -> list[OptOut]:
    """Every opt-out of these handles, on any channel of the workspace."""
    wanted = sorted({key(h) for h in handles})
    if not wanted:
        return []
    rows = uow.conn.execute(
        select(opt_outs).where(
            opt_outs.c.workspace_id == workspace_id, one_of(uow.dialect, opt_outs.c.handle, wanted)
        )
    ).all()
    return [
        OptOut(r.channel_id, r.handle, r.source, r.keyword, r.at)
        for r in sorted(rows, key=lambda r: (r.handle, r.channel_id))
    ]


def opted_out(
    uow: UnitOfWork, workspace_id: str, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of the (channel_id, handle) pairs have opted out."""
    wanted = set(pairs)
    if not wanted:
        return set()
    if not any_in(uow, [workspace_id]):
        return set()  # the common case, whatever the number of pairs
    handles = sorted({key(handle) for _channel, handle in wanted})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(handles), CHUNK):
        rows = uow.conn.execute(
            select(opt_outs.c.channel_id, opt_outs.c.handle).where(
                opt_outs.c.workspace_id == workspace_id,
                one_of(uow.dialect, opt_outs.c.handle, handles[start : start + CHUNK]),
            )
        ).all()
        found |= {(r.channel_id, r.handle) for r in rows}
    return {(channel, handle) for channel, handle in wanted if (channel, key(handle)) in found}


def any_in(uow: UnitOfWork, workspace_ids: Iterable[str]) -> set[str]:
    """The workspaces among these that have any opt-out at all (release skips the rest)."""
    ids = sorted(set(workspace_ids))
    if not ids:
        return set()
    rows = uow.conn.execute(
        select(opt_outs.c.workspace_id)
        .where(one_of(uow.dialect, opt_outs.c.workspace_id, ids))
        .group_by(opt_outs.c.workspace_id)
    ).all()
    return {r.workspace_id for r in rows}
