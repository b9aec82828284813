"""Time expressions as lazy sequences of wall-clock spans.

A parsed phrase becomes a tree of `Expr`. A repeating expression ("monday",
"3pm", "march") yields its occurrences forward (`future`, starting with the
one that has not ended yet) and backward (`past`) from a reference time;
an anchored one ("tomorrow", "in 2 hours") yields a single span. Combining
expressions is intersection: "tomorrow at 5pm" is the 5pm that lies inside
tomorrow. This is the model Duckling uses, which is why its corpus can be
matched by general rules instead of special cases.

Everything here is pure and works on naive local datetimes; the zone only
matters for exact (sub-day) shifts and explicit zone abbreviations.
"""

# Spans are naive wall-clock datetimes on purpose: zones are applied once, at the edge.
# ruff: noqa: DTZ001
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from itertools import islice
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pigeon.extract import timemath as tm
from pigeon.extract.protocols import Grain

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

INFINITE = 10**9
HORIZON = timedelta(days=4 * 366)
MAX_SCAN = 2000
_YEARS_SCAN = 150


@dataclass(frozen=True, slots=True)
class Span:
    start: datetime
    end: datetime
    grain: Grain

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


@dataclass(frozen=True, slots=True)
class Ctx:
    """The reference: now (naive wall clock), the zone it is in, the locale."""

    ref: datetime
    zone: tzinfo
    locale: str = "en"
    # Follow-ups read a 12-hour time without am/pm in business hours ("at 3" is 15:00,
    # "at 9" 09:00); the neutral reading (Duckling's) takes whichever comes next.
    business: bool = False

    def at(self, ref: datetime) -> Ctx:
        return replace(self, ref=ref)

    @property
    def zone_name(self) -> str | None:
        """The IANA name of the zone ("Europe/London"), which says where the sender is."""
        return getattr(self.zone, "key", None)


def unit_span(start: datetime, grain: Grain) -> Span:
    return Span(start, tm.add(start, grain, 1), grain)


def day_span(d: date) -> Span:
    start = datetime(d.year, d.month, d.day)
    return Span(start, start + timedelta(days=1), Grain.DAY)


class Expr:
    """Base: a (possibly infinite) ordered sequence of spans."""

    kind = "fixed"
    period = INFINITE
    latent = False
    not_immediate = False

    @property
    def grain(self) -> Grain:
        raise NotImplementedError

    def future(self, ctx: Ctx) -> Iterator[Span]:
        raise NotImplementedError

    def past(self, ctx: Ctx) -> Iterator[Span]:
        raise NotImplementedError


def first(expr: Expr, ctx: Ctx) -> Span | None:
    """The value a phrase denotes: its next occurrence, else its latest one."""
    upcoming = expr.future(ctx)
    span = next(upcoming, None)
    if span is not None and expr.not_immediate and span.start <= ctx.ref:
        span = next(upcoming, None)
    if span is None:
        span = next(expr.past(ctx), None)
    return span


class Anchored(Expr):
    """A single span computed from the reference ("tomorrow", "in 2 hours")."""

    def span(self, ctx: Ctx) -> Span | None:
        raise NotImplementedError

    def future(self, ctx: Ctx) -> Iterator[Span]:
        span = self.span(ctx)
        if span is not None:
            yield span

    def past(self, ctx: Ctx) -> Iterator[Span]:
        return iter(())


class Now(Anchored):
    @property
    def grain(self) -> Grain:
        return Grain.SECOND

    def span(self, ctx: Ctx) -> Span:
        return unit_span(tm.round_down(ctx.ref, Grain.SECOND), Grain.SECOND)


class Cycle(Anchored):
    """The `offset`-th `unit` from the one containing now ("next week")."""

    def __init__(self, unit: Grain, offset: int) -> None:
        self.unit = unit
        self.offset = offset

    @property
    def grain(self) -> Grain:
        return self.unit

    def span(self, ctx: Ctx) -> Span:
        start = tm.add(tm.round_down(ctx.ref, self.unit), self.unit, self.offset)
        return unit_span(start, self.unit)


class Year(Anchored):
    kind = "year"

    def __init__(self, year: int) -> None:
        self.year = year

    @property
    def grain(self) -> Grain:
        return Grain.YEAR

    def span(self, ctx: Ctx) -> Span | None:
        if not 1 <= self.year <= 9998:
            return None
        return unit_span(datetime(self.year, 1, 1), Grain.YEAR)


@dataclass(frozen=True, slots=True)
class Duration:
    """`amount` `unit`s, then `rest` ("1 hour 45 minutes", "3 days 4 hours")."""

    amount: int
    unit: Grain
    rest: Duration | None = None

    def parts(self) -> list[Duration]:
        head = Duration(self.amount, self.unit)
        return [head, *(self.rest.parts() if self.rest else [])]

    @property
    def finest(self) -> Grain:
        return min(part.unit for part in self.parts())

    def delta(self) -> timedelta:
        return sum((tm._FIXED[p.unit] * p.amount for p in self.parts()), timedelta())


# Duckling reports "in <n> <unit>" one grain finer than the unit.
_SHIFT_GRAIN = {
    Grain.SECOND: Grain.SECOND,
    Grain.MINUTE: Grain.SECOND,
    Grain.HOUR: Grain.MINUTE,
    Grain.DAY: Grain.HOUR,
    Grain.WEEK: Grain.DAY,
    Grain.MONTH: Grain.DAY,
    Grain.QUARTER: Grain.MONTH,
    Grain.YEAR: Grain.MONTH,
}


def shift_from(base: datetime, duration: Duration, sign: int, zone: tzinfo) -> datetime:
    """`base` moved by `duration`: calendar days, weeks, months and years first (the wall
    clock kept), then hours, minutes and seconds as elapsed time (across DST too)."""
    moved, elapsed = base, timedelta()
    for part in duration.parts():
        if part.unit <= Grain.HOUR:
            elapsed += part.delta()
        else:
            moved = tm.add(moved, part.unit, part.amount * sign)
    return tm.shift_exact(moved, zone, elapsed * sign) if elapsed else moved


class Shift(Anchored):
    """Now (or an anchor's start) moved by a duration: "in 2 weeks", "3 days ago"."""

    kind = "shift"

    def __init__(
        self,
        duration: Duration,
        sign: int = 1,
        anchor: Expr | None = None,
        grain: Grain | None = None,
    ) -> None:
        self.duration = duration
        self.sign = sign
        self.anchor = anchor
        self._grain = grain

    @property
    def grain(self) -> Grain:
        if self._grain is not None:
            return self._grain
        if self.anchor is not None:
            return self.anchor.grain
        return _SHIFT_GRAIN[self.duration.finest]

    def span(self, ctx: Ctx) -> Span | None:
        base = ctx.ref
        if self.anchor is not None:
            anchor = first(self.anchor, ctx)
            if anchor is None:
                return None
            base = anchor.start
        moved = shift_from(base, self.duration, self.sign, ctx.zone)
        return unit_span(tm.round_down(moved, self.grain), self.grain)


class Every(Expr):
    """Every unit of a grain: all days, all weeks... (for "third day of X")."""

    def __init__(self, unit: Grain) -> None:
        self.unit = unit
        self.period = _PERIOD_DAYS[unit]

    @property
    def grain(self) -> Grain:
        return self.unit

    def future(self, ctx: Ctx) -> Iterator[Span]:
        start = tm.round_down(ctx.ref, self.unit)
        while True:
            yield unit_span(start, self.unit)
            start = tm.add(start, self.unit, 1)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        start = tm.round_down(ctx.ref, self.unit)
        while start.year > 1:
            start = tm.add(start, self.unit, -1)
            yield unit_span(start, self.unit)


_PERIOD_DAYS = {
    Grain.SECOND: 0,
    Grain.MINUTE: 0,
    Grain.HOUR: 0,
    Grain.DAY: 1,
    Grain.WEEK: 7,
    Grain.MONTH: 31,
    Grain.QUARTER: 92,
    Grain.YEAR: 366,
}


class TimeOfDay(Expr):
    """A clock time. `ambiguous` means a 12-hour reading ("at 3" is 3:00 or 15:00).

    `tz_offset` (minutes east of UTC) is set for "4pm CET": the wall time is
    then converted to the reference zone.
    """

    kind = "time"
    period = 1

    def __init__(
        self,
        hour: int,
        minute: int | None = None,
        second: int | None = None,
        *,
        ambiguous: bool = True,
        tz_offset: int | None = None,
        explicit_grain: Grain | None = None,
        zone: str | None = None,
    ) -> None:
        self.hour = hour % 24 if hour != 24 else 0
        self.minute = minute
        self.second = second
        self.ambiguous = ambiguous and 1 <= hour <= 12
        self.tz_offset = tz_offset
        self.zone = zone  # an IANA name: the wall time is that place's on the day meant
        self.explicit_grain = explicit_grain

    @property
    def grain(self) -> Grain:
        if self.explicit_grain is not None:
            return self.explicit_grain
        if self.second is not None:
            return Grain.SECOND
        if self.minute is not None or self.tz_offset is not None or self.zone is not None:
            return Grain.MINUTE
        return Grain.HOUR

    def with_meridiem(self, pm: bool) -> TimeOfDay:
        hour = self.hour % 12 + (12 if pm else 0)
        return TimeOfDay(
            hour,
            self.minute,
            self.second,
            ambiguous=False,
            tz_offset=self.tz_offset,
            explicit_grain=self.explicit_grain,
            zone=self.zone,
        )

    def _hours(self, business: bool = False) -> tuple[int, ...]:
        if self.ambiguous and business:
            return (business_hour(self.hour),)
        if self.ambiguous:
            return (self.hour % 12, self.hour % 12 + 12)
        return (self.hour,)

    def _times(self, day: date, ctx: Ctx) -> list[datetime]:
        out = []
        for hour in self._hours(ctx.business):
            t = datetime(day.year, day.month, day.day, hour, self.minute or 0, self.second or 0)
            if self.zone is not None:
                there = tm.localize(t, ZoneInfo(self.zone))
                t = there.astimezone(ctx.zone).replace(tzinfo=None)
            elif self.tz_offset is not None:
                # the offset of the sender's zone on the day meant, not today's: DST may differ
                there = t.replace(tzinfo=timezone(timedelta(minutes=self.tz_offset)))
                t = there.astimezone(ctx.zone).replace(tzinfo=None)
            out.append(t)
        return sorted(out)

    def _span(self, t: datetime) -> Span:
        return unit_span(t, self.grain)

    def future(self, ctx: Ctx) -> Iterator[Span]:
        # A time counts as upcoming while its hour has not ended: Duckling
        # reads "at 4:23" at 04:30 as today's 04:23.
        # A follow-up, though, is never due at a time already gone: "at 10.05" at 10:15 is
        # tomorrow's.
        day = ctx.ref.date() - timedelta(days=1)
        for _ in range(MAX_SCAN):
            for t in self._times(day, ctx):
                if (
                    (t > ctx.ref)
                    if ctx.business
                    else (tm.round_down(t, Grain.HOUR) + timedelta(hours=1) > ctx.ref)
                ):
                    yield self._span(t)
            day += timedelta(days=1)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date() + timedelta(days=1)
        for _ in range(MAX_SCAN):
            for t in reversed(self._times(day, ctx)):
                if tm.round_down(t, Grain.HOUR) + timedelta(hours=1) <= ctx.ref:
                    yield self._span(t)
            day -= timedelta(days=1)


def business_hour(hour: int) -> int:
    """Of `hour` and `hour` + 12, the one from 07:00 to 18:59 (12 is noon)."""
    hour %= 12
    return hour + 12 if hour < 7 else hour


class DailyRange(Expr):
    """A part of the day, from `start` to `end` hours (end may be 24)."""

    kind = "pod"
    period = 1

    def __init__(self, name: str, start: int, end: int) -> None:
        self.name = name
        self.start_hour = start
        self.end_hour = end

    @property
    def grain(self) -> Grain:
        return Grain.HOUR

    def on(self, day: date) -> Span:
        base = datetime(day.year, day.month, day.day)
        return Span(
            base + timedelta(hours=self.start_hour),
            base + timedelta(hours=self.end_hour),
            Grain.HOUR,
        )

    def future(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date()
        for _ in range(MAX_SCAN):
            span = self.on(day)
            if span.end > ctx.ref:
                yield span
            day += timedelta(days=1)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date()
        for _ in range(MAX_SCAN):
            span = self.on(day)
            if span.end <= ctx.ref:
                yield span
            day -= timedelta(days=1)


class DateRule(Expr):
    """Days picked by a predicate on dates, scanned one day at a time.

    Used for cheap calendar predicates (a weekday, a day of the month); the
    scan is bounded by `MAX_SCAN` periods.
    """

    kind = "date"

    def __init__(self, test: Callable[[date], bool], period: int, step: int = 1) -> None:
        self.test = test
        self.period = period
        self.step = step

    @property
    def grain(self) -> Grain:
        return Grain.DAY

    def future(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date()
        for _ in range(MAX_SCAN * 40):
            if self.test(day):
                yield day_span(day)
            day += timedelta(days=1)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date()
        for _ in range(MAX_SCAN * 40):
            day -= timedelta(days=1)
            if self.test(day):
                yield day_span(day)


class DayOfWeek(Expr):
    kind = "dow"
    period = 7
    not_immediate = True

    def __init__(self, weekday: int) -> None:
        self.weekday = weekday

    @property
    def grain(self) -> Grain:
        return Grain.DAY

    def future(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date()
        day += timedelta(days=(self.weekday - day.weekday()) % 7)
        for _ in range(MAX_SCAN * 5):
            yield day_span(day)
            day += timedelta(days=7)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        day = ctx.ref.date() - timedelta(days=1)
        day -= timedelta(days=(day.weekday() - self.weekday) % 7)
        for _ in range(MAX_SCAN * 5):
            if day.year <= 1:
                return
            yield day_span(day)
            day -= timedelta(days=7)


class DayOfMonth(Expr):
    kind = "dom"
    period = 31

    def __init__(self, day: int) -> None:
        self.day = day

    @property
    def grain(self) -> Grain:
        return Grain.DAY

    def _at(self, year: int, month: int) -> Span | None:
        if self.day > tm.last_day_of_month(year, month):
            return None
        return day_span(date(year, month, self.day))

    def future(self, ctx: Ctx) -> Iterator[Span]:
        index = ctx.ref.year * 12 + ctx.ref.month - 1
        today = ctx.ref.date()
        for i in range(index, index + 12 * _YEARS_SCAN):
            span = self._at(i // 12, i % 12 + 1)
            if span is not None and span.start.date() >= today:
                yield span

    def past(self, ctx: Ctx) -> Iterator[Span]:
        index = ctx.ref.year * 12 + ctx.ref.month - 1
        today = ctx.ref.date()
        for i in range(index, max(index - 12 * _YEARS_SCAN, 12), -1):
            span = self._at(i // 12, i % 12 + 1)
            if span is not None and span.start.date() < today:
                yield span


class Yearly(Expr):
    """Something that happens once (or a few times) a year: a month, a holiday.

    `spans(year, ctx)` lists the occurrences of one year in order.
    """

    period = 366

    def __init__(
        self,
        spans: Callable[[int, Ctx], list[Span]],
        grain: Grain,
        kind: str,
    ) -> None:
        self._spans = spans
        self._grain = grain
        self.kind = kind

    @property
    def grain(self) -> Grain:
        return self._grain

    def future(self, ctx: Ctx) -> Iterator[Span]:
        for year in range(max(ctx.ref.year - 1, 1), min(ctx.ref.year + _YEARS_SCAN, 9999)):
            for span in self._spans(year, ctx):
                if span.end > ctx.ref:
                    yield span

    def past(self, ctx: Ctx) -> Iterator[Span]:
        today = tm.round_down(ctx.ref, Grain.DAY)
        for year in range(min(ctx.ref.year + 1, 9998), max(ctx.ref.year - _YEARS_SCAN, 1), -1):
            for span in reversed(self._spans(year, ctx)):
                if span.start < today and span.end <= ctx.ref:
                    yield span


def month_of(month: int) -> Yearly:
    def spans(year: int, ctx: Ctx) -> list[Span]:
        return [unit_span(datetime(year, month, 1), Grain.MONTH)]

    return Yearly(spans, Grain.MONTH, "month")


def month_day(month: int, day: int) -> Yearly:
    def spans(year: int, ctx: Ctx) -> list[Span]:
        if day > tm.last_day_of_month(year, month):
            return []
        return [day_span(date(year, month, day))]

    return Yearly(spans, Grain.DAY, "date")


def quarter_of(quarter: int) -> Yearly:
    def spans(year: int, ctx: Ctx) -> list[Span]:
        return [unit_span(datetime(year, quarter * 3 - 2, 1), Grain.QUARTER)]

    return Yearly(spans, Grain.QUARTER, "quarter")


class Weekend(Expr):
    """Friday 18:00 to Monday 00:00, as Duckling defines it."""

    kind = "weekend"
    period = 7

    @property
    def grain(self) -> Grain:
        return Grain.HOUR

    @staticmethod
    def _around(day: date) -> Span:
        friday = day - timedelta(days=(day.weekday() - 4) % 7)
        start = datetime(friday.year, friday.month, friday.day, 18)
        return Span(start, start + timedelta(hours=54), Grain.HOUR)

    def future(self, ctx: Ctx) -> Iterator[Span]:
        span = self._around(ctx.ref.date())
        if span.end <= ctx.ref:
            span = self._around(ctx.ref.date() + timedelta(days=7))
        for _ in range(MAX_SCAN):
            yield span
            span = Span(span.start + timedelta(days=7), span.end + timedelta(days=7), Grain.HOUR)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        span = self._around(ctx.ref.date())
        while span.end > ctx.ref:
            span = Span(span.start - timedelta(days=7), span.end - timedelta(days=7), Grain.HOUR)
        for _ in range(MAX_SCAN):
            yield span
            span = Span(span.start - timedelta(days=7), span.end - timedelta(days=7), Grain.HOUR)


def _coarse_fine(a: Expr, b: Expr) -> tuple[Expr, Expr]:
    # A one-off span finer than a repeating expression lies inside one of its occurrences:
    # "sat" + "14 jan at 09:30".
    if isinstance(a, Anchored) != isinstance(b, Anchored):
        one_off, repeating = (a, b) if isinstance(a, Anchored) else (b, a)
        if one_off.grain <= repeating.grain:
            return repeating, one_off
    if (a.period, a.grain) >= (b.period, b.grain):
        return a, b
    return b, a


class Intersect(Expr):
    """The occurrences of the finer expression inside the coarser one."""

    def __init__(self, a: Expr, b: Expr) -> None:
        self.coarse, self.fine = _coarse_fine(a, b)
        self.period = self.coarse.period
        self.kind = self.fine.kind if self.fine.kind in {"time", "pod"} else "date"

    @property
    def grain(self) -> Grain:
        return self.fine.grain

    def _inside(self, outer: Span, ctx: Ctx) -> Iterator[Span]:
        for span in self.fine.future(ctx.at(outer.start)):
            if span.start >= outer.end:
                return
            if outer.contains(span):
                yield span

    def future(self, ctx: Ctx) -> Iterator[Span]:
        limit = ctx.ref + HORIZON
        for outer in islice(self.coarse.future(ctx), MAX_SCAN):
            if outer.start > limit and self.coarse.period != INFINITE:
                return
            yield from self._inside(outer, ctx)

    def past(self, ctx: Ctx) -> Iterator[Span]:
        limit = ctx.ref - HORIZON
        for outer in islice(self.coarse.past(ctx), MAX_SCAN):
            if outer.end < limit:
                return
            yield from reversed(list(self._inside(outer, ctx)))


class NthWithin(Expr):
    """The n-th `item` inside each occurrence of `within` (n<0 counts from the end)."""

    def __init__(self, item: Expr, within: Expr, n: int) -> None:
        self.item = item
        self.within = within
        self.n = n
        self.period = within.period
        self.kind = "date"

    @property
    def grain(self) -> Grain:
        return self.item.grain

    def _pick(self, outer: Span, ctx: Ctx) -> Span | None:
        inside = Intersect(self.item, _Fixed(outer))._inside(outer, ctx)
        if self.n > 0:
            return next(islice(inside, self.n - 1, None), None)
        items = list(islice(inside, 400))
        return items[self.n] if len(items) >= -self.n else None

    def future(self, ctx: Ctx) -> Iterator[Span]:
        for outer in islice(self.within.future(ctx), 200):
            span = self._pick(outer, ctx)
            if span is not None:
                yield span

    def past(self, ctx: Ctx) -> Iterator[Span]:
        for outer in islice(self.within.past(ctx), 200):
            span = self._pick(outer, ctx)
            if span is not None:
                yield span


class _Fixed(Anchored):
    def __init__(self, value: Span) -> None:
        self.value = value

    @property
    def grain(self) -> Grain:
        return self.value.grain

    def span(self, ctx: Ctx) -> Span:
        return self.value


class Derived(Anchored):
    """An anchored span computed by a function of the context.

    The grammar builds most relative constructions ("next <x>", "<x> after
    next", "the closest <x> to <y>") as a `Derived` over their parts.
    """

    def __init__(self, fn: Callable[[Ctx], Span | None], grain: Grain, kind: str = "fixed") -> None:
        self.fn = fn
        self._grain = grain
        self.kind = kind

    @property
    def grain(self) -> Grain:
        return self._grain

    def span(self, ctx: Ctx) -> Span | None:
        return self.fn(ctx)


def nth_future(expr: Expr, ctx: Ctx, n: int, *, skip_current: bool = True) -> Span | None:
    """The n-th occurrence after now (1-based), skipping one that contains now."""
    spans = expr.future(ctx)
    if skip_current:
        spans = (s for s in spans if s.start > ctx.ref)
    return next(islice(spans, n - 1, None), None)


def nth_past(expr: Expr, ctx: Ctx, n: int) -> Span | None:
    return next(islice(expr.past(ctx), n - 1, None), None)


def first_from(expr: Expr, anchor: Span, ctx: Ctx) -> Span | None:
    """The first occurrence of `expr` that starts at or after `anchor` starts."""
    for span in islice(expr.future(ctx.at(anchor.start)), MAX_SCAN):
        if span.start >= anchor.start:
            return span
    return None


def closest(expr: Expr, anchor: Span, ctx: Ctx, n: int) -> Span | None:
    at = ctx.at(anchor.start)
    after = list(islice((s for s in expr.future(at) if s.start >= anchor.start), n))
    before = list(islice(expr.past(at), n))
    ranked = sorted(after + before, key=lambda s: abs((s.start - anchor.start).total_seconds()))
    return ranked[n - 1] if len(ranked) >= n else None
