"""Throttle policy math: the earliest instant one more release breaks no rule.

pigeon never drops a throttled message: the release gate holds it, and `earliest` says when
it may go. Inside this module instants are whole microseconds since the epoch, so window
arithmetic is exact; every public value is an aware UTC datetime.

Rules hold in both directions of time. A projection places some releases ahead of others
(a recipient asleep in its own zone waits while the next goes now), so a ledger may hold
releases later than the instant asked about, and a window or gap is checked against those
too.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from pigeon.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence


class HoldReason(StrEnum):
    """Why a release cannot go at the instant asked; in the order a person is told."""

    PAUSED = "paused"
    QUIET_HOURS = "quiet_hours"
    MAX_PER_MINUTE = "max_per_minute"
    MAX_PER_HOUR = "max_per_hour"
    MAX_PER_DAY = "max_per_day"
    MIN_GAP = "min_gap"
    RECIPIENT_MIN_GAP = "recipient_min_gap"


MAX_LIMIT = 10_000_000
MAX_GAP_SECONDS = 7 * 86_400

_RANK = {reason: rank for rank, reason in enumerate(HoldReason)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SECOND = 1_000_000
_DAY = 86_400 * _SECOND
# Past the last recorded release only quiet hours can hold; if the quiet hours of all scopes
# together leave no open instant for a year, they never will.
_NEVER_OPEN_AFTER = 366 * _DAY
_WINDOWS = (
    (HoldReason.MAX_PER_MINUTE, "max_per_minute", 60 * _SECOND),
    (HoldReason.MAX_PER_HOUR, "max_per_hour", 3_600 * _SECOND),
    (HoldReason.MAX_PER_DAY, "max_per_day", _DAY),
)


def _us(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"expected an aware UTC datetime, got the naive {at!r}")
    return (at - _EPOCH) // _MICROSECOND


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock hours, [start, end), in which nothing is released; may cross midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValidationError.field("quiet_hours", "start and end must differ")
        # Whole naive minutes, so the hours survive a trip through "HH:MM".
        if any(t.tzinfo or t.second or t.microsecond for t in (self.start, self.end)):
            raise ValidationError.field("quiet_hours", "start and end must be whole minutes")

    def contains(self, local: datetime) -> bool:
        clock = local.time()
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def next_open(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The earliest instant from `at` on whose wall time in `zone` is outside these hours.

        Wall time decides: hours ending in a spring-forward gap end where the clock skips
        to; in an autumn fold the repeated hour is quiet (or open) both times round, and a
        clock turned back to before `start` opens the hours early.
        """
        moment = _dt(_us(at))
        # Each round ends the hours or moves to a change of offset; a quiet period spans at
        # most two changes (a zone skipping a whole day, as Samoa did in 2011).
        for _ in range(4):
            local = moment.astimezone(zone)
            if not self.contains(local):
                return moment
            day = local.date()
            if self.start > self.end and local.time() >= self.start:
                day += timedelta(days=1)
            offset = local.utcoffset()
            assert offset is not None
            # While the offset holds, the clock reads `end` at `ends`; one offset at both
            # ends is taken to mean no change in between (none undoes itself within a day).
            ends = (datetime.combine(day, self.end) - offset).replace(tzinfo=UTC)
            if ends.astimezone(zone).utcoffset() == offset:
                return ends
            moment = _offset_change(moment, ends, zone)
        raise AssertionError(f"quiet hours {self} in {zone} did not end after {at}")


def _offset_change(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant in (before, after] at which `zone` takes the offset it has at `after`."""
    target = after.astimezone(zone).utcoffset()
    second = timedelta(seconds=1)
    # Offsets change on whole seconds, so bisecting whole seconds finds the instant exactly.
    low, high = (before - _EPOCH) // second, -((_EPOCH - after) // second)
    while high - low > 1:
        middle = (low + high) // 2
        if (_EPOCH + middle * second).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return _EPOCH + high * second


@dataclass(frozen=True)
class ThrottleRules:
    """One policy's rules, stored as JSON (`from_json`, `to_json`); None or 0: no limit."""

    max_per_minute: int | None = None
    max_per_hour: int | None = None
    max_per_day: int | None = None
    min_gap_seconds: float | None = None
    recipient_min_gap_seconds: float | None = None
    quiet_hours: QuietHours | None = None
    quiet_zone: Literal["workspace", "recipient"] = "workspace"
    timezone: str | None = None
    paused: bool = False

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ThrottleRules:
        """Strictly parse stored or posted rules; one error names every bad field."""
        if not isinstance(data, Mapping):
            raise ValidationError.field("rules", "must be an object")
        problems: dict[str, str] = {
            str(key): "is not a throttle rule" for key in data if key not in _JSON_KEYS
        }

        def take(name: str, parse: Callable[[Any], _T], default: _T) -> _T:
            if name not in data:
                return default
            try:
                return parse(data[name])
            except _Bad as bad:
                problems[name] = str(bad)
                return default

        rules = cls(
            max_per_minute=take("max_per_minute", _limit, None),
            max_per_hour=take("max_per_hour", _limit, None),
            max_per_day=take("max_per_day", _limit, None),
            min_gap_seconds=take("min_gap_seconds", _gap, None),
            recipient_min_gap_seconds=take("recipient_min_gap_seconds", _gap, None),
            quiet_hours=_quiet_hours(data.get("quiet_hours"), problems),
            quiet_zone=take("quiet_zone", _quiet_zone, "workspace"),
            timezone=take("timezone", _timezone, None),
            paused=take("paused", _flag, False),
        )
        if problems:
            raise ValidationError(problems)
        return rules

    def to_json(self) -> dict[str, Any]:
        quiet = self.quiet_hours
        return {
            "max_per_minute": self.max_per_minute,
            "max_per_hour": self.max_per_hour,
            "max_per_day": self.max_per_day,
            "min_gap_seconds": self.min_gap_seconds,
            "recipient_min_gap_seconds": self.recipient_min_gap_seconds,
            "quiet_hours": quiet and {"start": _hh_mm(quiet.start), "end": _hh_mm(quiet.end)},
            "quiet_zone": self.quiet_zone,
            "timezone": self.timezone,
            "paused": self.paused,
        }

    @property
    def limits_anything(self) -> bool:
        return bool(
            self.paused
            or self.quiet_hours
            or self._windows
            or self._gap_us
            or self._recipient_gap_us
        )

    def room_for(self, count: int, spent: Mapping[int, int]) -> bool:
        """Whether `count` more releases now keep within every rule, given `spent`: the
        releases in the last 60, 3600 and 86400 seconds (by width). Only window limits may
        apply: a gap, quiet hours or a pause need each release looked at on its own."""
        if self.paused or self.quiet_hours or self._gap_us or self._recipient_gap_us:
            return False
        return all(
            spent.get(width // _SECOND, 0) + count <= limit for _r, width, limit in self._windows
        )

    def zone(self, workspace_zone: ZoneInfo) -> ZoneInfo:
        """The zone a scope reads quiet hours in when `quiet_zone` is "workspace"."""
        return ZoneInfo(self.timezone) if self.timezone else workspace_zone

    @cached_property
    def _windows(self) -> tuple[tuple[HoldReason, int, int], ...]:
        limits = ((reason, width, getattr(self, name)) for reason, name, width in _WINDOWS)
        return tuple((reason, width, limit) for reason, width, limit in limits if limit)

    @cached_property
    def _gap_us(self) -> int:
        return round((self.min_gap_seconds or 0) * _SECOND)

    @cached_property
    def _recipient_gap_us(self) -> int:
        return round((self.recipient_min_gap_seconds or 0) * _SECOND)


_T = TypeVar("_T")
_JSON_KEYS = frozenset(f.name for f in ThrottleRules.__dataclass_fields__.values())
_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
# Present in the tz database directory, but not zones a person means.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_QUIET_ZONES: dict[str, Literal["workspace", "recipient"]] = {
    "workspace": "workspace",
    "recipient": "recipient",
}


class _Bad(Exception):
    """One field's problem, collected by `ThrottleRules.from_json`."""


def _limit(value: Any) -> int | None:
    if value is None:
        return None
    # bool is an int in Python; `true` is no limit.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("must be a whole number or null")
    if not 1 <= value <= MAX_LIMIT:
        raise _Bad(f"must be between 1 and {MAX_LIMIT}")
    return value


def _gap(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad("must be a number of seconds or null")
    if not math.isfinite(value) or not 0 <= value <= MAX_GAP_SECONDS:
        raise _Bad(f"must be between 0 and {MAX_GAP_SECONDS} seconds")
    return float(value)


def _quiet_zone(value: Any) -> Literal["workspace", "recipient"]:
    if isinstance(value, str) and value in _QUIET_ZONES:
        return _QUIET_ZONES[value]
    raise _Bad('must be "workspace" or "recipient"')


def _timezone(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _ZONE_NAME.fullmatch(value) or value in _NOT_ZONES:
        raise _Bad("must be an IANA time zone such as Europe/London")
    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError) as missing:
        raise _Bad(f"{value!r} is not a known IANA time zone") from missing
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad("must be true or false")
    return value


def _quiet_hours(value: Any, problems: dict[str, str]) -> QuietHours | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems["quiet_hours"] = 'must be {"start": "HH:MM", "end": "HH:MM"} or null'
        return None
    for key in value.keys() - {"start", "end"}:
        problems[f"quiet_hours.{key}"] = "is not part of quiet hours"
    times: list[time] = []
    for key in ("start", "end"):
        text = value.get(key)
        match = _HH_MM.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            problems[f"quiet_hours.{key}"] = 'must be a time "HH:MM" from 00:00 to 23:59'
        else:
            times.append(time(int(match[1]), int(match[2])))
    if len(times) != 2:
        return None
    try:
        return QuietHours(*times)
    except ValidationError as error:
        problems.update(error.errors)
        return None


def _hh_mm(clock: time) -> str:
    return f"{clock.hour:02d}:{clock.minute:02d}"


class Ledger:
    """The release instants one scope has spent recently (a sliding log), kept sorted; only the
    last 24 h matter, and the caller loads no more."""

    __slots__ = ("_at",)

    def __init__(self, instants: Iterable[datetime] = ()) -> None:
        self._at = sorted(_us(at) for at in instants)

    def record(self, at: datetime) -> None:
        self._add(_us(at))

    def count_since(self, since: datetime) -> int:
        """Releases strictly after `since`."""
        return len(self._at) - bisect_right(self._at, _us(since))

    def __len__(self) -> int:
        return len(self._at)

    def __iter__(self) -> Iterator[datetime]:
        return map(_dt, self._at)

    def _add(self, us: int) -> None:
        if not self._at or self._at[-1] <= us:
            self._at.append(us)
        else:
            insort(self._at, us)

    def _copy(self) -> Ledger:
        copy = Ledger()
        copy._at = self._at.copy()
        return copy

    def _window_hold(self, t: int, width: int, limit: int) -> int | None:
        """None if one more release at `t` leaves every window of `width` holding at most
        `limit`; else an instant before which no release can go, later than `t`.

        Windows hold at most `limit` exactly when no `limit` recorded releases and `t`
        together span less than `width`. Such a group with earliest member r keeps every
        instant in [t, r + width) out, so r + width is a safe place to look next.
        """
        at = self._at
        p = bisect_right(at, t)
        if p >= limit and t - at[p - limit] < width:
            return at[p - limit] + width
        end = bisect_left(at, t + width, p)
        if end == p:
            return None
        # Groups reaching past `t`: only the releases within `width` on either side count.
        begin = bisect_right(at, t - width, 0, p)
        for k in range(max(begin, p - limit + 1), min(p, end - limit) + 1):
            if at[k + limit - 1] - min(at[k], t) < width:
                return at[k] + width
        return None

    def _gap_hold(self, t: int, gap: int) -> int | None:
        """None if no release lies within `gap` of `t`; else the first instant clear of the
        latest one that does (every instant before it is within `gap` of that one)."""
        near = bisect_left(self._at, t + gap) - 1
        if near >= 0 and self._at[near] > t - gap:
            return self._at[near] + gap
        return None


@dataclass
class Scope:
    """One policy in force over a message (workspace, channel or device scope) and what it
    has spent; `zone` is the zone its quiet hours are read in unless `quiet_zone` is
    "recipient" (see `ThrottleRules.zone`)."""

    rules: ThrottleRules
    ledger: Ledger
    zone: ZoneInfo


@dataclass(frozen=True)
class Decision:
    at: datetime | None
    reason: HoldReason | None

    def allows(self, now: datetime) -> bool:
        """Whether the release may go at `now`, the instant it was decided for: never while
        paused, else once the earliest allowed instant has come."""
        return self.at is not None and self.at <= now


def earliest(
    scopes: Sequence[Scope],
    at: datetime,
    *,
    recipient_zone: ZoneInfo | None,
    recipient_last: datetime | None,
) -> Decision:
    """The earliest instant from `at` on at which one more release satisfies every scope."""
    t = _us(at)
    if any(scope.rules.paused for scope in scopes):
        return Decision(None, HoldReason.PAUSED)
    gap = _recipient_gap(scopes)
    not_before = None if recipient_last is None or gap <= 0 else _us(recipient_last) + gap
    reason = _first_reason(scopes, t, recipient_zone, not_before)
    settled = t if reason is None else _settle(scopes, t, recipient_zone, not_before)
    if settled is None:
        return Decision(None, HoldReason.QUIET_HOURS)
    return Decision(_dt(settled), reason)


def record(scopes: Sequence[Scope], at: datetime) -> None:
    """Spend one release at `at` in every scope's ledger (once in a ledger scopes share)."""
    us = _us(at)
    for ledger in {id(scope.ledger): scope.ledger for scope in scopes}.values():
        ledger._add(us)


def project(
    scopes: Sequence[Scope],
    start: datetime,
    recipients: Sequence[tuple[str, ZoneInfo | None]],
    *,
    recipient_last: Mapping[str, datetime] | None = None,
) -> list[Decision]:
    """Place one release per recipient, in order, each at `earliest(start)` given the ones
    placed before it; the placements are spent in copies, never in the given ledgers."""
    begin = _us(start)
    if any(scope.rules.paused for scope in scopes):
        return [Decision(None, HoldReason.PAUSED) for _ in recipients]
    copies = {id(scope.ledger): scope.ledger._copy() for scope in scopes}
    trial = [replace(scope, ledger=copies[id(scope.ledger)]) for scope in scopes]
    last = {handle: _us(at) for handle, at in (recipient_last or {}).items()}
    gap = _recipient_gap(scopes)
    # Each placement only adds releases, so the first instant the scope-wide rules allow
    # never moves back: each search starts where the previous one found it.
    floor: int | None = begin
    zone_floors: dict[ZoneInfo | None, int | None] = {}
    quiet_at_begin: dict[ZoneInfo | None, bool] = {}
    by_recipient = any(s.rules.quiet_hours and s.rules.quiet_zone == "recipient" for s in scopes)
    decisions: list[Decision] = []
    for handle, zone in recipients:
        previous = last.get(handle)
        not_before = None if previous is None or gap <= 0 else previous + gap
        if zone not in quiet_at_begin:
            quiet_at_begin[zone] = any(_quiet_until(s, begin, zone) is not None for s in trial)
        reason = _first_reason(trial, begin, zone, not_before, quiet=quiet_at_begin[zone])
        if floor is not None:
            floor = _settle(trial, floor, None, None, scope_wide=True)
        t = floor
        if t is not None and by_recipient:
            # Recipients in one zone share its quiet hours: the same holds for each zone.
            zone_floor = zone_floors.get(zone, t)
            t = None if zone_floor is None else _settle(trial, max(t, zone_floor), zone, None)
            zone_floors[zone] = t
        if t is not None and not_before is not None:
            t = _settle(trial, t, zone, not_before)
        if t is None:
            decisions.append(Decision(None, HoldReason.QUIET_HOURS))
            continue
        for ledger in copies.values():
            ledger._add(t)
        last[handle] = t if previous is None else max(previous, t)
        decisions.append(Decision(_dt(t), reason))
    return decisions


def _recipient_gap(scopes: Sequence[Scope]) -> int:
    return max((scope.rules._recipient_gap_us for scope in scopes), default=0)


def _holds(
    scope: Scope, t: int, recipient_zone: ZoneInfo | None, *, scope_wide: bool = False
) -> dict[HoldReason, int]:
    """The rules of `scope` a release at `t` breaks, each with an instant before which it
    cannot be satisfied; `scope_wide` leaves out quiet hours read in the recipient's zone."""
    held = _spent_holds(scope, t)
    if (until := _quiet_until(scope, t, recipient_zone, scope_wide=scope_wide)) is not None:
        held[HoldReason.QUIET_HOURS] = until
    return held


def _spent_holds(scope: Scope, t: int) -> dict[HoldReason, int]:
    """The rules that what `scope` has spent breaks at `t`: windows and the gap."""
    rules = scope.rules
    held: dict[HoldReason, int] = {}
    for reason, width, limit in rules._windows:
        if (until := scope.ledger._window_hold(t, width, limit)) is not None:
            held[reason] = until
    if rules._gap_us > 0 and (until := scope.ledger._gap_hold(t, rules._gap_us)) is not None:
        held[HoldReason.MIN_GAP] = until
    return held


def _quiet_until(
    scope: Scope, t: int, recipient_zone: ZoneInfo | None, *, scope_wide: bool = False
) -> int | None:
    """None if the quiet hours of `scope` allow `t`, else the instant they end."""
    quiet = scope.rules.quiet_hours
    by_recipient = scope.rules.quiet_zone == "recipient"
    if quiet is None or (scope_wide and by_recipient):
        return None
    zone = recipient_zone if by_recipient and recipient_zone else scope.zone
    moment = _dt(t)
    if not quiet.contains(moment.astimezone(zone)):
        return None
    return _us(quiet.next_open(moment, zone))


def _first_reason(
    scopes: Sequence[Scope],
    t: int,
    recipient_zone: ZoneInfo | None,
    not_before: int | None,
    *,
    quiet: bool | None = None,
) -> HoldReason | None:
    """The rule a person is told holds a release at `t`; `quiet`: whether quiet hours do,
    when the caller already knows."""
    if quiet is None:
        quiet = any(_quiet_until(scope, t, recipient_zone) is not None for scope in scopes)
    if quiet:
        return HoldReason.QUIET_HOURS
    reasons = [reason for scope in scopes for reason in _spent_holds(scope, t)]
    if not_before is not None and t < not_before:
        reasons.append(HoldReason.RECIPIENT_MIN_GAP)
    return min(reasons, key=_RANK.__getitem__, default=None)


def _settle(
    scopes: Sequence[Scope],
    t: int,
    recipient_zone: ZoneInfo | None,
    not_before: int | None,
    *,
    scope_wide: bool = False,
) -> int | None:
    """The first instant from `t` on that no rule holds; None if quiet hours never open.

    Each round moves `t` strictly later, to the latest instant some broken rule proves
    nothing earlier can satisfy it: a recorded release plus a window width or the gap,
    `not_before`, or the end of a quiet period. Below the horizon those are finitely many
    (a quiet period ends at most twice a local day per scope, a fold splitting one), so the
    rounds are bounded by their number, which `rounds` counts.
    """
    until = _round(scopes, t, recipient_zone, not_before, scope_wide)
    if until == t:
        return t
    reach = max((_reach(scope.rules) for scope in scopes), default=0)
    newest = max((scope.ledger._at[-1] for scope in scopes if scope.ledger._at), default=t)
    horizon = max(t, not_before or t, newest + reach) + _NEVER_OPEN_AFTER
    recorded = sum(len(scope.ledger) for scope in scopes)
    rounds = recorded * (len(_WINDOWS) + 1) + len(scopes) * 2 * (horizon - t) // _DAY + 2
    for _ in range(rounds):
        if until > horizon:
            return None
        t = until
        until = _round(scopes, t, recipient_zone, not_before, scope_wide)
        if until == t:
            return t
    raise AssertionError("the throttle search ran past its bound")


def _round(
    scopes: Sequence[Scope],
    t: int,
    recipient_zone: ZoneInfo | None,
    not_before: int | None,
    scope_wide: bool,
) -> int:
    """`t` if no rule holds a release there, else the latest instant one proves it must wait for."""
    until = not_before if not_before is not None and t < not_before else t
    for scope in scopes:
        held = _holds(scope, t, recipient_zone, scope_wide=scope_wide)
        if held:
            until = max(until, *held.values())
    return until


def _reach(rules: ThrottleRules) -> int:
    """How far from a release its scope's windows and gap can hold another."""
    return max([rules._gap_us, *(width for _, width, _ in rules._windows)])
