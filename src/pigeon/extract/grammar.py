"""English time grammar: normalized phrase -> `Expr`.

Parsing is recursive and reference-free, so results are cached by phrase.
A phrase is tried, in order, against atomic rules (one regex each), then
rules that wrap a sub-phrase ("next <x>", "<x> after next", "by <x>"),
then intervals ("<a> to <b>"), then every split into two sub-phrases that
combine ("tomorrow" + "at 5pm"). Bare numbers, bare years and bare parts of
the day parse as *latent*: usable inside a larger phrase, never alone, so
"2 of them" or "Pay ABC 2000" yield no time.
"""

# Naive datetimes here are wall-clock values by design; zones are applied at the edge.
# ruff: noqa: DTZ001
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice

from pigeon.extract import expr as ex
from pigeon.extract import timemath as tm
from pigeon.extract.expr import Ctx, Duration, Expr, Span
from pigeon.extract.holiday_rules import (
    HOLIDAY_ALIASES,
    business_shift,
    country_of,
    holiday_expr,
    is_business_day,
)
from pigeon.extract.lexicon import (
    MONTHS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    QUANTIFIERS,
    REGION_ZONES,
    TOMORROW_WORDS,
    UNITS,
    WEEKDAYS,
    ZONES,
    alternation,
    is_day_first,
)
from pigeon.extract.protocols import Grain

# ---------------------------------------------------------------- fragments
MONTH = alternation(MONTHS) + r"\.?"
DOW = alternation(WEEKDAYS) + r"\.?"
ORD_WORD = alternation(ORDINAL_WORDS)
ORD = rf"(?:\d{{1,2}}(?:st|nd|rd|th)|{ORD_WORD})"
DAYNUM = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{ORD_WORD})"
NUM = (
    "(?:" + "|".join([r"\d+(?:\.\d+)?", alternation(QUANTIFIERS), alternation(NUMBER_WORDS)]) + ")"
)
UNIT = alternation(UNITS) + r"\.?"
HOUR_WORD = alternation(
    w for w, v in NUMBER_WORDS.items() if 1 <= v <= 12 and w not in {"a", "an", "single", "dozen"}
)
MINUTE_WORD = (
    r"(?:(?:oh|o|zero|ou)[ -](?:one|two|three|four|five|six|seven|eight|nine)|"
    + alternation(
        w
        for w, v in NUMBER_WORDS.items()
        if (10 <= v <= 59 and " " not in w) or (20 < v < 60 and "-" not in w)
    )
    + ")"
)
SMALL_NUMBER = alternation(
    w for w, v in NUMBER_WORDS.items() if 0 < v < 100 and w not in {"a", "an", "single", "dozen"}
)
AMPM = r"(?P<ap>[ap])(?P<m_>\.?\s?m)?\.?"
ZONE = alternation({**ZONES, **REGION_ZONES})
THIS = r"(?:this|current|present)"
NEXT = r"(?:next|coming|upcoming|the following|following)"
LAST = r"(?:last|past|previous|the previous|preceding)"

Builder = Callable[[re.Match[str], "Parser"], Expr | None]


def number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        try:
            return float(text)
        except ValueError:
            return None
    if text in QUANTIFIERS:
        return QUANTIFIERS[text]
    return NUMBER_WORDS.get(text)


def ordinal(text: str) -> int | None:
    text = text.strip()
    if text[:1].isdigit():
        digits = re.match(r"\d+", text)
        return int(digits.group()) if digits else None
    return ORDINAL_WORDS.get(text) or NUMBER_WORDS.get(text)


def month_number(text: str) -> int:
    return MONTHS[text.rstrip(".")]


def weekday_number(text: str) -> int:
    return WEEKDAYS[text.rstrip(".")]


def unit_grain(text: str) -> Grain | None:
    return UNITS.get(text.rstrip("."))


def year_value(text: str, *, two_digit: bool = True) -> int | None:
    text = text.lstrip("'")  # "'27"
    value = int(text)
    if len(text) == 2 and two_digit:
        return 2000 + value if value < 50 else 1900 + value
    return value


def unlatent(expr: Expr) -> Expr:
    if not expr.latent:
        return expr
    clone = copy.copy(expr)
    clone.latent = False
    return clone


def latent(expr: Expr) -> Expr:
    expr.latent = True
    return expr


# ---------------------------------------------------------------- durations
_FRACTIONS = {"1/4": 15, "1/2": 30, "3/4": 45}
_DURATION_RE = re.compile(
    rf"(?:(?P<n>{NUM})(?: more)?\s*(?P<u>{UNIT})(?: (?P<half>and (?:a |an )?half))?"
    rf"|(?P<frac>1/4|1/2|3/4)\s*(?:h|hr|hour)"
    rf"|(?:a |an )?(?P<qh>quarter|half|three[- ]quarters?) (?:of )?an? hour"
    rf"|(?P<n2>{NUM}) and (?:a |an )?half (?P<u2>{UNIT})"
    rf"|(?P<fort>(?:a|one|two|\d+) fortnights?)"
    r"|(?P<prime>\d+)(?P<mark>'|\"))"
)


_COMPOUND_SPLIT = re.compile(r"\s*(?:,\s*(?:and\s+)?|\band\b|&|\+)\s*|\s+(?=\d|an? |one )")
_HOURS_MINUTES = re.compile(
    r"(?P<h>\d{1,3})\s*(?:h|hrs?|hours?)\s*(?P<m>[0-5]?\d)\s*(?:m|mins?|minutes?)?"
)


def parse_duration(text: str) -> Duration | None:
    """One duration, or several that add up: "1 hour 45 minutes", "3 days, 4 hours",
    "2h15", "1 week and 2 days"."""
    single = _parse_one_duration(text)
    if single is not None:
        return single
    m = _HOURS_MINUTES.fullmatch(text)
    if m is not None:
        return Duration(int(m["h"]), Grain.HOUR, Duration(int(m["m"]), Grain.MINUTE))
    pieces = [piece for piece in _COMPOUND_SPLIT.split(text) if piece]
    if len(pieces) < 2:
        return None
    parts = [_parse_one_duration(piece) for piece in pieces]
    if any(part is None for part in parts):
        return None
    units = [part.unit for part in parts if part is not None]
    if units != sorted(units, reverse=True) or len(set(units)) != len(units):
        return None  # "5 minutes 2 hours" is not one duration
    result: Duration | None = None
    for part in reversed(parts):
        assert part is not None
        result = Duration(part.amount, part.unit, result)
    return result


def _parse_one_duration(text: str) -> Duration | None:
    m = _DURATION_RE.fullmatch(text)
    if m is None:
        return None
    g = m.groupdict()
    if g["n"] is not None:
        amount, unit = number(g["n"]), unit_grain(g["u"])
        if amount is None or unit is None:
            return None
        return _scaled(amount + (0.5 if g["half"] else 0), unit)
    if g["frac"]:
        return Duration(_FRACTIONS[g["frac"]], Grain.MINUTE)
    if g["qh"]:
        minutes = {"quarter": 15, "half": 30}.get(g["qh"], 45)
        return Duration(minutes, Grain.MINUTE)
    if g["n2"] is not None:
        amount, unit = number(g["n2"]), unit_grain(g["u2"])
        if amount is None or unit is None:
            return None
        return _scaled(amount + 0.5, unit)
    if g["fort"]:
        count = number(g["fort"].split()[0]) or 1
        return Duration(int(count * 14), Grain.DAY)
    unit = Grain.MINUTE if g["mark"] == "'" else Grain.SECOND
    return Duration(int(g["prime"]), unit)


_SMALLER = {
    Grain.MINUTE: (Grain.SECOND, 60),
    Grain.HOUR: (Grain.MINUTE, 60),
    Grain.DAY: (Grain.HOUR, 24),
    Grain.WEEK: (Grain.DAY, 7),
    Grain.YEAR: (Grain.MONTH, 12),
}


def _scaled(amount: float, unit: Grain) -> Duration | None:
    """Express a fractional amount ("2.5 hours") in the next smaller unit."""
    if amount == int(amount):
        return Duration(int(amount), unit)
    if unit not in _SMALLER:
        return None
    smaller, factor = _SMALLER[unit]
    return Duration(round(amount * factor), smaller)


# ---------------------------------------------------------------- values
class Interval(ex.Anchored):
    """From the start of `a` to the end of `b` (the first `b` not before `a`)."""

    kind = "interval"

    def __init__(self, a: Expr, b: Expr) -> None:
        self.a = a
        self.b = b

    @property
    def grain(self) -> Grain:
        return min(self.a.grain, self.b.grain)

    def span(self, ctx: Ctx) -> Span | None:
        start = ex.first(self.a, ctx)
        if start is None:
            return None
        end = next(
            (s for s in islice(self.b.future(ctx.at(start.start)), 400) if s.start >= start.start),
            None,
        )
        if end is None:
            return None
        return Span(start.start, end.end, self.grain)


class Open(ex.Anchored):
    """A half-open interval: after `x` starts, or before `x` starts."""

    kind = "open"

    def __init__(self, x: Expr, side: str) -> None:
        self.x = x
        self.side = side

    @property
    def grain(self) -> Grain:
        return self.x.grain

    def span(self, ctx: Ctx) -> Span | None:
        return ex.first(self.x, ctx)


class Until(ex.Anchored):
    """From now until `x` ("by 2pm", "by EOD", "within 2 weeks")."""

    kind = "deadline"

    def __init__(self, x: Expr, *, to_end: bool = False) -> None:
        self.x = x
        self.to_end = to_end

    @property
    def grain(self) -> Grain:
        return Grain.SECOND

    def span(self, ctx: Ctx) -> Span | None:
        target = ex.first(self.x, ctx)
        if target is None:
            return None
        end = target.end if self.to_end else target.start
        return Span(tm.round_down(ctx.ref, Grain.SECOND), end, Grain.SECOND)


class Edge(ex.Anchored):
    """A named part of a unit: the beginning, middle or end of a month, year or week."""

    kind = "edge"

    # part -> (start offset, end offset) in sub-units, per unit grain
    _MONTH = {
        "begin": (0, 10),
        "early": (0, 10),
        "mid": (10, 20),
        "end": (20, None),
        "late": (20, None),
    }
    _YEAR = {"begin": (0, 3), "early": (0, 3), "mid": (3, 9), "end": (8, 12), "late": (8, 12)}
    _WEEK = {"begin": (0, 3), "early": (0, 3), "mid": (2, 5), "end": (4, 7), "late": (4, 7)}
    _QUARTER = {"begin": (0, 1), "early": (0, 1), "mid": (1, 2), "end": (2, 3), "late": (2, 3)}

    def __init__(self, x: Expr, part: str) -> None:
        self.x = x
        self.part = part

    @property
    def grain(self) -> Grain:
        return Grain.MONTH if self.x.grain == Grain.YEAR else Grain.DAY

    def span(self, ctx: Ctx) -> Span | None:
        outer = ex.first(self.x, ctx)
        if outer is None:
            return None
        if outer.grain == Grain.YEAR:
            a, b = self._YEAR[self.part]
            return Span(tm.add_months(outer.start, a), tm.add_months(outer.start, b), Grain.MONTH)
        if outer.grain == Grain.QUARTER:
            a, b = self._QUARTER[self.part]
            return Span(tm.add_months(outer.start, a), tm.add_months(outer.start, b), Grain.MONTH)
        table = self._WEEK if outer.grain == Grain.WEEK else self._MONTH
        if outer.grain not in {Grain.WEEK, Grain.MONTH}:
            return None
        a, b_ = table[self.part]
        end = outer.end if b_ is None else outer.start + timedelta(days=b_)
        return Span(outer.start + timedelta(days=a), end, Grain.DAY)


class Range(ex.Anchored):
    """The last or next `n` units around now ("next 3 days", "past 2 weeks")."""

    kind = "interval"

    def __init__(self, n: int, unit: Grain, direction: int) -> None:
        self.n = n
        self.unit = unit
        self.direction = direction

    @property
    def grain(self) -> Grain:
        return self.unit

    def span(self, ctx: Ctx) -> Span:
        now = tm.round_down(ctx.ref, self.unit)
        if self.direction > 0:
            start = tm.add(now, self.unit, 1)
            return Span(start, tm.add(start, self.unit, self.n), self.unit)
        return Span(tm.add(now, self.unit, -self.n), now, self.unit)


class Season(ex.Yearly):
    _STARTS = (("spring", 3, 20), ("summer", 6, 21), ("fall", 9, 23), ("winter", 12, 21))

    def __init__(self, name: str | None) -> None:
        def spans(year: int, ctx: Ctx) -> list[Span]:
            out = []
            for i, (season, month, day) in enumerate(self._STARTS):
                if name is None or season == name:
                    _, nm, nd = self._STARTS[(i + 1) % 4]
                    end = datetime(year + (1 if i == 3 else 0), nm, nd)
                    out.append(Span(datetime(year, month, day), end, Grain.DAY))
            return out

        super().__init__(spans, Grain.DAY, "season")

    def past(self, ctx: Ctx) -> Iterator[Span]:
        # A season is "past" once it has ended, even if it began this year.
        yield from super().past(ctx)


# ---------------------------------------------------------------- parser
class Parser:
    """Holds the compiled rules; `parse` is cached per (phrase, day-first)."""

    def __init__(self, *, day_first: bool) -> None:
        self.day_first = day_first
        self._rules: list[tuple[re.Pattern[str], Builder]] = [
            (re.compile(pattern), builder) for pattern, builder in RULES
        ]
        self.parse = lru_cache(maxsize=20000)(self._parse)

    def _parse(self, text: str) -> Expr | None:
        text = text.strip(" ,")
        if not text:
            return None
        for pattern, builder in self._rules:
            m = pattern.fullmatch(text)
            if m is not None:
                result = builder(m, self)
                if result is not None:
                    return result
        return self._split(text)

    def _split(self, text: str) -> Expr | None:
        words = text.split(" ")
        if len(words) < 2 or len(words) > 12:
            return None
        names = [(m.start(), m.end()) for m in _HOLIDAY_NAME.finditer(text)]
        for i in range(1, len(words)):
            left = " ".join(words[:i]).rstrip(",")
            right = " ".join(words[i:])
            if any(start < len(left) + 1 < end for start, end in names):
                continue  # "christmas | eve at 8" would be Christmas evening
            a = self.parse(left)
            if a is None or (a.latent and self._reads_on(words, i)):
                continue
            for connector in _CONNECTORS:
                if connector and not right.startswith(connector):
                    continue
                b = self.parse(right[len(connector) :])
                if b is None:
                    continue
                combined = combine(a, b)
                if combined is not None:
                    return combined
        return None

    def _reads_on(self, words: list[str], i: int) -> bool:
        """ "3 | april 9ish": a bare number that is a date with the next word ("3 april")
        belongs to that date, not to a time of the day after it."""
        if i + 1 >= len(words):
            return False
        longer = self.parse(" ".join(words[: i + 1]))
        return longer is not None and not longer.latent and longer.kind == "date"


_CONNECTORS = ("", "at ", "on ", "@ ", "of ", "in the ", "in ", ", ", "for ", "from ", "the ")


def _rebuild_ampm(t: ex.TimeOfDay, pod: str) -> ex.TimeOfDay:
    if not t.ambiguous:
        return unlatent(t)  # type: ignore[return-value]
    # "12" in the morning or at night is midnight; in the afternoon, noon.
    if t.hour % 12 == 0 and pod not in _NOON_PODS:
        return ex.TimeOfDay(0, t.minute, t.second, ambiguous=False, tz_offset=t.tz_offset)
    return t.with_meridiem(pod in _PM_PODS)


_NOON_PODS = {"afternoon", "pm", "lunch", "after lunch", "early afternoon"}


_PM_PODS = {
    "afternoon", "evening", "night", "tonight", "pm", "lunch", "after lunch", "late night",
    "early afternoon", "mid-afternoon", "late afternoon", "early evening", "after dinner",
    "after school",
}  # fmt: skip


def pod_parts(e: Expr) -> tuple[ex.DailyRange | None, Expr | None]:
    if isinstance(e, ex.DailyRange):
        return e, None
    if isinstance(e, ex.Intersect) and isinstance(e.fine, ex.DailyRange):
        return e.fine, e.coarse
    return None, None


def as_time(e: Expr) -> ex.TimeOfDay | None:
    return e if isinstance(e, ex.TimeOfDay) else None


_DATEISH = {
    "date",
    "dow",
    "dom",
    "month",
    "year",
    "holiday",
    "fixed",
    "shift",
    "quarter",
    "weekend",
    "season",
}


def combine(a: Expr, b: Expr) -> Expr | None:
    """Join two adjacent phrases into one time, when that makes sense."""
    ta, tb = as_time(a), as_time(b)
    if ta is not None and tb is not None:
        return None
    for day, year in ((a, b), (b, a)):
        if isinstance(year, AmbiguousYear) and day.grain == Grain.DAY and not day.latent:
            return year_or_clock(day, year.year)
    time, other = (ta, b) if ta is not None else (tb, a) if tb is not None else (None, None)
    if time is not None and other is not None:
        return _time_with(time, other)
    regrouped = _regroup(a, b)
    if regrouped is not None:
        return regrouped
    for eod, day in ((a, b), (b, a)):
        if eod.kind == "eod" and day.kind in _DATEISH and day.grain == Grain.DAY:
            return ex.Intersect(unlatent(day), ex.DailyRange("eod", 17, 18))  # "EOD friday"
    for day, bound in ((a, b), (b, a)):
        if isinstance(bound, Until | Open) and day.kind in _DATEISH and day.grain == Grain.DAY:
            if bound.x.kind == "eod":  # "friday by EOD" is "EOD friday"
                return ex.Intersect(unlatent(day), ex.DailyRange("eod", 17, 18))
            inner = combine(day, bound.x)  # "tomorrow by 11", "friday before 3pm"
            if inner is None:
                return None
            if isinstance(bound, Until):
                return Until(inner, to_end=bound.to_end)
            return Open(inner, bound.side)
    if a.latent or b.latent:
        return _latent_pair(a, b)
    if isinstance(a, Interval | Open) or isinstance(b, Interval | Open):
        return _interval_with(a, b)
    if pod_parts(a)[0] is not None and pod_parts(b)[0] is not None:
        return None
    if a.kind not in _DATEISH | {"pod", "date"} or b.kind not in _DATEISH | {"pod", "date"}:
        return None
    if a.kind == b.kind and a.kind in {"dow", "month", "year", "holiday", "fixed", "shift", "time"}:
        return None
    if {a.kind, b.kind} <= {"dom", "date"} and a.grain == b.grain == Grain.DAY:
        # "the 3rd | of april 9(ish)", "13/4 14/4": two days are never one
        return None
    for day, dated in ((a, b), (b, a)):
        clock = getattr(dated, "clock_reading", None)
        if day.kind == "dow" and clock is not None:
            return _weekday_date_or_clock(day, dated, clock)
    if isinstance(a, ex.Shift) and not isinstance(b, ex.Shift):
        return _from_anchor(b, a)
    if isinstance(b, ex.Shift):
        return _from_anchor(a, b)
    return ex.Intersect(a, b)


def _weekday_date_or_clock(day: Expr, dated: Expr, clock: Expr) -> Expr:
    """ "Friday 13.07" is the Friday that is 13 July; "13.05 on Tuesday", when no Tuesday
    is 13 May within two years, is five past one on Tuesday."""
    as_date = ex.Intersect(day, dated)
    as_clock = ex.Intersect(day, unlatent(clock))

    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(as_date, ctx)
        if span is not None and timedelta(days=-1) < span.start - ctx.ref <= timedelta(days=731):
            return span
        return ex.first(as_clock, ctx)

    return ex.Derived(fn, Grain.DAY, "date")


def _regroup(a: Expr, b: Expr) -> Expr | None:
    """ "the 4th" + "march afternoon": the day parts join first, then the time of day
    applies to the day they name."""
    for part, timed in ((a, b), (b, a)):
        if not isinstance(timed, ex.Intersect) or timed.fine.kind not in {"time", "pod"}:
            continue
        if part.kind in {"time", "pod"} or isinstance(part, Interval | Open | Until):
            continue
        if part.grain != Grain.DAY or timed.coarse.grain <= Grain.DAY:
            continue  # only a day joins a month, a year or a holiday season
        day = combine(part, timed.coarse) if part is a else combine(timed.coarse, part)
        if day is not None:
            return ex.Intersect(day, timed.fine)
    return None


def _from_anchor(x: Expr, anchor: Expr) -> Expr:
    def fn(ctx: Ctx) -> Span | None:
        start = ex.first(anchor, ctx)
        if start is None:
            return None
        # "today in one hour": a shift inside the named day is just the shift.
        outer = ex.first(x, ctx)
        if outer is not None and outer.grain > start.grain and outer.contains(start):
            return start
        return ex.first_from(x, start, ctx)

    return ex.Derived(fn, x.grain, "date")


def _time_with(time: ex.TimeOfDay, other: Expr) -> Expr | None:
    if isinstance(time, Midnight) and other.kind in _DATEISH | {"pod"}:
        pod, day = pod_parts(other)
        return _end_of(day or (ex.Cycle(Grain.DAY, 0) if pod is not None else other))
    if other.kind == "dom" and other.latent:
        return ex.Intersect(unlatent(other), unlatent(time))  # "the 15 at 11am"
    if isinstance(other, ex.Shift) and other.anchor is None and other.duration.unit >= Grain.DAY:
        return ex.Intersect(_day_of(other), unlatent(time))  # "3 days from now at 9"
    pod, day = pod_parts(other)
    if pod is not None:
        time = _rebuild_ampm(time, pod.name)
        return time if day is None else ex.Intersect(day, time)
    if other.latent or other.kind not in _DATEISH:
        return None
    if isinstance(other, ex.Shift):
        return _from_anchor(time, other)
    if isinstance(other, Interval | Open | Until):
        return None
    return ex.Intersect(other, unlatent(time))


def _day_of(x: Expr) -> Expr:
    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(x, ctx)
        return None if span is None else ex.day_span(span.start.date())

    return ex.Derived(fn, Grain.DAY, "date")


def _latent_pair(a: Expr, b: Expr) -> Expr | None:
    # "morning of the 15th": a latent part of the day names the hours of a date.
    pod_a, day_a = pod_parts(a)
    pod_b, day_b = pod_parts(b)
    if pod_a is not None and day_a is None and b.kind in _DATEISH and not b.latent:
        return ex.Intersect(b, pod_a)
    if pod_b is not None and day_b is None and a.kind in _DATEISH and not a.latent:
        return ex.Intersect(a, pod_b)
    if isinstance(a, ex.Yearly) and a.kind == "month" and b.kind == "year":
        return ex.Intersect(a, unlatent(b))
    if a.kind in {"holiday", "date", "dow"} and not a.latent and b.kind == "year":
        return ex.Intersect(a, unlatent(b))
    if {a.kind, b.kind} == {"dow", "dom"}:
        return ex.Intersect(unlatent(a), unlatent(b))
    for dom, pod in ((a, pod_b), (b, pod_a)):
        if isinstance(dom, OrdinalDay) and pod is not None:
            return ex.Intersect(unlatent(dom), pod)  # "21st in the morning"
    return None


def _interval_with(a: Expr, b: Expr) -> Expr | None:
    inner, day = (a, b) if isinstance(a, Interval) else (b, a)
    if not isinstance(inner, Interval) or day.kind not in _DATEISH or day.latent:
        return None
    return Interval(ex.Intersect(day, inner.a), ex.Intersect(day, inner.b))


# ---------------------------------------------------------------- rule helpers
def time_of_day(
    hour: int, minute: int | None = None, second: int | None = None, *, ampm: str | None = None,
    ambiguous: bool = True, grain: Grain | None = None,
) -> ex.TimeOfDay | None:  # fmt: skip
    if hour > 24 or (minute is not None and minute > 59) or (second is not None and second > 59):
        return None
    if ampm is not None:
        if not 1 <= hour <= 12 and not (hour == 0 and ampm == "a"):
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
        ambiguous = False
    return ex.TimeOfDay(hour, minute, second, ambiguous=ambiguous, explicit_grain=grain)


def _date(p: Parser, month: int, day: int | None = None, year: int | None = None) -> Expr | None:
    if not 1 <= month <= 12:
        return None
    if day is not None and not 1 <= day <= 31:
        return None
    if day is not None and day > tm.last_day_of_month(year or 2000, month):
        return None
    base: Expr = ex.month_of(month) if day is None else ex.month_day(month, day)
    if year is not None:
        return ex.Intersect(base, ex.Year(year))
    return base


def _numeric_date(p: Parser, first: int, second: int, year: int | None) -> Expr | None:
    month, day = (second, first) if p.day_first else (first, second)
    if month > 12 and day <= 12:
        month, day = day, month
    return _date(p, month, day, year)


# ---------------------------------------------------------------- builders
def b_now(m: re.Match[str], p: Parser) -> Expr:
    return ex.Now()


def b_cycle(unit: Grain, offset: int) -> Builder:
    return lambda m, p: ex.Cycle(unit, offset)


def b_dow(m: re.Match[str], p: Parser) -> Expr:
    return ex.DayOfWeek(weekday_number(m["d"]))


def b_clock_ampm(m: re.Match[str], p: Parser) -> Expr | None:
    g = m.groupdict()
    if g.get("hm"):
        digits = g["hm"]
        hour, minute_or_none = int(digits[:-2]), int(digits[-2:])
        minute: int | None = minute_or_none
    else:
        hour = int(g["h"]) if g["h"][0].isdigit() else NUMBER_WORDS[g["h"]]
        minute = int(g["mi"]) if g.get("mi") else None
    second = int(g["s"]) if g.get("s") else None
    t = time_of_day(hour, minute, second, ampm=g["ap"])
    if t is not None and minute is None and not g.get("m_") and not g.get("oclock"):
        return latent(t)  # "4a" alone is not a time; "at 4a" is
    return t


def b_clock(m: re.Match[str], p: Parser) -> Expr | None:
    hour, minute = int(m["h"]), int(m["mi"])
    second = int(m["s"]) if m["s"] else None
    if len(m["h"]) == 2 and m["h"].startswith("0") and hour:  # "07:00" is the 24-hour clock
        return time_of_day(hour, minute, second, ambiguous=False)
    return time_of_day(hour, minute, second)


def b_clock_h(m: re.Match[str], p: Parser) -> Expr | None:
    minute = int(m["mi"]) if m["mi"] else 0
    return time_of_day(int(m["h"]), minute, ambiguous=False, grain=Grain.MINUTE)


def b_bare_hour(m: re.Match[str], p: Parser) -> Expr | None:
    t = time_of_day(int(m["h"]))
    return latent(t) if t is not None else None


def b_hhmm(m: re.Match[str], p: Parser) -> Expr | None:
    digits = m["hm"]
    # Four digits are a 24-hour clock ("1215" is 12:15, never 00:15); three may be 12-hour.
    t = time_of_day(int(digits[:-2]), int(digits[-2:]), ambiguous=len(digits) < 4)
    return latent(t) if t is not None else None


def b_hhmm_exact(m: re.Match[str], p: Parser) -> Expr | None:
    digits = m["hm"]
    return time_of_day(int(digits[:-2]), int(digits[-2:]), ambiguous=len(digits) < 4)


# Words after which a dotted or four-digit number is a clock time, not a date or a year.
_CLOCK_CUES = r"at|@|about|around|approx\.?|approximately|ca\.?|circa|by|from|until|till"


def b_dot(m: re.Match[str], p: Parser) -> Expr | None:
    """`A.BB`: a time when BB cannot be a month (00, 13-59), when a word such as "at" or a
    trailing "h" says so; otherwise the day-month (or month-day) date it spells."""
    hour, minute = int(m["h"]), int(m["mi"])
    if not (m["w"] or m["suffix"] or minute == 0 or minute > 12):
        date = _numeric_date(p, hour, minute, None)
        if date is not None and hour <= 23:
            # kept for a weekday that no such date falls on: "13.05 on Tuesday"
            reading = time_of_day(hour, minute, ambiguous=not m["h"].startswith("0"))
            date.clock_reading = reading  # type: ignore[attr-defined]
        return date
    if hour > 23 or minute > 59:
        return None
    # "07.30" and "19.35" are 24-hour; "4.30" may be either, as "4:30" may.
    return time_of_day(hour, minute, ambiguous=not m["h"].startswith("0"))


def b_spaced_clock(m: re.Match[str], p: Parser) -> Expr | None:
    t = time_of_day(int(m["h"]), int(m["mi"]))
    return latent(t) if t is not None else None


def b_word_clock(m: re.Match[str], p: Parser) -> Expr | None:
    hour = NUMBER_WORDS[m["h"]]
    minute = None
    if m["mi"]:
        words = re.sub(r"^(?:oh|o|zero|ou)[ -]", "", m["mi"])
        minute = NUMBER_WORDS.get(words)
        if minute is None:
            return None
    t = time_of_day(hour, minute, ampm=m["ap"])
    if t is not None and m["ap"] is None:
        return latent(t)
    return t


def b_half_hour(m: re.Match[str], p: Parser) -> Expr | None:
    hour = NUMBER_WORDS.get(m["h"]) if not m["h"].isdigit() else int(m["h"])
    return time_of_day(hour, 30) if hour is not None else None


def b_relative_clock(m: re.Match[str], p: Parser) -> Expr | None:
    spec = m["n"]
    minutes = {"quarter": 15, "a quarter": 15, "half": 30}.get(spec)
    if minutes is None:
        value = number(spec)
        if value is None or value != int(value) or not 0 < value < 60:
            return None
        minutes = int(value)
    anchor = p.parse(m["t"])
    if not isinstance(anchor, ex.TimeOfDay) or anchor.minute not in {None, 0}:
        return None
    sign = -1 if m["dir"] in {"to", "till", "before", "of"} else 1
    total = anchor.hour * 60 + sign * minutes
    hour, minute = divmod(total % (24 * 60), 60)
    return ex.TimeOfDay(hour, minute, ambiguous=anchor.ambiguous)


def b_noon(hour: int) -> Builder:
    return lambda m, p: Midnight() if hour == 0 else ex.TimeOfDay(hour, ambiguous=False)


class Midnight(ex.TimeOfDay):
    """The word "midnight": after a day ("friday at midnight") it ends that day."""

    def __init__(self) -> None:
        super().__init__(0, ambiguous=False)


def _end_of(day: Expr) -> Expr:
    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(day, ctx)
        return None if span is None else ex.unit_span(span.end, Grain.MINUTE)

    return ex.Derived(fn, Grain.MINUTE, "date")


def b_pod(name: str, start: int, end: int, *, is_latent: bool) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr:
        pod = ex.DailyRange(name, start, end)
        return latent(pod) if is_latent else pod

    return build


def b_pod_today(name: str, start: int, end: int, offset: int = 0) -> Builder:
    return lambda m, p: ex.Intersect(ex.Cycle(Grain.DAY, offset), ex.DailyRange(name, start, end))


def b_month_day(m: re.Match[str], p: Parser) -> Expr | None:
    day = ordinal(m["d"])
    if day is None:
        return None
    if m["y"] and len(m["y"]) == 4 and _CLOCK_DIGITS.fullmatch(m["y"]):
        date = _date(p, month_number(m["mon"]), day)
        return None if date is None else year_or_clock(date, int(m["y"]))
    year = year_value(m["y"]) if m["y"] else None
    return _date(p, month_number(m["mon"]), day, year)


_CLOCK_DIGITS = re.compile(r"(?:[01]\d|2[0-3])[0-5]\d")


class AmbiguousYear(ex.Year):
    """Four digits that may be a year or a 24-hour time ("5 Feb 1940", "12 nov 1945");
    beside a date, the reference decides (see `year_or_clock`)."""


def year_or_clock(date: Expr, value: int) -> Expr:
    """`date` in the year `value` when that year is near the reference (from the year
    before to five years on), else `date` at the clock time `value` spells."""
    as_year = ex.Intersect(date, ex.Year(value))
    clock = time_of_day(value // 100, value % 100, ambiguous=False)
    as_time = ex.Intersect(date, clock) if clock is not None else None

    def fn(ctx: Ctx) -> Span | None:
        near = ctx.ref.year - 1 <= value <= ctx.ref.year + 5
        if as_time is None or near or not ctx.business:  # Duckling reads a year
            return ex.first(as_year, ctx)
        return ex.first(as_time, ctx)

    return ex.Derived(fn, date.grain, "date")


def b_month(m: re.Match[str], p: Parser) -> Expr | None:
    month = month_number(m["mon"])
    year = year_value(m["y"], two_digit=False) if m["y"] else None
    result = _date(p, month, None, year)
    if result is not None and year is None and m["mon"].rstrip(".") == "may":
        return latent(result)  # "may" is mostly a verb
    return result


def b_numeric_date(m: re.Match[str], p: Parser) -> Expr | None:
    year = year_value(m["y"]) if m["y"] else None
    return _numeric_date(p, int(m["a"]), int(m["b"]), year)


def b_iso_date(m: re.Match[str], p: Parser) -> Expr | None:
    return _date(p, int(m["m"]), int(m["d"]), int(m["y"]))


def b_year_month(m: re.Match[str], p: Parser) -> Expr | None:
    return _date(p, int(m["m"]), None, int(m["y"]))


def b_dom(m: re.Match[str], p: Parser) -> Expr | None:
    day = ordinal(m["d"])
    return ex.DayOfMonth(day) if day is not None and 1 <= day <= 31 else None


class OrdinalDay(ex.DayOfMonth):
    """ "21st": a day of the month by its ordinal suffix, which a bare "21" is not."""


def b_dom_latent(m: re.Match[str], p: Parser) -> Expr | None:
    result = b_dom(m, p)
    if isinstance(result, ex.DayOfMonth) and not m["d"].isdigit():
        result = OrdinalDay(result.day)
    return latent(result) if result is not None else None


def b_year(m: re.Match[str], p: Parser) -> Expr | None:
    value = int(m["y"])
    if m["era"] and m["era"].startswith("b"):
        return None  # years before year 1 are out of datetime's range
    year = ex.Year(value)
    if not m["era"] and _CLOCK_DIGITS.fullmatch(m["y"]):
        year = AmbiguousYear(value)
    return year if m["era"] else latent(year)


def b_year_words(m: re.Match[str], p: Parser) -> Expr:
    return latent(ex.Year(2000 + (NUMBER_WORDS[m["rest"]] if m["rest"] else 0)))


def b_ides(m: re.Match[str], p: Parser) -> Expr:
    month = month_number(m["mon"])
    return ex.month_day(month, 15 if month in {3, 5, 7, 10} else 13)


def b_quarter(m: re.Match[str], p: Parser) -> Expr | None:
    q = ordinal(m["q"])
    if q is None or not 1 <= q <= 4:
        return None
    base: Expr = ex.quarter_of(q)
    if m["y"]:
        base = ex.Intersect(base, ex.Year(year_value(m["y"]) or 0))
    return base


def b_in_duration(m: re.Match[str], p: Parser) -> Expr | None:
    duration = parse_duration(m["d"])
    if duration is None:
        bare = number(m["d"])
        if bare is None or bare != int(bare) or m["d"] in NUMBER_WORDS or not 0 < bare < 1000:
            return None
        duration = Duration(int(bare), Grain.MINUTE)  # "in 15" means minutes
    return ex.Shift(duration)


def b_duration_ago(sign: int) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr | None:
        duration = parse_duration(m["d"])
        return None if duration is None else ex.Shift(duration, sign)

    return build


def b_duration_from_now(m: re.Match[str], p: Parser) -> Expr | None:
    duration = parse_duration(m["d"])
    if duration is None:
        return None
    grain = Grain.SECOND if "right" in m["w"] else None
    return ex.Shift(duration, 1, grain=grain)


def b_duration_from(sign: int) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr | None:
        if m["x"].startswith(("now ", "today ")):
            return None  # "3 days from now at 9": the time is said of the day it lands on
        duration = parse_duration(m["d"])
        anchor = p.parse(m["x"])
        if anchor is None and m["x"].startswith("the "):
            # "15 mins before the 3pm (call)" is "15 mins before 3pm"
            return p.parse(m.string[: m.start("x")] + m["x"][4:])
        if duration is None or anchor is None or anchor.latent:
            return None
        return ex.Shift(duration, sign, anchor=anchor)

    return build


_MAX_BUSINESS_DAYS = 1000  # four years of working days


def b_business_days(m: re.Match[str], p: Parser) -> Expr | None:
    n = number(m["n"])
    if n is None or n != int(n) or n > _MAX_BUSINESS_DAYS:
        return None  # counted day by day, so a silly count would cost seconds
    sign = -1 if m["w"] == "ago" else 1
    count = int(n) * sign

    def fn(ctx: Ctx) -> Span:
        day = business_shift(ctx.ref.date(), count, ctx.locale, ctx.zone_name)
        return ex.day_span(day)

    return ex.Derived(fn, Grain.DAY, "date")


def b_nth_from_now(m: re.Match[str], p: Parser) -> Expr | None:
    n = number(m["n"])
    x = p.parse(m["x"])
    if n is None or x is None or x.kind not in {"dow", "holiday", "month"}:
        return None
    count = int(n)
    if m["w"] in {"ago", "back"}:
        return ex.Derived(lambda ctx: ex.nth_past(x, ctx, count), x.grain, "date")
    return ex.Derived(lambda ctx: ex.nth_future(x, ctx, count), x.grain, "date")


def _unit_word(text: str) -> Grain | None:
    return {"wk": Grain.WEEK, "wkend": None}.get(text, UNITS.get(text))


def b_relative(m: re.Match[str], p: Parser) -> Expr | None:
    which = m["w"]
    direction = 0 if re.fullmatch(THIS, which) else (1 if re.fullmatch(NEXT, which) else -1)
    rest = m["x"]
    unit = UNITS.get(rest)
    if (unit is not None and unit >= Grain.DAY) or rest in {"hour", "minute", "second"}:
        return ex.Cycle(unit or Grain.HOUR, direction) if unit else None
    if rest in {"season", "seasons"}:
        return _season_cycle(direction)
    counted = re.fullmatch(rf"(?P<n>{NUM}) (?P<u>{UNIT})", rest)
    if counted:
        n, u = number(counted["n"]), unit_grain(counted["u"])
        if n is None or u is None or n != int(n):
            return None
        if direction == 0:
            return None
        return Range(int(n), u, direction)
    x = p.parse(rest)
    if x is None:
        return None
    return relative_to(x, direction, which)


def relative_to(x: Expr, direction: int, which: str = "") -> Expr | None:
    if isinstance(x, ex.Cycle | ex.Shift | Interval | Open | Until | ex.Now):
        return None
    if x.latent and x.kind != "pod":
        return None  # "this one" is not a time
    pod, day = pod_parts(x)
    if pod is not None:
        base = day if day is not None else ex.Cycle(Grain.DAY, direction)
        if day is not None:
            return relative_to(day, direction, which) and ex.Intersect(
                relative_to(day, direction, which) or day, pod
            )
        return ex.Intersect(base, pod)
    if isinstance(x, ex.DayOfWeek) and direction > 0 and which.startswith("next"):
        return ex.Intersect(ex.Cycle(Grain.WEEK, 1), x)
    if direction == 0:
        return ex.Derived(lambda ctx: next(x.future(ctx), None), x.grain, x.kind)
    if direction > 0:
        return ex.Derived(lambda ctx: ex.nth_future(x, ctx, 1), x.grain, x.kind)
    return ex.Derived(lambda ctx: ex.nth_past(x, ctx, 1), x.grain, x.kind)


def _season_cycle(direction: int) -> Expr:
    seasons = Season(None)

    def fn(ctx: Ctx) -> Span | None:
        current = next(seasons.future(ctx), None)
        if current is None or direction == 0:
            return current
        if direction > 0:
            return ex.nth_future(seasons, ctx, 1)
        return next(seasons.past(ctx), None)

    return ex.Derived(fn, Grain.DAY, "season")


def b_after_next(m: re.Match[str], p: Parser) -> Expr | None:
    x = p.parse(m["x"])
    if x is None or x.kind not in {"dow", "month", "holiday", "date", "weekend", "quarter"}:
        return None
    kind = "weekend" if x.kind == "weekend" else "date"  # a weekend is still one
    if m["w"] == "next":
        return ex.Derived(lambda ctx: ex.nth_future(x, ctx, 2), x.grain, kind)
    return ex.Derived(lambda ctx: ex.nth_past(x, ctx, 2), x.grain, "date")


def b_unit_after_next(m: re.Match[str], p: Parser) -> Expr:
    return ex.Cycle(UNITS[m["u"]], 2)  # "the week after next"


def b_upcoming_n(m: re.Match[str], p: Parser) -> Expr | None:
    n, u = number(m["n"]), unit_grain(m["u"])
    if n is None or u is None or n != int(n):
        return None
    return ex.Cycle(u, int(n))


_NEW_YEAR = {"the new year", "new year"}
_WORKING_DAY = re.compile(r"(?:working|business|work) ?days?")


class BusinessDays(ex.Every):
    """Every working day where the sender is: weekends and public holidays left out."""

    def __init__(self) -> None:
        super().__init__(Grain.DAY)

    def future(self, ctx: Ctx) -> Iterator[Span]:
        return (span for span in super().future(ctx) if _working(span.start.date(), ctx))

    def past(self, ctx: Ctx) -> Iterator[Span]:
        return (span for span in super().past(ctx) if _working(span.start.date(), ctx))


def _working(day: date, ctx: Ctx) -> bool:
    """A working day where the sender is: not a weekend, not their public holiday."""
    return is_business_day(day, ctx.locale, ctx.zone_name)


def b_nth_of(m: re.Match[str], p: Parser) -> Expr | None:
    # "the first working day of the new year": of next year, not of New Year's Day
    within = ex.Cycle(Grain.YEAR, 1) if m["y"] in _NEW_YEAR else p.parse(m["y"])
    if within is None or (within.latent and within.kind not in {"year", "month"}):
        return None
    item_text = m["x"]
    unit = {"wkend": None, "weekend": None, "week-end": None, "week end": None}.get(
        item_text, UNITS.get(item_text)
    )
    item: Expr | None = ex.Every(unit) if unit is not None else p.parse(item_text)
    if _WORKING_DAY.fullmatch(item_text):
        item = BusinessDays()  # "the first working day of next month"
    if item is None:
        return None
    if m["last"]:
        n = -(ordinal(m["o"]) or 1) if m["o"] else -1
    elif m["o"]:
        n = ordinal(m["o"]) or 0
    else:
        return None
    if n == 0:
        return None
    return ex.NthWithin(item, within, n)


def b_closest(m: re.Match[str], p: Parser) -> Expr | None:
    x, anchor = p.parse(m["x"]), p.parse(m["y"])
    n = ordinal(m["o"]) if m["o"] else 1
    if x is None or anchor is None or n is None:
        return None
    count = n

    def fn(ctx: Ctx) -> Span | None:
        target = ex.first(anchor, ctx)
        return None if target is None else ex.closest(x, target, ctx, count)

    return ex.Derived(fn, x.grain, "date")


def b_nth_after(m: re.Match[str], p: Parser) -> Expr | None:
    x, anchor = p.parse(m["x"]), p.parse(m["y"])
    n = ordinal(m["o"])
    if x is None or anchor is None or n is None or (anchor.latent and anchor.kind != "year"):
        return None
    count = n

    def fn(ctx: Ctx) -> Span | None:
        target = ex.first(anchor, ctx)
        if target is None:
            return None
        after = (s for s in x.future(ctx.at(target.end)) if s.start >= target.end)
        return next(islice(after, count - 1, None), None)

    return ex.Derived(fn, x.grain, "date")


def b_dom_of(m: re.Match[str], p: Parser) -> Expr | None:
    day = ordinal(m["d"])
    within = p.parse(m["y"])
    if day is None or within is None:
        return None
    if isinstance(within, ex.Intersect) and within.fine.kind in {"time", "pod"}:
        dated = within.coarse  # "the 3rd of april 9ish"
        if dated.grain == Grain.MONTH:
            return ex.Intersect(ex.Intersect(dated, ex.DayOfMonth(day)), within.fine)
    if within.grain != Grain.MONTH:
        return None
    return ex.Intersect(within, ex.DayOfMonth(day))


def b_possessive(m: re.Match[str], p: Parser) -> Expr | None:
    at = m.start("x")
    if any(n.start() < at < n.end() for n in _HOLIDAY_NAME.finditer(m.group(0))):
        return None  # "new year's eve" is a name, not new year's evening
    a, b = p.parse(m["y"]), p.parse(m["x"])
    if a is None or b is None:
        return None
    return ex.Intersect(a, b)


def b_edge(part: str | None = None, unit: Grain | None = None) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr | None:
        which = part or {"beginning": "begin", "start": "begin", "eo": "end", "bo": "begin"}.get(
            m["p"], m["p"]
        )
        named = UNITS.get(m["x"]) if m.re.groupindex.get("x") else None
        if unit is not None or (named is not None and named >= Grain.WEEK):
            x: Expr | None = ex.Cycle(unit or named or Grain.DAY, 0)
        else:
            x = p.parse(m["x"])
        if x is None or (x.latent and x.kind not in {"year", "month"}) or x.grain < Grain.WEEK:
            return None
        return Edge(unlatent(x), which)

    return build


_RANGE_WORD = re.compile(
    r"\s*(?:-|/|\bto\b|\btill\b|\btil\b|\buntill?\b|\bthru\b|\bthrough\b|\band\b)\s*"
)


def b_interval(m: re.Match[str], p: Parser) -> Expr | None:
    """Try every range word as the split point: "2015-03-28/2015-03-29" has several dashes."""
    text = m["x"]
    if text.startswith(("at ", "@ ")):
        return None  # "at 5 to 6" is one time: five to six
    dates = [(d.start(), d.end()) for d in _WHOLE_DATE.finditer(text)]
    for sep in _RANGE_WORD.finditer(text):
        left, right = text[: sep.start()], text[sep.end() :]
        if not left or not right or _joins_a_date(text, sep):
            continue
        if any(start < sep.start() < end for start, end in dates):
            continue  # "on 2025-12-25", "on 3/11/2025": one date, not a range
        a = p.parse(left)
        if a is None:
            continue
        b = p.parse(right)
        if b is None:
            continue
        result = make_interval(a, b, p)
        if result is not None:
            return result
    return None


_WHOLE_DATE = re.compile(
    r"(?<![\d/.-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2}))(?![\d/-])"
)
# The right end of "3-5pm" or "9:30-11": a clock time, so the dash is a range.
_RANGE_END_TIME = re.compile(r"\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\b|h\b)|\d{1,2}:")


def _joins_a_date(text: str, sep: re.Match[str]) -> bool:
    """ "23/04 morning", "12/9 afternoon": a slash or dash between digits is a date's."""
    if sep.group().strip() not in {"/", "-"} or sep.group() != sep.group().strip():
        return False
    left, right = text[: sep.start()].split(" "), text[sep.end() :].split(" ")
    if not (left[-1].isdigit() and right[0].isdigit()):
        return False
    if len(left) > 1 and re.fullmatch(MONTH, left[-2]):
        return False  # "july 13-15"
    if len(right) > 1 and re.fullmatch(MONTH, right[1]):
        return False  # "1-8 september" is a range of days
    return not _RANGE_END_TIME.match(text, sep.end())


def b_interval_pair(m: re.Match[str], p: Parser) -> Expr | None:
    a, b = p.parse(m["a"]), p.parse(m["b"])
    if a is None or b is None:
        return None
    return make_interval(a, b, p)


def make_interval(a: Expr, b: Expr, p: Parser) -> Expr | None:
    ta, tb = as_time(a), as_time(b)
    if ta is not None and isinstance(b, ex.Intersect) and isinstance(b.fine, ex.TimeOfDay):
        # "from 9:30 until 11:00 on thursday": the day applies to both ends.
        inner = make_interval(ta, b.fine, p)
        return _interval_with(inner, b.coarse) if isinstance(inner, Interval) else None
    if ta is not None and tb is not None:
        # Two bare numbers ("2/15", "3 30") are not a range of times.
        if ta.latent and tb.latent and (ta.ambiguous or tb.ambiguous):
            return None
        if ta.ambiguous and not tb.ambiguous and tb.hour >= 12 and ta.hour % 12 <= tb.hour - 12:
            ta = ta.with_meridiem(pm=True)
        return Interval(unlatent(ta), unlatent(tb))
    # "13 to 15 July", "July 13-15": a bare day takes the month of the other end.
    if ta is not None and ta.minute is None and b.kind == "date":
        a = _same_month(b, ta.hour) or a
    elif tb is not None and tb.minute is None and a.kind == "date":
        b = _same_month(a, tb.hour) or b
    elif isinstance(a, ex.DayOfMonth) and b.kind == "date":
        a = _same_month(b, a.day) or a
    elif isinstance(b, ex.DayOfMonth) and a.kind == "date":
        b = _same_month(a, b.day) or b
    if a.latent or b.latent or as_time(a) or as_time(b):
        return None
    if (a.kind not in _DATEISH and a.kind != "date") or (
        b.kind not in _DATEISH and b.kind != "date"
    ):
        return None
    return Interval(a, b)


def _same_month(dated: Expr, day: int) -> Expr | None:
    def fn(ctx: Ctx) -> Span | None:
        anchor = ex.first(dated, ctx)
        if anchor is None or day > tm.last_day_of_month(anchor.start.year, anchor.start.month):
            return None
        start = anchor.start.replace(day=day, hour=0, minute=0, second=0)
        return Span(start, start + timedelta(days=1), Grain.DAY)

    if not 1 <= day <= 31:
        return None
    return ex.Derived(fn, Grain.DAY, "date")


def b_for_duration(m: re.Match[str], p: Parser) -> Expr | None:
    a, duration = p.parse(m["a"]), parse_duration(m["d"])
    if a is None or duration is None or a.latent:
        return None
    return Interval(a, ex.Shift(duration, anchor=a, grain=min(a.grain, duration.unit)))


def b_open(side: str) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr | None:
        if _AFTER_POD.fullmatch(m.group(0)):
            # "after lunch on Thursday" is Thursday's early afternoon, not a time after
            # Thursday's lunch began: the part of the day and the day join as any two do
            return None
        x = p.parse(m["x"])
        if x is None:
            duration = parse_duration(m["x"]) if side == "after" else None
            if duration is None:
                return None
            return ex.Shift(duration)  # "after 2 weeks" is said for "in 2 weeks"
        if isinstance(x, Interval | Open | Until) or (x.latent and x.kind not in {"year", "time"}):
            return None
        return Open(unlatent(x), side)

    return build


def b_by(m: re.Match[str], p: Parser) -> Expr | None:
    x = p.parse(m["x"])
    if x is None or isinstance(x, Interval | Open | Until) or (x.latent and x.kind != "time"):
        return None
    to_end = isinstance(x, Edge) or x.kind == "eod"
    return Until(unlatent(x), to_end=to_end)


def b_within(m: re.Match[str], p: Parser) -> Expr | None:
    duration = parse_duration(m["d"])
    if duration is None:
        return None
    return Until(ex.Shift(duration, grain=Grain.DAY), to_end=True)


def b_asap(m: re.Match[str], p: Parser) -> Expr:
    return Open(ex.Now(), "after")


def b_prefixed(m: re.Match[str], p: Parser) -> Expr | None:
    text = m.group(0)
    for prefix in _PREFIX_LIST:
        if text.startswith(prefix + " "):
            x = p.parse(text[len(prefix) + 1 :])
            if x is not None:
                return _after_prefix(prefix, x)
    return None


def _after_prefix(word: str, x: Expr) -> Expr:
    if x.latent and (
        (x.kind == "time" and word in _TIME_PREFIXES)
        or (x.kind == "year" and word in {"in", "during", "of", "for"})
        or (x.kind == "pod" and word in {"in the", "during the", "this"})
        or (x.kind == "dom" and word in {"on", "on the"})
    ):
        return unlatent(x)
    return x


_TIME_PREFIXES = {
    "at",
    "@",
    "around",
    "about",
    "approximately",
    "approx",
    "at about",
    "at around",
    "by",
    "for",
    "till",
    "from",
    "tonight at",
}


def b_suffixed(m: re.Match[str], p: Parser) -> Expr | None:
    return p.parse(m["x"])


def b_zone(m: re.Match[str], p: Parser) -> Expr | None:
    x = p.parse(m["x"])
    zone: int | str = REGION_ZONES.get(m["z"]) or ZONES[m["z"]]
    return _with_zone(x, zone) if x is not None else None


def _with_zone(x: Expr, zone: int | str) -> Expr | None:
    if isinstance(x, ex.TimeOfDay):
        clone = copy.copy(x)
        if isinstance(zone, str):
            clone.zone = zone
        else:
            clone.tz_offset = zone
        clone.latent = False
        clone.ambiguous = False  # with a zone, times read as 24-hour clock
        return clone
    if isinstance(x, Interval):
        a, b = _with_zone(x.a, zone), _with_zone(x.b, zone)
        return Interval(a, b) if a is not None and b is not None else None
    if isinstance(x, ex.Intersect):
        fine = _with_zone(x.fine, zone)
        return ex.Intersect(x.coarse, fine) if fine is not None else None
    return None


def b_holiday(m: re.Match[str], p: Parser) -> Expr | None:
    return holiday_expr(HOLIDAY_ALIASES[m["h"]])


def b_eod(m: re.Match[str], p: Parser) -> Expr:
    return ex.Derived(lambda ctx: ex.Cycle(Grain.DAY, 0).span(ctx), Grain.DAY, "eod")


def b_rest_of(unit: Grain) -> Builder:
    def build(m: re.Match[str], p: Parser) -> Expr:
        def fn(ctx: Ctx) -> Span:
            today = tm.round_down(ctx.ref, Grain.DAY)
            end = tm.add(tm.round_down(ctx.ref, unit), unit, 1)
            # Duckling ends "the week" before Sunday; keep its boundary.
            if unit == Grain.WEEK:
                end -= timedelta(days=1)
            return Span(today, end, Grain.DAY)

        return ex.Derived(fn, Grain.DAY, "interval")

    return build


def b_all_week(m: re.Match[str], p: Parser) -> Expr:
    def fn(ctx: Ctx) -> Span:
        start = tm.round_down(ctx.ref, Grain.WEEK)
        return Span(start, start + timedelta(days=6), Grain.DAY)

    return ex.Derived(fn, Grain.DAY, "interval")


def b_week_of(m: re.Match[str], p: Parser) -> Expr | None:
    x = p.parse(m["x"])
    if x is None or x.grain != Grain.DAY:
        return None

    def fn(ctx: Ctx) -> Span | None:
        day = ex.first(x, ctx)
        if day is None:
            return None
        # A Sunday belongs to the week that follows it (the US week).
        start = day.start + timedelta(days=1) if day.start.weekday() == 6 else day.start
        return ex.unit_span(tm.round_down(start, Grain.WEEK), Grain.WEEK)

    return ex.Derived(fn, Grain.WEEK, "date")


def _beside(x: Expr, after: bool, accept: Callable[[date, Ctx], bool]) -> Expr:
    """The first day after (or last before) the day or days `x` names that `accept`s."""

    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(x, ctx)
        if span is None:
            return None
        step = timedelta(days=1 if after else -1)
        day = (span.end - timedelta(microseconds=1)).date() if after else span.start.date()
        for _ in range(31):
            day += step
            if accept(day, ctx):
                return ex.day_span(day)
        return None

    return ex.Derived(fn, Grain.DAY, "date")


def b_week_on(m: re.Match[str], p: Parser) -> Expr | None:
    """ "a week on Tuesday", "Tuesday week", "3 weeks tomorrow": weeks after the day named."""
    x = p.parse(m["x"])
    n = number(m["n"]) if m.groupdict().get("n") else 1
    if x is None or x.latent or x.grain != Grain.DAY or n is None or n != int(n):
        return None
    if not 0 < n <= 52:
        return None
    days = int(n) * (14 if m["u"].startswith("fortnight") else 7)

    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(x, ctx)
        return None if span is None else ex.day_span(span.start.date() + timedelta(days=days))

    return ex.Derived(fn, Grain.DAY, "date")


def b_top_of_the_hour(m: re.Match[str], p: Parser) -> Expr:
    """ "at the top of the hour": the next hour on the clock."""

    def fn(ctx: Ctx) -> Span:
        start = ctx.ref.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return Span(start, start + timedelta(minutes=1), Grain.MINUTE)

    return ex.Derived(fn, Grain.MINUTE, "time")


def b_this_time(m: re.Match[str], p: Parser) -> Expr:
    """ "this time next week": now, a day, a week or a month on."""
    which = m["w"] or m["w2"]
    unit = {
        "tomorrow": Grain.DAY,
        "next week": Grain.WEEK,
        "next month": Grain.MONTH,
        "next year": Grain.YEAR,
    }[which]
    return ex.Shift(Duration(1, unit), grain=Grain.MINUTE)


def _named_day(p: Parser, text: str) -> Expr | None:
    x = p.parse(text)
    if x is None or x.latent or x.kind not in _DATEISH or x.grain > Grain.MONTH:
        return None
    return x


def b_day_beside(m: re.Match[str], p: Parser) -> Expr | None:
    x = _named_day(p, m["x"])
    if x is None:
        return None
    weekday = weekday_number(m["d"].rstrip(".")) if m.groupdict().get("d") else None
    return _beside(
        x, m["w"] != "before", lambda day, ctx: weekday is None or day.weekday() == weekday
    )


def b_working_day_beside(m: re.Match[str], p: Parser) -> Expr | None:
    x = _named_day(p, m["x"])
    if x is None:
        return None
    return _beside(x, m["w"] != "before", _working)


def b_next_business_day(m: re.Match[str], p: Parser) -> Expr:
    """The first working day after today where the sender is (weekends and public
    holidays skipped)."""

    def fn(ctx: Ctx) -> Span:
        day = ctx.ref.date() + timedelta(days=1)
        while not _working(day, ctx):
            day += timedelta(days=1)
        return ex.day_span(day)

    return ex.Derived(fn, Grain.DAY, "date")


# The last day of a financial or tax year, by country: (month, day), day 0 the month's last.
_FISCAL_YEAR_END = {
    "financial": {"GB": (3, 31), "AU": (6, 30), "IN": (3, 31), "NZ": (3, 31), "ZA": (2, 0),
                  "CA": (3, 31), "JP": (3, 31), "SG": (3, 31), "HK": (3, 31), "US": (9, 30)},
    "tax": {"GB": (4, 5), "AU": (6, 30), "IN": (3, 31), "NZ": (3, 31), "ZA": (2, 0)},
}  # fmt: skip


def b_fiscal_year(m: re.Match[str], p: Parser) -> Expr:
    """ "the financial year", "next tax year": the sender's country's year of accounts
    (a calendar year where it has no other)."""
    table = _FISCAL_YEAR_END["tax" if "tax" in m.group(0) else "financial"]
    ahead = 1 if m["w"] in {"next", "following", "coming"} else 0

    def fn(ctx: Ctx) -> Span:
        month, day = table.get(country_of(ctx.locale, ctx.zone_name) or "", None) or table.get(
            country_of(ctx.locale) or "", (12, 31)
        )

        def last_day(year: int) -> date:
            return date(year, month, day or tm.last_day_of_month(year, month))

        year = ctx.ref.year if last_day(ctx.ref.year) >= ctx.ref.date() else ctx.ref.year + 1
        end = last_day(year + ahead) + timedelta(days=1)
        start = last_day(year + ahead - 1) + timedelta(days=1)
        return Span(datetime.combine(start, time()), datetime.combine(end, time()), Grain.YEAR)

    return ex.Derived(fn, Grain.YEAR, "year")


def b_weekend(m: re.Match[str], p: Parser) -> Expr:
    return ex.Weekend()


def _days_off(first: date, last: date) -> Span:
    """A weekend made longer, as Duckling spans one: from 18:00 the evening before its first
    day off to the end of its last."""
    start = datetime.combine(first - timedelta(days=1), time(18))
    return Span(start, datetime.combine(last + timedelta(days=1), time()), Grain.HOUR)


def _long_weekend(saturday: date, ctx: Ctx) -> Span:
    friday, monday = saturday - timedelta(days=1), saturday + timedelta(days=2)
    first = saturday if _working(friday, ctx) else friday
    last = saturday + timedelta(days=1) if _working(monday, ctx) else monday
    return _days_off(first, last)


def b_long_weekend(m: re.Match[str], p: Parser) -> Expr:
    """ "after the long weekend": the next weekend a public holiday makes longer."""

    def fn(ctx: Ctx) -> Span | None:
        saturday = ctx.ref.date() + timedelta(days=(5 - ctx.ref.weekday()) % 7)
        if ctx.ref.weekday() == 0:  # said on a Monday: maybe this one
            saturday -= timedelta(days=7)
        for _ in range(60):
            span = _long_weekend(saturday, ctx)
            if span.end - span.start > timedelta(days=3):
                return span
            saturday += timedelta(days=7)
        return None

    return ex.Derived(fn, Grain.HOUR, "weekend")


def b_holiday_weekend(m: re.Match[str], p: Parser) -> Expr | None:
    """ "memorial day weekend": the weekend that the holiday joins."""
    holiday = p.parse(m["h"])
    if holiday is None or holiday.kind != "holiday":
        return None

    def fn(ctx: Ctx) -> Span | None:
        span = ex.first(holiday, ctx)
        if span is None:
            return None
        day = span.start.date()
        saturday = day + timedelta(days=5 - day.weekday())  # the weekend after a weekday
        if day.weekday() in (0, 5, 6):  # a Monday off, or the weekend itself
            saturday = day - timedelta(days=(day.weekday() - 5) % 7)
        return _long_weekend(saturday, ctx)

    return ex.Derived(fn, Grain.HOUR, "weekend")


def b_season(m: re.Match[str], p: Parser) -> Expr:
    name = {"autumn": "fall"}.get(m["s"], m["s"])
    return Season(name)


def b_first_thing(m: re.Match[str], p: Parser) -> Expr | None:
    pod = ex.DailyRange("first_thing", 8, 10)
    if not m["x"]:
        return pod  # "remind me first thing": the next morning's start
    day = p.parse(m["x"])
    if day is None or day.kind not in _DATEISH:
        return None
    return ex.Intersect(day, pod)


# ---------------------------------------------------------------- rules
_HOLIDAY = alternation(HOLIDAY_ALIASES)
_HOLIDAY_NAME = re.compile(rf"(?:^|(?<= ))(?:{_HOLIDAY})(?= |$)")
_PREFIX_LIST = sorted(
    ["at", "@", "around", "about", "approximately", "approx", "at about", "at around", "in", "on",
     "on the", "during", "during the", "for", "of", "in the", "sometime", "some time", "anytime",
     "till", "from", "this", "sometime in", "sometime on", "at the"],
    key=len, reverse=True,
)  # fmt: skip
_PREFIXES = alternation(_PREFIX_LIST)
_POD_WORDS = {
    "morning": ("morning", 0, 12),
    "mornings": ("morning", 0, 12),
    "afternoon": ("afternoon", 12, 19),
    "arvo": ("afternoon", 12, 19),
    "evening": ("evening", 18, 24),
    "eve": ("evening", 18, 24),
    "evo": ("evening", 18, 24),
    "night": ("night", 18, 24),
    "lunch": ("lunch", 12, 14),
    "lunchtime": ("lunch", 12, 14),
    "early morning": ("morning", 0, 9),
    "early in the morning": ("morning", 0, 9),
    "early hours of the morning": ("morning", 0, 9),
    "the early hours of the morning": ("morning", 0, 9),
    "late night": ("late night", 21, 24),
    "late evening": ("late night", 21, 24),
    "am": ("am", 0, 12),
    "a.m.": ("am", 0, 12),
    "pm": ("pm", 12, 24),
    "p.m.": ("pm", 12, 24),
    "after lunch": ("after lunch", 13, 17),
    "post lunch": ("after lunch", 13, 17),
    "post-lunch": ("after lunch", 13, 17),
    "after school": ("after school", 15, 21),
    "after work": ("evening", 17, 21),
    # the parts of the parts: due at their start
    "mid-morning": ("mid-morning", 10, 12),
    "mid morning": ("mid-morning", 10, 12),
    "midmorning": ("mid-morning", 10, 12),
    "late morning": ("late morning", 11, 12),
    "before lunch": ("before lunch", 11, 12),
    "early afternoon": ("early afternoon", 13, 15),
    "mid-afternoon": ("mid-afternoon", 15, 17),
    "mid afternoon": ("mid-afternoon", 15, 17),
    "midafternoon": ("mid-afternoon", 15, 17),
    "late afternoon": ("late afternoon", 16, 18),
    "early evening": ("early evening", 17, 19),
    "after dinner": ("after dinner", 19, 22),
    "after tea": ("after dinner", 19, 22),
}

# A part of the day named by what it follows, then more: "after lunch on Thursday".
_AFTER_POD = re.compile(
    alternation(w for w in _POD_WORDS if w.startswith(("after", "post"))) + r",? .+"
)

RULES: list[tuple[str, Builder]] = [
    # now and the days around it
    (r"(?:right |just )?now|at the moment|atm|at present|presently", b_now),
    (r"today|todays|at this time|this day", b_cycle(Grain.DAY, 0)),
    (TOMORROW_WORDS, b_cycle(Grain.DAY, 1)),
    (r"yesterday|yday", b_cycle(Grain.DAY, -1)),
    (r"(?:the )?day after (?:tomorrow|tmrw)|overmorrow", b_cycle(Grain.DAY, 2)),
    (r"(?:the )?day before yesterday", b_cycle(Grain.DAY, -2)),
    (r"asap|as soon as possible|a\.s\.a\.p", b_asap),
    (
        r"(?:the )?(?:eod|cob|eob|end of (?:the )?(?:business )?day"
        r"|close of (?:the )?business(?: day)?|end of business|(?:close|end) of play|cop|eop)",
        b_eod,
    ),
    # "end of today", "end of tomorrow", "the end of friday": that day's close
    (rf"(?:the )?end of (?P<x>today|tomorrow|{DOW})", lambda m, p: p.parse(f"eod {m['x']}")),
    (rf"(?P<d>{DOW})", b_dow),
    # clock times
    (
        rf"(?P<h>\d{{1,2}}|{HOUR_WORD})(?:[:.](?P<mi>\d{{2}})(?::(?P<s>\d{{2}}))?)?\s*(?P<oclock>o'?clock\s*)?{AMPM}",
        b_clock_ampm,
    ),
    (rf"(?P<hm>\d{{3,4}})\s*{AMPM}", b_clock_ampm),
    (r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?: ?o'?clock)?", b_clock),
    # "14.45", "at 10.05", "16.20h": a dotted time; "21.3", "7.4." a dotted date
    (rf"(?P<w>{_CLOCK_CUES}) (?P<h>\d{{1,2}})\.(?P<mi>[0-5]\d)(?P<suffix> ?h(?:rs?)?)?", b_dot),
    (r"(?P<h>\d{1,2})\.(?P<mi>\d{2})(?P<suffix> ?h(?:rs?)?)?(?P<w>)", b_dot),
    (r"(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.?(?P<y>)", b_numeric_date),
    # "1745", "0930hrs", "at 1600": four digits are a 24-hour time where a year cannot be
    (
        rf"(?P<w>{_CLOCK_CUES}) (?P<hm>(?:[01]?\d|2[0-3])[0-5]\d)(?: ?(?:h|hrs?|hours))?",
        b_hhmm_exact,
    ),
    (r"(?P<hm>(?:[01]\d|2[0-3])[0-5]\d) ?(?:h|hrs?|hours)(?P<w>)", b_hhmm_exact),
    (r"(?P<h>\d{1,2})h(?:(?P<mi>\d{2})|rs?)?", b_clock_h),
    (r"(?P<h>\d{1,2})(?: ?o'?clock)?", b_bare_hour),
    (r"(?P<y>1[5-9]\d\d|20\d\d)(?P<era>)", b_year),
    (r"(?P<hm>(?:[01]?\d|2[0-3])[0-5]\d)", b_hhmm),
    (r"(?P<h>\d{1,2}) (?P<mi>[0-5]\d)", b_spaced_clock),
    (
        rf"(?P<h>{HOUR_WORD})(?:[ -](?P<mi>{MINUTE_WORD}))?(?: o'?clock)?(?:\s*{AMPM})?",
        b_word_clock,
    ),
    (rf"half (?P<h>{HOUR_WORD}|\d{{1,2}})", b_half_hour),
    (
        rf"(?P<n>a quarter|quarter|half|{NUM})(?: minutes?| mins?)? "
        r"(?P<dir>past|after|to|till|before|of|from) (?P<t>.+)",
        b_relative_clock,
    ),
    (r"(?:the )?(?:noon|midday|mid day|mid-day|lunch ?time at noon)", b_noon(12)),
    (r"midnight", b_noon(0)),
    # parts of the day
    (r"tonight|tonite|this evening|today evening|tonight's", b_pod_today("evening", 18, 24)),
    (r"late (?:tonight|tonite|this evening)", b_pod_today("late night", 21, 24)),
    (r"last night|yesterday evening|yesterday night", b_pod_today("evening", 18, 24, -1)),
    (r"late last night", b_pod_today("late night", 21, 24, -1)),
    *[
        (
            re.escape(word) + r"(?:ish)?",
            # one word ("morning") is a time only with more; "mid-morning" is one alone
            b_pod(
                name, start, end, is_latent=word.isalpha() and not word.startswith(("mid", "after"))
            ),
        )
        for word, (name, start, end) in _POD_WORDS.items()
    ],
    (r"first thing(?: in the morning)?(?: (?P<x>.+))?", b_first_thing),
    # "ping me at lunch", "over lunch": the next lunch, said as a time on its own
    (
        r"(?:at|over|during|around) (?:lunch|lunchtime|lunch time)",
        b_pod("lunch", 12, 14, is_latent=False),
    ),
    (r"(?:b4|bfore|b4re) (?P<x>.+)", lambda m, p: p.parse(f"before {m['x']}")),
    # "3 weeks tomorrow", "two weeks on friday": that many weeks after the day named
    (rf"(?P<n>{NUM}) (?P<u>weeks?|fortnights?) (?P<x>today|tomorrow|on \w+day)", b_week_on),
    # numeric dates
    (r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})", b_iso_date),
    (r"(?P<a>\d{1,2})\s*[/.-]\s*(?P<b>\d{1,2})\s*[/.-]\s*(?P<y>\d{4}|\d{2})", b_numeric_date),
    (r"(?P<a>\d{1,2}) (?P<b>\d{1,2}) (?P<y>\d{4})", b_numeric_date),
    (r"(?P<a>\d{1,2})\s*[/-]\s*(?P<b>\d{1,2})(?P<y>)", b_numeric_date),
    (r"(?P<y>\d{4})[-/](?P<m>\d{1,2})", b_year_month),
    (r"(?P<m>\d{1,2})/(?P<y>\d{4})", b_year_month),
    (rf"(?P<d>\d{{1,2}})[/ -](?P<mon>{MONTH})[/ -](?P<y>\d{{4}}|\d{{2}})", b_month_day),
    # named dates
    (rf"(?:the )?ides of (?P<mon>{MONTH})", b_ides),
    (rf"(?P<mon>{MONTH}) ?(?:the )?(?P<d>{DAYNUM})(?:,? (?P<y>\d{{4}}))?", b_month_day),
    (
        rf"(?:the )?(?P<d>{DAYNUM}) ?(?:day )?(?:of )?(?P<mon>{MONTH})"
        r"(?:,? (?P<y>\d{4}|'?\d{2}))?",
        b_month_day,
    ),
    (rf"(?P<mon>{MONTH})(?:,? (?P<y>\d{{4}}))?", b_month),
    (rf"(?:the )(?P<d>{ORD})", b_dom),
    (r"(?:the )?(?P<d>\d{1,2}(?:st|nd|rd|th)?)", b_dom_latent),
    (r"(?P<y>\d{1,4}) ?(?P<era>a\.?d\.?|b\.?c\.?|c\.?e\.?|b\.?c\.?e\.?)", b_year),
    (rf"two thousand(?: and)?(?: (?P<rest>{SMALL_NUMBER}))?", b_year_words),
    (r"(?P<y>\d{4})(?P<era>)", b_year),
    (rf"(?:the )?(?P<q>{ORD}|\d) (?:quarter|qtr)(?: of)?(?: (?P<y>\d{{4}}))?", b_quarter),
    (r"(?P<y>\d{2}|\d{4}) ?q(?P<q>[1-4])", b_quarter),
    (r"q(?P<q>[1-4])(?: (?P<y>\d{4}))?", b_quarter),
    (r"(?:the )?(?:week-?end|week end|wkend|wknd)s?", b_weekend),
    (r"(?:the |this |next )?(?:long|bank holiday) (?:week-?end|week end)", b_long_weekend),
    (rf"(?:the )?(?P<h>{_HOLIDAY}) (?:long )?(?:week-?end|week end)", b_holiday_weekend),
    (
        r"(?:the )?(?:(?P<w>this|current|next|following|coming) )?"
        r"(?:financial|fiscal|tax|fin) year|(?P<fy>fy)",
        b_fiscal_year,
    ),
    (r"(?:the )?eofy", lambda m, p: p.parse("the end of the financial year")),
    (
        r"(?:the )?(?:next|following) (?:working|business|work) ?day"
        r"|(?:the )?(?:first|1st) (?:working|business|work) ?day (?:after|from) (?:today|now)",
        b_next_business_day,
    ),
    (r"the (?P<u>month|year|quarter)", lambda m, p: ex.Cycle(UNITS[m["u"]], 0)),
    # "by month end", "at year-end" (never "week end": that is the weekend)
    (r"(?:the )?(?P<u>month|year|quarter)[- ]end", lambda m, p: p.parse(f"end of the {m['u']}")),
    # "the 1st of the month", "the 15th of every month": the next such day
    (rf"(?:the )?(?P<d>{ORD}) of (?:the|each|every) month", lambda m, p: p.parse(f"the {m['d']}")),
    (r"(?:the )?(?P<u>week|month|year|quarter) after next", b_unit_after_next),
    (r"next to next (?P<u>week|month|year|quarter)", b_unit_after_next),
    (r"(?P<s>summer|winter|spring|fall|autumn)(?:time)?", b_season),
    (rf"(?:the )?(?P<h>{_HOLIDAY})(?:'s)?(?: day)?", b_holiday),
    # "a week on Tuesday", "tuesday week", "this time next week"
    (r"(?:a|one) (?P<u>week|fortnight) (?:on|from|after) (?P<x>.+)", b_week_on),
    (rf"(?P<x>{DOW}|today|tomorrow) (?P<u>week|fortnight)", b_week_on),
    (r"(?:the )?top of the (?:next )?hour", b_top_of_the_hour),
    (r"(?:a|one) (?P<u>week|fortnight) (?P<x>today|tomorrow|on \w+day)", b_week_on),
    (
        r"(?:this|the same|same) time (?P<w>next week|tomorrow|next month|next year)"
        r"|(?P<w2>tomorrow|next week|next month|next year) (?:at )?(?:this|the same|same) time",
        b_this_time,
    ),
    # days counted from a named day: "the day after boxing day", "the Monday after Labor
    # Day", "the first working day after Golden Week"
    (r"(?:the )?day (?P<w>after|before) (?P<x>.+)", b_day_beside),
    (rf"(?:the )?(?P<d>{DOW}) (?P<w>after|before|following) (?P<x>.+)", b_day_beside),
    (
        r"(?:the )?(?:(?:first|next|1st) |last )?(?:working|business|work) ?day "
        r"(?P<w>after|before|following) (?P<x>.+)",
        b_working_day_beside,
    ),
    # durations
    (r"in (?:about |around |roughly |approximately )?(?P<d>.+?)(?: time)?", b_in_duration),
    (
        r"(?P<d>.+?) (?P<w>from now|from right now|hence|later|from today on|out|from here)",
        b_duration_from_now,
    ),
    (r"(?:right )?now ?\+ ?(?P<d>.+?)(?P<w>)", b_duration_from_now),
    (r"(?P<d>.+?) ago", b_duration_ago(-1)),
    (r"(?P<d>.+?) (?:from|after) (?P<x>.+)", b_duration_from(1)),
    (r"(?P<d>.+?) before (?P<x>.+)", b_duration_from(-1)),
    (
        rf"(?:in )?(?P<n>{NUM}) (?:business|working|work) days?(?: (?P<w>from now|time|ago))?",
        b_business_days,
    ),
    (rf"(?P<n>{NUM}) (?P<x>.+?)s? (?P<w>from now|from today|hence|ago|back)", b_nth_from_now),
    (rf"upcoming (?P<n>{NUM}) (?P<u>{UNIT})", b_upcoming_n),
    (rf"(?P<n>{NUM}) upcoming (?P<u>{UNIT})", b_upcoming_n),
    (r"within (?:the next )?(?P<d>.+)", b_within),
    # relative words
    (r"(?P<x>.+) after (?P<w>next)", b_after_next),
    (r"(?P<w>next) to next (?P<x>.+)", b_after_next),  # Indian English: "next to next monday"
    (r"(?P<x>.+) before (?P<w>last)", b_after_next),
    (rf"(?:the )?(?:(?P<o>{ORD}) )?(?P<last>last )?(?P<x>.+?) (?:of|in) (?P<y>.+)", b_nth_of),
    (rf"(?P<w>{THIS} past|{THIS}|{NEXT}|{LAST}) (?P<x>.+)", b_relative),
    (rf"(?:the )?(?P<o>{ORD})? ?closest (?P<x>.+?) to (?P<y>.+)", b_closest),
    (rf"(?:the )?(?P<o>{ORD}) (?P<x>.+?) after (?P<y>.+)", b_nth_after),
    (rf"(?:the )?(?P<d>{DAYNUM}) (?:day )?of (?:the )?(?P<y>.+)", b_dom_of),
    (r"(?P<y>.+?)'s (?P<x>.+)", b_possessive),
    (r"(?:the )?(?:week|wk) of (?P<x>.+)", b_week_of),
    (r"(?:the )?rest of (?:the |this )?week", b_rest_of(Grain.WEEK)),
    (r"(?:all|the whole|the entire) week", b_all_week),
    # edges of units
    (r"(?:at )?(?:the )?(?P<p>beginning|start|end) of (?:the )?(?P<x>.+)", b_edge()),
    (r"(?P<p>early|mid|late|mid-) ?(?P<x>.+)", b_edge()),
    (r"(?:at )?(?:the )?(?P<p>eo|bo)m", b_edge(unit=Grain.MONTH)),
    (r"(?:at )?(?:the )?(?P<p>eo|bo)y", b_edge(unit=Grain.YEAR)),
    (r"(?:at )?(?:the )?(?P<p>eo|bo)w", b_edge(unit=Grain.WEEK)),
    (r"(?:at )?(?:the )?(?P<p>eo|bo)q", b_edge(unit=Grain.QUARTER)),
    # intervals (a zone after an interval applies to both ends)
    (rf"(?P<x>.+?)\s*\(?(?P<z>{ZONE})\)?", b_zone),
    (r"(?:later than|after) (?P<a>.+?) but before (?P<b>.+)", b_interval_pair),
    (
        r"(?:from |between |in between )?"
        r"(?P<x>.+(?:-|/| to | till | til | untill? | thru | through | and ).+)",
        b_interval,
    ),
    (r"(?:from )?(?P<a>.+?) for (?P<d>.+)", b_for_duration),
    (r"for (?P<d>.+?) (?:from|starting from|starting at|starting) (?P<a>.+)", b_for_duration),
    (
        r"(?:anytime |any time |sometimes? )?"
        r"(?:after|since|from|starting|starting from|later than|no earlier than) (?P<x>.+)",
        b_open("after"),
    ),
    (
        r"(?:anytime |any time |sometimes? )?"
        r"(?:before|until|till|til|untill|through|thru|no later than|prior to|up to|up until"
        r"|ahead of|in advance of|in the run-up to|in the run up to)"
        r" (?P<x>.+)",
        b_open("before"),
    ),
    (r"by (?:the )?(?P<x>.+)", b_by),
    # zones, prefixes and suffixes
    (rf"(?P<w>{_PREFIXES}) (?P<x>.+)", b_prefixed),
    (
        r"(?P<x>.+?) ?(?:ish|approximately|or so|sharp|exactly|at the latest|latest|tops)",
        b_suffixed,
    ),
]


_PARSERS = {True: Parser(day_first=True), False: Parser(day_first=False)}


def parser_for(locale: str) -> Parser:
    return _PARSERS[is_day_first(locale)]


_SPACES = re.compile(r"\s+")
# Typographic quotes and dashes become ASCII so the rules only spell them once.
_QUOTES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)


def normalize(text: str) -> str:
    text = _SPACES.sub(" ", text.translate(_QUOTES).lower()).strip().replace("-ish", "ish")
    return (
        text.rstrip("?!;:,").rstrip(".")
        if not text.endswith("a.m.") and not text.endswith("p.m.")
        else text
    )


def parse(text: str, locale: str = "en") -> Expr | None:
    """Parse a whole phrase; `None` if it is not (only) a time or only latent."""
    try:
        result = parser_for(locale).parse(normalize(text))
    except (OverflowError, ValueError):  # "in 1e309 hours", a count of 5,000 digits
        return None
    if result is None or result.latent:
        return None
    return result
