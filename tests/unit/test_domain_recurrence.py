"""Recurrence rules: local wall times across DST, lazy occurrences far ahead, what is
refused, and what an outage's missed occurrences become."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from pigeon.domain.recurrence import next_occurrence, parse_rule, step, to_utc, wall
from pigeon.errors import ValidationError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def occurrences(text: str, tz: ZoneInfo, start: datetime, n: int) -> list[datetime]:
    rule = parse_rule(text)
    found, at = [], start
    for _ in range(n):
        following = next_occurrence(rule, tz, start, at)
        if following is None:
            break
        found.append(following)
        at = following
    return found


def test_a_weekly_09_00_stays_09_00_across_both_dst_changes() -> None:
    start = local(LONDON, 2030, 3, 18, 9, 0)  # a Monday, GMT
    found = occurrences("FREQ=WEEKLY;BYDAY=MO", LONDON, start, 32)
    assert all(o.astimezone(LONDON).hour == 9 for o in found)
    assert all(o.astimezone(LONDON).weekday() == 0 for o in found)
    utc_hours = [o.hour for o in found]
    # GMT until the last Sunday of March, BST until the last Sunday of October, GMT again.
    assert utc_hours[0] == 9 and found[0].date().isoformat() == "2030-03-25"
    assert utc_hours[1] == 8 and found[1].date().isoformat() == "2030-04-01"
    assert found[31].date().isoformat() == "2030-10-28" and utc_hours[31] == 9
    assert utc_hours[30] == 8  # 2030-10-21, still BST


def test_a_time_skipped_in_spring_moves_to_the_end_of_the_gap() -> None:
    start = local(LONDON, 2030, 3, 29, 1, 30)
    found = occurrences("FREQ=DAILY", LONDON, start, 3)
    # 01:30 does not exist on 2030-03-31 (01:00 GMT -> 02:00 BST): 02:00 BST is next.
    assert [o.astimezone(LONDON).strftime("%d %H:%M %Z") for o in found] == [
        "30 01:30 GMT",
        "31 02:00 BST",
        "01 01:30 BST",
    ]


def test_a_time_repeated_in_autumn_is_the_first_of_the_two() -> None:
    start = local(LONDON, 2030, 10, 25, 1, 30)
    found = occurrences("FREQ=DAILY", LONDON, start, 3)
    assert [o.isoformat() for o in found] == [
        "2030-10-26T00:30:00+00:00",
        "2030-10-27T00:30:00+00:00",  # 01:30 BST, not the 01:30 GMT an hour later
        "2030-10-28T01:30:00+00:00",
    ]


def test_wall_times_mapping_to_one_instant_make_one_occurrence() -> None:
    start = local(LONDON, 2030, 3, 31, 0, 0)
    found = occurrences("FREQ=HOURLY;BYMINUTE=0,30", LONDON, start, 4)
    # 01:00 and 01:30 do not exist: both are 02:00 BST, which is itself an occurrence.
    assert [o.astimezone(LONDON).strftime("%H:%M") for o in found] == [
        "00:30",
        "02:00",
        "02:30",
        "03:00",
    ]


def test_an_instant_fifty_years_on_costs_no_walk_from_the_start() -> None:
    start = local(NEW_YORK, 2030, 1, 7, 9, 0)
    for text, expected in [
        ("FREQ=HOURLY", "2080-01-07T09:00:00-05:00"),
        ("FREQ=DAILY;BYHOUR=9,17", "2080-01-07T09:00:00-05:00"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO", "2080-01-15T09:00:00-05:00"),
    ]:
        rule = parse_rule(text)
        after = local(NEW_YORK, 2080, 1, 7, 8, 30)
        began = time.perf_counter()
        found = next_occurrence(rule, NEW_YORK, start, after)
        assert time.perf_counter() - began < 0.05, text  # a walk of 50 years takes seconds
        assert found is not None and found.astimezone(NEW_YORK).isoformat() == expected, text


RULES = [
    "FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=3",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "FREQ=MONTHLY;INTERVAL=5",
    "FREQ=YEARLY;INTERVAL=3",
    "FREQ=DAILY;INTERVAL=10;BYHOUR=8,20",
    "FREQ=HOURLY;INTERVAL=7",
    "FREQ=HOURLY;INTERVAL=5;BYHOUR=3,8,13",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=YEARLY;BYWEEKNO=20;BYDAY=TH",
    "FREQ=WEEKLY;WKST=SU;INTERVAL=2;BYDAY=SU,SA",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1",
]


@pytest.mark.parametrize("text", RULES)
def test_starting_the_rule_afresh_near_the_instant_changes_no_occurrence(text: str) -> None:
    """Against dateutil walking the rule from its start, then mapping wall times to UTC."""
    rule = parse_rule(text)
    draw = random.Random(text)
    span = 2 * 10**7 if "HOURLY" in text else 2 * 10**8  # seconds: months, or years
    for _ in range(25):
        start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(seconds=draw.randrange(10**8))
        after = start + timedelta(seconds=draw.randrange(span))
        expected = None
        for occurrence in rrulestr(rule.core, dtstart=wall(start, NEW_YORK)):
            if to_utc(occurrence, NEW_YORK) > after:
                expected = to_utc(occurrence, NEW_YORK)
                break
        assert next_occurrence(rule, NEW_YORK, start, after) == expected, (start, after)


def test_count_and_until_end_the_rule() -> None:
    start = local(LONDON, 2030, 1, 7, 9, 0)
    assert len(occurrences("FREQ=DAILY;COUNT=3", LONDON, start, 10)) == 2  # the start is one
    until = occurrences("FREQ=DAILY;UNTIL=20300109", LONDON, start, 10)
    assert [o.day for o in until] == [8, 9]  # a date: the whole day counts
    until = occurrences("FREQ=DAILY;UNTIL=20300109T085959Z", LONDON, start, 10)
    assert [o.day for o in until] == [8]


def test_a_rule_that_never_matches_answers_none_quickly() -> None:
    start = local(LONDON, 2030, 1, 7, 9, 0)
    for text in ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=HOURLY;BYMONTHDAY=31;BYMONTH=4"):
        began = time.perf_counter()
        assert next_occurrence(parse_rule(text), LONDON, start, start) is None
        assert time.perf_counter() - began < 1.0, text  # dateutil alone walks to 9999


@pytest.mark.parametrize(
    ("text", "zone", "start"),
    [
        ("FREQ=DAILY", "Pacific/Honolulu", "9999-12-31T09:00:00+00:00"),  # next: year 10000
        ("FREQ=DAILY", "Pacific/Kiritimati", "9999-12-31T12:00:00+00:00"),  # local 10000
        ("FREQ=YEARLY;COUNT=5", "UTC", "9996-02-29T09:00:00+00:00"),
        ("FREQ=WEEKLY", "Pacific/Honolulu", "0001-01-01T12:00:00+00:00"),
    ],
)
def test_the_ends_of_the_calendar_end_the_rule_without_an_error(
    text: str, zone: str, start: str
) -> None:
    at = datetime.fromisoformat(start)
    found = next_occurrence(parse_rule(text), ZoneInfo(zone), at, at)
    assert found is None or found > at


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("FREQ=MINUTELY", "too frequent"),
        ("FREQ=SECONDLY;INTERVAL=30", "too frequent"),
        ("FREQ=DAILY;COUNT=100001", "COUNT must be"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20310101", "cannot both"),
        ("BYDAY=MO", "FREQ is required"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=1MO", "numbered weekday"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR"),
        ("FREQ=DAILY;UNTIL=2031", "UNTIL"),
        ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
        ("FREQ=DAILY;BYEASTER=0", "not a part"),
        ("DTSTART:20300101T090000\nRRULE:FREQ=DAILY", "one RRULE line"),
        ("FREQ=DAILY;BYSETPOS=2", "never matches"),
        ("FREQ=YEARLY;INTERVAL=101", "INTERVAL"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(text: str, problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_rule(text, field="repeat.rrule")
    assert list(caught.value.errors) == ["repeat.rrule"]
    assert problem in caught.value.errors["repeat.rrule"], caught.value.errors


def test_a_rule_is_stored_in_one_spelling() -> None:
    assert parse_rule(" rrule:freq=weekly;byday=mo;").text == "FREQ=WEEKLY;BYDAY=MO"
    assert parse_rule("FREQ=DAILY;COUNT=100000").count == 100_000


# Missed occurrences ---------------------------------------------------------------------


DAILY = parse_rule("FREQ=DAILY")
START = local(LONDON, 2030, 1, 7, 9, 0)
GRACE = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return local(LONDON, 2030, 1, day, hour, minute)


def test_an_occurrence_due_now_is_made_and_the_next_follows() -> None:
    plan = step(DAILY, LONDON, START, at(8, 9), at(8, 8, 59), grace=GRACE)
    assert (plan.make, plan.next_at, plan.skipped_from) == (at(8, 9), at(9, 9), None)


def test_an_occurrence_missed_within_the_grace_is_still_made() -> None:
    plan = step(DAILY, LONDON, START, at(8, 9), at(8, 9, 40), grace=GRACE)
    assert (plan.make, plan.next_at, plan.skipped_from) == (at(8, 9), at(9, 9), None)


def test_after_a_week_down_old_occurrences_are_skipped_not_sent_in_a_burst() -> None:
    plan = step(DAILY, LONDON, START, at(8, 9), at(15, 9, 30), grace=GRACE)
    assert plan.make == at(15, 9)  # today's, 30 minutes late: within the grace
    assert plan.next_at == at(16, 9)
    assert plan.skipped_from == at(8, 9)
    later = step(DAILY, LONDON, START, at(8, 9), at(15, 12), grace=GRACE)
    assert (later.make, later.next_at) == (None, at(16, 9))  # nothing sent late


def test_of_several_missed_within_the_grace_only_the_latest_is_made() -> None:
    hourly = parse_rule("FREQ=HOURLY;BYMINUTE=0,20,40")
    plan = step(hourly, LONDON, START, at(8, 9), at(8, 9, 50), grace=GRACE)
    assert (plan.make, plan.next_at, plan.skipped_from) == (at(8, 9, 40), at(8, 10), at(8, 9))
