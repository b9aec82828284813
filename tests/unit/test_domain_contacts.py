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


def contact_of(**fields: object) -> Contact:
    resolved = resolve(None, parse_contact(fields))
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


def test_two_rows_for_one_contact_merge_in_order() -> None:
    first = parse_contact({"name": "Ann", "tags": ["a"], "consent": {}})
    then = parse_contact({"name": "Ann Lee", "attributes": {"n": 1}})
    both = merged(first, then)
    assert (both.name, both.tags, dict(both.attributes)) == ("Ann Lee", ("a",), {"n": 1})
    assert both.given == {"name", "tags", "attributes", "consent"}


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
    assert Audience.from_json({}).everyone
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
