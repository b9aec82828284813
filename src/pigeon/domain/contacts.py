"""Contacts: the people outreach goes to, their handles, tags, attributes and time zone.

Pure: input is checked here, field by field, and every problem is named (`handles[0].value`,
`attributes.plan`), so a surface can report them all at once. A handle's value is stored
normalised (E.164 phones, emails lower-cased whole), which is what matching, consent and
sending compare.
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
    """Checked input for a contact: a create, or the fields a change replaces (`given`)."""

    given: frozenset[str]
    external_id: str | None = None
    name: str | None = None
    timezone: str | None = None
    handles: tuple[Handle, ...] = ()
    tags: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    consent: Mapping[str, ConsentChange] = field(default_factory=dict)


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
    `region`), an email address lower-cased whole; an iMessage handle is either."""
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
    create, or a change that replaces the fields it gives (`NewContact.given`).

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
    handles = _handles(problems, raw["handles"], region) if "handles" in raw else ()
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


def _handles(problems: _Problems, value: Any, region: str | None) -> tuple[Handle, ...]:
    if not isinstance(value, list):
        problems.add("handles", "must be a list")
        return ()
    if len(value) > MAX_HANDLES:
        problems.add("handles", f"at most {MAX_HANDLES} handles per contact")
        return ()
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
    return with_primaries(parsed)


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


def resolve(current: Contact | None, change: NewContact) -> Resolved:
    """The fields a contact has after `change` (a create when `current` is None): each field
    given replaces the current one, handles and tags as whole sets; the time zone, when not
    given, follows the primary phone number."""
    given = change.given

    def pick(name: str, now: Any) -> Any:
        return getattr(change, name) if name in given or current is None else now

    handles = pick("handles", current.handles if current else ())
    tags = pick("tags", current.tags if current else ())
    zone, source = (current.timezone, current.timezone_source) if current else (None, None)
    if "timezone" in given:
        zone, source = (change.timezone, ZONE_GIVEN) if change.timezone else (None, None)
    if source != ZONE_GIVEN:
        phone = phone_for_zone(handles)
        inferred = zone_from_phone(phone) if phone else None
        zone, source = (inferred, ZONE_FROM_PHONE) if inferred else (None, None)
    return Resolved(
        external_id=pick("external_id", current.external_id if current else None),
        name=pick("name", current.name if current else None),
        timezone=zone,
        timezone_source=source,
        attributes=pick("attributes", current.attributes if current else {}),
        tags=tags,
        handles=handles,
        tags_changed=current is None or ("tags" in given and tags != current.tags),
        handles_changed=current is None or ("handles" in given and handles != current.handles),
    )


def merged(first: NewContact, then: NewContact) -> NewContact:
    """Two changes to one contact as one: `then`'s fields replace `first`'s."""
    values = {name: getattr(then if name in then.given else first, name) for name in FIELDS}
    values["consent"] = {**first.consent, **then.consent}
    return NewContact(given=first.given | then.given, **values)


# Audiences ------------------------------------------------------------------------------


class HasAttributes(Protocol):
    @property
    def attributes(self) -> Mapping[str, Any]: ...


MAX_AUDIENCE_IDS = 10_000
MAX_WHERE = 20


@dataclass(frozen=True)
class Audience:
    """Who a batch goes to: contacts with the tags (any or all of them) and the contacts
    named, or every contact when neither is given; then only those whose attributes match
    `where` ({attribute: value, or a list of values any of which will do})."""

    tags: tuple[str, ...] = ()
    tags_mode: Literal["any", "all"] = "any"
    contact_ids: tuple[str, ...] = ()
    where: Mapping[str, Scalar | tuple[Scalar, ...]] = field(default_factory=dict)

    @property
    def everyone(self) -> bool:
        return not self.tags and not self.contact_ids

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
        }

    @classmethod
    def from_json(cls, raw: Any, *, field_name: str = "audience") -> Audience:
        """An audience as given: {tags, tags_mode, contact_ids, where}; each bad field named
        (`audience.where.plan`)."""
        problems = _Problems(f"{field_name}.")
        if not isinstance(raw, Mapping):
            raise ValidationError.field(field_name, "must be an object")
        for key in raw:
            if key not in ("tags", "tags_mode", "contact_ids", "where"):
                problems.add(str(key), "is not a known field")
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
