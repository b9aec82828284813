"""Recurring messages: an RFC 5545 RRULE in a time zone, its occurrences computed lazily.

- Occurrences are the rule's, in the LOCAL wall time of the zone: a weekly 09:00 in
  Europe/London is 09:00 in winter and in summer. They are returned in UTC. A wall time
  that does not exist (the hour skipped in spring) becomes the first instant after it, the
  end of the gap; one that happens twice (the hour repeated in autumn) is the first.
- The first occurrence is the start (`dtstart`: the first message's time) whether or not the
  rule matches it, as RFC 5545 counts DTSTART; the rule gives those after it. COUNT counts
  the rule's occurrences from the start (the start among them when it matches the rule).
- Nothing is materialised: `next_occurrence` computes one occurrence from any instant. It
  starts the rule afresh at the period (year, month, week, day or hour) before that instant,
  with the values dateutil would take from the start made explicit, so an instant fifty
  years on costs what the first week did.
- dateutil looks for a rule's next occurrence until the year 9999, which takes seconds when
  there is none (February 30th). The Gregorian calendar repeats itself every 400 years
  (weekdays, leap years), so the search runs on dates moved forward by a multiple of 400
  years, close enough to 9999 that it gives up after 400 to 800 years: a rule with no
  occurrence in that long never has one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dateutil.rrule import DAILY, HOURLY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

MAX_COUNT = 100_000
MAX_INTERVAL = 1000
MAX_RULE_CHARS = 500
CYCLE_YEARS = 400  # the Gregorian calendar's period
SEARCH_YEARS = 400  # at least this far ahead (at most twice): see the module's docstring
COUNT_YEARS = 1000  # COUNT counts the occurrences within this many years of the start

FREQUENCIES = {"YEARLY": YEARLY, "MONTHLY": MONTHLY, "WEEKLY": WEEKLY, "DAILY": DAILY}
FREQUENCIES["HOURLY"] = HOURLY
TOO_FAST = frozenset({"MINUTELY", "SECONDLY"})
WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "WKST",
        "BYSETPOS",
        "BYMONTH",
        "BYMONTHDAY",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYDAY",
        "BYHOUR",
        "BYMINUTE",
        "BYSECOND",
    }
)
_DAY_PARTS = frozenset({"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"})
# Ranges of the numeric parts (negative: counted from the end of the period).
_RANGES = {
    "BYMONTH": (1, 12, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
    "BYSECOND": (0, 59, False),
    "BYSETPOS": (1, 366, True),
}
_BYDAY = re.compile(r"([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
# A rule repeating less often than once a century is refused: see SEARCH_YEARS.
_MAX_INTERVAL = {YEARLY: 100}
_UNTIL = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")


KIND_MESSAGE = "message"
KIND_BATCH = "batch"  # made by a maker the batches service registers


@dataclass(frozen=True)
class Rule:
    """A parsed, valid RRULE."""

    text: str  # as stored: "FREQ=WEEKLY;BYDAY=MO", upper case, without "RRULE:"
    core: str  # what dateutil parses: the text without COUNT and UNTIL
    freq: int
    interval: int
    wkst: int
    count: int | None
    until: datetime | None  # aware (UTC), or naive: a wall time in the zone
    given: frozenset[str]  # the parts the rule names
    field: str = "repeat.rrule"


@dataclass(frozen=True)
class Recurrence:
    id: str
    workspace_id: str
    kind: str  # message | batch
    rrule: str
    timezone: str
    dtstart: datetime
    template: Mapping[str, Any]
    next_at: datetime | None  # None: ended, or stopped
    occurrences: int
    created_at: datetime
    updated_at: datetime
    stopped_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Recurrence:
        return cls(
            id=row["id"],
            workspace_id=row["workspace_id"],
            kind=row["kind"],
            rrule=row["rrule"],
            timezone=row["timezone"],
            dtstart=row["dtstart"],
            template=row["template"],
            next_at=row["next_at"],
            occurrences=row["occurrences"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            stopped_at=row["stopped_at"],
        )


# Parsing --------------------------------------------------------------------------------


def parse_rule(rrule: str, field: str = "repeat.rrule") -> Rule:
    """Check an RRULE (`FREQ=WEEKLY;BYDAY=MO`, with or without `RRULE:`); refuses rules
    more frequent than hourly, COUNT above 100,000, and COUNT with UNTIL."""

    def bad(problem: str) -> ValidationError:
        return ValidationError.field(field, problem)

    if not isinstance(rrule, str):
        raise bad("must be a string")
    text = rrule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text:
        raise bad("must not be empty")
    if len(text) > MAX_RULE_CHARS:
        raise bad(f"must be at most {MAX_RULE_CHARS} characters")
    if any(c in text for c in "\r\n\x00"):
        raise bad("must be one RRULE line (no DTSTART, EXDATE or RDATE)")
    parts: dict[str, str] = {}
    for pair in text.upper().split(";"):
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise bad(f"{pair!r} is not NAME=VALUE")
        if name not in PARTS:
            raise bad(f"{name} is not a part of RFC 5545 rules this server takes")
        if name in parts:
            raise bad(f"{name} is given twice")
        parts[name] = value
    freq_name = parts.get("FREQ")
    if freq_name is None:
        raise bad("FREQ is required")
    if freq_name in TOO_FAST:
        raise bad(f"FREQ={freq_name} is too frequent for messages: HOURLY at the most")
    if freq_name not in FREQUENCIES:
        raise bad(f"FREQ must be one of {', '.join(FREQUENCIES)}")
    freq = FREQUENCIES[freq_name]
    interval = _number(
        parts.get("INTERVAL", "1"), "INTERVAL", 1, _MAX_INTERVAL.get(freq, MAX_INTERVAL), bad
    )
    for name, (low, high, negative) in _RANGES.items():
        if name in parts:
            _numbers(parts[name], name, low, high, negative, bad)
    if "BYDAY" in parts:
        _weekdays(parts["BYDAY"], freq, bad)
    count = None
    if "COUNT" in parts:
        count = _number(parts["COUNT"], "COUNT", 1, MAX_COUNT, bad)
    if "COUNT" in parts and "UNTIL" in parts:
        raise bad("COUNT and UNTIL cannot both be given")
    until = _until(parts["UNTIL"], bad) if "UNTIL" in parts else None
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise bad("WKST must be one of MO, TU, WE, TH, FR, SA, SU")
    if "BYSETPOS" in parts and freq == HOURLY:
        raise bad("BYSETPOS needs a FREQ of DAILY or longer")
    if "BYWEEKNO" in parts and freq != YEARLY:
        raise bad("BYWEEKNO needs FREQ=YEARLY")
    if "BYSETPOS" in parts and freq == DAILY:
        times = 1
        for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            times *= len(set(parts.get(name, "0").split(",")))
        if all(abs(int(p)) > times for p in parts["BYSETPOS"].split(",")):
            raise bad(f"BYSETPOS never matches: each day has {times} time(s) of the rule")
    canonical = ";".join(f"{name}={value}" for name, value in parts.items())
    core = ";".join(f"{n}={v}" for n, v in parts.items() if n not in ("COUNT", "UNTIL"))
    rule = Rule(
        text=canonical,
        core=core,
        freq=freq,
        interval=interval,
        wkst=WEEKDAYS[parts.get("WKST", "MO")],
        count=count,
        until=until,
        given=frozenset(parts),
        field=field,
    )
    # Parsed once against a start whose hour the rule's BYHOUR reaches (an HOURLY rule's
    # hours are counted from the start), so that dateutil's own checks run now.
    hour = 0
    if freq == HOURLY and "BYHOUR" in parts:
        hour = _first_number(parts["BYHOUR"])
    _parse(rule, datetime(2000, 1, 3, hour))  # noqa: DTZ001 - a wall time
    return rule


def _number(value: str, name: str, low: int, high: int, bad: Any) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise bad(f"{name} must be a whole number from {low} to {high:,}")
    return int(value)


def _numbers(value: str, name: str, low: int, high: int, negative: bool, bad: Any) -> None:
    for item in value.split(","):
        number = item[1:] if negative and item[:1] in "+-" else item
        if not number.isdigit() or not low <= int(number) <= high:
            span = f"{low} to {high}" + (f", or -{high} to -{low}" if negative else "")
            raise bad(f"{name} takes numbers from {span}")


def _weekdays(value: str, freq: int, bad: Any) -> None:
    limit = {YEARLY: 53, MONTHLY: 5}.get(freq)
    for item in value.split(","):
        found = _BYDAY.fullmatch(item)
        if found is None:
            raise bad("BYDAY takes weekdays such as MO, TU or, monthly and yearly, 1MO, -1FR")
        if found.group(2) is not None:
            if limit is None:
                raise bad("BYDAY takes a numbered weekday (1MO) only with MONTHLY or YEARLY")
            if not 1 <= int(found.group(2)) <= limit:
                raise bad(f"BYDAY numbers run from 1 to {limit} (or -1 to -{limit})")


def _first_number(value: str) -> int:
    try:
        return int(value.split(",")[0]) % 24
    except ValueError:
        return 0  # dateutil names the problem


def _until(value: str, bad: Any) -> datetime:
    found = _UNTIL.fullmatch(value)
    if found is None:
        raise bad("UNTIL must be a date (20301231) or a date and time (20301231T090000Z)")
    year, month, day, hour, minute, second, zulu = found.groups()
    try:
        if hour is None:  # a date: the whole day counts
            return datetime(int(year), int(month), int(day), 23, 59, 59)  # noqa: DTZ001
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))  # noqa: DTZ001
    except ValueError:
        raise bad("UNTIL is not a valid date") from None
    return when.replace(tzinfo=UTC) if zulu else when


def _parse(rule: Rule, start: datetime) -> rrule:
    try:
        parsed = rrulestr(rule.core, dtstart=start)
    except (ValueError, TypeError, OverflowError, IndexError, KeyError) as error:
        raise ValidationError.field(rule.field, f"is not a valid RRULE: {error}") from None
    assert isinstance(parsed, rrule)
    return parsed


# Occurrences ----------------------------------------------------------------------------


def next_occurrence(
    rule: Rule, tz: ZoneInfo, dtstart_utc: datetime, after_utc: datetime
) -> datetime | None:
    """The first occurrence after `after_utc` (strictly), in UTC; None when the rule has
    ended (or never occurs again). `dtstart_utc` itself is not one: the first message is.
    Past the end of the calendar (the year 9999, in the zone or in UTC) nothing occurs."""
    try:
        series = _series(rule, tz, wall(dtstart_utc, tz))
        cursor = wall(after_utc, tz)
    except OverflowError:
        return None
    while True:
        try:
            local = series.after(cursor)
            instant = None if local is None else to_utc(local, tz)
        except (OverflowError, ValueError):  # a date past the calendar's first or last day
            return None
        if local is None or instant is None:
            return None
        # Wall times map to instants in order, but several can map to one (a gap's) or lie
        # before `after_utc` in its repeated hour: those are passed over.
        if instant > after_utc:
            return instant
        cursor = local


def wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """The naive wall time of `instant` in `tz`."""
    return instant.astimezone(tz).replace(tzinfo=None, fold=0)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a wall time: the first of two in a repeated hour; for a time in a
    skipped hour, the first instant after it (the end of the gap)."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if wall(first, tz) == local:
        return first
    other = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = sorted((first, other))
    # wall(low) < local < wall(high): find the first second whose wall time passes `local`.
    while high - low > timedelta(seconds=1):
        middle = low + timedelta(seconds=(high - low).total_seconds() // 2)
        if wall(middle, tz) > local:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class Step:
    """What the upkeep does with a recurrence whose next occurrence has come near."""

    make: datetime | None  # the occurrence to create now, if any
    next_at: datetime | None  # the one after it (None: the rule has ended)
    skipped_from: datetime | None  # set when occurrences were passed over


def step(
    rule: Rule,
    tz: ZoneInfo,
    dtstart_utc: datetime,
    due: datetime,
    now: datetime,
    *,
    grace: timedelta,
) -> Step:
    """The occurrence due at `due` (at most some lead after `now`), and what comes next.

    After an outage, occurrences missed by more than `grace` are not sent late; of several
    missed within it, only the latest is made: a week of daily reminders is not a burst of
    seven."""
    occurrence: datetime | None = due
    skipped = None
    if due < now - grace:
        skipped = due
        occurrence = next_occurrence(rule, tz, dtstart_utc, now - grace)
        if occurrence is None or occurrence > now:
            return Step(None, occurrence, skipped)
    assert occurrence is not None
    following = next_occurrence(rule, tz, dtstart_utc, occurrence)
    while following is not None and following <= now:
        skipped = skipped or occurrence
        occurrence = following
        following = next_occurrence(rule, tz, dtstart_utc, occurrence)
    return Step(occurrence, following, skipped)


# The series of one rule from one start ----------------------------------------------------


@dataclass(frozen=True)
class _Series:
    base: rrule  # parsed at the real start, without COUNT or UNTIL
    rule: Rule
    start: datetime  # naive wall time
    until: datetime | None  # naive wall time: UNTIL, or the COUNT-th occurrence
    explicit: Mapping[str, Any]  # dateutil's defaults from `start`, for a later start

    def after(self, cursor: datetime) -> datetime | None:
        """The first occurrence after the wall time `cursor`."""
        if self.until is not None and cursor >= self.until:
            return None
        begin = self._rebased(cursor)
        shift = (MAXYEAR - SEARCH_YEARS - cursor.year) // CYCLE_YEARS * CYCLE_YEARS
        shift = max(shift, 0)
        until = self.until
        if until is not None:
            until = _plus_years(until, shift) if until.year + shift <= MAXYEAR else None
        moved = self.base.replace(
            dtstart=_plus_years(begin, shift), until=until, count=None, **self.explicit
        )
        found = moved.after(_plus_years(cursor, shift))
        return None if found is None else _plus_years(found, -shift)

    def _rebased(self, cursor: datetime) -> datetime:
        """The start of the latest period at or before `cursor` that the rule's INTERVAL
        reaches from the real start: the rule begun there gives the same occurrences."""
        rule = self.rule
        first = _period(self.start, rule.freq, rule.wkst)
        target = _period(cursor, rule.freq, rule.wkst)
        periods = (target - first) // rule.interval * rule.interval
        if periods <= 0:
            return self.start
        return _period_start(first + periods, rule.freq, rule.wkst)


@functools.lru_cache(maxsize=4096)
def _series(rule: Rule, tz: ZoneInfo, start: datetime) -> _Series:
    base = _parse(rule, start)
    explicit = _explicit(rule, start)
    until = rule.until
    if until is not None and until.tzinfo is not None:
        try:
            until = wall(until, tz)
        except OverflowError:
            until = None  # after the calendar's last day in the zone: no limit before it
    series = _Series(base, rule, start, until, explicit)
    nothing = start - timedelta(seconds=1)
    if _days_never_match(rule, start):
        return _Series(base, rule, start, nothing, explicit)
    if rule.count is not None:
        # The COUNT-th occurrence as the end: then the series can start anywhere. Walked
        # once: at most 100,000 occurrences, within COUNT_YEARS (a sparse rule's COUNT-th
        # occurrence may lie thousands of years on).
        last = None
        if series.after(nothing) is not None:
            counted = base.replace(dtstart=start, count=rule.count, until=None, **explicit)
            year = min(start.year + COUNT_YEARS, MAXYEAR)
            try:
                bound = start.replace(year=year)
            except ValueError:  # February 29th
                bound = start.replace(year=year, day=28)
            for occurrence in counted:
                if occurrence > bound:
                    break
                last = occurrence
        series = _Series(base, rule, start, last or nothing, explicit)
    return series


def _days_never_match(rule: Rule, start: datetime) -> bool:
    """Whether a daily or hourly rule's day parts match no day at all (February 30th).

    Looking for such a rule's next occurrence walks every day of 400 years, seconds of
    work; the same filter as a yearly rule walks 400 years."""
    days = [n for n in ("BYMONTH", *sorted(_DAY_PARTS)) if n in rule.given]
    if rule.freq not in (DAILY, HOURLY) or not set(days) & _DAY_PARTS:
        return False
    parts = dict(part.split("=", 1) for part in rule.core.split(";"))
    core = ";".join(["FREQ=YEARLY", *(f"{name}={parts[name]}" for name in days)])
    yearly = Rule(core, core, YEARLY, 1, rule.wkst, None, None, frozenset(days), rule.field)
    begin = datetime(start.year, 1, 1)  # noqa: DTZ001 - a wall time
    proxy = _Series(_parse(yearly, begin), yearly, begin, None, {})
    return proxy.after(begin - timedelta(seconds=1)) is None


def _explicit(rule: Rule, start: datetime) -> dict[str, Any]:
    """The values dateutil takes from the start when the rule does not give them."""
    given = rule.given
    explicit: dict[str, Any] = {}
    if not given & _DAY_PARTS:
        if rule.freq == YEARLY:
            if "BYMONTH" not in given:
                explicit["bymonth"] = start.month
            explicit["bymonthday"] = start.day
        elif rule.freq == MONTHLY:
            explicit["bymonthday"] = start.day
        elif rule.freq == WEEKLY:
            explicit["byweekday"] = start.weekday()
    if "BYHOUR" not in given and rule.freq < HOURLY:
        explicit["byhour"] = start.hour
    if "BYMINUTE" not in given:
        explicit["byminute"] = start.minute
    if "BYSECOND" not in given:
        explicit["bysecond"] = start.second
    return explicit


def _period(value: datetime, freq: int, wkst: int) -> int:
    """The index of the period (of `freq`) that holds `value`."""
    if freq == YEARLY:
        return value.year
    if freq == MONTHLY:
        return value.year * 12 + value.month - 1
    ordinal = value.toordinal()  # day 1 (0001-01-01) is a Monday
    if freq == WEEKLY:
        return (ordinal - 1 - wkst) // 7
    if freq == DAILY:
        return ordinal
    return ordinal * 24 + value.hour


def _period_start(index: int, freq: int, wkst: int) -> datetime:
    if freq == YEARLY:
        return datetime(index, 1, 1)  # noqa: DTZ001 - wall times
    if freq == MONTHLY:
        return datetime(index // 12, index % 12 + 1, 1)  # noqa: DTZ001
    if freq == WEEKLY:
        return datetime.fromordinal(index * 7 + 1 + wkst)
    if freq == DAILY:
        return datetime.fromordinal(index)
    return datetime.fromordinal(index // 24) + timedelta(hours=index % 24)


def _plus_years(value: datetime, years: int) -> datetime:
    """`value` moved by a multiple of 400 years: the same weekday, the same leap years."""
    return value if not years else value.replace(year=value.year + years)
