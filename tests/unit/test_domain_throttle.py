"""Throttle math, checked against brute force on generated release sequences and rules.

The reference checks here count releases directly and share nothing with the module's
bisecting search, so a wrong window bound or a missed out-of-order release shows up as a
placement the brute force refuses, or as an earlier instant it would have allowed.
"""

from __future__ import annotations

import calendar
import itertools
import math
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pigeon.domain.throttle import (
    Decision,
    HoldReason,
    Ledger,
    QuietHours,
    Scope,
    ThrottleRules,
    earliest,
    project,
    record,
)
from pigeon.errors import ValidationError

BASE = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
UTC_ZONE = ZoneInfo("UTC")
FAST = settings(max_examples=60, deadline=None)


def us(at: datetime) -> int:
    return (at - BASE) // US


def windows(rules: ThrottleRules) -> list[tuple[int, int]]:
    pairs = [(60, rules.max_per_minute), (3_600, rules.max_per_hour), (86_400, rules.max_per_day)]
    return [(seconds * 1_000_000, limit) for seconds, limit in pairs if limit]


def gap_us(seconds: float | None) -> int:
    return round((seconds or 0) * 1_000_000)


def quiet_at(rules: ThrottleRules, t: int, zone: ZoneInfo) -> bool:
    return rules.quiet_hours is not None and rules.quiet_hours.contains(
        (BASE + t * US).astimezone(zone)
    )


def allowed(
    t: int, placed: list[int], rules: ThrottleRules, zone: ZoneInfo, last: int | None
) -> bool:
    """Brute force: may one more release go at `t` after `placed` (any order)?"""
    after = [*placed, t]
    for width, limit in windows(rules):
        for start in after:
            if t - width < start <= t and sum(start <= x < start + width for x in after) > limit:
                return False
    gap = gap_us(rules.min_gap_seconds)
    if gap and any(abs(t - x) < gap for x in placed):
        return False
    recipient_gap = gap_us(rules.recipient_min_gap_seconds)
    if last is not None and recipient_gap and t < last + recipient_gap:
        return False
    return not quiet_at(rules, t, zone)


def candidates(
    arrival: int, placed: list[int], rules: ThrottleRules, zone: ZoneInfo, last: int | None
) -> set[int]:
    """Every instant at which some rule can start to allow a release: the feasible set's
    left ends are among these (quiet-hour ends through next_open, tested on its own)."""
    reaches = [width for width, _ in windows(rules)] + [gap_us(rules.min_gap_seconds)]
    found = {arrival} | {x + reach for x in placed for reach in reaches if reach}
    if last is not None and rules.recipient_min_gap_seconds:
        found.add(last + gap_us(rules.recipient_min_gap_seconds))
    quiet = rules.quiet_hours
    for _ in range(3):
        if quiet is not None:
            found |= {
                us(quiet.next_open(BASE + c * US, zone)) for c in found if quiet_at(rules, c, zone)
            }
    return found


limits = st.none() | st.integers(1, 4)
seconds = st.none() | st.integers(0, 40_000).map(lambda ms: ms / 1000)
rules_without_quiet = st.builds(
    ThrottleRules,
    max_per_minute=limits,
    max_per_hour=st.none() | st.integers(2, 12),
    min_gap_seconds=seconds,
    recipient_min_gap_seconds=st.none() | st.integers(0, 600),
)
# Milliseconds; arrivals on a coarse grid often fall exactly where a window or gap ends.
instants = st.integers(0, 3 * 3_600_000) | st.integers(0, 300).map(lambda k: k * 5_000)
arrivals = st.lists(st.tuples(instants, st.sampled_from("abc")), max_size=24)


def place(
    scope: Scope, arrivals: list[tuple[int, str]], zone: ZoneInfo | None = None
) -> list[tuple[int, str]]:
    """Place each arrival with earliest + record, checking it against brute force."""
    rules = scope.rules
    placed: list[tuple[int, str]] = []
    for arrival_ms, who in arrivals:
        arrival = arrival_ms * 1000
        mine = [t for t, other in placed if other == who]
        last = max(mine) if mine else None
        decision = earliest(
            [scope],
            BASE + arrival * US,
            recipient_zone=zone,
            recipient_last=None if last is None else BASE + last * US,
        )
        assert decision.at is not None
        t = us(decision.at)
        times = [x for x, _ in placed]
        read_in = zone if zone and rules.quiet_zone == "recipient" else scope.zone
        assert t >= arrival
        assert allowed(t, times, rules, read_in, last), (arrival, t, placed)
        # The earliest: no instant where a rule could start to allow it is allowed earlier.
        for c in candidates(arrival, times, rules, read_in, last):
            assert not (arrival <= c < t and allowed(c, times, rules, read_in, last)), c
        assert (decision.reason is None) == (t == arrival)
        record([scope], decision.at)
        placed.append((t, who))
    return placed


@FAST
@given(rules=rules_without_quiet, arrivals=arrivals)
def test_releases_fill_windows_and_gaps_at_the_earliest_allowed_instants(
    rules: ThrottleRules, arrivals: list[tuple[int, str]]
) -> None:
    # Arrivals come in any order: a held release reserves a later slot, and the next one
    # may still go before it.
    placed = place(Scope(rules, Ledger(), UTC_ZONE), arrivals)
    times = sorted(t for t, _ in placed)
    for width, limit in windows(rules):
        for start in times:
            assert sum(start <= x < start + width for x in times) <= limit
    gap = gap_us(rules.min_gap_seconds)
    assert all(b - a >= gap for a, b in itertools.pairwise(times))
    recipient_gap = gap_us(rules.recipient_min_gap_seconds)
    for who in "abc":
        mine = sorted(t for t, other in placed if other == who)
        assert all(b - a >= recipient_gap for a, b in itertools.pairwise(mine))


def test_a_full_window_holds_the_next_release_until_its_oldest_leaves() -> None:
    scope = Scope(ThrottleRules(max_per_minute=2), Ledger(), UTC_ZONE)
    for offset in (0, 10, 20):
        record([scope], BASE + timedelta(seconds=offset))
    # (t - 60 s, t] at t = 30 s holds 3; two must leave: the one at 10 s leaves at 70 s.
    decision = earliest(
        [scope], BASE + timedelta(seconds=30), recipient_zone=None, recipient_last=None
    )
    assert decision == Decision(BASE + timedelta(seconds=70), HoldReason.MAX_PER_MINUTE)
    assert not decision.allows(BASE + timedelta(seconds=30))
    assert decision.allows(BASE + timedelta(seconds=70))


def test_a_release_may_go_the_moment_the_oldest_leaves_the_window() -> None:
    scope = Scope(ThrottleRules(max_per_minute=1, min_gap_seconds=60), Ledger([BASE]), UTC_ZONE)
    at = BASE + timedelta(seconds=60)
    assert earliest([scope], at, recipient_zone=None, recipient_last=None) == Decision(at, None)


def test_a_reserved_later_slot_counts_in_the_windows_before_it() -> None:
    scope = Scope(ThrottleRules(max_per_minute=2), Ledger(), UTC_ZONE)
    record([scope], BASE + timedelta(seconds=40))
    record([scope], BASE + timedelta(seconds=50))
    at = earliest([scope], BASE, recipient_zone=None, recipient_last=None).at
    # At 0 s the window (-10 s, 50 s] would hold three.
    assert at == BASE + timedelta(seconds=100)
    # Between two releases a whole window apart there is room for one more.
    scope = Scope(ThrottleRules(max_per_minute=2), Ledger(), UTC_ZONE)
    record([scope], BASE + timedelta(seconds=60))
    record([scope], BASE)
    at = BASE + timedelta(seconds=30)
    assert earliest([scope], at, recipient_zone=None, recipient_last=None) == Decision(at, None)


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(0, 24 * 60 - 1).filter(lambda m: m != start))
    return QuietHours(time(start // 60, start % 60), time(end // 60, end % 60))


def nth_sunday(year: int, month: int, n: int) -> date:
    """The n-th Sunday of the month; n = -1 for the last."""
    sundays = [
        week[calendar.SUNDAY]
        for week in calendar.monthcalendar(year, month)
        if week[calendar.SUNDAY]
    ]
    return date(year, month, sundays[n])


CHANGE_DAYS = [
    (zone, change)
    for year in (2023, 2024, 2025, 2026)
    for zone, change in (
        (LONDON, nth_sunday(year, 3, -1)),
        (LONDON, nth_sunday(year, 10, -1)),
        (NEW_YORK, nth_sunday(year, 3, 1)),
        (NEW_YORK, nth_sunday(year, 11, 0)),
    )
]


@st.composite
def around_a_change(draw: st.DrawFn) -> tuple[ZoneInfo, datetime]:
    zone, day = draw(st.sampled_from(CHANGE_DAYS))
    midnight = datetime.combine(day, time(), tzinfo=UTC)
    offset = draw(st.integers(-2 * 86_400, 2 * 86_400))
    return zone, midnight + timedelta(seconds=offset, microseconds=draw(st.integers(0, 999)))


@settings(max_examples=150, deadline=None)
@given(quiet=quiet_hours(), case=around_a_change())
def test_next_open_is_the_first_open_instant_around_dst_changes(
    quiet: QuietHours, case: tuple[ZoneInfo, datetime]
) -> None:
    zone, at = case
    opened = quiet.next_open(at, zone)
    assert opened >= at
    assert opened.utcoffset() == timedelta(0)
    assert not quiet.contains(opened.astimezone(zone))
    # These zones change offset by whole hours, so wall time (and with it quiet or open)
    # changes only on whole UTC minutes: check `at` and each minute up to the opening.
    minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    assert opened == at or quiet.contains(at.astimezone(zone))
    while minute < opened:
        assert quiet.contains(minute.astimezone(zone)), minute
        minute += timedelta(minutes=1)


@pytest.mark.parametrize(
    ("zone", "hours", "at", "opens"),
    [
        # New York springs forward 02:00 -> 03:00: hours ending at 02:30 end at 03:00 EDT.
        (NEW_YORK, ("01:00", "02:30"), "2024-03-10T06:30", "2024-03-10T07:00"),
        # London springs forward 01:00 -> 02:00: hours ending at 01:30 end at 02:00 BST.
        (LONDON, ("00:00", "01:30"), "2024-03-31T00:30", "2024-03-31T01:00"),
        # London falls back 02:00 BST -> 01:00 GMT: 01:00-01:30 is quiet both times round,
        # and open in between.
        (LONDON, ("00:00", "01:30"), "2024-10-26T23:30", "2024-10-27T00:30"),
        (LONDON, ("00:00", "01:30"), "2024-10-27T00:45", "2024-10-27T00:45"),
        (LONDON, ("00:00", "01:30"), "2024-10-27T01:10", "2024-10-27T01:30"),
        # Across midnight, and short windows late in the day.
        (NEW_YORK, ("22:00", "07:00"), "2024-03-10T04:00", "2024-03-10T11:00"),
        (LONDON, ("23:00", "23:30"), "2024-01-10T23:10", "2024-01-10T23:30"),
        (LONDON, ("23:00", "23:30"), "2024-07-10T22:10", "2024-07-10T22:30"),
        (LONDON, ("00:00", "06:00"), "2024-01-10T05:59", "2024-01-10T06:00"),
        (LONDON, ("00:00", "06:00"), "2024-01-10T12:00", "2024-01-10T12:00"),
    ],
)
def test_next_open_examples(zone: ZoneInfo, hours: tuple[str, str], at: str, opens: str) -> None:
    quiet = ThrottleRules.from_json({"quiet_hours": {"start": hours[0], "end": hours[1]}})
    assert quiet.quiet_hours is not None
    asked = datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert quiet.quiet_hours.next_open(asked, zone) == datetime.fromisoformat(opens).replace(
        tzinfo=UTC
    )


def test_quiet_hours_contain_their_start_but_not_their_end() -> None:
    night = QuietHours(time(22), time(7))
    assert night.contains(datetime(2024, 1, 1, 22, 0))
    assert night.contains(datetime(2024, 1, 1, 6, 59, 59))
    assert not night.contains(datetime(2024, 1, 1, 7, 0))
    assert not night.contains(datetime(2024, 1, 1, 21, 59))
    with pytest.raises(ValidationError):
        QuietHours(time(7), time(7))


@settings(max_examples=50, deadline=None)
@given(
    quiet=quiet_hours(),
    case=around_a_change(),
    limit=st.integers(1, 3),
    offsets=st.lists(st.integers(0, 6 * 3_600_000), max_size=12),
)
def test_no_release_lands_in_quiet_hours(
    quiet: QuietHours, case: tuple[ZoneInfo, datetime], limit: int, offsets: list[int]
) -> None:
    zone, start = case
    rules = ThrottleRules(max_per_minute=limit, quiet_hours=quiet)
    scope = Scope(rules, Ledger(), zone)
    # `place` measures from BASE; shift the arrivals to the generated change day.
    shift = us(start) // 1000
    placed = place(scope, [(shift + offset, "a") for offset in offsets])
    for t, _ in placed:
        assert not quiet.contains((BASE + t * US).astimezone(zone))


def test_quiet_hours_in_the_recipients_zone() -> None:
    rules = ThrottleRules(quiet_hours=QuietHours(time(22), time(7)), quiet_zone="recipient")
    scope = Scope(rules, Ledger(), LONDON)
    at = datetime(2024, 6, 3, 14, 0, tzinfo=UTC)  # 15:00 in London, 23:00 in Tokyo
    in_tokyo = earliest([scope], at, recipient_zone=TOKYO, recipient_last=None)
    assert in_tokyo == Decision(datetime(2024, 6, 3, 22, 0, tzinfo=UTC), HoldReason.QUIET_HOURS)
    # No zone known for the recipient: the scope's zone decides.
    assert earliest([scope], at, recipient_zone=None, recipient_last=None) == Decision(at, None)


def test_every_scope_at_once_and_the_reason_a_person_is_told() -> None:
    night = QuietHours(time(22), time(7))
    workspace = Scope(ThrottleRules(max_per_hour=1), Ledger([BASE]), UTC_ZONE)
    channel = Scope(ThrottleRules(quiet_hours=night), Ledger(), UTC_ZONE)
    at = BASE + timedelta(hours=10)  # 22:00: quiet until 07:00, and the hour is free then
    decision = earliest([workspace, channel], at, recipient_zone=None, recipient_last=None)
    assert decision == Decision(datetime(2024, 6, 4, 7, tzinfo=UTC), HoldReason.QUIET_HOURS)
    # The hour's window moves the release, which then lands in quiet hours: both must hold.
    workspace = Scope(
        ThrottleRules(max_per_hour=1), Ledger([BASE + timedelta(hours=9, minutes=30)]), UTC_ZONE
    )
    decision = earliest(
        [workspace, channel],
        BASE + timedelta(hours=9, minutes=45),
        recipient_zone=None,
        recipient_last=None,
    )
    assert decision == Decision(datetime(2024, 6, 4, 7, tzinfo=UTC), HoldReason.MAX_PER_HOUR)


def test_paused_and_never_open() -> None:
    paused = Scope(ThrottleRules(paused=True), Ledger(), UTC_ZONE)
    decision = earliest([paused], BASE, recipient_zone=None, recipient_last=None)
    assert decision == Decision(None, HoldReason.PAUSED)
    assert not decision.allows(BASE + timedelta(days=365))
    # Two scopes whose quiet hours together cover the whole day.
    night = Scope(ThrottleRules(quiet_hours=QuietHours(time(20), time(8))), Ledger(), LONDON)
    day = Scope(ThrottleRules(quiet_hours=QuietHours(time(8), time(20))), Ledger(), LONDON)
    decision = earliest([night, day], BASE, recipient_zone=None, recipient_last=None)
    assert decision == Decision(None, HoldReason.QUIET_HOURS)


def test_naive_datetimes_are_refused() -> None:
    scope = Scope(ThrottleRules(max_per_minute=1), Ledger(), UTC_ZONE)
    with pytest.raises(ValueError, match="naive"):
        earliest([scope], datetime(2024, 1, 1), recipient_zone=None, recipient_last=None)
    with pytest.raises(ValueError, match="naive"):
        Ledger([datetime(2024, 1, 1)])
    with pytest.raises(ValueError, match="naive"):
        record([scope], datetime(2024, 1, 1))


def test_ledger_counts_strictly_after_and_stays_sorted() -> None:
    ledger = Ledger()
    for offset in (30, 10, 20, 10):
        ledger.record(BASE + timedelta(seconds=offset))
    assert [us(at) // 1_000_000 for at in ledger] == [10, 10, 20, 30]
    assert ledger.count_since(BASE + timedelta(seconds=10)) == 2
    assert ledger.count_since(BASE) == 4


zones = st.sampled_from([None, LONDON, NEW_YORK, TOKYO])


@settings(max_examples=40, deadline=None)
@given(
    rules=st.lists(
        st.builds(
            ThrottleRules,
            max_per_minute=limits,
            max_per_hour=st.none() | st.integers(2, 12),
            min_gap_seconds=seconds,
            recipient_min_gap_seconds=st.none() | st.integers(0, 600),
            quiet_hours=st.none() | quiet_hours(),
            quiet_zone=st.sampled_from(["workspace", "recipient"]),
        ),
        min_size=1,
        max_size=2,
    ),
    spent=st.lists(st.integers(-3_600, 3_600), max_size=8),
    recipients=st.lists(st.tuples(st.sampled_from("abcd"), zones), max_size=20),
)
def test_project_is_earliest_and_record_step_by_step_on_copies(
    rules: list[ThrottleRules],
    spent: list[int],
    recipients: list[tuple[str, ZoneInfo | None]],
) -> None:
    given_at = [BASE + timedelta(seconds=s) for s in spent]
    scopes = [Scope(r, Ledger(given_at), LONDON) for r in rules]
    last = {"a": BASE - timedelta(seconds=30)}
    projected = project(scopes, BASE, recipients, recipient_last=last)
    assert all(list(scope.ledger) == sorted(given_at) for scope in scopes)

    stepped = [Scope(r, Ledger(given_at), LONDON) for r in rules]
    lasts = dict(last)
    expected = []
    for handle, zone in recipients:
        decision = earliest(stepped, BASE, recipient_zone=zone, recipient_last=lasts.get(handle))
        expected.append(decision)
        if decision.at is not None:
            record(stepped, decision.at)
            lasts[handle] = max(decision.at, lasts.get(handle, decision.at))
    assert projected == expected


def test_project_of_a_paused_scope_holds_everyone() -> None:
    scope = Scope(ThrottleRules(paused=True), Ledger(), UTC_ZONE)
    assert project([scope], BASE, [("a", None)] * 3) == [Decision(None, HoldReason.PAUSED)] * 3


def test_project_places_100_000_recipients_quickly() -> None:
    scope = Scope(ThrottleRules(max_per_minute=30), Ledger([BASE]), LONDON)
    recipients = [(f"+4477009{i:05d}", None) for i in range(100_000)]
    started = clock.perf_counter()
    decisions = project([scope], BASE, recipients)
    elapsed = clock.perf_counter() - started
    # 1.0-1.8 s on the 2-core development box (under load); the goal is under 3 s. The
    # bound is generous so a busy CI machine does not fail it.
    print(f"project: 100,000 recipients in {elapsed:.2f} s")
    assert elapsed < 10
    assert decisions[-1].at == BASE + timedelta(minutes=math.ceil(100_001 / 30) - 1)


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_per_minute": True}, "max_per_minute"),
        ({"max_per_hour": 0}, "max_per_hour"),
        ({"max_per_day": 10_000_001}, "max_per_day"),
        ({"max_per_day": 2.0}, "max_per_day"),
        ({"max_per_day": "5"}, "max_per_day"),
        ({"min_gap_seconds": float("nan")}, "min_gap_seconds"),
        ({"min_gap_seconds": float("inf")}, "min_gap_seconds"),
        ({"min_gap_seconds": -1}, "min_gap_seconds"),
        ({"recipient_min_gap_seconds": 7 * 86_400 + 1}, "recipient_min_gap_seconds"),
        ({"recipient_min_gap_seconds": False}, "recipient_min_gap_seconds"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00\n"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "22:00", "end": "07:00", "zone": "x"}}, "quiet_hours.zone"),
        ({"quiet_hours": "22:00-07:00"}, "quiet_hours"),
        ({"quiet_zone": "contact"}, "quiet_zone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"paused": 1}, "paused"),
        ({"paused": None}, "paused"),
        ({"max_per_second": 5}, "max_per_second"),
    ],
)
def test_from_json_refuses_bad_input_naming_the_field(body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ThrottleRules.from_json(body)
    assert set(refused.value.errors) == {field}


def test_from_json_names_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        ThrottleRules.from_json(
            {
                "max_per_minute": True,
                "min_gap_seconds": float("nan"),
                "quiet_hours": {"start": "25:00", "end": "24:00"},
                "colour": "blue",
            }
        )
    assert set(refused.value.errors) == {
        "max_per_minute",
        "min_gap_seconds",
        "quiet_hours.start",
        "quiet_hours.end",
        "colour",
    }


def test_from_json_reads_every_rule() -> None:
    rules = ThrottleRules.from_json(
        {
            "max_per_minute": 10,
            "max_per_hour": None,
            "min_gap_seconds": 1.5,
            "recipient_min_gap_seconds": 0,
            "quiet_hours": {"start": "22:00", "end": "07:30"},
            "quiet_zone": "recipient",
            "timezone": "Europe/London",
            "paused": False,
        }
    )
    assert rules == ThrottleRules(
        max_per_minute=10,
        min_gap_seconds=1.5,
        recipient_min_gap_seconds=0.0,
        quiet_hours=QuietHours(time(22), time(7, 30)),
        quiet_zone="recipient",
        timezone="Europe/London",
    )
    assert rules.zone(UTC_ZONE) == LONDON
    assert rules.limits_anything
    assert not ThrottleRules.from_json({}).limits_anything
    assert not ThrottleRules(min_gap_seconds=0).limits_anything


@settings(max_examples=100, deadline=None)
@given(
    rules=st.builds(
        ThrottleRules,
        max_per_minute=st.none() | st.integers(1, 10_000_000),
        max_per_hour=st.none() | st.integers(1, 10_000_000),
        max_per_day=st.none() | st.integers(1, 10_000_000),
        min_gap_seconds=st.none() | st.floats(0, 7 * 86_400),
        recipient_min_gap_seconds=st.none() | st.floats(0, 7 * 86_400),
        quiet_hours=st.none() | quiet_hours(),
        quiet_zone=st.sampled_from(["workspace", "recipient"]),
        timezone=st.sampled_from([None, "Europe/London", "America/New_York", "UTC"]),
        paused=st.booleans(),
    )
)
def test_to_json_round_trips(rules: ThrottleRules) -> None:
    assert ThrottleRules.from_json(rules.to_json()) == rules
