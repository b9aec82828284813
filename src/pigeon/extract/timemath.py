"""Calendar arithmetic on naive wall-clock datetimes, and the DST policy.

The resolver reasons in local wall time (a "3pm" is 15:00 on the clock,
whatever the offset) and converts to an aware instant only at the edge, in
`localize`. Durations under a day are the exception: "in 2 hours" means two
real hours, so `shift_exact` goes through UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, tzinfo

from pigeon.extract.protocols import Grain

_FIXED = {
    Grain.SECOND: timedelta(seconds=1),
    Grain.MINUTE: timedelta(minutes=1),
    Grain.HOUR: timedelta(hours=1),
    Grain.DAY: timedelta(days=1),
    Grain.WEEK: timedelta(weeks=1),
}
_MONTHS = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


def round_down(dt: datetime, grain: Grain) -> datetime:
    """The start of the `grain` unit containing `dt` (weeks start on Monday)."""
    if grain == Grain.SECOND:
        return dt.replace(microsecond=0)
    if grain == Grain.MINUTE:
        return dt.replace(second=0, microsecond=0)
    if grain == Grain.HOUR:
        return dt.replace(minute=0, second=0, microsecond=0)
    day = dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == Grain.DAY:
        return day
    if grain == Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain == Grain.MONTH:
        return day.replace(day=1)
    if grain == Grain.QUARTER:
        return day.replace(day=1, month=(day.month - 1) // 3 * 3 + 1)
    return day.replace(day=1, month=1)


def add_months(dt: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day ("Jan 31 + 1 month" is Feb 28/29)."""
    index = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.replace(year=year, month=month + 1, day=min(dt.day, last))


def add(dt: datetime, grain: Grain, amount: int) -> datetime:
    """Add `amount` calendar units of `grain` in wall-clock time."""
    if grain in _FIXED:
        return dt + _FIXED[grain] * amount
    return add_months(dt, _MONTHS[grain] * amount)


def unit_end(start: datetime, grain: Grain) -> datetime:
    return add(start, grain, 1)


def last_day_of_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Attach `zone` to a wall-clock time, choosing a real instant.

    A time repeated by a backward DST change takes the occurrence its `fold`
    names: the first, unless an elapsed shift landed in the second (fold=1,
    as `shift_exact` leaves it). A time skipped by a forward change does not exist; it moves
    forward by the length of the gap, so 02:30 on a spring-forward night
    becomes 03:30, the instant a clock that never stopped would show.
    """
    aware = naive.replace(tzinfo=zone)
    # In a gap, fold=0 reads the wall time with the offset in force before
    # the change, so the UTC round trip lands just past the gap.
    instant = aware.astimezone(UTC).astimezone(zone)
    if naive.fold and instant.replace(tzinfo=None, fold=0) != naive.replace(fold=0):
        # fold=1 on a time in a gap reads the offset in force after the change and lands an
        # hour before the gap instead of past it
        return localize(naive.replace(fold=0), zone)
    return instant


def shift_exact(naive: datetime, zone: tzinfo, delta: timedelta) -> datetime:
    """Wall-clock time `delta` of real (elapsed) time after `naive` in `zone`."""
    instant = localize(naive, zone).astimezone(UTC) + delta
    return instant.astimezone(zone).replace(tzinfo=None)
