"""The follow-up policy of the rule-based extractor, by example."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from pigeon.extract import Action, ExtractRequest, PreferredHours, Reason, RuleBasedExtractor

ZONE = ZoneInfo("America/New_York")
WEDNESDAY_10AM = datetime(2025, 1, 15, 10, 0, tzinfo=ZONE)
EXTRACTOR = RuleBasedExtractor()


def run(text: str, locale: str = "en", hours: PreferredHours | None = None):  # type: ignore[no-untyped-def]
    request = ExtractRequest(text, WEDNESDAY_10AM, ZONE, locale, hours or PreferredHours.default())
    return EXTRACTOR.extract(request)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("Reply to Sam tomorrow at 3pm", "2025-01-16T15:00:00-05:00"),
        ("remind me in half an hour to call mom", "2025-01-15T10:30:00-05:00"),
        ("in 90 minutes", "2025-01-15T11:30:00-05:00"),
        ("the day after tomorrow", "2025-01-17T09:00:00-05:00"),
        ("send the report by EOD", "2025-01-15T17:00:00-05:00"),
        ("send it by COB", "2025-01-15T17:00:00-05:00"),
        ("first thing tmrw", "2025-01-16T09:00:00-05:00"),
        ("call Ann tonight", "2025-01-15T18:00:00-05:00"),
        ("after lunch talk to Jim", "2025-01-15T14:00:00-05:00"),
        ("call Ann before 3pm", "2025-01-15T14:30:00-05:00"),
        ("call Ann by Friday", "2025-01-17T09:00:00-05:00"),
        ("between 3 and 5pm on thursday", "2025-01-16T15:00:00-05:00"),
        ("a week from Friday", "2025-01-24T09:00:00-05:00"),
        ("in 3 business days", "2025-01-21T09:00:00-05:00"),  # New York: MLK day skipped
    ],
)
def test_due_times(text: str, due: str) -> None:
    result = run(text)
    assert not result.ambiguous, result
    assert result.due is not None
    assert result.due.isoformat() == due


def test_three_business_days_skip_a_holiday_where_the_sender_is() -> None:
    # Monday 2025-01-20 is MLK day in the US; the zone says where the sender is, even
    # when the locale is a British one.
    for locale in ("en_US", "en_GB", "en"):
        result = run("in 3 business days", locale=locale)
        assert result.due is not None
        assert result.due.date().isoformat() == "2025-01-21"


def test_preferred_hours_set_parts_of_the_day() -> None:
    hours = PreferredHours.default()
    early = PreferredHours(
        time(7), hours.afternoon, hours.evening, hours.night, hours.lunch, hours.end_of_day, time(7)
    )
    result = run("call Ann tomorrow morning", hours=early)
    assert result.due is not None
    assert result.due.hour == 7


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Follow up sometime next week", Reason.VAGUE_PERIOD),
        ("remind me to call mom later", Reason.VAGUE_TIME),
        ("ping me soon", Reason.VAGUE_TIME),
        ("ping Bob on 3/11", Reason.UNKNOWN_DATE_ORDER),
        ("remind me to pay the invoice on April 31", Reason.NONEXISTENT_DATE),
        ("call Ann yesterday", Reason.PAST_TIME),
        ("remind me next thursday", Reason.WEEKDAY_THIS_OR_NEXT),
        ("call 555-1234 about the 2 of them", Reason.NO_TIME),
    ],
)
def test_ambiguity_reasons(text: str, reason: Reason) -> None:
    result = run(text)
    assert result.ambiguous
    assert result.reason is reason
    assert result.reason_text


def test_locale_settles_the_date_order() -> None:
    gb = run("ping Bob on 3/11", locale="en_GB")
    us = run("ping Bob on 3/11", locale="en_US")
    assert gb.due is not None and gb.due.date().isoformat() == "2025-11-03"
    assert us.due is not None and us.due.date().isoformat() == "2025-03-11"


@pytest.mark.parametrize("text", ["call 555-1234", "2 of them", "the 3 of us", "Pay ABC 2000"])
def test_numbers_that_are_not_times(text: str) -> None:
    assert run(text).mentions == ()


def test_summary_and_action() -> None:
    result = run("Follow up with Dr office tomorrow morning about test results.")
    assert result.summary == "Follow up with Dr office about test results"
    assert result.action is Action.REMIND
    assert run("Can you reply to Sarah first thing tmrw?").action is Action.REMIND_AND_DRAFT
    assert run("Can you reply to Sarah first thing tmrw?").summary == "Reply to Sarah"
