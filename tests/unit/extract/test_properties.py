"""Hypothesis properties of the resolver and the follow-up policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from pigeon.extract.protocols import ExtractRequest
from pigeon.extract.resolve import resolve_phrase
from pigeon.extract.rules import RuleBasedExtractor
from pigeon.extract.timemath import localize

ZONES = st.sampled_from(
    ["UTC", "America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "Etc/GMT+2"]
)
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))
PHRASES = st.sampled_from(
    [
        "call Ann tomorrow", "call Ann at 3pm", "ping Bob on friday", "in 2 weeks", "next month",
        "tonight", "by EOD", "first thing tomorrow", "on the 15th", "after lunch", "yesterday",
        "last tuesday", "at 7:30", "in 90 minutes", "this morning", "christmas", "march 3",
        "before 11am", "next year", "monday at 9", "in half an hour", "the day after tomorrow",
        "end of the month", "3 days ago", "this week", "noon",
    ]
)  # fmt: skip
UNITS = st.sampled_from(["minutes", "hours", "days", "weeks", "months", "years"])
EXTRACTOR = RuleBasedExtractor()


@settings(max_examples=150, deadline=None)
@given(PHRASES, MOMENTS, ZONES)
def test_a_due_time_is_never_in_the_past(phrase: str, moment: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    received = localize(moment, zone)
    result = EXTRACTOR.extract(ExtractRequest(phrase, received, zone))
    if not result.ambiguous:
        assert result.due is not None
        assert result.due >= received


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 200), st.integers(1, 200), UNITS, MOMENTS, ZONES)
def test_in_n_units_is_monotonic_in_n(
    a: int, b: int, unit: str, moment: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    low, high = sorted((a, b))
    first = resolve_phrase(f"in {low} {unit}", moment, zone)
    second = resolve_phrase(f"in {high} {unit}", moment, zone)
    assert first is not None
    assert second is not None
    assert localize(first.start, zone) <= localize(second.start, zone)


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.sampled_from(["America/New_York", "Europe/London", "Australia/Sydney"]))
def test_wall_times_become_real_instants(naive: datetime, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    naive = naive.replace(fold=0)  # as text gives it; fold=1 comes only from shift_exact
    aware = localize(naive, zone)
    # A real instant: it survives a round trip through UTC unchanged.
    assert aware.astimezone(UTC).astimezone(zone) == aware
    # Gaps move forward (never back); repeats take the first occurrence.
    shown = aware.replace(tzinfo=None)
    assert shown >= naive
    assert shown - naive <= timedelta(hours=1)
    if shown == naive:
        assert aware.fold == 0


def test_spring_forward_gap_moves_past_the_gap() -> None:
    zone = ZoneInfo("America/New_York")
    assert localize(datetime(2024, 3, 10, 2, 30), zone).isoformat() == "2024-03-10T03:30:00-04:00"


def test_fall_back_repeat_takes_the_first_occurrence() -> None:
    zone = ZoneInfo("America/New_York")
    assert localize(datetime(2024, 11, 3, 1, 30), zone).isoformat() == "2024-11-03T01:30:00-04:00"


def test_in_two_hours_across_spring_forward_is_two_real_hours() -> None:
    zone = ZoneInfo("America/New_York")
    resolved = resolve_phrase("in 2 hours", datetime(2024, 3, 10, 1, 0), zone)
    assert resolved is not None
    start = localize(resolved.start, zone)
    elapsed = start.astimezone(UTC) - localize(datetime(2024, 3, 10, 1, 0), zone).astimezone(UTC)
    assert elapsed == timedelta(hours=2)
    assert start.isoformat() == "2024-03-10T04:00:00-04:00"


def test_tomorrow_across_dst_keeps_the_wall_clock() -> None:
    zone = ZoneInfo("Europe/London")
    received = localize(datetime(2024, 3, 30, 15, 0), zone)
    result = EXTRACTOR.extract(ExtractRequest("call Ann tomorrow at 3pm", received, zone))
    assert result.due is not None
    assert result.due.isoformat() == "2024-03-31T15:00:00+01:00"


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 10**22),
    UNITS,
    st.sampled_from(["remind me in {n} {unit}", "in {n} {unit} 5 days", "{n} {unit} from now"]),
    MOMENTS,
    ZONES,
)
def test_an_amount_past_the_calendar_never_raises(
    n: int, unit: str, template: str, moment: datetime, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    received = localize(moment, zone)
    result = EXTRACTOR.extract(ExtractRequest(template.format(n=n, unit=unit), received, zone))
    if result.due is not None:
        assert result.due >= received
    else:
        assert result.ambiguous or not result.wants_follow_up


def test_a_time_past_the_year_9999_is_asked_for_not_raised() -> None:
    zone = ZoneInfo("Europe/London")
    received = datetime(2017, 1, 4, 10, 15, tzinfo=zone)
    too_far = ("remind me in 99999 years", "in 8000 years 5 days", f"in {10**22} days")
    for text in too_far:
        result = EXTRACTOR.extract(ExtractRequest(text, received, zone))
        assert result.due is None
        assert result.ambiguous or not result.wants_follow_up


def test_a_time_in_a_gap_moves_forward_whatever_its_fold() -> None:
    zone = ZoneInfo("Australia/Sydney")  # clocks went forward at 02:00 on 31 Oct 2004
    for fold in (0, 1):
        aware = localize(datetime(2004, 10, 31, 2, 30, fold=fold), zone)
        assert aware.isoformat() == "2004-10-31T03:30:00+11:00"
