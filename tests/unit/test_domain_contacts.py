"""Contacts in the domain: handles normalised, one primary per kind, zones from phone
numbers, the handle a channel sends to, input checked field by field, audiences."""

from __future__ import annotations

from datetime import UTC, datetime

import phonenumbers
import pytest
from phonenumbers import timezone as phone_zones

from pigeon.domain.channels import ChannelKind
from pigeon.domain.contacts import (
    Audience,
    Contact,
    Handle,
    HandleKind,
    Resolved,
    limit_problems,
    merged,
    normalize,
    parse_contact,
    parse_contacts,
    primary_handle,
    region_of,
    resolve,
    zone_from_phone,
    zone_problem,
)
from pigeon.domain.handles import normalize_handle
from pigeon.errors import ValidationError
from tests.unit.test_domain_handles import EXAMPLES

LONDON = "+442079460958"  # a London landline
BOSTON = "+16175550123"  # area code 617: one zone
UK_MOBILE = "+447911123456"  # a UK mobile may be in Jersey or the Isle of Man
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


def errors_of(raw: object, **kwargs: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_contact(raw, **kwargs)  # type: ignore[arg-type]
    return caught.value.errors


# Normalising ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "region", "expected"),
    [
        ("phone", "020 7946 0958", "GB", LONDON),
        ("phone", "(617) 555-0123", "US", BOSTON),
        ("phone", "+44 20 7946 0958", None, LONDON),
        ("phone", "+44 20 7946 0958", "US", LONDON),  # international beats the region
        ("whatsapp", "07911 123456", "GB", UK_MOBILE),
        ("email", "Ann.Lee@Example.ORG", None, "ann.lee@example.org"),
        ("imessage", "Ann.Lee@Example.ORG", None, "ann.lee@example.org"),
        ("imessage", "+1 617 555 0123", None, BOSTON),
    ],
)
def test_handles_are_stored_normalised(
    kind: str, raw: str, region: str | None, expected: str
) -> None:
    assert normalize(kind, raw, region=region) == expected


def test_a_national_number_needs_a_region() -> None:
    with pytest.raises(ValidationError) as caught:
        normalize("phone", "020 7946 0958", field_name="handles[0].value")
    [(name, problem)] = caught.value.errors.items()
    assert name == "handles[0].value"
    assert "region" in problem


@pytest.mark.parametrize(
    ("kind", "raw", "problem"),
    [
        ("phone", "ann@example.org", "'ann@example.org' is not a phone number"),
        ("whatsapp", "ann@example.org", "'ann@example.org' is not a phone number"),
        ("email", "+442079460958", "'+442079460958' is not an email address"),
        ("phone", "+44 20", "'+44 20' is not a valid phone number"),
        ("phone", "  ", "must not be empty"),
    ],
)
def test_a_handle_of_the_wrong_kind_is_refused(kind: str, raw: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize(kind, raw)
    assert caught.value.errors == {"value": problem}


@pytest.mark.parametrize("kind", ["phone", "whatsapp", "imessage"])
@pytest.mark.parametrize("raw", ["+44 77OO 9OO 123", "1-800-FLOWERS", "+1 617 555 0123 ext 2"])
def test_a_phone_number_with_letters_is_refused_not_read_as_a_keypad(kind: str, raw: str) -> None:
    """phonenumbers reads letters as keypad digits: the letter O typed for a zero made
    +44 77OO 9OO 123 into +447766966123, another person's number."""
    with pytest.raises(ValidationError) as caught:
        normalize(kind, raw, region="US", field_name="handles[0].value")
    [(name, problem)] = caught.value.errors.items()
    assert name == "handles[0].value"
    assert problem.startswith(f"{raw!r} contains letters: a phone number has digits only")
    errors = errors_of({"handles": [{"kind": kind, "value": raw}]}, region="GB")
    assert list(errors) == ["handles[0].value"] and "contains letters" in errors["handles[0].value"]


def test_regions_are_region_codes() -> None:
    assert region_of("gb") == "GB"
    assert region_of(None) is None
    with pytest.raises(ValidationError) as caught:
        region_of("XX")
    assert list(caught.value.errors) == ["default_region"]


def test_phone_numbers_read_as_messages_read_them() -> None:
    """A contact's number must equal a message's recipient for the same text, or consent
    and matching would miss it: the contact path reads numbers in one pass of its own."""
    for number in EXAMPLES:
        try:
            expected = normalize_handle(number)
        except ValidationError:
            with pytest.raises(ValidationError):
                normalize("phone", number)
            continue
        assert normalize("phone", number) == expected, number
    for raw, region in [("020 7946 0958", "GB"), ("06 12 34 56 78", "FR"), ("0151 123", "GB")]:
        try:
            expected = normalize_handle(raw, region=region)
        except ValidationError:
            with pytest.raises(ValidationError):
                normalize("phone", raw, region=region)
            continue
        assert normalize("phone", raw, region=region) == expected, raw


# Zones ------------------------------------------------------------------------------------


def test_a_zone_is_inferred_only_when_the_number_names_one() -> None:
    assert zone_from_phone(LONDON) == "Europe/London"
    assert zone_from_phone(BOSTON) == "America/New_York"
    assert zone_from_phone("+14155552671") == "America/Los_Angeles"
    assert zone_from_phone(UK_MOBILE) is None  # Jersey, Guernsey, the Isle of Man
    assert zone_from_phone("+18005551234") is None  # toll free: every US zone
    assert zone_from_phone("+79161234567") is None  # Russian mobile: a dozen zones


def test_zones_agree_with_phonenumbers_time_zones_for_number() -> None:
    """The zone is computed with the number's type found once (for speed); it must be what
    `time_zones_for_number` says whenever that names exactly one zone."""
    for number in EXAMPLES:
        parsed = phonenumbers.parse(number)
        if not phonenumbers.is_valid_number(parsed):
            continue
        zones = phone_zones.time_zones_for_number(parsed)
        expected = zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None
        if expected is not None and zone_problem(expected):
            expected = None  # a zone this Python's time zone database does not know
        assert zone_from_phone(number) == expected, number


# Primary handles ---------------------------------------------------------------------------


def test_the_first_handle_of_each_kind_is_primary() -> None:
    contact = parse_contact(
        {
            "handles": [
                {"kind": "email", "value": "a@example.org"},
                {"kind": "phone", "value": LONDON},
                {"kind": "email", "value": "b@example.org"},
                {"kind": "phone", "value": BOSTON},
            ]
        }
    )
    assert [(h.value, h.primary) for h in contact.handles] == [
        ("a@example.org", True),
        (LONDON, True),
        ("b@example.org", False),
        (BOSTON, False),
    ]


def test_a_handle_marked_primary_wins_over_the_first() -> None:
    contact = parse_contact(
        {
            "handles": [
                {"kind": "phone", "value": LONDON},
                {"kind": "phone", "value": BOSTON, "primary": True},
            ]
        }
    )
    assert [(h.value, h.primary) for h in contact.handles] == [(LONDON, False), (BOSTON, True)]


def test_two_primaries_of_one_kind_are_refused() -> None:
    errors = errors_of(
        {
            "handles": [
                {"kind": "phone", "value": LONDON, "primary": True},
                {"kind": "email", "value": "a@example.org", "primary": True},
                {"kind": "phone", "value": BOSTON, "primary": True},
            ]
        }
    )
    assert errors == {"handles[2].primary": "handles[0] is the primary phone handle already"}


def test_a_repeated_handle_is_refused_after_normalising() -> None:
    errors = errors_of(
        {
            "handles": [
                {"kind": "email", "value": "Ann@Example.org"},
                {"kind": "email", "value": "ann@example.ORG"},
            ]
        }
    )
    assert errors == {"handles[1].value": "repeats handles[0]"}


def handles(*specs: tuple[str, str, bool]) -> tuple[Handle, ...]:
    return tuple(Handle(HandleKind(kind), value, primary) for kind, value, primary in specs)


def test_a_channel_sends_to_the_primary_handle_of_its_first_kind_the_contact_has() -> None:
    mine = handles(
        ("email", "a@example.org", True),
        ("phone", LONDON, False),
        ("phone", BOSTON, True),
        ("imessage", "a@icloud.com", True),
    )
    assert primary_handle(mine, ChannelKind.GATEWAY) == mine[3]  # iMessage first
    assert primary_handle(mine, "twilio") == mine[2]  # the primary phone, not the first
    assert primary_handle(mine, ChannelKind.WHATSAPP) == mine[2]  # no WhatsApp: the phone
    assert primary_handle(mine, ChannelKind.SMTP) == mine[0]
    assert primary_handle(mine, ChannelKind.CONSOLE) == mine[2]
    assert primary_handle(mine[:1], ChannelKind.TWILIO) is None
    assert primary_handle(mine, ChannelKind.IMAP) is None  # a mailbox sends nothing
    whatsapp = (*mine, Handle(HandleKind.WHATSAPP, UK_MOBILE, True))
    assert primary_handle(whatsapp, ChannelKind.WHATSAPP) == whatsapp[-1]


# Time zones of contacts -------------------------------------------------------------------


def as_contact(resolved: Resolved) -> Contact:
    return Contact(
        id="c",
        workspace_id="w",
        external_id=resolved.external_id,
        name=resolved.name,
        timezone=resolved.timezone,
        timezone_source=resolved.timezone_source,
        attributes=resolved.attributes,
        tags=resolved.tags,
        handles=resolved.handles,
        created_at=T0,
        updated_at=T0,
    )


def contact_of(**fields: object) -> Contact:
    return as_contact(resolve(None, parse_contact(fields)))


def test_the_zone_follows_the_primary_phone_until_one_is_given() -> None:
    london = contact_of(handles=[{"kind": "phone", "value": LONDON}])
    assert (london.timezone, london.timezone_source) == ("Europe/London", "phone")

    moved = resolve(london, parse_contact({"handles": [{"kind": "phone", "value": BOSTON}]}))
    assert (moved.timezone, moved.timezone_source) == ("America/New_York", "phone")

    given = contact_of(timezone="Asia/Tokyo", handles=[{"kind": "phone", "value": LONDON}])
    assert (given.timezone, given.timezone_source) == ("Asia/Tokyo", "given")
    kept = resolve(given, parse_contact({"handles": [{"kind": "phone", "value": BOSTON}]}))
    assert (kept.timezone, kept.timezone_source) == ("Asia/Tokyo", "given")

    cleared = resolve(given, parse_contact({"timezone": None}))
    assert (cleared.timezone, cleared.timezone_source) == ("Europe/London", "phone")

    mobile = contact_of(handles=[{"kind": "phone", "value": UK_MOBILE}])
    assert (mobile.timezone, mobile.timezone_source) == (None, None)


def test_a_change_replaces_only_what_it_gives() -> None:
    ann = contact_of(name="Ann", tags=["a"], attributes={"plan": "pro"})
    renamed = resolve(ann, parse_contact({"name": "Ann Lee"}))
    assert (renamed.name, renamed.tags, dict(renamed.attributes)) == (
        "Ann Lee",
        ("a",),
        {"plan": "pro"},
    )
    assert not renamed.tags_changed and not renamed.handles_changed
    retagged = resolve(ann, parse_contact({"tags": ["b"], "name": None}))
    assert (retagged.name, retagged.tags, retagged.tags_changed) == (None, ("b",), True)


def test_a_patch_replaces_attributes_handles_and_tags_whole() -> None:
    ann = contact_of(
        name="Ann",
        tags=["a"],
        attributes={"plan": "pro", "city": "Leeds"},
        handles=[{"kind": "phone", "value": LONDON}, {"kind": "email", "value": "a@x.org"}],
    )
    patched = resolve(
        ann,
        parse_contact(
            {
                "attributes": {"plan": "gold"},
                "handles": [{"kind": "phone", "value": BOSTON}],
                "tags": ["b"],
            }
        ),
    )
    assert dict(patched.attributes) == {"plan": "gold"}
    assert patched.handles == (Handle(HandleKind.PHONE, BOSTON, True),)
    assert patched.tags == ("b",)


def upsert(current: Contact, **fields: object) -> Contact:
    return as_contact(resolve(current, parse_contact(fields), upsert=True))


def test_an_upsert_merges_attributes_and_removes_only_a_key_given_null() -> None:
    robert = contact_of(
        external_id="c02", attributes={"plan": "silver", "renews_on": "2030-03-01", "city": "Leeds"}
    )
    again = upsert(robert, external_id="c02", name="Robert Jones", attributes={"plan": "gold"})
    assert dict(again.attributes) == {"plan": "gold", "renews_on": "2030-03-01", "city": "Leeds"}
    assert again.name == "Robert Jones"
    removed = upsert(again, attributes={"city": None, "seats": 3})
    assert dict(removed.attributes) == {"plan": "gold", "renews_on": "2030-03-01", "seats": 3}
    made = resolve(None, parse_contact({"attributes": {"a": 1, "b": None}}), upsert=True)
    assert dict(made.attributes) == {"a": 1}
    # A create or a PATCH stores the null.
    assert dict(resolve(None, parse_contact({"attributes": {"b": None}})).attributes) == {"b": None}


def test_an_upsert_adds_handles_and_keeps_the_primary_unless_one_is_marked() -> None:
    frank = contact_of(
        handles=[
            {"kind": "phone", "value": BOSTON},
            {"kind": "email", "value": "frank@x.org"},
        ]
    )
    # Matched by the phone, with no email: the email stays.
    same = upsert(frank, name="Frank G", handles=[{"kind": "phone", "value": "+1 617 555 0123"}])
    assert same.handles == frank.handles and same.name == "Frank G"
    added = upsert(
        frank,
        handles=[{"kind": "phone", "value": LONDON}, {"kind": "imessage", "value": "f@icloud.com"}],
    )
    assert [(h.kind, h.value, h.primary) for h in added.handles] == [
        ("phone", BOSTON, True),  # the contact's primary stays
        ("email", "frank@x.org", True),
        ("phone", LONDON, False),
        ("imessage", "f@icloud.com", True),  # the first of a kind new to the contact
    ]
    assert added.timezone == "America/New_York"
    marked = upsert(added, handles=[{"kind": "phone", "value": LONDON, "primary": True}])
    assert [(h.value, h.primary) for h in marked.handles if h.kind == "phone"] == [
        (BOSTON, False),
        (LONDON, True),
    ]
    assert (marked.timezone, marked.timezone_source) == ("Europe/London", "phone")
    existing = upsert(marked, handles=[{"kind": "phone", "value": BOSTON, "primary": True}])
    assert [(h.value, h.primary) for h in existing.handles if h.kind == "phone"] == [
        (BOSTON, True),
        (LONDON, False),
    ]


def test_an_upsert_joins_tags_and_takes_only_text_that_is_not_empty() -> None:
    ann = contact_of(external_id="e1", name="Ann", timezone="Asia/Tokyo", tags=["a", "b"])
    same = upsert(ann, name=None, timezone=None, external_id="", tags=["b", "c"])
    assert (same.external_id, same.name, same.timezone, same.timezone_source) == (
        "e1",
        "Ann",
        "Asia/Tokyo",
        "given",
    )
    assert same.tags == ("a", "b", "c")
    renamed = upsert(ann, name="Ann Lee", timezone="Europe/Paris", tags=[])
    assert (renamed.name, renamed.timezone, renamed.tags) == ("Ann Lee", "Europe/Paris", ("a", "b"))
    assert parse_contact({"name": "", "tags": [], "attributes": {}, "handles": []}).gives == set()
    assert parse_contact({"name": "x", "tags": ["t"]}).gives == {"name", "tags"}


def test_two_rows_for_one_contact_merge_in_order() -> None:
    first_raw = {
        "name": "Ann",
        "tags": ["a"],
        "consent": {},
        "attributes": {"n": 0, "city": "Leeds", "gone": 1},
        "handles": [{"kind": "phone", "value": LONDON}, {"kind": "email", "value": "a@x.org"}],
    }
    then_raw = {
        "name": "Ann Lee",
        "timezone": "",
        "tags": ["b"],
        "attributes": {"n": 1, "gone": None},
        "handles": [{"kind": "phone", "value": BOSTON, "primary": True}],
    }
    first, then = parse_contact(first_raw), parse_contact(then_raw)
    both = merged(first, then)
    assert (both.name, both.tags, dict(both.attributes)) == (
        "Ann Lee",
        ("a", "b"),
        {"n": 1, "city": "Leeds", "gone": None},
    )
    assert [(h.value, h.primary) for h in both.handles] == [
        (LONDON, False),
        ("a@x.org", True),
        (BOSTON, True),
    ]
    assert both.given == {"name", "tags", "attributes", "consent", "handles", "timezone"}
    # The same as the rows one after the other, onto a contact or onto none.
    mobile = contact_of(handles=[{"kind": "phone", "value": UK_MOBILE}], tags=["z"])
    for current in (None, mobile):
        at_once = resolve(current, both, upsert=True)
        step = as_contact(resolve(current, first, upsert=True))
        one_by_one = resolve(step, then, upsert=True)
        assert at_once == one_by_one
        assert dict(at_once.attributes) == {"n": 1, "city": "Leeds"}
        assert at_once.name == "Ann Lee"
        assert (at_once.timezone, at_once.timezone_source) == ("America/New_York", "phone")
    assert resolve(mobile, both, upsert=True).tags == ("z", "a", "b")


def test_what_an_upsert_adds_must_still_fit_a_contact() -> None:
    full = contact_of(tags=[f"t{i}" for i in range(45)], attributes={f"a{i}": i for i in range(99)})
    fits = resolve(
        full, parse_contact({"tags": ["t1", "new"], "attributes": {"a1": 2}}), upsert=True
    )
    assert limit_problems(fits) == {}
    over = resolve(
        full,
        parse_contact({"tags": [f"n{i}" for i in range(6)], "attributes": {"x": 1, "y": 2}}),
        upsert=True,
    )
    assert limit_problems(over) == {
        "tags": "at most 50 tags per contact: with the contact's own, it would have 51",
        "attributes": (
            "at most 100 attributes per contact: with the contact's own, it would have 101"
        ),
    }


# Checking input ----------------------------------------------------------------------------


def test_every_bad_field_of_every_row_is_named() -> None:
    rows = [
        {"name": "fine", "handles": [{"kind": "phone", "value": LONDON}]},
        {
            "name": "x" * 201,
            "handles": [{"kind": "fax", "value": "1"}, {"kind": "phone", "value": "+44 20"}],
            "tags": ["ok", "", "bad\ttag"],
            "attributes": {
                "1st": 1,
                "ratio": float("nan"),
                "nested": {"a": 1},
                "list": [1, [2]],
                "ok": [1, "two", None, True],
            },
            "timezone": "Mars/Olympus",
            "colour": "red",
        },
        "not an object",
        {"consent": {"not-an-id": "opted_out"}, "external_id": "a\x00b"},
    ]
    checked, problems = parse_contacts(rows)
    assert [c is not None for c in checked] == [True, False, False, False]
    assert set(problems) == {
        "contacts[1].name",
        "contacts[1].handles[0].kind",
        "contacts[1].handles[1].value",
        "contacts[1].tags[1]",
        "contacts[1].tags[2]",
        "contacts[1].attributes.1st",
        "contacts[1].attributes.ratio",
        "contacts[1].attributes.nested",
        "contacts[1].attributes.list[1]",
        "contacts[1].timezone",
        "contacts[1].colour",
        "contacts[2]",
        "contacts[3].consent",
        "contacts[3].external_id",
    }
    assert problems["contacts[1].handles[1].value"] == "'+44 20' is not a valid phone number"
    assert problems["contacts[1].attributes.ratio"] == "must not be NaN or Infinity"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ({"name": "\ud800"}, "name"),  # a lone surrogate no database stores
        ({"tags": ["t"] * 51}, "tags"),
        ({"tags": ["x" * 101]}, "tags[0]"),
        ({"attributes": {f"a{i}": i for i in range(101)}}, "attributes"),
        ({"attributes": {"big": "x" * 20_000}}, "attributes"),
        ({"attributes": {"a": "\x00"}}, "attributes.a"),
        ({"handles": [{"kind": "phone", "value": LONDON}] * 21}, "handles"),
        ({"handles": [{"kind": "phone", "value": LONDON, "primary": "yes"}]}, "handles[0].primary"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": 3}, "timezone"),
    ],
)
def test_what_cannot_be_stored_or_read_back_is_refused_by_name(raw: object, name: str) -> None:
    assert list(errors_of(raw)) == [name]


def test_tags_are_stripped_and_repeated_tags_kept_once() -> None:
    assert parse_contact({"tags": [" vip ", "vip", "new"]}).tags == ("vip", "new")


# Audiences ---------------------------------------------------------------------------------


def member(**attributes: object) -> Contact:
    return contact_of(attributes=attributes)


def test_where_matches_values_lists_and_json_types() -> None:
    pro = Audience(where={"plan": "pro"})
    assert pro.matches(member(plan="pro"))
    assert not pro.matches(member(plan="free"))
    assert not pro.matches(member())  # no such attribute
    either = Audience(where={"plan": ("pro", "team")})
    assert either.matches(member(plan="team"))
    tagged = Audience(where={"teams": "red"})
    assert tagged.matches(member(teams=["blue", "red"]))  # a list attribute holds it
    assert Audience(where={"n": 1}).matches(member(n=1.0))
    assert not Audience(where={"n": 1}).matches(member(n=True))  # true is not 1
    assert not Audience(where={"flag": True}).matches(member(flag=1))
    assert not Audience(where={"n": "1"}).matches(member(n=1))
    assert Audience(where={"plan": "pro", "n": 2}).matches(member(plan="pro", n=2))
    assert not Audience(where={"plan": "pro", "n": 2}).matches(member(plan="pro", n=3))


def test_an_audience_from_json_names_its_bad_fields() -> None:
    audience = Audience.from_json(
        {
            "tags": ["vip"],
            "tags_mode": "all",
            "contact_ids": ["01900000-0000-7000-8000-000000000000"],
            "where": {"plan": ["pro", "team"]},
        }
    )
    assert audience == Audience(
        tags=("vip",),
        tags_mode="all",
        contact_ids=("01900000-0000-7000-8000-000000000000",),
        where={"plan": ("pro", "team")},
    )
    assert Audience.from_json(audience.to_json()) == audience
    assert not audience.everyone and audience.to_json()["all"] is False
    with pytest.raises(ValidationError) as caught:
        Audience.from_json(
            {"tags": [""], "tags_mode": "most", "contact_ids": ["x"], "where": {"p": {"a": 1}}}
        )
    assert set(caught.value.errors) == {
        "audience.tags[0]",
        "audience.tags_mode",
        "audience.contact_ids[0]",
        "audience.where.p",
    }


def test_an_audience_names_someone_or_says_all() -> None:
    """An empty audience was every contact: a batch with its tags forgotten went to all."""
    for empty in ({}, {"tags": [], "contact_ids": [], "where": {"plan": "pro"}}, {"all": False}):
        with pytest.raises(ValidationError) as caught:
            Audience.from_json(empty)
        assert caught.value.errors == {
            "audience": "names nobody: name tags, contact_ids, or all: true (every contact)"
        }
    everyone = Audience.from_json({"all": True, "where": {"plan": "pro"}})
    assert everyone == Audience(all=True, where={"plan": "pro"}) and everyone.everyone
    assert everyone.to_json() == {
        "tags": [],
        "tags_mode": "any",
        "contact_ids": [],
        "where": {"plan": "pro"},
        "all": True,
    }
    assert Audience.from_json(everyone.to_json()) == everyone
    assert not Audience().everyone and not Audience(tags=("vip",)).everyone
    for bad in (
        {"all": True, "tags": ["vip"]},
        {"all": True, "contact_ids": ["01900000-0000-7000-8000-000000000000"]},
        {"all": "true"},
        {"all": 1},
        {"all": None, "tags": ["vip"]},
    ):
        with pytest.raises(ValidationError) as caught:
            Audience.from_json(bad)
        assert list(caught.value.errors) == ["audience.all"], bad
    with pytest.raises(ValidationError) as caught:
        Audience.from_json({}, field_name="batch.audience")
    assert list(caught.value.errors) == ["batch.audience"]
