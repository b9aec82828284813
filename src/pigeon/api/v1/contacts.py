"""/v1/contacts: create, list, read, change, delete, and upsert many at once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from starlette.convertors import Convertor, register_url_convertor

from pigeon.api.deps import BATCH_LIMITS, PigeonRoute, Reader, Sender, Svc
from pigeon.api.openapi import IDEMPOTENT_CREATED, answers
from pigeon.api.v1.render import contact_out
from pigeon.api.v1.schemas import ContactIn, ContactsBulkIn, Uuid
from pigeon.services import contacts
from pigeon.services.contacts import MAX_BULK, MAX_PAGE

router = APIRouter(prefix="/v1", tags=["contacts"], route_class=PigeonRoute)
BATCH_LIMITS["/v1/contacts/bulk"] = ("contacts", MAX_BULK)


class _ContactId(Convertor[str]):
    """A path segment that names a contact: anything but `bulk`, its sibling resource.
    Otherwise `DELETE /v1/contacts/bulk` would reach the route of a contact, and answer
    401 (or 422 for the id) where the answer is 405, Allow: POST."""

    regex = "(?!bulk$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("contact_id", _ContactId())
ONE = "/contacts/{contact_id:contact_id}"

# National phone numbers ("020 7946 0958") are read in this region; without it, phone
# numbers must be international (+44 ...).
Region = Annotated[
    str | None,
    Query(min_length=2, max_length=2, description="e.g. GB: how to read national numbers"),
]


@router.post(
    "/contacts",
    status_code=201,
    responses={
        **IDEMPOTENT_CREATED,
        **answers(
            409,
            c409="Another contact has this external_id, or the Idempotency-Key was used "
            "with another request",
        ),
    },
)
def create_contact(
    body: ContactIn,
    svc: Svc,
    who: Sender,
    default_region: Region = None,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
) -> JSONResponse:
    """The time zone, when not given, is the primary phone number's, when its number names
    exactly one (`timezone_source: phone`)."""
    created = contacts.create(
        svc,
        who,
        body.model_dump(exclude_unset=True),
        region=default_region,
        idempotency_key=idempotency_key,
    )
    headers = {"Idempotent-Replayed": "true"} if created.replayed else None
    return JSONResponse(contact_out(created.contact), status_code=201, headers=headers)


@router.get("/contacts")
def list_contacts(
    svc: Svc,
    who: Reader,
    tag: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=254, description="Text in the name or a handle"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[Uuid | None, Query()] = None,
) -> JSONResponse:
    """Newest first; `next_cursor` fetches the next page."""
    found = contacts.list_(svc, who, tag=tag, q=q, limit=limit + 1, before=cursor)
    more = len(found) > limit
    found = found[:limit]
    return JSONResponse(
        {
            "items": [contact_out(c) for c in found],
            "next_cursor": found[-1].id if more else None,
        }
    )


@router.post(
    "/contacts/bulk",
    responses=answers(409, c409="A concurrent request made a contact with one of the external ids"),
)
def upsert_contacts(
    body: ContactsBulkIn, svc: Svc, who: Sender, default_region: Region = None
) -> dict[str, Any]:
    """Create or change up to 10,000 contacts, all or none: a bad row writes nothing, and the
    answer names every bad field of every row (`contacts[3].handles[0].value`).

    A row with an `external_id` changes the contact that has it (or creates it); a row
    without one changes the first contact that has any of its handles (or creates one).
    Rows apply in order, two rows of one contact merging in order.

    A row adds to its contact and removes nothing it does not name (a PATCH, by contrast,
    replaces what it gives): `attributes` merge key by key, a key given `null` being
    removed; `handles` are added to the contact's, one marked `primary` becoming the
    primary of its kind (else the contact's primary stays); `tags` are added to the
    contact's; `external_id`, `name` and `timezone` replace the contact's only when given
    and not empty (`null` or `""` changes nothing)."""
    done = contacts.upsert_many(svc, who, body.contacts, region=default_region)
    return {
        "created": done.created,
        "updated": done.updated,
        "unchanged": done.unchanged,
        "ids": done.ids,
    }


@router.get(ONE, responses=answers(404))
def get_contact(contact_id: Uuid, svc: Svc, who: Reader) -> dict[str, Any]:
    return contact_out(contacts.get(svc, who, contact_id))


@router.patch(
    ONE,
    responses=answers(404, 409, c409="Another contact has this external_id"),
)
def update_contact(
    contact_id: Uuid, body: ContactIn, svc: Svc, who: Sender, default_region: Region = None
) -> dict[str, Any]:
    """Replaces the fields given: `handles`, `tags` and `attributes` as whole sets (what is
    not in them is removed), `null` clearing `name` or `timezone`. To add to a contact
    instead, upsert it through /v1/contacts/bulk."""
    changed = contacts.update(
        svc, who, contact_id, body.model_dump(exclude_unset=True), region=default_region
    )
    return contact_out(changed)


@router.delete(ONE, status_code=204, responses=answers(404))
def delete_contact(contact_id: Uuid, svc: Svc, who: Sender) -> Response:
    """Deletes the contact with its handles and tags; opt-outs of its handles stay."""
    contacts.delete(svc, who, contact_id)
    return Response(status_code=204)
