"""Contacts with their handles and tags, by the fewest statements.

A contact is three tables: `contacts` (its fields, its tags as read back), `contact_tags` (what
a tag search walks) and `contact_handles` (normalised values, what matching and consent
compare). Many contacts are read in two statements (contacts, then all their handles) and
written in a few (store/bulk.py), never one statement per contact.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from psycopg.types.json import Json
from sqlalchemy import and_, bindparam, delete, false, func, or_, select, update

from pigeon.domain.contacts import Audience, AudienceMember, Contact, Handle, HandleKind
from pigeon.domain.ids import new_id
from pigeon.store.bulk import FEW_ROWS, insert_together
from pigeon.store.sql import one_of
from pigeon.store.tables import audit_events, contact_handles, contact_tags, contacts

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from sqlalchemy import Column, ColumnElement, Select, Table
    from sqlalchemy.engine import RowMapping

    from pigeon.store.bulk import Rows
    from pigeon.store.database import UnitOfWork

    Batch = tuple[Table, Rows]


def _one_of(uow: UnitOfWork, column: Column[Any], values: Iterable[str]) -> ColumnElement[bool]:
    """`column IN (values)` with the values as one parameter, however many: an array on
    PostgreSQL (store/sql.one_of), a JSON array read by json_each on SQLite. An IN list
    binds each value alone: SQLite takes at most 32,766 a statement, and SQLAlchemy spent
    longer expanding ten thousand of them than SQLite spent on the query."""
    values = list(values)
    if uow.dialect == "postgresql":
        return one_of(uow.dialect, column, values)
    listed = func.json_each(json.dumps(values)).table_valued("value")
    return column.in_(select(listed.c.value))


# Writing --------------------------------------------------------------------------------


def _contact_row(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "workspace_id": contact.workspace_id,
        "external_id": contact.external_id,
        "name": contact.name,
        "timezone": contact.timezone,
        "timezone_source": contact.timezone_source,
        "attributes": dict(contact.attributes),
        "tags": list(contact.tags),
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _tag_rows(contact: Contact) -> list[dict[str, Any]]:
    return [
        {"contact_id": contact.id, "workspace_id": contact.workspace_id, "tag": tag}
        for tag in contact.tags
    ]


def _handle_rows(contact: Contact) -> list[dict[str, Any]]:
    # Ids are time-ordered and monotonic within a process: reading by id keeps the order given.
    return [
        {
            "id": new_id(),
            "contact_id": contact.id,
            "workspace_id": contact.workspace_id,
            "kind": handle.kind.value,
            "value": handle.value,
            "is_primary": handle.primary,
            "created_at": contact.updated_at,
        }
        for handle in contact.handles
    ]


def insert(uow: UnitOfWork, new: Sequence[Contact], *, also: Sequence[Batch] = ()) -> None:
    """Insert contacts with their tags and handles, and `also` rows that belong with them
    (audit events, an idempotency record): a few statements for any number."""
    _insert(
        uow,
        [
            (contacts, [_contact_row(c) for c in new]),
            (contact_tags, [row for c in new for row in _tag_rows(c)]),
            (contact_handles, [row for c in new for row in _handle_rows(c)]),
            *also,
        ],
    )


def _insert(uow: UnitOfWork, batches: Sequence[Batch]) -> None:
    """store/bulk.insert_together, but on SQLite without SQLAlchemy's work per row: each
    value goes through its column's own bind processor, then one executemany per table
    (an import of 10,000 contacts writes 60,000 rows; SQLAlchemy's per-row handling cost
    three times what SQLite spent storing them)."""
    if uow.dialect == "postgresql" or sum(len(rows) for _table, rows in batches) <= FEW_ROWS:
        insert_together(uow, batches)
        return
    for table, rows in batches:
        if not rows:
            continue
        names = list(rows[0])
        columns = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" for _ in names)
        # Names come from the schema (table.c checks each), never from input.
        statement = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'  # noqa: S608
        uow.conn.exec_driver_sql(statement, _sqlite_values(uow, table, names, rows))


def _sqlite_values(
    uow: UnitOfWork, table: Table, names: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    dialect = uow.conn.dialect
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    pairs = list(zip(names, processors, strict=True))
    return [
        tuple(row[name] if process is None else process(row[name]) for name, process in pairs)
        for row in rows
    ]


def audit_rows(
    workspace_id: str,
    actor: str,
    at: datetime,
    events: Iterable[tuple[str, str, Mapping[str, Any] | None]],
) -> Batch:
    """Audit events of contacts, (action, contact id, detail) each, as rows to insert beside
    the change (store/accounts.audit writes one; an import writes thousands)."""
    return audit_events, [
        {
            "workspace_id": workspace_id,
            "actor": actor,
            "action": action,
            "subject_type": "contact",
            "subject_id": contact_id,
            "at": at,
            "detail": dict(detail) if detail else None,
        }
        for action, contact_id, detail in events
    ]


_FIELDS = ("external_id", "name", "timezone", "timezone_source", "attributes", "tags", "updated_at")
_UPDATE = (
    update(contacts)
    .where(
        contacts.c.workspace_id == bindparam("b_workspace_id"), contacts.c.id == bindparam("b_id")
    )
    .values({name: bindparam(f"v_{name}") for name in _FIELDS})
)
# PostgreSQL: every contact in one statement, each column one array parameter.
_UPDATE_FROM_ARRAYS = (
    'UPDATE "contacts" AS c SET '  # noqa: S608 (names from the schema, values bound)
    + ", ".join(f'"{name}" = v."{name}"' for name in _FIELDS)
    + " FROM unnest(%s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[],"
    " %s::json[], %s::json[], %s::timestamptz[]) AS v(id, "
    + ", ".join(f'"{name}"' for name in _FIELDS)
    + ") WHERE c.workspace_id = %s AND c.id = v.id"
)


def update_many(
    uow: UnitOfWork,
    workspace_id: str,
    changed: Sequence[Contact],
    *,
    new_tags: Collection[str] = (),
    new_handles: Collection[str] = (),
) -> None:
    """Write contacts' fields; replace the tags of those in `new_tags` and the handles of
    those in `new_handles` (ids). A few statements for any number of contacts."""
    if not changed:
        return
    rows = [_contact_row(contact) for contact in changed]
    if uow.dialect == "postgresql" and len(rows) > 1:
        arrays = [[row["id"] for row in rows]]
        for name in _FIELDS:
            values = [row[name] for row in rows]
            if name in ("attributes", "tags"):
                values = [Json(value) for value in values]
            arrays.append(values)
        uow.conn.exec_driver_sql(_UPDATE_FROM_ARRAYS, (*arrays, workspace_id))
    elif uow.dialect == "sqlite" and len(rows) > 1:
        statement = (
            'UPDATE "contacts" SET '  # noqa: S608 (names from the schema, values bound)
            + ", ".join(f'"{name}" = ?' for name in _FIELDS)
            + ' WHERE "workspace_id" = ? AND "id" = ?'
        )
        values = _sqlite_values(uow, contacts, [*_FIELDS, "workspace_id", "id"], rows)
        uow.conn.exec_driver_sql(statement, values)
    else:
        params = [
            {"b_workspace_id": workspace_id, "b_id": row["id"]}
            | {f"v_{name}": row[name] for name in _FIELDS}
            for row in rows
        ]
        uow.conn.execute(_UPDATE, params)
    tag_ids = sorted(set(new_tags))
    handle_ids = sorted(set(new_handles))
    for ids, table in ((tag_ids, contact_tags), (handle_ids, contact_handles)):
        if ids:
            uow.conn.execute(
                delete(table).where(
                    table.c.workspace_id == workspace_id, _one_of(uow, table.c.contact_id, ids)
                )
            )
    wanted_tags, wanted_handles = set(tag_ids), set(handle_ids)
    _insert(
        uow,
        [
            (contact_tags, [r for c in changed if c.id in wanted_tags for r in _tag_rows(c)]),
            (
                contact_handles,
                [r for c in changed if c.id in wanted_handles for r in _handle_rows(c)],
            ),
        ],
    )


def delete_one(uow: UnitOfWork, workspace_id: str, contact_id: str) -> bool:
    """Delete a contact; its tags and handles go with it (foreign keys cascade)."""
    result = uow.conn.execute(
        delete(contacts).where(contacts.c.workspace_id == workspace_id, contacts.c.id == contact_id)
    )
    return result.rowcount > 0


# Reading --------------------------------------------------------------------------------


def _contact(row: Mapping[Any, Any], handles: Iterable[Handle]) -> Contact:
    return Contact(
        id=row["id"],
        workspace_id=row["workspace_id"],
        external_id=row["external_id"],
        name=row["name"],
        timezone=row["timezone"],
        timezone_source=row["timezone_source"],
        attributes=row["attributes"] or {},
        tags=tuple(row["tags"] or ()),
        handles=tuple(handles),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


_HANDLE_COLUMNS = (
    contact_handles.c.contact_id,
    contact_handles.c.kind,
    contact_handles.c.value,
    contact_handles.c.is_primary,
)
_KINDS = {kind.value: kind for kind in HandleKind}


def _handles_by_contact(uow: UnitOfWork, query: Select[Any]) -> dict[str, list[Handle]]:
    """Handles by contact id, from `query` (which selects _HANDLE_COLUMNS)."""
    found: dict[str, list[Handle]] = defaultdict(list)
    rows = uow.conn.execute(
        query.order_by(contact_handles.c.contact_id, contact_handles.c.id)
    ).all()
    for contact_id, kind, value, primary in rows:
        found[contact_id].append(Handle(_KINDS[kind], value, bool(primary)))
    return found


def _with_handles(uow: UnitOfWork, workspace_id: str, rows: Sequence[RowMapping]) -> list[Contact]:
    ids = [row["id"] for row in rows]
    h = contact_handles.c
    query = select(*_HANDLE_COLUMNS).where(
        h.workspace_id == workspace_id, _one_of(uow, h.contact_id, ids)
    )
    handles = _handles_by_contact(uow, query) if ids else {}
    return [_contact(row, handles.get(row["id"], ())) for row in rows]


def get(uow: UnitOfWork, workspace_id: str, contact_id: str) -> Contact | None:
    found = get_many(uow, workspace_id, [contact_id])
    return found.get(contact_id)


def get_many(uow: UnitOfWork, workspace_id: str, contact_ids: Iterable[str]) -> dict[str, Contact]:
    """These contacts of the workspace, by id (two statements for any number)."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return {}
    found = uow.conn.execute(
        select(contacts).where(
            contacts.c.workspace_id == workspace_id, _one_of(uow, contacts.c.id, wanted)
        )
    ).all()
    rows = [row._mapping for row in found]
    return {c.id: c for c in _with_handles(uow, workspace_id, rows)}


def list_(
    uow: UnitOfWork,
    workspace_id: str,
    *,
    tag: str | None = None,
    search: str | None = None,
    handle: str | None = None,
    limit: int,
    before: str | None = None,
) -> list[Contact]:
    """Newest first, after the cursor `before` (a contact id). `search` finds text in the
    name or a handle, or the external id; `handle` (a normalised handle) finds it exactly."""
    c = contacts.c
    query = select(contacts).where(c.workspace_id == workspace_id)
    if tag is not None:
        query = query.where(
            c.id.in_(
                select(contact_tags.c.contact_id).where(
                    contact_tags.c.workspace_id == workspace_id, contact_tags.c.tag == tag
                )
            )
        )
    if search:
        h = contact_handles.c
        value_matches = h.value.contains(search.lower(), autoescape=True)
        if handle:
            value_matches = or_(value_matches, h.value == handle)
        # Uncorrelated: the handles are searched once, not once per contact (SQLite would
        # walk every handle of the workspace for each contact of an EXISTS).
        with_handle = select(h.contact_id).where(h.workspace_id == workspace_id, value_matches)
        query = query.where(
            or_(
                c.name.icontains(search, autoescape=True),
                c.external_id == search,
                c.id.in_(with_handle),
            )
        )
    if before is not None:
        query = query.where(c.id < before)
    rows = uow.conn.execute(query.order_by(c.id.desc()).limit(limit)).all()
    return _with_handles(uow, workspace_id, [row._mapping for row in rows])


def by_external_id(
    uow: UnitOfWork, workspace_id: str, external_ids: Iterable[str]
) -> dict[str, str]:
    """The contact of each of these external ids that has one, by external id."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = uow.conn.execute(
        select(contacts.c.external_id, contacts.c.id).where(
            contacts.c.workspace_id == workspace_id,
            _one_of(uow, contacts.c.external_id, wanted),
        )
    ).all()
    return {row.external_id: row.id for row in rows}


def by_handle(uow: UnitOfWork, workspace_id: str, values: Iterable[str]) -> dict[str, str]:
    """For each of these normalised handle values that a contact has, the first such contact
    (the oldest: ids are time-ordered)."""
    wanted = sorted(set(values))
    if not wanted:
        return {}
    h = contact_handles.c
    rows = uow.conn.execute(
        select(h.value, func.min(h.contact_id).label("contact_id"))
        .where(h.workspace_id == workspace_id, _one_of(uow, h.value, wanted))
        .group_by(h.value)
    ).all()
    return {row.value: row.contact_id for row in rows}


# Audiences ------------------------------------------------------------------------------


def _chosen(uow: UnitOfWork, workspace_id: str, audience: Audience) -> ColumnElement[bool]:
    """Whether a contact (`contacts.id`) is in the audience by its tags or its id; every
    contact only with `audience.all` (an audience that names nobody chooses nobody)."""
    c, t = contacts.c, contact_tags.c
    if audience.everyone:
        return c.workspace_id == workspace_id
    parts: list[ColumnElement[bool]] = []
    if audience.tags:
        tagged: Select[Any] = select(t.contact_id).where(
            t.workspace_id == workspace_id, _one_of(uow, t.tag, audience.tags)
        )
        if audience.tags_mode == "all" and len(audience.tags) > 1:
            tagged = tagged.group_by(t.contact_id).having(
                func.count(t.tag) == len(set(audience.tags))
            )
        parts.append(c.id.in_(tagged))
    if audience.contact_ids:
        parts.append(_one_of(uow, c.id, audience.contact_ids))
    if not parts:
        return false()
    return and_(c.workspace_id == workspace_id, or_(*parts))


def audience(uow: UnitOfWork, workspace_id: str, audience: Audience) -> list[AudienceMember]:
    """The contacts an audience names, in contact id order, with their handles: two
    statements however many there are, then `audience.where` applied to their attributes.

    The handles are reached through the contacts chosen (a join on the contact id), so the
    plan holds before PostgreSQL has statistics: filtered on the handles' workspace, a table
    just imported was planned as a walk of every handle of the workspace per contact."""
    c = contacts.c
    chosen = _chosen(uow, workspace_id, audience)
    rows = uow.conn.execute(
        select(c.id, c.name, c.attributes, c.timezone).where(chosen).order_by(c.id)
    ).all()
    handles = _handles_by_contact(
        uow,
        select(*_HANDLE_COLUMNS)
        .select_from(contacts.join(contact_handles, contact_handles.c.contact_id == c.id))
        .where(chosen),
    )
    members = (
        AudienceMember(
            id=row.id,
            name=row.name,
            attributes=row.attributes or {},
            timezone=row.timezone,
            handles=tuple(handles.get(row.id, ())),
        )
        for row in rows
    )
    if not audience.where:
        return list(members)
    return [member for member in members if audience.matches(member)]
