"""/v1/contacts in process, on SQLite and PostgreSQL: the read model, PATCH semantics, bulk
upserts (all or nothing, matched by external id or by handle, adding to a contact and
removing nothing it does not name, in few statements), consent, idempotency, and workspace
isolation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from pigeon.config import Settings
from pigeon.domain.contacts import Audience
from pigeon.services.context import Services
from pigeon.store import consent
from pigeon.store import contacts as contact_store
from tests.integration.test_api_support import (
    OPERATOR_TOKEN,
    InProcessClient,
    Tenant,
    bearer,
    new_key,
    new_tenant,
    problem_fields,
    row_counts,
)

LONDON = "+442079460958"
LONDON_NATIONAL = "020 7946 0958"
BOSTON = "+16175550123"
UK_MOBILE = "+447911123456"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, lease_seconds=60, operator_token=OPERATOR_TOKEN)


def create(api: InProcessClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = api.post("/v1/contacts", json=fields, headers=tenant.auth)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def channel_ids(api: InProcessClient, tenant: Tenant) -> dict[str, str]:
    channels = api.get("/v1/channels", headers=tenant.auth).json()["items"]
    return {c["kind"]: c["id"] for c in channels}


def bulk(api: InProcessClient, tenant: Tenant, rows: list[Any], **params: Any) -> Any:
    body = json.dumps({"contacts": rows}).encode()  # NaN too, which httpx would refuse
    headers = {**tenant.auth, "Content-Type": "application/json"}
    return api.post("/v1/contacts/bulk", content=body, params=params, headers=headers)


@contextmanager
def statements(container: Services) -> Iterator[list[str]]:
    """The SQL statements run meanwhile (COPY and executemany count once)."""
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(container.db.engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(container.db.engine, "before_cursor_execute", capture)


# One contact ------------------------------------------------------------------------------


def test_a_contact_is_created_read_changed_and_deleted(
    api: InProcessClient, tenant: Tenant
) -> None:
    response = api.post(
        "/v1/contacts",
        params={"default_region": "GB"},
        json={
            "external_id": "crm-1",
            "name": "Ann Lee",
            "handles": [
                {"kind": "phone", "value": LONDON_NATIONAL},
                {"kind": "email", "value": "Ann.Lee@Example.ORG"},
            ],
            "tags": ["vip", "london"],
            "attributes": {"plan": "pro", "seats": 3, "teams": ["red", "blue"]},
        },
        headers=tenant.auth,
    )
    assert response.status_code == 201, response.text
    ann = response.json()
    assert ann["handles"] == [
        {"kind": "phone", "value": LONDON, "primary": True},
        {"kind": "email", "value": "ann.lee@example.org", "primary": True},
    ]
    assert (ann["timezone"], ann["timezone_source"]) == ("Europe/London", "phone")
    assert ann["tags"] == ["vip", "london"]
    assert ann["attributes"] == {"plan": "pro", "seats": 3, "teams": ["red", "blue"]}
    assert ann["consent"] == {}
    assert api.get(f"/v1/contacts/{ann['id']}", headers=tenant.auth).json() == ann

    # PATCH replaces what it gives: handles as a whole set, the zone following the phone.
    patched = api.patch(
        f"/v1/contacts/{ann['id']}",
        json={"handles": [{"kind": "phone", "value": BOSTON}], "name": None},
        headers=tenant.auth,
    )
    assert patched.status_code == 200, patched.text
    changed = patched.json()
    assert changed["handles"] == [{"kind": "phone", "value": BOSTON, "primary": True}]
    assert changed["name"] is None
    assert (changed["timezone"], changed["timezone_source"]) == ("America/New_York", "phone")
    assert changed["tags"] == ann["tags"] and changed["attributes"] == ann["attributes"]
    assert changed["external_id"] == "crm-1"
    # Attributes and tags too, as whole sets (a bulk row would add to them).
    replaced = api.patch(
        f"/v1/contacts/{ann['id']}",
        json={"attributes": {"plan": "gold"}, "tags": ["new"]},
        headers=tenant.auth,
    ).json()
    assert (replaced["attributes"], replaced["tags"]) == ({"plan": "gold"}, ["new"])

    given = api.patch(
        f"/v1/contacts/{ann['id']}", json={"timezone": "Asia/Tokyo"}, headers=tenant.auth
    ).json()
    assert (given["timezone"], given["timezone_source"]) == ("Asia/Tokyo", "given")

    assert (
        api.request("DELETE", f"/v1/contacts/{ann['id']}", headers=tenant.auth).status_code == 204
    )
    assert api.get(f"/v1/contacts/{ann['id']}", headers=tenant.auth).status_code == 404
    assert (
        api.request("DELETE", f"/v1/contacts/{ann['id']}", headers=tenant.auth).status_code == 404
    )
    trail = api.get("/v1/audit", headers=tenant.auth).json()["items"]
    mine = [(e["action"], e["subject_type"]) for e in trail if e["subject_id"] == ann["id"]]
    assert mine == [
        ("contact_deleted", "contact"),
        ("contact_updated", "contact"),
        ("contact_updated", "contact"),
        ("contact_updated", "contact"),
        ("contact_created", "contact"),
    ]


def test_an_external_id_belongs_to_one_contact(api: InProcessClient, tenant: Tenant) -> None:
    first = create(api, tenant, external_id="crm-1")
    again = api.post("/v1/contacts", json={"external_id": "crm-1"}, headers=tenant.auth)
    assert again.status_code == 409
    assert first["id"] in again.json()["detail"]
    other = create(api, tenant, external_id="crm-2")
    taken = api.patch(
        f"/v1/contacts/{other['id']}", json={"external_id": "crm-1"}, headers=tenant.auth
    )
    assert taken.status_code == 409


def test_the_same_idempotency_key_replays_the_contact(api: InProcessClient, tenant: Tenant) -> None:
    key = {"Idempotency-Key": "k-1", **tenant.auth}
    body = {"name": "Ann", "handles": [{"kind": "phone", "value": LONDON}]}
    first = api.post("/v1/contacts", json=body, headers=key)
    again = api.post("/v1/contacts", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.json()["id"] == first.json()["id"]
    other = api.post("/v1/contacts", json={**body, "name": "Bob"}, headers=key)
    assert other.status_code == 409
    assert len(api.get("/v1/contacts", headers=tenant.auth).json()["items"]) == 1


def test_the_list_filters_by_tag_and_text_and_pages_newest_first(
    api: InProcessClient, tenant: Tenant
) -> None:
    ann = create(
        api, tenant, name="Ann Lee", tags=["vip"], handles=[{"kind": "phone", "value": LONDON}]
    )
    bob = create(api, tenant, name="Bob", handles=[{"kind": "email", "value": "bob@x.org"}])
    cy = create(api, tenant, name="Cy 100%", tags=["vip"])

    def names(**params: Any) -> list[str | None]:
        response = api.get("/v1/contacts", params=params, headers=tenant.auth)
        assert response.status_code == 200, response.text
        return [c["name"] for c in response.json()["items"]]

    assert names() == ["Cy 100%", "Bob", "Ann Lee"]
    assert names(tag="vip") == ["Cy 100%", "Ann Lee"]
    assert names(q="ann") == ["Ann Lee"]
    assert names(q="+44 20 7946 0958") == ["Ann Lee"]  # a handle written another way
    assert names(q="BOB@X") == ["Bob"]
    assert names(q="%") == ["Cy 100%"]  # LIKE's wildcards are text here
    first = api.get("/v1/contacts", params={"limit": 2}, headers=tenant.auth).json()
    assert [c["id"] for c in first["items"]] == [cy["id"], bob["id"]]
    rest = api.get(
        "/v1/contacts", params={"limit": 2, "cursor": first["next_cursor"]}, headers=tenant.auth
    ).json()
    assert ([c["id"] for c in rest["items"]], rest["next_cursor"]) == ([ann["id"]], None)


# Bulk -------------------------------------------------------------------------------------


def test_a_bulk_with_bad_rows_writes_nothing_and_names_each(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    before = row_counts(container)
    rows = [
        {"name": "fine", "handles": [{"kind": "phone", "value": LONDON}]},
        {"name": "fine too"},
        {"handles": [{"kind": "phone", "value": "+44 20"}]},
        {
            "handles": [
                {"kind": "phone", "value": BOSTON, "primary": True},
                {"kind": "phone", "value": LONDON, "primary": True},
            ]
        },
        {"attributes": {"ratio": float("nan")}, "tags": ["ok", ""]},
        None,
        {"name": 7, "colour": "red"},
    ]
    response = bulk(api, tenant, rows)
    assert response.status_code == 422
    assert problem_fields(response) == [
        "contacts[2].handles[0].value",
        "contacts[3].handles[1].primary",
        "contacts[4].tags[1]",
        "contacts[4].attributes.ratio",
        "contacts[5]",
        "contacts[6].colour",
        "contacts[6].name",
    ]
    assert row_counts(container) == before


def test_a_bulk_upserts_by_external_id_then_by_handle(api: InProcessClient, tenant: Tenant) -> None:
    older = create(api, tenant, name="Older", handles=[{"kind": "phone", "value": LONDON}])
    newer = create(api, tenant, name="Newer", handles=[{"kind": "phone", "value": LONDON}])
    crm = create(api, tenant, name="CRM", external_id="crm-9", tags=["a"])
    rows = [
        {"external_id": "crm-9", "name": "CRM renamed"},  # by external id
        {
            "name": "Matched",
            "handles": [
                {"kind": "email", "value": "new@x.org"},
                {"kind": "phone", "value": LONDON_NATIONAL},
            ],
        },
        {"external_id": "crm-10", "handles": [{"kind": "phone", "value": LONDON}]},  # new
        {"name": "Fresh", "handles": [{"kind": "phone", "value": BOSTON}]},  # new
        {"attributes": {"n": 2}, "handles": [{"kind": "phone", "value": BOSTON}]},  # row 3's
    ]
    response = bulk(api, tenant, rows, default_region="GB")
    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["created"], done["updated"], done["unchanged"]) == (2, 3, 0)
    ids = done["ids"]
    assert ids[0] == crm["id"]
    assert ids[1] == older["id"]  # the first contact that has the number
    assert ids[2] not in (older["id"], newer["id"], crm["id"])  # an external id is its own
    assert ids[4] == ids[3]

    def get(contact_id: str) -> dict[str, Any]:
        found: dict[str, Any] = api.get(f"/v1/contacts/{contact_id}", headers=tenant.auth).json()
        return found

    assert (get(crm["id"])["name"], get(crm["id"])["tags"]) == ("CRM renamed", ["a"])
    matched = get(older["id"])
    assert matched["name"] == "Matched"
    assert [h["value"] for h in matched["handles"]] == [LONDON, "new@x.org"]  # added
    assert get(newer["id"])["name"] == "Newer"
    fresh = get(ids[3])
    assert (fresh["name"], fresh["attributes"], fresh["timezone"]) == (
        "Fresh",
        {"n": 2},
        "America/New_York",
    )

    again = bulk(api, tenant, rows, default_region="GB").json()
    assert again["ids"][:2] == ids[:2] and again["unchanged"] == 5


def test_a_bulk_row_adds_to_a_contact_and_removes_nothing_it_does_not_name(
    api: InProcessClient, tenant: Tenant
) -> None:
    robert = create(
        api,
        tenant,
        external_id="c02",
        name="Robert",
        tags=["clients"],
        attributes={"plan": "silver", "renews_on": "2030-03-01", "city": "Leeds"},
        handles=[{"kind": "phone", "value": BOSTON}, {"kind": "email", "value": "rj@x.org"}],
    )
    done = bulk(
        api,
        tenant,
        [
            # Re-imported by external id, from a file without renews_on and city.
            {"external_id": "c02", "name": "Robert Jones", "attributes": {"plan": "gold"}},
            # Matched by the phone, with no email: the email stays.
            {"name": "", "timezone": None, "handles": [{"kind": "phone", "value": BOSTON}]},
        ],
    )
    assert done.status_code == 200, done.text
    assert done.json()["ids"] == [robert["id"], robert["id"]]
    now = api.get(f"/v1/contacts/{robert['id']}", headers=tenant.auth).json()
    assert now["name"] == "Robert Jones"  # an empty name changes nothing
    assert now["attributes"] == {"plan": "gold", "renews_on": "2030-03-01", "city": "Leeds"}
    assert now["handles"] == robert["handles"]
    assert now["tags"] == ["clients"]
    assert (now["timezone"], now["timezone_source"]) == ("America/New_York", "phone")

    more = bulk(
        api,
        tenant,
        [
            {
                "external_id": "c02",
                "tags": ["vip"],
                "attributes": {"city": None, "seats": 2},  # null removes the key
                "handles": [
                    {"kind": "phone", "value": LONDON, "primary": True},
                    {"kind": "email", "value": "robert@y.org"},
                ],
            }
        ],
    ).json()
    assert more["updated"] == 1
    now = api.get(f"/v1/contacts/{robert['id']}", headers=tenant.auth).json()
    assert now["attributes"] == {"plan": "gold", "renews_on": "2030-03-01", "seats": 2}
    assert now["tags"] == ["clients", "vip"]
    assert now["handles"] == [
        {"kind": "phone", "value": BOSTON, "primary": False},
        {"kind": "email", "value": "rj@x.org", "primary": True},  # stays primary
        {"kind": "phone", "value": LONDON, "primary": True},  # marked so
        {"kind": "email", "value": "robert@y.org", "primary": False},
    ]
    assert (now["timezone"], now["timezone_source"]) == ("Europe/London", "phone")
    again = bulk(api, tenant, [{"external_id": "c02", "tags": ["vip"]}]).json()
    assert again["unchanged"] == 1


def test_two_rows_of_one_contact_in_a_bulk_merge_in_order(
    api: InProcessClient, tenant: Tenant
) -> None:
    rows = [
        {
            "external_id": "c07",
            "name": "Dee",
            "tags": ["a"],
            "attributes": {"plan": "pro", "city": "York"},
            "handles": [{"kind": "phone", "value": LONDON}],
        },
        {
            "external_id": "c07",
            "tags": ["b"],
            "attributes": {"plan": "gold"},
            "handles": [{"kind": "email", "value": "dee@x.org"}],
        },
    ]
    done = bulk(api, tenant, rows).json()
    assert (done["created"], done["updated"]) == (1, 1)
    dee = api.get(f"/v1/contacts/{done['ids'][0]}", headers=tenant.auth).json()
    assert dee["name"] == "Dee"
    assert dee["tags"] == ["a", "b"]
    assert dee["attributes"] == {"plan": "gold", "city": "York"}
    assert [h["value"] for h in dee["handles"]] == [LONDON, "dee@x.org"]
    # The same two rows for a contact that exists already.
    existing = create(api, tenant, external_id="c08", tags=["z"])
    for row in rows:
        row["external_id"] = "c08"
    done = bulk(api, tenant, rows).json()
    assert (done["created"], done["updated"], done["ids"]) == (0, 2, [existing["id"]] * 2)
    found = api.get(f"/v1/contacts/{existing['id']}", headers=tenant.auth).json()
    assert found["tags"] == ["z", "a", "b"]
    assert found["attributes"] == {"plan": "gold", "city": "York"}
    assert [h["value"] for h in found["handles"]] == [LONDON, "dee@x.org"]


def test_what_a_bulk_adds_must_still_fit_the_contact(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    create(api, tenant, external_id="full", tags=[f"t{i}" for i in range(48)])
    before = row_counts(container)
    rows = [
        {"name": "fine"},
        {"external_id": "full", "tags": ["n1", "n2"]},
        {"external_id": "full", "tags": ["n3"]},
    ]
    response = bulk(api, tenant, rows)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == ["contacts[2].tags"]
    assert row_counts(container) == before


def test_a_phone_number_with_letters_is_refused(api: InProcessClient, tenant: Tenant) -> None:
    response = bulk(
        api,
        tenant,
        [
            {"handles": [{"kind": "phone", "value": "+44 77OO 9OO 123"}]},
            {"handles": [{"kind": "whatsapp", "value": "+44 7911 123 456"}]},
            {"handles": [{"kind": "whatsapp", "value": "+44 77OO 9OO 123"}]},
        ],
    )
    assert response.status_code == 422, response.text
    assert problem_fields(response) == [
        "contacts[0].handles[0].value",
        "contacts[2].handles[0].value",
    ]
    detail = json.dumps(response.json())
    assert "'+44 77OO 9OO 123' contains letters: a phone number has digits only" in detail
    assert api.get("/v1/contacts", headers=tenant.auth).json()["items"] == []


def test_a_row_with_handles_of_several_contacts_changes_the_oldest(
    api: InProcessClient, tenant: Tenant
) -> None:
    older = create(api, tenant, name="Older", handles=[{"kind": "phone", "value": LONDON}])
    newer = create(api, tenant, name="Newer", handles=[{"kind": "email", "value": "n@x.org"}])
    row = {
        "name": "Both",
        "handles": [{"kind": "email", "value": "N@X.org"}, {"kind": "phone", "value": LONDON}],
    }
    done = bulk(api, tenant, [row]).json()
    assert done["ids"] == [older["id"]]
    assert api.get(f"/v1/contacts/{newer['id']}", headers=tenant.auth).json()["name"] == "Newer"


def test_ten_thousand_contacts_upsert_in_a_few_statements(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    rows = [
        {
            "external_id": f"e{i}",
            "name": f"Person {i}",
            "handles": [
                {"kind": "phone", "value": f"+44 20 7946 {i:04d}"},
                {"kind": "email", "value": f"P{i}@Example.com"},
            ],
            "tags": ["import", f"t{i % 10}"],
            "attributes": {"plan": "pro" if i % 2 else "free", "n": i},
        }
        for i in range(10_000)
    ]
    with statements(container) as created_with:
        started = time.perf_counter()
        response = bulk(api, tenant, rows)
        took = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 10_000
    changed = [{**row, "name": f"{row['name']}!", "tags": ["import", "renewed"]} for row in rows]
    with statements(container) as updated_with:
        response = bulk(api, tenant, changed)
    assert response.json()["updated"] == 10_000
    print(f"10,000 contacts created in {took:.2f} s")
    # Not a statement per contact: the count does not grow with the rows.
    assert len(created_with) < 40 and len(updated_with) < 40, (created_with, updated_with)
    assert took < 30
    listed = api.get("/v1/contacts", params={"tag": "t3", "limit": 1}, headers=tenant.auth)
    [kept] = listed.json()["items"]  # tags are added to, not replaced
    assert kept["tags"] == ["import", "t3", "renewed"]
    started = time.perf_counter()
    page = api.get("/v1/contacts", params={"q": "person 9999!"}, headers=tenant.auth).json()
    assert [c["external_id"] for c in page["items"]] == ["e9999"]
    assert time.perf_counter() - started < 3  # the handles searched once, not per contact


def test_bulk_limits_are_checked_before_anything_is_written(
    api: InProcessClient, tenant: Tenant
) -> None:
    too_many = bulk(api, tenant, [{}] * 10_001)
    assert too_many.status_code == 422
    assert problem_fields(too_many) == ["contacts"]
    assert problem_fields(bulk(api, tenant, [])) == ["contacts"]
    region = bulk(api, tenant, [{}], default_region="XX")
    assert problem_fields(region) == ["default_region"]
    assert api.get("/v1/contacts", headers=tenant.auth).json()["items"] == []


# Consent ----------------------------------------------------------------------------------


def test_consent_round_trips_through_patch_and_the_read_model(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    channels = channel_ids(api, tenant)
    ann = create(
        api,
        tenant,
        handles=[
            {"kind": "phone", "value": LONDON},
            {"kind": "email", "value": "ann@example.org"},
            {"kind": "whatsapp", "value": UK_MOBILE},
        ],
    )
    out = api.patch(
        f"/v1/contacts/{ann['id']}",
        json={"consent": {channels["gateway"]: "opted_out"}},
        headers=tenant.auth,
    )
    assert out.status_code == 200, out.text
    standing = out.json()["consent"]
    assert list(standing) == [channels["gateway"]]
    assert standing[channels["gateway"]]["status"] == "opted_out"
    assert standing[channels["gateway"]]["source"] == "api"
    # Every handle the gateway can send to, and not the WhatsApp number it cannot.
    assert standing[channels["gateway"]]["handles"] == [LONDON, "ann@example.org"]
    with container.db.transaction(readonly=True) as uow:
        pairs = consent.opted_out(
            uow, tenant.id, [(channels["gateway"], h) for h in (LONDON, "ann@example.org")]
        )
    assert len(pairs) == 2
    assert api.get(f"/v1/contacts/{ann['id']}", headers=tenant.auth).json()["consent"] == standing

    back = api.patch(
        f"/v1/contacts/{ann['id']}",
        json={"consent": {channels["gateway"]: "opted_in"}},
        headers=tenant.auth,
    )
    assert back.json()["consent"] == {}


def test_a_keyword_opt_out_of_any_handle_shows_on_the_contact(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    channels = channel_ids(api, tenant)
    ann = create(api, tenant, handles=[{"kind": "imessage", "value": LONDON}])
    with container.db.transaction() as uow:
        consent.opt_out(
            uow, tenant.id, channels["console"], LONDON, source="keyword", keyword="STOP"
        )
    [(channel_id, standing)] = (
        api.get(f"/v1/contacts/{ann['id']}", headers=tenant.auth).json()["consent"].items()
    )
    assert channel_id == channels["console"]
    assert (standing["source"], standing["keyword"], standing["handles"]) == (
        "keyword",
        "STOP",
        [LONDON],
    )


def test_consent_names_a_channel_of_the_workspace_that_can_reach_the_contact(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    theirs = channel_ids(api, new_tenant(api, "theirs"))["gateway"]
    mine = channel_ids(api, tenant)["gateway"]
    before = row_counts(container)
    for channel in (theirs, "01900000-0000-7000-8000-000000000000"):
        response = api.post(
            "/v1/contacts",
            json={
                "handles": [{"kind": "phone", "value": LONDON}],
                "consent": {channel: "opted_out"},
            },
            headers=tenant.auth,
        )
        assert response.status_code == 422
        assert problem_fields(response) == [f"consent.{channel}"]
    unreachable = api.post(  # the gateway sends no WhatsApp
        "/v1/contacts",
        json={"handles": [{"kind": "whatsapp", "value": LONDON}], "consent": {mine: "opted_out"}},
        headers=tenant.auth,
    )
    assert problem_fields(unreachable) == [f"consent.{mine}"]
    assert row_counts(container) == before


def test_a_bulk_row_may_opt_out_and_names_a_channel_it_cannot(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    gateway = channel_ids(api, tenant)["gateway"]
    elsewhere = channel_ids(api, new_tenant(api, "theirs"))["gateway"]
    before = row_counts(container)
    refused = bulk(
        api,
        tenant,
        [
            {"handles": [{"kind": "phone", "value": LONDON}], "consent": {gateway: "opted_out"}},
            {"handles": [{"kind": "phone", "value": BOSTON}], "consent": {elsewhere: "opted_out"}},
        ],
    )
    assert problem_fields(refused) == [f"contacts[1].consent.{elsewhere}"]
    assert row_counts(container) == before
    done = bulk(
        api,
        tenant,
        [{"handles": [{"kind": "phone", "value": LONDON}], "consent": {gateway: "opted_out"}}],
    ).json()
    [contact_id] = done["ids"]
    standing = api.get(f"/v1/contacts/{contact_id}", headers=tenant.auth).json()["consent"]
    assert standing[gateway]["handles"] == [LONDON]


# Isolation and scopes ---------------------------------------------------------------------


def test_another_workspace_cannot_see_or_touch_a_contact(
    api: InProcessClient, tenant: Tenant
) -> None:
    ann = create(
        api, tenant, name="Ann", external_id="crm-1", handles=[{"kind": "phone", "value": LONDON}]
    )
    other = new_tenant(api, "other")
    url = f"/v1/contacts/{ann['id']}"
    assert api.get(url, headers=other.auth).status_code == 404
    assert api.patch(url, json={"name": "Mallory"}, headers=other.auth).status_code == 404
    assert api.request("DELETE", url, headers=other.auth).status_code == 404
    assert api.get("/v1/contacts", headers=other.auth).json()["items"] == []
    assert api.get("/v1/contacts", params={"q": "ann"}, headers=other.auth).json()["items"] == []
    # Their upserts match only their own contacts, by external id or by handle.
    done = bulk(
        api,
        other,
        [
            {"external_id": "crm-1", "name": "M1"},
            {"name": "M2", "handles": [{"kind": "phone", "value": LONDON}]},
        ],
    ).json()
    assert done["created"] == 2 and ann["id"] not in done["ids"]
    assert api.get(url, headers=tenant.auth).json() == ann


def test_reading_needs_a_key_and_writing_the_send_scope(
    api: InProcessClient, tenant: Tenant
) -> None:
    read = bearer(new_key(api, tenant, "read"))
    send = bearer(new_key(api, tenant, "send"))
    assert api.get("/v1/contacts").status_code == 401
    assert api.post("/v1/contacts", json={}, headers=read).status_code == 403
    assert bulk(api, Tenant(tenant.id, read["Authorization"][7:]), [{}]).status_code == 403
    made = api.post("/v1/contacts", json={"name": "Ann"}, headers=send)
    assert made.status_code == 201
    assert api.get(f"/v1/contacts/{made.json()['id']}", headers=read).status_code == 200
    assert (
        api.request("DELETE", f"/v1/contacts/{made.json()['id']}", headers=read).status_code == 403
    )


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"name": "a\\u0000b"}', "name"),
        (b'{"name": "\\ud800"}', "name"),
        (b'{"attributes": {"a": "\\udc00"}}', "attributes.a"),
        (b'{"attributes": {"x": NaN}}', "attributes.x"),
        (b'{"attributes": {"x": Infinity}}', "attributes.x"),
        (b'{"attributes": {"\\ud800": 1}}', "attributes.?"),
        (json.dumps({"name": "x" * 100_000}).encode(), "name"),
        (json.dumps({"attributes": {"a": "x" * 100_000}}).encode(), "attributes"),
        (
            json.dumps({"handles": [{"kind": "phone", "value": "1" * 10_000}]}).encode(),
            "handles[0].value",
        ),
        (json.dumps({"consent": {"x": "opted_out"}}).encode(), "consent"),
        (json.dumps({"tags": ["a\x00"]}).encode(), "tags"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    api: InProcessClient, tenant: Tenant, body: bytes, field: str
) -> None:
    headers = {**tenant.auth, "Content-Type": "application/json"}
    response = api.post("/v1/contacts", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in problem_fields(response)
    row = api.post("/v1/contacts/bulk", content=b'{"contacts": [' + body + b"]}", headers=headers)
    assert row.status_code == 422, row.text
    assert problem_fields(row)[0].startswith("contacts")


def test_malformed_ids_and_queries_are_named(api: InProcessClient, tenant: Tenant) -> None:
    assert problem_fields(api.get("/v1/contacts/nope", headers=tenant.auth)) == ["contact_id"]
    listed = api.get("/v1/contacts", params={"cursor": "nope"}, headers=tenant.auth)
    assert problem_fields(listed) == ["cursor"]
    assert problem_fields(api.get("/v1/contacts", params={"limit": 0}, headers=tenant.auth)) == [
        "limit"
    ]
    missing = "01900000-0000-7000-8000-000000000000"
    assert api.patch(f"/v1/contacts/{missing}", json={}, headers=tenant.auth).status_code == 404


# The audience a batch goes to ---------------------------------------------------------------


def test_an_audience_is_read_in_two_statements_in_contact_order(
    api: InProcessClient, tenant: Tenant, container: Services
) -> None:
    a = create(
        api,
        tenant,
        name="A",
        tags=["vip", "gb"],
        attributes={"plan": "pro"},
        handles=[{"kind": "phone", "value": LONDON}],
    )
    b = create(
        api,
        tenant,
        name="B",
        tags=["vip"],
        attributes={"plan": "free"},
        handles=[{"kind": "email", "value": "b@x.org"}, {"kind": "phone", "value": BOSTON}],
    )
    c = create(api, tenant, name="C", tags=["gb"], attributes={"plan": ["pro", "team"]})
    create(api, new_tenant(api, "other"), name="Elsewhere", tags=["vip"])

    def members(**fields: Any) -> list[str | None]:
        with container.db.transaction(readonly=True) as uow, statements(container) as ran:
            found = contact_store.audience(uow, tenant.id, Audience(**fields))
        assert len(ran) <= 2
        return [m.name for m in found]

    assert members(all=True) == ["A", "B", "C"]
    assert members() == []  # naming nobody is nobody, not everyone
    assert members(all=True, where={"plan": "pro"}) == ["A", "C"]
    assert members(tags=("vip",)) == ["A", "B"]
    assert members(tags=("vip", "gb")) == ["A", "B", "C"]
    assert members(tags=("vip", "gb"), tags_mode="all") == ["A"]
    assert members(contact_ids=(c["id"],), tags=("vip",)) == ["A", "B", "C"]
    assert members(where={"plan": "pro"}) == []
    assert members(tags=("vip",), where={"plan": ("free", "team")}) == ["B"]
    with container.db.transaction(readonly=True) as uow:
        [found] = contact_store.audience(uow, tenant.id, Audience(contact_ids=(b["id"],)))
    assert found.id == b["id"] and found.timezone == "America/New_York"
    assert [(h.kind, h.value, h.primary) for h in found.handles] == [
        ("email", "b@x.org", True),
        ("phone", BOSTON, True),
    ]
    assert found.primary("twilio") is not None and found.primary("twilio").value == BOSTON
    assert a["id"] < b["id"] < c["id"]


def test_bulk_is_a_resource_of_its_own(api: InProcessClient, tenant: Tenant) -> None:
    """`bulk` is not a contact id: other methods answer 405, with or without credentials."""
    for method in ("GET", "PATCH", "DELETE"):
        for headers in (tenant.auth, {}):
            response = api.request(method, "/v1/contacts/bulk", headers=headers)
            assert response.status_code == 405, (method, response.text)
            assert response.headers["allow"] == "POST"
