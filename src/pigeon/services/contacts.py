"""Contacts: create, read, list, change, delete, and upsert many at once.

Every change commits with its audit event; every query is scoped by the caller's workspace.
A bulk upsert is all or nothing: every row is checked first, and one bad row writes nothing
and is named with every other (`contacts[3].handles[0].value`). A PATCH replaces the fields
it gives; an upsert adds to the contact and removes nothing it does not name
(domain.contacts.resolve).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pigeon.domain.contacts import (
    CHANNEL_HANDLE_KINDS,
    Audience,
    AudienceMember,
    Consent,
    ConsentChange,
    Contact,
    NewContact,
    Resolved,
    check_tag,
    limit_problems,
    merged,
    parse_contact,
    parse_contacts,
    region_of,
    resolve,
)
from pigeon.domain.handles import normalize_handle
from pigeon.domain.ids import is_uuid, new_id
from pigeon.domain.storable import text_problem
from pigeon.errors import Conflict, IdempotencyConflict, NotFound, ValidationError
from pigeon.services import auth
from pigeon.store import accounts, consent, idempotency
from pigeon.store import contacts as store
from pigeon.store.database import UniqueViolation

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.domain.accounts import Channel
    from pigeon.services.context import Principal, Services
    from pigeon.store.database import UnitOfWork

MAX_BULK = 10_000
MAX_PAGE = 200
IDEMPOTENCY_SCOPE = "contacts"
IDEMPOTENCY_UNIQUE = "pk_idempotency_keys"
EXTERNAL_ID_UNIQUE = "uq_contacts_workspace_id_external_id"

# (phase, done, total): "checking" rows, then "writing" them.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Created:
    contact: Contact
    replayed: bool


@dataclass(frozen=True)
class Upserted:
    created: int  # rows that created a contact
    updated: int  # rows that changed one (an existing contact, or one an earlier row made)
    unchanged: int  # rows that matched a contact and changed nothing of it
    ids: list[str]  # the contact of each row, in row order


# Reading --------------------------------------------------------------------------------


def get(svc: Services, who: Principal, contact_id: str) -> Contact:
    with auth.acting(svc, who, readonly=True) as uow:
        found = store.get(uow, who.workspace_id, contact_id) if is_uuid(contact_id) else None
        if found is None:
            raise NotFound("no such contact")
        return _with_consent(uow, who.workspace_id, [found])[0]


def list_(
    svc: Services,
    who: Principal,
    *,
    tag: str | None = None,
    q: str | None = None,
    limit: int = 50,
    before: str | None = None,
) -> list[Contact]:
    """Newest first; `before` is the cursor (the last contact id of the previous page)."""
    if before is not None and not is_uuid(before):
        raise ValidationError.field("cursor", "expected a contact id")
    if tag is not None and (problem := check_tag(tag)):
        raise ValidationError.field("tag", problem)
    handle = None
    if q is not None:
        if len(q) > 254 or (problem := text_problem(q)):
            raise ValidationError.field("q", problem or "must be at most 254 characters")
        q = q.strip() or None
        handle = _as_handle(q) if q else None
    with auth.acting(svc, who, readonly=True) as uow:
        found = store.list_(
            uow,
            who.workspace_id,
            tag=tag.strip() if tag else None,
            search=q,
            handle=handle,
            limit=min(limit, MAX_PAGE + 1),
            before=before,
        )
        return _with_consent(uow, who.workspace_id, found)


def _as_handle(text: str) -> str | None:
    """The search text as a stored handle, if it reads as one ("+44 20 7946 0958")."""
    try:
        value = normalize_handle(text)
    except ValidationError:
        return None
    return value if value.startswith("+") else value.lower()


def audience(svc: Services, who: Principal, chosen: Audience) -> list[AudienceMember]:
    with auth.acting(svc, who, readonly=True) as uow:
        return store.audience(uow, who.workspace_id, chosen)


def _with_consent(uow: UnitOfWork, workspace_id: str, found: list[Contact]) -> list[Contact]:
    """The contacts with their standing per channel: opted out where any handle is."""
    values = {h.value for c in found for h in c.handles}
    by_handle = defaultdict(list)
    for opt_out in consent.of_handles(uow, workspace_id, values):
        by_handle[opt_out.handle].append(opt_out)
    out = []
    for contact in found:
        standing: dict[str, Consent] = {}
        for value in dict.fromkeys(h.value for h in contact.handles):
            for opt_out in by_handle.get(value, ()):
                seen = standing.get(opt_out.channel_id)
                handles = (*seen.handles, value) if seen else (value,)
                first = opt_out if seen is None or opt_out.at < seen.at else seen
                standing[opt_out.channel_id] = Consent(
                    "opted_out", first.at, first.source, first.keyword, handles
                )
        out.append(dataclasses.replace(contact, consent=standing) if standing else contact)
    return out


# Creating and changing one --------------------------------------------------------------


def create(
    svc: Services,
    who: Principal,
    raw: Mapping[str, Any],
    *,
    region: str | None = None,
    idempotency_key: str | None = None,
) -> Created:
    """Create a contact from the fields given; with an idempotency key, a repeat of the same
    request answers the contact it created (as it is now)."""
    default_region = region_of(region)
    change = parse_contact(raw, region=default_region)
    if idempotency_key is not None and (problem := text_problem(idempotency_key)):
        raise ValidationError.field("Idempotency-Key", problem)
    fingerprint = _fingerprint(raw, default_region)
    for _attempt in range(2):
        try:
            return _create_once(svc, who, change, idempotency_key, fingerprint)
        except UniqueViolation as error:
            if error.constraint == EXTERNAL_ID_UNIQUE:
                raise _external_id_taken(change.external_id, None) from None
            if error.constraint != IDEMPOTENCY_UNIQUE:
                raise
            # A concurrent request with this key won; the second pass replays its contact.
    raise IdempotencyConflict("a concurrent request is using the same Idempotency-Key")


def _fingerprint(raw: Mapping[str, Any], region: str | None) -> str:
    text = json.dumps(
        {"contact": raw, "region": region}, sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _create_once(
    svc: Services, who: Principal, change: NewContact, key: str | None, fingerprint: str
) -> Created:
    with auth.acting(svc, who) as uow:
        if key is not None:
            recorded = idempotency.recall_many(uow, who.workspace_id, IDEMPOTENCY_SCOPE, [key])
            if key in recorded:
                return Created(_replay(uow, who, recorded[key], fingerprint), replayed=True)
        if change.external_id:
            taken = store.by_external_id(uow, who.workspace_id, [change.external_id])
            if taken:
                raise _external_id_taken(change.external_id, taken[change.external_id])
        channels = _consent_channels(uow, who.workspace_id, {"": change})
        resolved = resolve(None, change)
        contact = _contact(new_id(), who.workspace_id, resolved, None, uow.now)
        _check_consent_targets({"": (contact, change.consent)}, channels)
        event = _created_event(contact, change)
        also = [store.audit_rows(who.workspace_id, who.actor, uow.now, [event])]
        if key is not None:
            record = idempotency.Recorded(fingerprint, 201, {"id": contact.id})
            also.append(
                idempotency.rows(who.workspace_id, IDEMPOTENCY_SCOPE, {key: record}, uow.now)
            )
        store.insert(uow, [contact], also=also)
        _apply_consent(uow, who.workspace_id, contact, change.consent, channels)
        return Created(_with_consent(uow, who.workspace_id, [contact])[0], replayed=False)


def _replay(
    uow: UnitOfWork, who: Principal, recorded: idempotency.Recorded, fingerprint: str
) -> Contact:
    if recorded.request_hash != fingerprint:
        raise IdempotencyConflict(
            "Idempotency-Key: this key was already used with a different request"
        )
    contact_id = str((recorded.response or {}).get("id", ""))
    found = store.get(uow, who.workspace_id, contact_id) if is_uuid(contact_id) else None
    if found is None:
        raise NotFound("the contact this idempotency key created no longer exists")
    return _with_consent(uow, who.workspace_id, [found])[0]


def update(
    svc: Services,
    who: Principal,
    contact_id: str,
    raw: Mapping[str, Any],
    *,
    region: str | None = None,
) -> Contact:
    """Replace the fields given (handles, tags and attributes as whole sets; null clears a
    name or a time zone); apply consent changes. Unlike an upsert, which adds."""
    change = parse_contact(raw, region=region_of(region))
    with auth.acting(svc, who) as uow:
        current = store.get(uow, who.workspace_id, contact_id) if is_uuid(contact_id) else None
        if current is None:
            raise NotFound("no such contact")
        if not change.given:
            return _with_consent(uow, who.workspace_id, [current])[0]
        if change.external_id and change.external_id != current.external_id:
            taken = store.by_external_id(uow, who.workspace_id, [change.external_id])
            if taken:
                raise _external_id_taken(change.external_id, taken[change.external_id])
        channels = _consent_channels(uow, who.workspace_id, {"": change})
        resolved = resolve(current, change)
        contact = _contact(current.id, who.workspace_id, resolved, current, uow.now)
        _check_consent_targets({"": (contact, change.consent)}, channels)
        try:
            store.update_many(
                uow,
                who.workspace_id,
                [contact],
                new_tags=[contact.id] if resolved.tags_changed else [],
                new_handles=[contact.id] if resolved.handles_changed else [],
            )
        except UniqueViolation as error:
            if error.constraint == EXTERNAL_ID_UNIQUE:
                raise _external_id_taken(change.external_id, None) from None
            raise
        _apply_consent(uow, who.workspace_id, contact, change.consent, channels)
        action, _id, detail = _updated_event(contact, change)
        _audit(uow, who, action, contact.id, detail)
        return _with_consent(uow, who.workspace_id, [contact])[0]


def delete(svc: Services, who: Principal, contact_id: str) -> None:
    """Delete a contact with its handles and tags. Opt-outs stay: they belong to handles."""
    with auth.acting(svc, who) as uow:
        if not is_uuid(contact_id) or not store.delete_one(uow, who.workspace_id, contact_id):
            raise NotFound("no such contact")
        _audit(uow, who, "contact_deleted", contact_id)


def _audit(
    uow: UnitOfWork,
    who: Principal,
    action: str,
    contact_id: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    accounts.audit(
        uow,
        workspace_id=who.workspace_id,
        actor=who.actor,
        action=action,
        subject_type="contact",
        subject_id=contact_id,
        at=uow.now,
        detail=detail,
    )


def _external_id_taken(external_id: str | None, holder: str | None) -> Conflict:
    who_has_it = f"contact {holder}" if holder else "another contact"
    return Conflict(
        f"external_id: {who_has_it} has the external id {external_id!r} already "
        "(change that contact, or upsert through /v1/contacts/bulk)"
    )


def _contact(
    contact_id: str,
    workspace_id: str,
    resolved: Resolved,
    current: Contact | None,
    now: datetime,
) -> Contact:
    return Contact(
        id=contact_id,
        workspace_id=workspace_id,
        external_id=resolved.external_id,
        name=resolved.name,
        timezone=resolved.timezone,
        timezone_source=resolved.timezone_source,
        attributes=resolved.attributes,
        tags=resolved.tags,
        handles=resolved.handles,
        created_at=current.created_at if current else now,
        updated_at=now,
    )


def _created_event(
    contact: Contact, change: NewContact, **detail: Any
) -> tuple[str, str, Mapping[str, Any]]:
    consent_detail = {"consent": dict(change.consent)} if change.consent else {}
    return "contact_created", contact.id, {"name": contact.name, **consent_detail, **detail}


def _updated_event(
    contact: Contact, change: NewContact, *, upsert: bool = False, **detail: Any
) -> tuple[str, str, Mapping[str, Any]]:
    consent_detail = {"consent": dict(change.consent)} if change.consent else {}
    fields = change.gives if upsert else change.given
    return (
        "contact_updated",
        contact.id,
        {"fields": sorted(fields), **consent_detail, **detail},
    )


# Consent --------------------------------------------------------------------------------


def _consent_channels(
    uow: UnitOfWork, workspace_id: str, changes: Mapping[str, NewContact]
) -> dict[str, Channel]:
    """The channels the changes' consent names, each one checked: it must be a channel of
    the workspace that sends (mailbox channels only receive)."""
    named = {cid for change in changes.values() for cid in change.consent}
    if not named:
        return {}
    channels = {c.id: c for c in accounts.list_channels(uow, workspace_id)}
    problems: dict[str, str] = {}
    for where, change in changes.items():
        for channel_id in change.consent:
            channel = channels.get(channel_id)
            field = f"{where}consent.{channel_id}"
            if channel is None:
                problems[field] = "no such channel in this workspace"
            elif channel.kind not in CHANNEL_HANDLE_KINDS:
                problems[field] = f"a {channel.kind} channel receives mail; it sends nothing"
    if problems:
        raise ValidationError(problems)
    return channels


def _check_consent_targets(
    targets: Mapping[str, tuple[Contact, Mapping[str, ConsentChange]]],
    channels: Mapping[str, Channel],
) -> None:
    """An opt-out needs a handle the channel sends to, or it would record nothing."""
    problems: dict[str, str] = {}
    for where, (contact, changes) in targets.items():
        for channel_id, wanted in changes.items():
            kinds = CHANNEL_HANDLE_KINDS[channels[channel_id].kind]
            if wanted == "opted_out" and not any(h.kind in kinds for h in contact.handles):
                problems[f"{where}consent.{channel_id}"] = (
                    f"the contact has no handle this channel sends to ({', '.join(kinds)})"
                )
    if problems:
        raise ValidationError(problems)


def _apply_consent(
    uow: UnitOfWork,
    workspace_id: str,
    contact: Contact,
    changes: Mapping[str, ConsentChange],
    channels: Mapping[str, Channel],
) -> None:
    """Opt every handle the channel can send to out of it, or back in."""
    for channel_id, wanted in changes.items():
        kinds = CHANNEL_HANDLE_KINDS[channels[channel_id].kind]
        for value in dict.fromkeys(h.value for h in contact.handles if h.kind in kinds):
            if wanted == "opted_out":
                consent.opt_out(uow, workspace_id, channel_id, value, source="api")
            else:
                consent.opt_in(uow, workspace_id, channel_id, value)


# Many at once ---------------------------------------------------------------------------


@dataclass
class _Target:
    current: Contact | None  # None: this request creates it
    change: NewContact
    contact_id: str


def upsert_many(
    svc: Services,
    who: Principal,
    rows: Sequence[Any],
    *,
    region: str | None = None,
    field_name: str = "contacts",
    max_rows: int | None = MAX_BULK,
    progress: Progress | None = None,
) -> Upserted:
    """Create or change many contacts in one transaction: all of them, or none.

    A row with an external id changes the contact that has it, or creates one that will; a
    row without changes the first contact (the oldest) that has any of its handles, or
    creates one. Rows apply in order, so a later row may change a contact an earlier one
    created, and two rows of one contact merge in order.

    A row adds to its contact and removes nothing it does not name (unlike a PATCH, which
    replaces the fields it gives): its attributes merge key by key (a key given null is
    removed); its handles are added, a handle marked primary taking the primary of its
    kind, else the contact's primary staying; its tags are joined to the contact's; its
    external_id, name and timezone replace the contact's only when not empty. The sum must
    still fit a contact (20 handles, 50 tags, 100 attributes).
    """
    if not rows:
        raise ValidationError.field(field_name, "must hold at least one contact")
    if max_rows is not None and len(rows) > max_rows:
        raise ValidationError.field(field_name, f"at most {max_rows} contacts at once")
    default_region = region_of(region)
    checked, problems = parse_contacts(rows, region=default_region, field_name=field_name)
    if progress:
        progress("checking", len(rows), len(rows))
    if problems:
        raise ValidationError(problems)
    return upsert_checked(
        svc, who, [c for c in checked if c is not None], field_name=field_name, progress=progress
    )


def upsert_checked(
    svc: Services,
    who: Principal,
    changes: Sequence[NewContact],
    *,
    field_name: str = "contacts",
    progress: Progress | None = None,
) -> Upserted:
    """`upsert_many` of rows checked already (domain.contacts.parse_contact)."""
    if not changes:
        return Upserted(created=0, updated=0, unchanged=0, ids=[])
    try:
        with auth.acting(svc, who) as uow:
            return _upsert(uow, who, list(changes), field_name, progress)
    except UniqueViolation as error:
        if error.constraint == EXTERNAL_ID_UNIQUE:
            raise Conflict(
                "a concurrent request created a contact with one of these external ids; "
                "send the rows again"
            ) from None
        raise


def _upsert(
    uow: UnitOfWork,
    who: Principal,
    changes: list[NewContact],
    field_name: str,
    progress: Progress | None,
) -> Upserted:
    workspace_id = who.workspace_id
    channels = _consent_channels(
        uow,
        workspace_id,
        {f"{field_name}[{i}].": c for i, c in enumerate(changes) if c.consent},
    )
    by_external = store.by_external_id(
        uow, workspace_id, {c.external_id for c in changes if c.external_id}
    )
    by_value = store.by_handle(
        uow, workspace_id, {h.value for c in changes if not c.external_id for h in c.handles}
    )
    existing = store.get_many(uow, workspace_id, {*by_external.values(), *by_value.values()})
    targets: dict[str, _Target] = {}
    ids: list[str] = []
    created = 0
    for change in changes:
        if change.external_id:
            found = by_external.get(change.external_id)
        else:
            owners = [by_value[h.value] for h in change.handles if h.value in by_value]
            found = min(owners) if owners else None
        if found is None:
            found = new_id()
            targets[found] = _Target(None, change, found)
            created += 1
        elif found in targets:
            targets[found].change = merged(targets[found].change, change)
        else:
            targets[found] = _Target(existing[found], change, found)
        ids.append(found)
        if change.external_id:
            by_external[change.external_id] = found
        for handle in change.handles:
            owner = by_value.get(handle.value)
            by_value[handle.value] = found if owner is None else min(owner, found)
    now = uow.now
    new: list[Contact] = []
    changed: list[Contact] = []
    new_tags: list[str] = []
    new_handles: list[str] = []
    events = []
    made: dict[str, tuple[Contact, NewContact]] = {}
    untouched: set[str] = set()
    last_row = {contact_id: index for index, contact_id in enumerate(ids)}
    too_big: dict[str, str] = {}
    for target in targets.values():
        current = target.current
        resolved = resolve(current, target.change, upsert=True)
        where = f"{field_name}[{last_row[target.contact_id]}]."
        too_big.update({where + k: v for k, v in limit_problems(resolved).items()})
        contact = _contact(target.contact_id, workspace_id, resolved, current, now)
        made[target.contact_id] = (contact, target.change)
        if current is None:
            new.append(contact)
            events.append(_created_event(contact, target.change, bulk=True))
        elif _same_fields(current, contact) and not (
            resolved.tags_changed or resolved.handles_changed or target.change.consent
        ):
            untouched.add(contact.id)  # an import run again: nothing to write
        else:
            changed.append(contact)
            events.append(_updated_event(contact, target.change, upsert=True, bulk=True))
            if resolved.tags_changed:
                new_tags.append(contact.id)
            if resolved.handles_changed:
                new_handles.append(contact.id)
    if too_big:
        raise ValidationError(too_big)
    if channels:
        _check_consent_targets(
            {
                f"{field_name}[{i}].": (made[contact_id][0], changes[i].consent)
                for i, contact_id in enumerate(ids)
                if changes[i].consent
            },
            channels,
        )
    if progress:
        progress("writing", 0, len(changes))
    store.insert(uow, new, also=[store.audit_rows(workspace_id, who.actor, now, events)])
    store.update_many(uow, workspace_id, changed, new_tags=new_tags, new_handles=new_handles)
    for contact, change in made.values():
        if change.consent:
            _apply_consent(uow, workspace_id, contact, change.consent, channels)
    if progress:
        progress("writing", len(changes), len(changes))
    unchanged = sum(1 for contact_id in ids if contact_id in untouched)
    return Upserted(
        created=created, updated=len(changes) - created - unchanged, unchanged=unchanged, ids=ids
    )


def _same_fields(current: Contact, contact: Contact) -> bool:
    return (
        current.external_id == contact.external_id
        and current.name == contact.name
        and current.timezone == contact.timezone
        and current.timezone_source == contact.timezone_source
        and dict(current.attributes) == dict(contact.attributes)
        and current.tags == contact.tags
    )
