"""The extractor as a service: what a text says about time (`POST /v1/extract`), and a time
given in words (`scheduled_for_text`, `pigeon send --at "tomorrow 3pm"`) resolved to an
instant, or refused with the question to ask back.

The extractor itself is `svc.extractor` (built by the composition root); this module checks
the request, fills in the defaults (the clock's now, the workspace's zone, the settings'
locale) and turns an answer that cannot be scheduled into `UnclearTime`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pigeon.domain.storable import text_problem
from pigeon.errors import UnclearTime, ValidationError
from pigeon.extract.protocols import FIRST_YEAR, LAST_YEAR, REASON_TEXT, ExtractRequest, Reason
from pigeon.extract.settings import LOCALE_HINT, normalize_locale
from pigeon.services import auth
from pigeon.store import accounts

if TYPE_CHECKING:
    from pigeon.extract.protocols import Extraction
    from pigeon.services.context import Principal, Services

log = logging.getLogger(__name__)

MAX_TIME_TEXT = 200  # a time in words ("tomorrow at 3pm"), not a message
ZONE_EXAMPLE = "an IANA time zone such as Europe/London"
AS_A_REQUEST = "remind me {}"  # how the extractor reads a time in words: see `resolve`


@dataclass(frozen=True)
class TimeText:
    """A time in words, with the zone and locale it is read in (None: the defaults)."""

    text: str
    timezone: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Fields:
    """The names a surface gives to each part of the request, for its errors."""

    text: str = "text"
    reference: str = "reference"
    zone: str = "zone"
    locale: str = "locale"


EXTRACT_FIELDS = Fields()
SCHEDULE_FIELDS = Fields(text="scheduled_for_text", zone="timezone")


@dataclass(frozen=True)
class Extracted:
    """An extraction with the reference, zone and locale it was made at."""

    extraction: Extraction
    reference: datetime  # aware, UTC
    zone: str
    locale: str


def extract(
    svc: Services,
    who: Principal,
    text: str,
    *,
    reference: datetime | None = None,
    zone: str | None = None,
    locale: str | None = None,
    fields: Fields = EXTRACT_FIELDS,
    max_chars: int | None = None,
    framed: str = "{}",
) -> Extracted:
    """What `text` says about time, read at `reference` (default: now) in `zone` (default:
    the workspace's) and `locale` (default: PIGEON_EXTRACT_LOCALE). Every bad part of the
    request is named at once; nothing is written. The extractor reads `framed` with the
    text in its braces."""
    limit = svc.settings.max_body_chars if max_chars is None else max_chars
    errors: dict[str, str] = {}
    if not text.strip():
        errors[fields.text] = "must not be empty"
    elif len(text) > limit:
        errors[fields.text] = f"must be at most {limit} characters"
    elif problem := text_problem(text):
        errors[fields.text] = problem
    at = svc.clock.now() if reference is None else reference
    if at.tzinfo is None or at.utcoffset() is None:
        errors[fields.reference] = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z"
    elif not FIRST_YEAR <= at.astimezone(UTC).year <= LAST_YEAR:
        errors[fields.reference] = f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}"
    tz: ZoneInfo | None = None
    if zone is not None:
        tz = _zone(zone)
        if tz is None:
            errors[fields.zone] = f"{zone!r} is not {ZONE_EXAMPLE}"
    read_locale = svc.settings.extract.locale if locale is None else normalize_locale(locale)
    if read_locale is None:
        errors[fields.locale] = f"{locale!r} is not a locale pigeon reads: {LOCALE_HINT}"
    if errors:
        raise ValidationError(errors)
    assert read_locale is not None
    # The key is checked again here, as every service does: revoked means refused at once.
    with auth.acting(svc, who, readonly=True) as uow:
        if tz is None:
            workspace = accounts.get_workspace(uow, who.workspace_id)
            tz = _zone(workspace.timezone if workspace is not None else "UTC") or ZoneInfo("UTC")
    at = at.astimezone(UTC)
    request = ExtractRequest(framed.format(text), at.astimezone(tz), tz, read_locale)
    try:
        extraction = svc.extractor.extract(request)
    except (OverflowError, ValueError) as error:
        # A time past the calendar ("in 99999 years"): the text's fault, not pigeon's.
        log.warning(
            "extraction out of range",
            extra={"action": "extract_out_of_range", "error": type(error).__name__},
        )
        raise ValidationError.field(
            fields.text, "names a time outside the years pigeon can hold"
        ) from None
    return Extracted(extraction, at, tz.key, read_locale)


def resolve(svc: Services, who: Principal, words: TimeText, *, fields: Fields) -> datetime:
    """The instant `words` name, read now; `UnclearTime` (a 422 carrying the question to
    ask back) when the words are vague, ambiguous, in the past or name no time.

    The extractor reads follow-up requests: the words are read as one ("remind me
    tomorrow at 3pm"), so that its policy applies to them as to any request (a day alone
    gets the morning hour, "by Friday" is Friday morning, a vague or past time is asked
    back), and a bare time is not taken for a message that asks for nothing."""
    found = extract(
        svc,
        who,
        words.text,
        zone=words.timezone,
        locale=words.locale,
        fields=fields,
        max_chars=MAX_TIME_TEXT,
        framed=AS_A_REQUEST,
    )
    result = found.extraction
    if result.ambiguous or result.due is None:
        reason = result.reason or Reason.NO_TIME
        raise _unclear(fields.text, reason, result.reason_text, result.question)
    if result.due < found.reference:
        raise _unclear(fields.text, Reason.PAST_TIME, None, None)
    return result.due.astimezone(UTC)


def _unclear(
    field: str, reason: Reason, reason_text: str | None, question: str | None
) -> UnclearTime:
    problem = reason_text or REASON_TEXT[reason]
    asked = question or f"When should it be sent? {problem[:1].upper()}{problem[1:]}."
    return UnclearTime(field, problem, question=asked, reason=reason.value)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
