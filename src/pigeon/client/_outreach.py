"""/v1 outreach: contacts, batches, the throttle and the opt-out keywords."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pigeon.client._endpoint import Group, M, endpoint
from pigeon.client._transport import Call, instant, json_items, new_key, no_content, query, segment

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Unpack

    from pigeon.client.types import (
        Audience,
        Batch,
        BatchItem,
        BatchOptions,
        BatchPreview,
        BatchStatus,
        Contact,
        ContactFields,
        ContactsUpserted,
        ItemStatus,
        OptOutConfig,
        OptOutLanguage,
        Page,
        ThrottleLimits,
        ThrottlePolicy,
    )


# Contacts ---------------------------------------------------------------------------------


def create_contact(
    *,
    default_region: str | None = None,
    idempotency_key: str | None = None,
    **fields: Unpack[ContactFields],
) -> Call[Contact]:
    """Create a contact. `default_region` (`GB`) reads national phone numbers; the
    Idempotency-Key is `idempotency_key`, or one made for this call."""
    return Call(
        "POST",
        "/v1/contacts",
        params=query(default_region=default_region),
        json=dict(fields),
        idempotency_key=idempotency_key or new_key(),
    )


def list_contacts(
    *,
    tag: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[Page[Contact]]:
    """Contacts, newest first; `q` is text in the name or a handle."""
    return Call("GET", "/v1/contacts", params=query(tag=tag, q=q, cursor=cursor, limit=limit))


def get_contact(contact_id: str) -> Call[Contact]:
    return Call("GET", f"/v1/contacts/{segment(contact_id)}")


def update_contact(
    contact_id: str, *, default_region: str | None = None, **fields: Unpack[ContactFields]
) -> Call[Contact]:
    """Replace the fields given (`handles`, `tags`, `attributes` as whole sets; `name=None`
    clears the name). To add to a contact instead, use `upsert_many`."""
    return Call(
        "PATCH",
        f"/v1/contacts/{segment(contact_id)}",
        params=query(default_region=default_region),
        json=dict(fields),
    )


def delete_contact(contact_id: str) -> Call[None]:
    """Delete the contact; the opt-outs of its handles stay."""
    return Call("DELETE", f"/v1/contacts/{segment(contact_id)}", parse=no_content)


def upsert_contacts(
    contacts: Sequence[ContactFields], *, default_region: str | None = None
) -> Call[ContactsUpserted]:
    """Create or add to up to 10,000 contacts, all or none (every bad row is named:
    `contacts[3].handles[0].value`). A row with an `external_id` changes the contact that
    has it; one without, the first contact with any of its handles."""
    return Call(
        "POST",
        "/v1/contacts/bulk",
        params=query(default_region=default_region),
        json={"contacts": [dict(c) for c in contacts]},
    )


class Contacts(Group[M]):
    """/v1/contacts."""

    create = endpoint(create_contact)
    list = endpoint(list_contacts)
    get = endpoint(get_contact)
    update = endpoint(update_contact)
    delete = endpoint(delete_contact)
    upsert_many = endpoint(upsert_contacts)


# Batches ----------------------------------------------------------------------------------


def create_batch(
    name: str, template: str, audience: Audience, **options: Unpack[BatchOptions]
) -> Call[Batch]:
    """Create a draft batch: `template` (Liquid) rendered for each contact of `audience`
    (`{"tags": ["vip"]}`, `{"contact_ids": [...]}`, `{"all": True}`). Preview it, then
    start it."""
    body: dict[str, Any] = {"name": name, "template": template, "audience": audience}
    body.update(options)
    if "send_at" in options:
        body["send_at"] = instant(options["send_at"], "send_at")
    # Not idempotent on the server (it takes no Idempotency-Key): never sent twice blindly.
    return Call("POST", "/v1/batches", json=body)


def list_batches(
    *, status: BatchStatus | None = None, cursor: str | None = None, limit: int | None = None
) -> Call[Page[Batch]]:
    return Call("GET", "/v1/batches", params=query(status=status, cursor=cursor, limit=limit))


def get_batch(batch_id: str) -> Call[Batch]:
    """A batch with `progress`: its items by status."""
    return Call("GET", f"/v1/batches/{segment(batch_id)}")


def preview_batch(batch_id: str, *, samples: int | None = None) -> Call[BatchPreview]:
    """A dry run over every recipient, with `samples` rendered messages; writes nothing."""
    path = f"/v1/batches/{segment(batch_id)}/preview"
    return Call("POST", path, params=query(samples=samples), repeatable=True)


def start_batch(batch_id: str) -> Call[Batch]:
    """Start sending (Conflict unless it is a draft)."""
    return Call("POST", f"/v1/batches/{segment(batch_id)}/start")


def pause_batch(batch_id: str) -> Call[Batch]:
    """Pause sending; its queued messages wait."""
    return Call("POST", f"/v1/batches/{segment(batch_id)}/pause")


def resume_batch(batch_id: str) -> Call[Batch]:
    return Call("POST", f"/v1/batches/{segment(batch_id)}/resume")


def cancel_batch(batch_id: str) -> Call[Batch]:
    """Cancel the batch and what of it waits to be sent."""
    return Call("POST", f"/v1/batches/{segment(batch_id)}/cancel")


def list_batch_items(
    batch_id: str,
    *,
    status: ItemStatus | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Call[Page[BatchItem]]:
    """Every recipient's fate (queued, sent, failed, skipped with the reason) and the
    message it became."""
    return Call(
        "GET",
        f"/v1/batches/{segment(batch_id)}/items",
        params=query(status=status, cursor=cursor, limit=limit),
    )


class Batches(Group[M]):
    """/v1/batches: outreach to many contacts."""

    create = endpoint(create_batch)
    list = endpoint(list_batches)
    get = endpoint(get_batch)
    preview = endpoint(preview_batch)
    start = endpoint(start_batch)
    pause = endpoint(pause_batch)
    resume = endpoint(resume_batch)
    cancel = endpoint(cancel_batch)
    items = endpoint(list_batch_items)


# Throttle ---------------------------------------------------------------------------------


def get_throttle(
    *, channel_id: str | None = None, device_id: str | None = None
) -> Call[ThrottlePolicy]:
    """The policy of the workspace, or of a channel or a device."""
    return Call("GET", "/v1/throttle", params=query(channel_id=channel_id, device_id=device_id))


def put_throttle(
    *,
    channel_id: str | None = None,
    device_id: str | None = None,
    **rules: Unpack[ThrottleLimits],
) -> Call[ThrottlePolicy]:
    """Set the policy of the workspace (or a channel, or a device) to `rules`: a rule left out
    is off."""
    return Call(
        "PUT",
        "/v1/throttle",
        params=query(channel_id=channel_id, device_id=device_id),
        json=dict(rules),
    )


def delete_throttle(*, channel_id: str | None = None, device_id: str | None = None) -> Call[None]:
    return Call(
        "DELETE",
        "/v1/throttle",
        params=query(channel_id=channel_id, device_id=device_id),
        parse=no_content,
    )


def list_policies() -> Call[list[ThrottlePolicy]]:
    """Every policy of the workspace, at every scope."""
    return Call("GET", "/v1/throttle/policies", parse=json_items)


class Throttle(Group[M]):
    """/v1/throttle."""

    get = endpoint(get_throttle)
    put = endpoint(put_throttle)
    delete = endpoint(delete_throttle)
    policies = endpoint(list_policies)


# Opt-out ----------------------------------------------------------------------------------


def get_opt_out() -> Call[OptOutConfig]:
    """The opt-out keywords per language (pigeon's defaults until the workspace sets its own)."""
    return Call("GET", "/v1/opt-out")


def put_opt_out(languages: Mapping[str, OptOutLanguage]) -> Call[OptOutConfig]:
    """Replace the keywords: `{"en": {"stop": ["STOP"], "help_text": "..."}}`."""
    return Call("PUT", "/v1/opt-out", json={"languages": dict(languages)})


class OptOut(Group[M]):
    """/v1/opt-out."""

    get = endpoint(get_opt_out)
    put = endpoint(put_opt_out)
