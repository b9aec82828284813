"""Contacts: the people outreach goes to, their handles, tags, attributes and time zone.

Pure: input is checked here, field by field, and every problem is named (`handles[0].value`,
`attributes.plan`), so a surface can report them all at once. A handle's value is stored
normalised (E.164 phones, emails lower-cased whole), which is what matching, consent and
sending compare.

A change applies one of two ways (`resolve`): a PATCH replaces each field it gives (handles,
tags and attributes as whole sets); an upsert (a bulk row, an imported line) adds to what the
contact has and removes nothing it does not name.
"""

from __future__ import annotations

import functools
import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers

from pigeon.domain.channels import ChannelKind
from pigeon.domain.handles import normalize_handle
from pigeon.domain.ids import is_uuid
from pigeon.domain.storable import text_problem
from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from datetime import datetime


class HandleKind(StrEnum):
    PHONE = "phone"  # SMS, calls: E.164
    EMAIL = "email"
    IMESSAGE = "imessage"  # an Apple ID: a phone number or an email address
    WHATSAPP = "whatsapp"  # E.164


PHONE_ONLY = frozenset({HandleKind.PHONE, HandleKind.WHATSAPP})

# Which handle kinds a channel of each kind can send to, in the order it prefers them.
CHANNEL_HANDLE_KINDS: Mapping[ChannelKind, tuple[HandleKind, ...]] = {
    ChannelKind.GATEWAY: (HandleKind.IMESSAGE, HandleKind.PHONE, HandleKind.EMAIL),
    ChannelKind.TWILIO: (HandleKind.PHONE,),
    ChannelKind.WHATSAPP: (HandleKind.WHATSAPP, HandleKind.PHONE),
    ChannelKind.SMTP: (HandleKind.EMAIL,),
    ChannelKind.CONSOLE: (
        HandleKind.PHONE,
        HandleKind.EMAIL,
        HandleKind.IMESSAGE,
        HandleKind.WHATSAPP,
    ),
}

# Where a contact's time zone came from, when it has one.
ZONE_GIVEN = "given"
ZONE_FROM_PHONE = "phone"

MAX_NAME = 200
MAX_EXTERNAL_ID = 200
MAX_HANDLES = 20
MAX_TAGS = 50
MAX_TAG = 100
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_NAME = 64
MAX_ATTRIBUTE_LIST = 100
MAX_ATTRIBUTES_BYTES = 16_384
MAX_ZONE = 64
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

FIELDS = frozenset({"external_id", "name", "timezone", "handles", "tags", "attributes", "consent"})
HANDLE_FIELDS = frozenset({"kind", "value", "primary"})

Scalar = str | int | float | bool | None


# Values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Handle:
    kind: HandleKind
    value: str  # normalised
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Consent:
    """A contact's standing on one channel: opted out (of any of its handles there)."""

    status: Literal["opted_out"]
    at: datetime
    source: str  # keyword | api | import
    keyword: str | None
    handles: tuple[str, ...]  # which of its handles opted out


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    workspace_id: str
    external_id: str | None
    name: str | None
    timezone: str | None
    timezone_source: str | None  # given | phone
    attributes: Mapping[str, Any]
    tags: tuple[str, ...]
    handles: tuple[Handle, ...]
    created_at: datetime
    updated_at: datetime
    consent: Mapping[str, Consent] = field(default_factory=dict)  # by channel id


@dataclass(frozen=True, slots=True)
class AudienceMember:
    """What a batch needs of a contact to address and render a message to it."""

    id: str
    name: str | None
    attributes: Mapping[str, Any]
    timezone: str | None
    handles: tuple[Handle, ...]

    def primary(self, channel_kind: ChannelKind | str) -> Handle | None:
        return primary_handle(self.handles, channel_kind)


ConsentChange = Literal["opted_out", "opted_in"]


@dataclass(frozen=True)
class NewContact:
    """Checked input for a contact: a create, or a change (the fields it names: `given`).

    Each kind of `handles` has one primary handle: the one marked so (its kind is then in
    `marked`), else the first of its kind. An attribute given as None is one an upsert
    removes (a PATCH or a create stores the null)."""

    given: frozenset[str]
    external_id: str | None = None
    name: str | None = None
    timezone: str | None = None
    handles: tuple[Handle, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    consent: Mapping[str, ConsentChange] = field(default_factory=dict)
    marked: frozenset[HandleKind] = frozenset()  # kinds with a handle marked primary

    @property
    def gives(self) -> frozenset[str]:
        """The fields an upsert takes something from: text that is not empty, handles, tags,
        attributes and consent that are not (an empty CSV cell, `"name": null`, `"tags": []`
        change nothing)."""
        return frozenset(name for name in FIELDS if getattr(self, name))


@dataclass(frozen=True)
class Resolved:
    """A contact's fields after a create or a change: what the store writes."""

    external_id: str | None
    name: str | None
    timezone: str | None
    timezone_source: str | None
    attributes: Mapping[str, Any]
    tags: tuple[str, ...]
    handles: tuple[Handle, ...]
    tags_changed: bool
    handles_changed: bool


# Handles --------------------------------------------------------------------------------


def region_of(raw: str | None, field_name: str = "default_region") -> str | None:
    """A default region for national phone numbers ("GB", "us"), as phonenumbers names it."""
    if raw is None or raw == "":
        return None
    region = raw.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError.field(
            field_name, f"{raw!r} is not a region code such as GB, US or FR"
        )
    return region


def normalize(
    kind: HandleKind | str, raw: str, *, region: str | None = None, field_name: str = "value"
) -> str:
    """The stored form of a handle of `kind`: E.164 for phones (a national number read in
    `region`), an email address lower-cased whole; an iMessage handle is either.

    A phone number with a letter in it is refused: phonenumbers reads letters as the digits
    of a phone keypad, so `+44 77OO 9OO 123` (the letter O for zero) would be stored as
    another number, +447766966123, without a word."""
    kind = HandleKind(kind)
    if not isinstance(raw, str):
        raise ValidationError.field(field_name, "must be text")
    text = raw.strip()
    is_email = "@" in text
    if text and kind is HandleKind.EMAIL and not is_email:
        raise ValidationError.field(field_name, f"{text!r} is not an email address")
    if kind in PHONE_ONLY and is_email:
        raise ValidationError.field(field_name, f"{text!r} is not a phone number")
    if is_email or not text:
        # The same reading as a message's recipient; the whole address lower-cased.
        return normalize_handle(raw, field=field_name, region=region).lower()
    if any(character.isalpha() for character in text):
        also = " (an Apple ID that is an email address has an @)" if kind not in PHONE_ONLY else ""
        raise ValidationError.field(
            field_name, f"{text!r} contains letters: a phone number has digits only{also}"
        )
    problem, e164, _zone = _phone(text, region)
    if problem is not None:
        raise ValidationError.field(field_name, problem)
    return e164


def zone_from_phone(e164: str) -> str | None:
    """The time zone of a phone number, when phonenumbers' `time_zones_for_number` names
    exactly one (a London number: Europe/London; a number of a US area code within one zone:
    that zone; a UK mobile number: none, it may be in Jersey)."""
    return _phone(e164, None)[2]


# A phone number is read once, for its validity, its E.164 form and its zone together:
# phonenumbers finds a number's type for each, and that is most of what an import of ten
# thousand contacts costs. Bounded: emptied when full.
_PHONES: dict[tuple[str, str | None], tuple[str | None, str, str | None]] = {}
MAX_CACHED_PHONES = 65_536


def _phone(text: str, region: str | None) -> tuple[str | None, str, str | None]:
    """(problem or None, E.164, zone or None) of a phone number as written."""
    key = (text, region)
    found = _PHONES.get(key)
    if found is None:
        found = _read_phone(text, region)
        if len(_PHONES) >= MAX_CACHED_PHONES:
            _PHONES.clear()
        _PHONES[key] = found
        if found[0] is None:
            _PHONES[found[1], None] = found  # what zone_from_phone will ask
    return found


def _read_phone(text: str, region: str | None) -> tuple[str | None, str, str | None]:
    if len(text) > 254:
        return "is too long", "", None
    if problem := text_problem(text):
        return problem, "", None
    hint = "" if region else " (start it with + and the country code, or give a region)"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return f"{text!r} is not a phone number{hint}", "", None
    # Valid exactly when phonenumbers finds its type (is_valid_number asks the same).
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.UNKNOWN:
        return f"{text!r} is not a valid phone number", "", None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # What time_zones_for_number does, with the type already known. Imported here: its
    # tables take a while to load, and most commands never need them.
    from phonenumbers import timezone as phone_zones

    if phonenumbers.is_number_type_geographical(kind, number.country_code or 0):
        zones = phone_zones.time_zones_for_geographical_number(number)
    else:
        zones = phone_zones._country_level_time_zones_for_number(number)
    zone = zones[0] if len(zones) == 1 else None
    if zone is not None and (zone == phone_zones.UNKNOWN_TIMEZONE or zone_problem(zone)):
        zone = None
    return None, e164, zone


def primary_handle(handles: Iterable[Handle], channel_kind: ChannelKind | str) -> Handle | None:
    """The handle a channel of `channel_kind` sends to: the primary handle of the first kind,
    in the channel's order of preference, that the contact has; None if it has none."""
    try:
        kinds = CHANNEL_HANDLE_KINDS.get(ChannelKind(channel_kind), ())
    except ValueError:
        return None
    handles = tuple(handles)
    for kind in kinds:
        of_kind = [h for h in handles if h.kind == kind]
        if of_kind:
            return next((h for h in of_kind if h.primary), of_kind[0])
    return None


def phone_for_zone(handles: Iterable[Handle]) -> str | None:
    """The number a time zone is inferred from: the primary phone, else the primary
    WhatsApp number, else a primary iMessage handle that is a phone number."""
    handles = tuple(handles)
    for kind in (HandleKind.PHONE, HandleKind.WHATSAPP, HandleKind.IMESSAGE):
        for handle in handles:
            if handle.kind == kind and handle.primary and handle.value.startswith("+"):
                return handle.value
    return None


# Time zones -----------------------------------------------------------------------------


@functools.cache
def _zones() -> frozenset[str]:
    # Not zones a contact can live in: the host's own, and tzdata's placeholders.
    return frozenset(available_timezones()) - {"localtime", "Factory", "posixrules"}


def zone_problem(value: str) -> str | None:
    """Why `value` is not an IANA time zone name, or None."""
    problem = f"{value!r} is not an IANA time zone such as Europe/Paris"
    if len(value) > MAX_ZONE or text_problem(value) or value not in _zones():
        return problem
    try:
        ZoneInfo(value)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return problem
    return None


# Checking input -------------------------------------------------------------------------


class _Problems:
    """Problems found so far, by field name under a prefix (`contacts[3].`)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.found: dict[str, str] = {}

    def add(self, name: str, problem: str) -> None:
        key = f"{self.where}{name}" if name else self.where.rstrip(".") or "body"
        self.found.setdefault(key, problem)

    def merge(self, error: ValidationError) -> None:
        for key, problem in error.errors.items():
            self.found.setdefault(key, problem)


def _text(
    problems: _Problems, name: str, value: Any, *, max_length: int, single_line: bool = True
) -> str | None:
    """Optional text, stripped; "" reads as none."""
    if value is None:
        return None
    if not isinstance(value, str):
        problems.add(name, "must be text")
        return None
    if len(value) > max_length:
        problems.add(name, f"must be at most {max_length} characters")
        return None
    if problem := text_problem(value):
        problems.add(name, problem)
        return None
    if single_line and _CONTROL.search(value):
        problems.add(name, "must not contain control characters")
        return None
    return value.strip() or None


def parse_contact(
    raw: Any,
    *,
    region: str | None = None,
    where: str = "",
) -> NewContact:
    """Check a contact as given (parsed JSON, or a CSV row made into the same shape): a
    create, or a change (`resolve` applies it as a PATCH or as an upsert).

    `where` prefixes every field name (`contacts[3].`). Raises ValidationError naming every
    bad field.
    """
    problems = _Problems(where)
    if not isinstance(raw, Mapping):
        problems.add("", "must be an object")
        raise ValidationError(problems.found)
    for key in raw:
        if key not in FIELDS:
            problems.add(str(key), "is not a known field")
    given = frozenset(k for k in raw if k in FIELDS)
    external_id = _text(problems, "external_id", raw.get("external_id"), max_length=MAX_EXTERNAL_ID)
    name = _text(problems, "name", raw.get("name"), max_length=MAX_NAME)
    timezone = _timezone(problems, raw.get("timezone"))
    handles, marked = (
        _handles(problems, raw["handles"], region) if "handles" in raw else ((), set())
    )
    tags = _tags(problems, "tags", raw["tags"]) if "tags" in raw else ()
    attributes = _attributes(problems, raw["attributes"]) if "attributes" in raw else {}
    consent = _consent(problems, raw["consent"]) if "consent" in raw else {}
    if problems.found:
        raise ValidationError(problems.found)
    return NewContact(
        given=given,
        external_id=external_id,
        name=name,
        timezone=timezone,
        handles=handles,
        tags=tags,
        attributes=attributes,
        consent=consent,
        marked=frozenset(marked),
    )


def parse_contacts(
    rows: Sequence[Any], *, region: str | None = None, field_name: str = "contacts"
) -> tuple[list[NewContact | None], dict[str, str]]:
    """Check many contacts; (each one checked or None, every problem of every row)."""
    checked: list[NewContact | None] = []
    problems: dict[str, str] = {}
    for index, raw in enumerate(rows):
        try:
            checked.append(parse_contact(raw, region=region, where=f"{field_name}[{index}]."))
        except ValidationError as error:
            checked.append(None)
            problems.update(error.errors)
    return checked, problems


def _timezone(problems: _Problems, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.add("timezone", "must be text")
        return None
    if problem := zone_problem(value.strip()):
        problems.add("timezone", problem)
        return None
    return value.strip()


def _handles(
    problems: _Problems, value: Any, region: str | None
) -> tuple[tuple[Handle, ...], set[HandleKind]]:
    """The handles, one primary per kind; and the kinds whose primary was marked so."""
    if not isinstance(value, list):
        problems.add("handles", "must be a list")
        return (), set()
    if len(value) > MAX_HANDLES:
        problems.add("handles", f"at most {MAX_HANDLES} handles per contact")
        return (), set()
    parsed: list[Handle] = []
    seen: dict[tuple[HandleKind, str], int] = {}
    primary_at: dict[HandleKind, int] = {}
    for index, item in enumerate(value):
        at = f"handles[{index}]"
        if not isinstance(item, Mapping):
            problems.add(at, "must be an object with kind and value")
            continue
        unknown = [k for k in item if k not in HANDLE_FIELDS]
        for key in unknown:
            problems.add(f"{at}.{key}", "is not a known field")
        kind = _handle_kind(problems, f"{at}.kind", item.get("kind"))
        primary = item.get("primary", False)
        if not isinstance(primary, bool):
            problems.add(f"{at}.primary", "must be true or false")
            primary = False
        raw_value = item.get("value")
        if raw_value is None:
            problems.add(f"{at}.value", "is required")
            continue
        if not isinstance(raw_value, str):
            problems.add(f"{at}.value", "must be text")
            continue
        if kind is None or unknown:
            continue
        try:
            normal = normalize(kind, raw_value, region=region, field_name=f"{at}.value")
        except ValidationError as error:
            problems.merge(_prefixed(error, problems.where))
            continue
        if (kind, normal) in seen:
            problems.add(f"{at}.value", f"repeats handles[{seen[kind, normal]}]")
            continue
        seen[kind, normal] = index
        if primary:
            if kind in primary_at:
                problems.add(
                    f"{at}.primary",
                    f"handles[{primary_at[kind]}] is the primary {kind} handle already",
                )
                continue
            primary_at[kind] = index
        parsed.append(Handle(kind, normal, primary))
    return with_primaries(parsed), set(primary_at)


def with_primaries(handles: Iterable[Handle]) -> tuple[Handle, ...]:
    """One primary handle per kind: the one marked so, else the first of its kind."""
    handles = tuple(handles)
    marked = {h.kind for h in handles if h.primary}
    out = []
    for handle in handles:
        if handle.kind not in marked:
            handle = Handle(handle.kind, handle.value, True)
            marked.add(handle.kind)
        out.append(handle)
    return tuple(out)


def added_handles(
    have: Iterable[Handle], new: Iterable[Handle], marked: Iterable[HandleKind]
) -> tuple[Handle, ...]:
    """`have` with the `new` handles it lacks added after them. A kind in `marked` takes its
    primary from `new` (the handle of that kind marked primary there); every other kind
    keeps the primary it has, or, new to the contact, has the first of its kind."""
    new = tuple(new)
    out = {(h.kind, h.value): h for h in have}
    for handle in new:
        out.setdefault((handle.kind, handle.value), Handle(handle.kind, handle.value, False))
    for kind in set(marked):
        chosen = next((h.value for h in new if h.kind == kind and h.primary), None)
        if chosen is None:
            continue
        for key, handle in out.items():
            if handle.kind == kind:
                out[key] = Handle(kind, handle.value, handle.value == chosen)
    return with_primaries(out.values())


def _prefixed(error: ValidationError, where: str) -> ValidationError:
    return ValidationError({f"{where}{k}": v for k, v in error.errors.items()})


def _handle_kind(problems: _Problems, name: str, value: Any) -> HandleKind | None:
    try:
        return HandleKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in HandleKind)
        problems.add(name, f"must be one of {kinds}" if value is not None else "is required")
        return None


def check_tag(value: Any) -> str | None:
    """Why `value` is not a tag, or None."""
    if not isinstance(value, str):
        return "must be text"
    if not 1 <= len(value) <= MAX_TAG:
        return f"must be 1 to {MAX_TAG} characters"
    if problem := text_problem(value):
        return problem
    if _CONTROL.search(value):
        return "must not contain control characters"
    if not value.strip():
        return "must not be blank"
    return None


def _tags(problems: _Problems, name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.add(name, "must be a list of tags")
        return ()
    if len(value) > MAX_TAGS:
        problems.add(name, f"at most {MAX_TAGS} tags per contact")
        return ()
    tags: dict[str, None] = {}
    for index, tag in enumerate(value):
        if problem := check_tag(tag):
            problems.add(f"{name}[{index}]", problem)
        else:
            tags.setdefault(tag.strip())
    return tuple(tags)


def attribute_name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not ATTRIBUTE_NAME.fullmatch(name):
        return "must start with a letter or _ and hold only letters, digits and _"
    if len(name) > MAX_ATTRIBUTE_NAME:
        return f"must be at most {MAX_ATTRIBUTE_NAME} characters"
    return None


def _scalar_problem(value: Any) -> str | None:
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "must not be NaN or Infinity"
    if isinstance(value, str):
        return text_problem(value)
    return "must be text, a number, true, false, null or a list of those"


def _attributes(problems: _Problems, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        problems.add("attributes", "must be an object")
        return {}
    if len(value) > MAX_ATTRIBUTES:
        problems.add("attributes", f"at most {MAX_ATTRIBUTES} attributes per contact")
        return {}
    before = len(problems.found)
    for key, item in value.items():
        if problem := attribute_name_problem(key):
            # A name that cannot be printed back as text is named by its position.
            shown = key if isinstance(key, str) and not text_problem(key) else "?"
            problems.add(f"attributes.{shown}", f"the name {problem}")
            continue
        name = f"attributes.{key}"
        if isinstance(item, list):
            if len(item) > MAX_ATTRIBUTE_LIST:
                problems.add(name, f"at most {MAX_ATTRIBUTE_LIST} values in a list")
                continue
            for index, element in enumerate(item):
                if problem := _scalar_problem(element):
                    problems.add(f"{name}[{index}]", problem)
        elif problem := _scalar_problem(item):
            problems.add(name, problem)
    if len(problems.found) > before:
        return {}
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        problems.add("attributes", f"must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON")
        return {}
    return dict(value)


def _consent(problems: _Problems, value: Any) -> dict[str, ConsentChange]:
    if not isinstance(value, Mapping):
        problems.add("consent", "must be an object of channel ids")
        return {}
    out: dict[str, ConsentChange] = {}
    for channel_id, change in value.items():
        if not isinstance(channel_id, str) or not is_uuid(channel_id) or text_problem(channel_id):
            problems.add("consent", "each key must be a channel id")
            continue
        if change not in ("opted_out", "opted_in"):
            problems.add(f"consent.{channel_id}", "must be opted_out or opted_in")
            continue
        out[str(uuid.UUID(channel_id))] = change
    return out


# Applying a change ----------------------------------------------------------------------


def resolve(current: Contact | None, change: NewContact, *, upsert: bool = False) -> Resolved:
    """The fields a contact has after `change` (a create when `current` is None).

    As a PATCH (the default), each field given replaces the current one: handles, tags and
    attributes as whole sets, null clearing a name or a time zone. As an upsert, the change
    adds and removes nothing it does not name: its attributes merge key by key (a key given
    null is removed), its handles are added (`added_handles`), its tags joined to the
    contact's, and its external id, name and time zone replace the contact's only when they
    are not empty.

    Either way the time zone, unless one was given, follows the primary phone number.
    """
    if upsert:
        return _upserted(current, change)
    given = change.given

    def pick(name: str, now: Any) -> Any:
        return getattr(change, name) if name in given or current is None else now

    handles = pick("handles", current.handles if current else ())
    tags = pick("tags", current.tags if current else ())
    zone, source = (current.timezone, current.timezone_source) if current else (None, None)
    if "timezone" in given:
        zone, source = (change.timezone, ZONE_GIVEN) if change.timezone else (None, None)
    return _resolved(
        current,
        external_id=pick("external_id", current.external_id if current else None),
        name=pick("name", current.name if current else None),
        zone=(zone, source),
        attributes=pick("attributes", current.attributes if current else {}),
        tags=tags,
        handles=handles,
    )


def _upserted(current: Contact | None, change: NewContact) -> Resolved:
    attributes = dict(current.attributes) if current else {}
    for key, value in change.attributes.items():
        if value is None:
            attributes.pop(key, None)
        else:
            attributes[key] = value
    zone, source = (current.timezone, current.timezone_source) if current else (None, None)
    if change.timezone:
        zone, source = change.timezone, ZONE_GIVEN
    return _resolved(
        current,
        external_id=change.external_id or (current.external_id if current else None),
        name=change.name or (current.name if current else None),
        zone=(zone, source),
        attributes=attributes,
        tags=tuple(dict.fromkeys((*(current.tags if current else ()), *change.tags))),
        handles=added_handles(current.handles if current else (), change.handles, change.marked),
    )


def _resolved(
    current: Contact | None,
    *,
    external_id: str | None,
    name: str | None,
    zone: tuple[str | None, str | None],
    attributes: Mapping[str, Any],
    tags: tuple[str, ...],
    handles: tuple[Handle, ...],
) -> Resolved:
    timezone, source = zone
    if source != ZONE_GIVEN:
        phone = phone_for_zone(handles)
        inferred = zone_from_phone(phone) if phone else None
        timezone, source = (inferred, ZONE_FROM_PHONE) if inferred else (None, None)
    return Resolved(
        external_id=external_id,
        name=name,
        timezone=timezone,
        timezone_source=source,
        attributes=attributes,
        tags=tags,
        handles=handles,
        tags_changed=current is None or tags != current.tags,
        handles_changed=current is None or handles != current.handles,
    )


def limit_problems(resolved: Resolved) -> dict[str, str]:
    """What an upsert made too big, by field: it adds handles, tags and attributes to a
    contact's, each row within the limits, the sum maybe not."""
    problems: dict[str, str] = {}
    for name, count, limit in (
        ("handles", len(resolved.handles), MAX_HANDLES),
        ("tags", len(resolved.tags), MAX_TAGS),
        ("attributes", len(resolved.attributes), MAX_ATTRIBUTES),
    ):
        if count > limit:
            problems[name] = (
                f"at most {limit} {name} per contact: with the contact's own, it would have {count}"
            )
    if "attributes" not in problems:
        size = len(json.dumps(dict(resolved.attributes), ensure_ascii=False).encode())
        if size > MAX_ATTRIBUTES_BYTES:
            problems["attributes"] = (
                f"must be at most {MAX_ATTRIBUTES_BYTES} bytes of JSON: with the contact's own, "
                f"they would be {size}"
            )
    return problems


def merged(first: NewContact, then: NewContact) -> NewContact:
    """Two upserts of one contact as one, `then` after `first`, as `resolve(upsert=True)`
    would apply them one after the other: attributes merged key by key (a null kept, to
    remove the key), handles added, tags joined, text taken from `then` when not empty."""
    return NewContact(
        given=first.given | then.given,
        external_id=then.external_id or first.external_id,
        name=then.name or first.name,
        timezone=then.timezone or first.timezone,
        handles=added_handles(first.handles, then.handles, then.marked),
        tags=tuple(dict.fromkeys((*first.tags, *then.tags))),
        attributes={**first.attributes, **then.attributes},
        consent={**first.consent, **then.consent},
        marked=first.marked | then.marked,
    )


# Audiences ------------------------------------------------------------------------------


class HasAttributes(Protocol):
    @property
    def attributes(self) -> Mapping[str, Any]: ...


MAX_AUDIENCE_IDS = 10_000
MAX_WHERE = 20


@dataclass(frozen=True)
class Audience:
    """Who a batch goes to: contacts with the tags (any or all of them) and the contacts
    named, or every contact with `all` (and only then: an audience that names nobody is
    nobody, never everyone); then only those whose attributes match `where` ({attribute:
    value, or a list of values any of which will do})."""

    tags: tuple[str, ...] = ()
    tags_mode: Literal["any", "all"] = "any"
    contact_ids: tuple[str, ...] = ()
    where: Mapping[str, Scalar | tuple[Scalar, ...]] = field(default_factory=dict)
    all: bool = False

    @property
    def everyone(self) -> bool:
        return self.all

    def matches(self, contact: HasAttributes) -> bool:
        """Whether the contact's attributes satisfy `where` (tags and ids are the store's)."""
        attributes = contact.attributes
        for name, wanted in self.where.items():
            if name not in attributes:
                return False
            options = wanted if isinstance(wanted, tuple) else (wanted,)
            have = attributes[name]
            values = have if isinstance(have, list) else [have]
            if not any(_same(v, o) for v in values for o in options):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": list(self.tags),
            "tags_mode": self.tags_mode,
            "contact_ids": list(self.contact_ids),
            "where": {k: list(v) if isinstance(v, tuple) else v for k, v in self.where.items()},
            "all": self.all,
        }

    @classmethod
    def from_json(cls, raw: Any, *, field_name: str = "audience") -> Audience:
        """An audience as given: {tags, tags_mode, contact_ids, where, all}; each bad field
        named (`audience.where.plan`). It must name someone: tags, contact_ids, or `all:
        true` (every contact), which goes alone. An empty audience is refused, not read as
        every contact: a batch to everyone is asked for, never fallen into."""
        problems = _Problems(f"{field_name}.")
        if not isinstance(raw, Mapping):
            raise ValidationError.field(field_name, "must be an object")
        for key in raw:
            if key not in ("tags", "tags_mode", "contact_ids", "where", "all"):
                problems.add(str(key), "is not a known field")
        everyone = raw.get("all", False)
        if not isinstance(everyone, bool):
            problems.add("all", "must be true or false")
            everyone = None
        names_some = any(raw.get(key) not in (None, [], ()) for key in ("tags", "contact_ids"))
        if everyone and names_some:
            problems.add(
                "all", "true is every contact: give all: true alone, or tags and contact_ids"
            )
        elif everyone is False and not names_some:
            problems.add("", "names nobody: name tags, contact_ids, or all: true (every contact)")
        tags = _tags(problems, "tags", raw.get("tags", []))
        mode = raw.get("tags_mode", "any")
        if mode not in ("any", "all"):
            problems.add("tags_mode", "must be any or all")
        ids = raw.get("contact_ids", [])
        if not isinstance(ids, list) or len(ids) > MAX_AUDIENCE_IDS:
            problems.add("contact_ids", f"must be a list of at most {MAX_AUDIENCE_IDS} ids")
            ids = []
        for index, contact_id in enumerate(ids):
            if not isinstance(contact_id, str) or not is_uuid(contact_id):
                problems.add(f"contact_ids[{index}]", "must be a contact id")
        where = _where(problems, raw.get("where", {}))
        if problems.found:
            raise ValidationError(problems.found)
        return cls(
            tags=tags,
            tags_mode="all" if mode == "all" else "any",
            contact_ids=tuple(dict.fromkeys(str(uuid.UUID(i)) for i in ids)),
            where=where,
            all=bool(everyone),
        )


def _where(problems: _Problems, value: Any) -> dict[str, Scalar | tuple[Scalar, ...]]:
    if not isinstance(value, Mapping) or len(value) > MAX_WHERE:
        problems.add("where", f"must be an object of at most {MAX_WHERE} attributes")
        return {}
    out: dict[str, Scalar | tuple[Scalar, ...]] = {}
    for name, wanted in value.items():
        if problem := attribute_name_problem(name):
            problems.add("where", f"each attribute name {problem}")
            continue
        options = wanted if isinstance(wanted, list) else [wanted]
        if not options or len(options) > MAX_ATTRIBUTE_LIST:
            problems.add(f"where.{name}", f"must list 1 to {MAX_ATTRIBUTE_LIST} values")
            continue
        bad = next((p for o in options if (p := _scalar_problem(o))), None)
        if bad:
            problems.add(f"where.{name}", bad)
            continue
        out[name] = tuple(options) if isinstance(wanted, list) else wanted
    return out


def _same(have: Any, wanted: Any) -> bool:
    """Equal as JSON values: true is not 1, and 1 is 1.0."""
    if isinstance(have, bool) or isinstance(wanted, bool):
        return isinstance(have, bool) and isinstance(wanted, bool) and have == wanted
    if isinstance(have, int | float) and isinstance(wanted, int | float):
        return have == wanted
    return type(have) is type(wanted) and bool(have == wanted)
