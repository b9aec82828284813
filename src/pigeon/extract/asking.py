"""When a follow-up request is ambiguous, and the question that settles it.

Each check asks what a reasonable person would: "tomorrow" said at 00:30 (today, once you
are up, or the day after?), "next Friday" said on a Thursday, "at 7" (morning or
evening?), "03/04" where the locale writes both orders, "Friday the 12th" when the 12th is
a Thursday, "31 April", a vague period ("early in the autumn", "at some point in March")
or a vague time ("in a bit"). A clear request is never asked about.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from pigeon.extract import expr as ex
from pigeon.extract import grammar
from pigeon.extract.lexicon import MONTHS, TOMORROW_WORDS, UNITS, WEEKDAYS
from pigeon.extract.protocols import Grain, Reason
from pigeon.extract.resolve import AHEAD, ahead_span, resolve_expr
from pigeon.extract.timemath import last_day_of_month

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pigeon.extract.protocols import ExtractRequest, TimeMention
    from pigeon.extract.resolve import Resolved


@dataclass(frozen=True, slots=True)
class Ask:
    reason: Reason
    question: str


_VAGUE_WORDS = re.compile(
    r"\b(?:sometime|some time|at some point|later|soon|soonish|one of these days|when you can|"
    r"whenever|in a bit|in a while|eventually|at some stage|just now|in a sec|shortly|"
    r"when i get (?:back|home|in)|after the meeting|before the meeting|after my|"
    r"when i'?m back|when i land)\b",
    re.IGNORECASE,
)
_VAGUE_SPAN = re.compile(r"\b(?:sometime|some time|at some point|some point|later)\b", re.I)
_TOMORROW = re.compile(rf"\b(?:{TOMORROW_WORDS})\b", re.IGNORECASE)
_NEXT_WEEKDAY = re.compile(r"\bnext (?P<d>[a-z]+)\b", re.IGNORECASE)
_NEXT_WEEKEND = re.compile(r"\bnext (?:week-?end|wk?nd|wkend)\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"(?<![\d.:/])(\d{1,2})\s*[/.-]\s*(\d{1,2})(?![\d:]|\.\d)")
_NAMED_DATES = (
    re.compile(r"\b(?P<mon>[a-z]+)\.? (?:the )?(?P<d>\d{1,2})(?:st|nd|rd|th)?\b", re.I),
    re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?(?: of)? (?P<mon>[a-z]+)\b", re.I),
)
# "the 31st" with no month after it: this month's, if it has one.
_BARE_DAY = re.compile(r"\bthe (?P<d>\d{1,2})(?P<suffix>st|nd|rd|th)\b", re.IGNORECASE)
_MONTH_AFTER = re.compile(r"\s*(?:of\s+)?(?P<w>[a-z]+)", re.IGNORECASE)
_WEEKDAY_WORD = re.compile(r"\b(?P<w>[a-z]+)\b", re.IGNORECASE)
_BOTH_ORDERS = {"en", "en_ca", "en_001"}  # locales that write 03/04 either way
_EARLY_HOURS = 3  # "tomorrow" said before 03:00 may mean the coming day


def ask_for(
    request: ExtractRequest,
    primary: tuple[TimeMention, Resolved] | None,
    found: list[tuple[TimeMention, Resolved]],
) -> Ask | None:
    """The question to ask before scheduling, or None when the request is clear."""
    local = request.received_at.astimezone(request.zone).replace(tzinfo=None)
    invalid = _invalid_date(request.text, local)
    if invalid is not None:
        return invalid
    if primary is None:
        if _VAGUE_WORDS.search(request.text):
            return Ask(Reason.VAGUE_TIME, "When should I remind you: which day, and what time?")
        return Ask(Reason.NO_TIME, "When should I remind you?")
    mention, resolved = primary
    for ahead in AHEAD.finditer(request.text):
        span = ahead_span(ahead)
        if span is None or resolved.label == "ahead":
            continue
        if any(m.span[1] <= span[2] for m, _ in found):
            # "flight on friday, remind me an hour before": before what time on friday?
            said = request.text[span[2] : ahead.end()].strip()
            return Ask(Reason.VAGUE_TIME, f"At what time is it, so I can remind you {said}?")
    for check in (_order, _which_day, _which_week, _conflict, _just_passed, _am_pm, _vague):
        found_ask = check(request, mention, resolved, local)
        if found_ask is not None:
            return found_ask
    return None


# ---------------------------------------------------------------- the checks
def _invalid_date(text: str, local: datetime) -> Ask | None:
    for m in _BARE_DAY.finditer(text):
        after = _MONTH_AFTER.match(text, m.end())
        if after is not None and after["w"].lower().rstrip(".") in MONTHS:
            continue
        day = int(m["d"])
        if local.day < day <= 31 and day > last_day_of_month(local.year, local.month):
            this_month = local.strftime("%B")
            return Ask(
                Reason.NONEXISTENT_DATE,
                f"{this_month} has no {m['d']}{m['suffix']}. Do you mean the last day of "
                f"{this_month}, or a day next month?",
            )
    for m in (m for pattern in _NAMED_DATES for m in pattern.finditer(text)):
        name = m["mon"].lower()
        if name not in MONTHS:
            continue
        month, day = MONTHS[name], int(m["d"])
        year = local.year if (month, min(day, 28)) >= (local.month, local.day) else local.year + 1
        if day > last_day_of_month(year, month):
            named = date(year, month, 1).strftime("%B")
            return Ask(
                Reason.NONEXISTENT_DATE,
                f"There is no {day} {named} in {year}. Which day do you mean?",
            )
    return None


def _order(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    if request.locale.lower().replace("-", "_") not in _BOTH_ORDERS:
        return None
    for m in _NUMERIC_DATE.finditer(mention.text):
        a, b = int(m.group(1)), int(m.group(2))
        if _is_amount_or_clock(mention.text, m):
            continue  # "in 1.5 hours", "at 10.05"
        if 1 <= a <= 12 and 1 <= b <= 12 and a != b:
            first, second = (_month_day(b, a), _month_day(a, b))
            return Ask(
                Reason.UNKNOWN_DATE_ORDER,
                f"Do you mean {first} or {second}?",
            )
    return None


def _is_amount_or_clock(text: str, m: re.Match[str]) -> bool:
    following = text[m.end() :].split()
    unit = following[0].lower().strip(".,") if following else ""
    if unit in UNITS or unit.rstrip("s") in UNITS:
        return True
    dotted = "." in m.group(0) or ":" in m.group(0)
    return dotted and _CLOCK_CUE.search(text[: m.start()]) is not None


_CLOCK_CUE = re.compile(r"\b(?:at|@|by|from|until|till|before|after|around|about)\s*$", re.I)


def _month_day(month: int, day: int) -> str:
    return f"{day} {date(2000, month, 1).strftime('%B')}"


def _which_day(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    if _TOMORROW.search(mention.text) and local.hour < _EARLY_HOURS:
        today, tomorrow = local.date(), local.date() + timedelta(days=1)
        return Ask(
            Reason.WHICH_DAY,
            f"Just to check: do you mean later today ({_day(today)}) or {_day(tomorrow)}?",
        )
    e = resolved.expr
    if (
        e is not None
        and resolved.label.startswith(("date", "dom", "time", "pod"))
        and any(isinstance(part, ex.DayOfMonth) for part in walk(e))
        and not any(isinstance(part, ex.Yearly) for part in walk(e))
        and resolved.start.date() == local.date()
    ):
        later = _same_day_next_month(local.date())
        return Ask(
            Reason.WHICH_DAY,
            f"Do you mean today ({_day(local.date())}) or {_day(later)}?",
        )
    return None


def _which_week(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    if _NEXT_WEEKEND.search(mention.text):
        saturday = local.date() + timedelta(days=(5 - local.weekday()) % 7 or 7)
        return Ask(
            Reason.WEEKDAY_THIS_OR_NEXT,
            f"Do you mean the weekend of {_day(saturday)} or the one after, "
            f"{_day(saturday + timedelta(days=7))}?",
        )
    m = _NEXT_WEEKDAY.search(mention.text)
    if m is not None and m["d"].lower() in WEEKDAYS:
        if WEEKDAYS[m["d"].lower()] == (local.weekday() + 1) % 7:
            soon = local.date() + timedelta(days=1)
            return Ask(
                Reason.WEEKDAY_THIS_OR_NEXT,
                f"Do you mean tomorrow, {_day(soon)}, or {_day(soon + timedelta(days=7))}?",
            )
        return None
    e = resolved.expr
    if isinstance(e, ex.DayOfWeek) and e.weekday == local.weekday():
        today = local.date()
        return Ask(
            Reason.WEEKDAY_THIS_OR_NEXT,
            f"Do you mean today, {_day(today)}, or {_day(today + timedelta(days=7))}?",
        )
    return None


_TOWARDS = re.compile(r"\btowards?\s*$", re.IGNORECASE)
_ORDINAL_ONLY = re.compile(r"\d{1,2}(?:st|nd|rd|th)", re.IGNORECASE)


def _conflict(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    """ "friday the 12th" when the 12th is a Thursday: the date without its weekday lands
    on another day than the pair does."""
    words = [m for m in _WEEKDAY_WORD.finditer(mention.text) if m["w"].lower() in WEEKDAYS]
    if len(words) != 1 or resolved.grain > Grain.DAY:
        return None
    if resolved.expr is not None and any(isinstance(e, ex.NthWithin) for e in walk(resolved.expr)):
        return None  # "the 1st friday of may" counts Fridays; it names no date to clash with
    bare = (mention.text[: words[0].start()] + mention.text[words[0].end() :]).strip(" ,")
    if not re.search(r"\d", bare):
        return None  # only a weekday and a time of day ("EOD monday"): nothing to conflict
    parsed = grammar.parse(bare, request.locale)
    if parsed is None and _ORDINAL_ONLY.fullmatch(bare):
        parsed = grammar.parse(f"the {bare}", request.locale)  # "thursday 13th"
    if parsed is None or parsed.kind in {"time", "open", "deadline", "interval"}:
        return None
    alone = resolve_expr(parsed, local, request.zone, request.locale, business=True)
    if alone is None or alone.grain > Grain.DAY or alone.start.date() == resolved.start.date():
        return None
    named = calendar.day_name[WEEKDAYS[words[0]["w"].lower()]]
    said = alone.start.date()
    return Ask(
        Reason.WEEKDAY_DATE_CONFLICT,
        f"{_day(said)} is not a {named}. Do you mean {_day(said)} or "
        f"{_day(resolved.start.date())}?",
    )


def _just_passed(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    """ "on 1 December" said on 2 December: next year's, or a slip? Asked within a week."""
    if resolved.expr is None or resolved.grain > Grain.DAY:
        return None
    parts = list(walk(resolved.expr))
    if not any(isinstance(e, ex.Yearly) for e in parts) or any(
        isinstance(e, ex.Year) for e in parts
    ):
        return None  # no day of a year named, or its year said outright
    start = resolved.start
    if start.month == 2 and start.day == 29:
        return None
    said = start.replace(year=start.year - 1)
    if timedelta(0) < local - said <= _JUST_PASSED and start - local > timedelta(days=300):
        return Ask(
            Reason.PAST_TIME,
            f"{_day(said.date())} has just passed. Do you mean {_day(start.date())} {start.year}?",
        )
    return None


_JUST_PASSED = timedelta(days=7)


def _am_pm(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    """Seven without am or pm sits on the edge of business hours: morning or evening?"""
    if resolved.expr is None:
        return None
    for part in walk(resolved.expr):
        if not (isinstance(part, ex.TimeOfDay) and part.ambiguous):
            continue
        said = str(part.hour % 12 or 12) + (f":{part.minute:02d}" if part.minute else "")
        if part.hour % 12 == 7:
            return Ask(Reason.AM_PM, f"Is that {said} in the morning or {said} in the evening?")
        evening = (part.hour % 12 + 12, part.minute or 0)
        said_in_the_evening = local.hour >= 17 and evening > (local.hour, local.minute)
        if resolved.expr is part and part.hour % 12 >= 8 and said_in_the_evening:
            # "at 8" said at 18:00, no day named: tonight's 20:00 is as likely as 08:00
            return Ask(Reason.AM_PM, f"Is that {said} tonight or {said} tomorrow morning?")
    return None


def _vague(
    request: ExtractRequest, mention: TimeMention, resolved: Resolved, local: datetime
) -> Ask | None:
    label = resolved.label
    if isinstance(resolved.expr, ex.Shift) and resolved.expr.anchor is None:
        return None  # "in a year" is a day: a year from now, at this time
    before = request.text[: mention.span[0]][-12:]
    long = resolved.end - resolved.start > timedelta(days=7)
    if label.startswith("edge:") and long and _TOWARDS.search(before):
        # "towards the end of the year": some day near the end, not the end itself
        return Ask(
            Reason.VAGUE_PERIOD,
            f"When towards {mention.text.strip()} should I remind you: which day, and what time?",
        )
    if label.startswith(("edge:end", "edge:late", "deadline", "open")):
        return None
    period = (
        resolved.grain >= Grain.MONTH
        or label.startswith("edge:")
        or (resolved.expr is not None and resolved.expr.kind == "season")
        or (resolved.grain >= Grain.WEEK and _VAGUE_SPAN.search(request.text) is not None)
    )
    if period and resolved.start > local - timedelta(days=366):
        return Ask(
            Reason.VAGUE_PERIOD,
            f"When {mention.text.strip()} should I remind you: which day, and what time?",
        )
    today = resolved.grain == Grain.DAY and resolved.start.date() == local.date()
    if today and re.search(r"\b(?:later|sometime|some time)\s*$", before, re.IGNORECASE):
        return Ask(Reason.VAGUE_TIME, "What time today should I remind you?")  # later today
    if re.search(r"\bjust now\b", request.text, re.IGNORECASE) and resolved.label == "fixed":
        return Ask(Reason.VAGUE_TIME, "When should I remind you: which day, and what time?")
    return None


# ---------------------------------------------------------------- helpers
def walk(e: ex.Expr) -> Iterator[ex.Expr]:
    """`e` and the expressions it is built of."""
    yield e
    for name in ("coarse", "fine", "x", "a", "b", "anchor", "item", "within"):
        part = getattr(e, name, None)
        if isinstance(part, ex.Expr):
            yield from walk(part)


def _day(day: date) -> str:
    return f"{day.strftime('%A')} {day.day} {day.strftime('%B')}"


def _same_day_next_month(day: date) -> date:
    """The next month that has this day: after 30 January, 30 March."""
    year, month = day.year, day.month
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if day.day <= last_day_of_month(year, month):
            return date(year, month, day.day)
