"""The classes of mistakes the resolver used to make, each with the examples the issue gave
and more of the same kind (reference Wed 4 Jan 2017 10:15 Europe/London, en_GB, unless a
case says otherwise). Every expected value is worked out by hand from the conventions in
tests/corpora/README.md; none is read back from the code."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from pigeon.extract import ExtractRequest, Reason, RuleBasedExtractor
from pigeon.extract.protocols import Extraction

LONDON = ZoneInfo("Europe/London")
REFERENCE = datetime(2017, 1, 4, 10, 15, tzinfo=LONDON)
EXTRACTOR = RuleBasedExtractor()


def extract(
    text: str, at: datetime = REFERENCE, locale: str = "en_GB", zone: ZoneInfo = LONDON
) -> Extraction:
    return EXTRACTOR.extract(ExtractRequest(f"remind me {text}", at, zone, locale))


def due(text: str, **kwargs: object) -> str:
    result = extract(text, **kwargs)  # type: ignore[arg-type]
    assert not result.ambiguous, (text, result.reason, result.question)
    assert result.due is not None
    return result.due.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue 10 Jan about 14.45", "Tue 10 Jan 2017 14:45"),
        ("on March 3rd at 07.30", "Fri 03 Mar 2017 07:30"),
        ("by 1745 on Friday", "Fri 06 Jan 2017 17:45"),
        ("5 Feb 1940", "Sun 05 Feb 2017 19:40"),  # 1940 is no year anyone means here
        ("Sat 4 Mar 1830", "Sat 04 Mar 2017 18:30"),
        ("12 april 2017", "Wed 12 Apr 2017 09:00"),  # a year near now stays a year
        ("at 1600 to call", "Wed 04 Jan 2017 16:00"),
        ("0700hrs tue", "Tue 10 Jan 2017 07:00"),
        ("at 10.05", "Thu 05 Jan 2017 10:05"),  # 10:05 today has gone
        ("the 3rd of april 9ish", "Mon 03 Apr 2017 09:00"),
        ("3 april 9ish", "Mon 03 Apr 2017 09:00"),  # not 3pm on 9 April
    ],
)
def test_times_beside_dates_are_kept(text: str, expected: str) -> None:
    assert due(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21.3", "Tue 21 Mar 2017 09:00"),
        ("7.4.", "Fri 07 Apr 2017 09:00"),
        ("23/04", "Sun 23 Apr 2017 09:00"),
        ("6.1. at 16.00", "Fri 06 Jan 2017 16:00"),
        ("tue 31.1", "Tue 31 Jan 2017 09:00"),
    ],
)
def test_day_first_numeric_dates(text: str, expected: str) -> None:
    assert due(text) == expected


def test_numeric_dates_follow_the_locale() -> None:
    assert due("3/4", locale="en_GB") == "Mon 03 Apr 2017 09:00"
    assert due("3/4", locale="en_US") == "Sat 04 Mar 2017 09:00"
    assert due("13/4", locale="en_US") == "Thu 13 Apr 2017 09:00"  # only one reading exists


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the 4th of March afternoon", "Sat 04 Mar 2017 14:00"),
        ("3.5. at night", "Wed 03 May 2017 20:00"),
        ("23/04 morning", "Sun 23 Apr 2017 09:00"),
        ("fri lunchtime", "Fri 06 Jan 2017 12:00"),
        ("friday at midnight", "Sat 07 Jan 2017 00:00"),  # the end of Friday
        ("21st in the morning", "Sat 21 Jan 2017 09:00"),
        ("tomorrow mid-morning", "Thu 05 Jan 2017 10:00"),
        ("tomorrow mid afternoon", "Thu 05 Jan 2017 15:00"),  # not this afternoon
        ("friday late afternoon", "Fri 06 Jan 2017 16:00"),
        ("friday early evening", "Fri 06 Jan 2017 17:00"),
        ("friday early afternoon at 2", "Fri 06 Jan 2017 14:00"),  # not 02:00
        ("tomorrow before lunch", "Thu 05 Jan 2017 11:00"),
        ("tomorrow after school", "Thu 05 Jan 2017 15:00"),
        ("sun eve", "Sun 08 Jan 2017 18:00"),
    ],
)
def test_a_part_of_day_beside_a_date(text: str, expected: str) -> None:
    assert due(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 1 hour 45 minutes", "Wed 04 Jan 2017 12:00"),
        ("in 3 days 4 hours", "Sat 07 Jan 2017 14:15"),
        ("in 2h15", "Wed 04 Jan 2017 12:30"),
        ("in 1.5 days", "Thu 05 Jan 2017 22:15"),
        ("10 minutes later", "Wed 04 Jan 2017 10:25"),
        ("20 minutes out", "Wed 04 Jan 2017 10:35"),
        ("now + 25 min", "Wed 04 Jan 2017 10:40"),
        ("in an hour and 20 minutes", "Wed 04 Jan 2017 11:35"),
        ("in a fortnight", "Wed 18 Jan 2017 10:15"),
        ("3 days from now at 9", "Sat 07 Jan 2017 09:00"),
    ],
)
def test_compound_durations(text: str, expected: str) -> None:
    assert due(text) == expected


def test_hours_are_elapsed_across_a_dst_change() -> None:
    """22:30 GMT + 3 hours is 02:30 BST: the clock skipped 01:00-02:00."""
    before_change = datetime(2026, 3, 28, 22, 30, tzinfo=LONDON)
    assert due("in 3 hours", at=before_change) == "Sun 29 Mar 2026 02:30"


def test_a_few_days_is_about_three() -> None:
    result = extract("in a few days")
    assert result.due is not None and not result.ambiguous
    assert 2 <= (result.due.date() - REFERENCE.date()).days <= 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at the end of the month", "Tue 31 Jan 2017 17:00"),
        ("end of this year", "Fri 29 Dec 2017 17:00"),  # 31 Dec 2017 is a Sunday
        ("by end of week", "Fri 06 Jan 2017 17:00"),
        ("EOM", "Tue 31 Jan 2017 17:00"),
        ("end of the quarter", "Fri 31 Mar 2017 17:00"),
        ("end of the tax year", "Wed 05 Apr 2017 17:00"),  # the UK's: 5 April
    ],
)
def test_period_ends(text: str, expected: str) -> None:
    assert due(text) == expected


def test_easter_monday_is_no_working_day_in_london() -> None:
    # The UK-wide list of the `holidays` package has Good Friday but not Easter Monday,
    # which England, Wales and Northern Ireland all keep.
    maundy_thursday = datetime(2017, 4, 13, 15, 0, tzinfo=LONDON)
    assert due("the next working day", at=maundy_thursday) == "Tue 18 Apr 2017 09:00"


def test_eofy_is_the_end_of_the_senders_year_of_accounts() -> None:
    perth = ZoneInfo("Australia/Perth")
    at = datetime(2017, 6, 8, 9, 0, tzinfo=perth)
    result = EXTRACTOR.extract(ExtractRequest("remind me by EOFY", at, perth, "en_AU"))
    assert result.due == datetime(2017, 6, 30, 17, 0, tzinfo=perth)
    assert due("by EOFY") == "Fri 31 Mar 2017 17:00"  # the UK's financial year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("over the weekend", "Sat 07 Jan 2017 09:00"),
        ("at the weekend", "Sat 07 Jan 2017 09:00"),
        ("after the weekend", "Mon 09 Jan 2017 09:00"),
        ("the next working day", "Thu 05 Jan 2017 09:00"),
    ],
)
def test_weekends_and_working_days(text: str, expected: str) -> None:
    assert due(text) == expected


def test_the_next_working_day_skips_a_public_holiday_where_the_sender_is() -> None:
    # Christmas is a Friday; Boxing Day falls on the Saturday, so England's bank holiday for
    # it is Monday 28th.
    thursday = datetime(2026, 12, 24, 15, 0, tzinfo=LONDON)
    assert due("the next working day", at=thursday) == "Tue 29 Dec 2026 09:00"
    new_york = ZoneInfo("America/New_York")  # no Boxing Day there
    at = datetime(2026, 12, 24, 15, 0, tzinfo=new_york)
    assert due("the next working day", at=at, locale="en_US", zone=new_york) == (
        "Mon 28 Dec 2026 14:00"  # 09:00 in New York
    )


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("the Monday after Labor Day", "en_US", "Mon 11 Sep 2017 09:00"),
        ("the day after Boxing Day", "en_GB", "Wed 27 Dec 2017 09:00"),
        ("ahead of Christmas", "en_GB", "Fri 22 Dec 2017 09:00"),  # 24 Dec is a Sunday
        ("the day before Good Friday", "en_GB", "Thu 13 Apr 2017 09:00"),
        ("first working day after Easter Monday", "en_GB", "Tue 18 Apr 2017 09:00"),
        ("the day after Cup Day", "en_AU", "Wed 08 Nov 2017 09:00"),  # 1st Tuesday of Nov
        ("after the long weekend", "en_GB", "Tue 18 Apr 2017 09:00"),  # Easter Monday's
        ("over the memorial day weekend", "en_US", "Sat 27 May 2017 09:00"),
        ("christmas eve at 8pm", "en_GB", "Sun 24 Dec 2017 20:00"),  # not Christmas evening
        ("on australia day", "en_AU", "Thu 26 Jan 2017 09:00"),
    ],
)
def test_holiday_arithmetic(text: str, locale: str, expected: str) -> None:
    assert due(text, locale=locale) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow at 3", "Thu 05 Jan 2017 15:00"),
        ("quarter to 5 tomorrow", "Thu 05 Jan 2017 16:45"),
        ("tomorrow at 9", "Thu 05 Jan 2017 09:00"),
        ("by EOD Friday", "Fri 06 Jan 2017 17:00"),
        ("3pm PT tomorrow", "Thu 05 Jan 2017 23:00"),
        ("5pm New York time", "Wed 04 Jan 2017 22:00"),
        ("9am CET friday", "Fri 06 Jan 2017 08:00"),
        ("by close of play thursday", "Thu 05 Jan 2017 17:00"),
        ("at 5 to 6", "Wed 04 Jan 2017 17:55"),  # one time, not a range from 5 to 6
        ("a week on Tuesday", "Tue 17 Jan 2017 09:00"),
        ("friday week at 2pm", "Fri 13 Jan 2017 14:00"),
        ("this time next week", "Wed 11 Jan 2017 10:15"),
        ("just before the end of the month", "Tue 31 Jan 2017 17:00"),
        ("after lunch on Thursday", "Thu 05 Jan 2017 14:00"),  # not 12:00, as lunch starts
        ("tmoro", "Thu 05 Jan 2017 09:00"),
        ("tomorow at 4pm", "Thu 05 Jan 2017 16:00"),
        ("after 3 days", "Sat 07 Jan 2017 10:15"),  # "after" a span of time: "in"
        ("the first working day of April", "Mon 03 Apr 2017 09:00"),  # 1 April is a Saturday
        ("the last business day of April", "Fri 28 Apr 2017 09:00"),  # 30 April: a Sunday
        ("a week today", "Wed 11 Jan 2017 09:00"),
        ("the week after next", "Mon 16 Jan 2017 09:00"),
        ("by month end", "Tue 31 Jan 2017 17:00"),
        ("next to next monday", "Mon 16 Jan 2017 09:00"),  # Indian English: after next
        ("next to next week", "Mon 16 Jan 2017 09:00"),
        ("at lunch", "Wed 04 Jan 2017 12:00"),
        ("over lunch", "Wed 04 Jan 2017 12:00"),
        ("noon-ish tomorrow", "Thu 05 Jan 2017 12:00"),
        ("b4 noon", "Wed 04 Jan 2017 11:30"),
        ("3 weeks tomorrow", "Thu 26 Jan 2017 09:00"),
        ("in a month", "Sat 04 Feb 2017 10:15"),  # calendar arithmetic keeps the clock
        ("in a year", "Thu 04 Jan 2018 10:15"),
        ("this time next year", "Thu 04 Jan 2018 10:15"),
        ("the first working day of the new year", "Tue 02 Jan 2018 09:00"),
        ("on remembrance sunday", "Sun 12 Nov 2017 09:00"),
        ("first thing", "Thu 05 Jan 2017 09:00"),  # said at 10:15: tomorrow's
        ("tomorrow at 07:00", "Thu 05 Jan 2017 07:00"),  # a leading zero: the 24-hour clock
        ("the weekend after next", "Sat 14 Jan 2017 09:00"),  # a weekend is its Saturday
        ("on the 1st of the month", "Wed 01 Feb 2017 09:00"),  # the next 1st, not January's
        ("at the top of the hour", "Wed 04 Jan 2017 11:00"),
        ("tomorrow by 11", "Thu 05 Jan 2017 11:00"),  # not 11:00 today
        ("friday after 2pm", "Fri 06 Jan 2017 14:00"),
        ("friday by EOD", "Fri 06 Jan 2017 17:00"),
        ("15 mins before the 3pm call", "Wed 04 Jan 2017 14:45"),
        ("by end of today", "Wed 04 Jan 2017 17:00"),
        ("on 3/11/2017", "Fri 03 Nov 2017 09:00"),  # one date, not a range at its slashes
        ("on 2017-12-25", "Mon 25 Dec 2017 09:00"),
    ],
)
def test_business_conventions(text: str, expected: str) -> None:
    assert due(text) == expected


def test_a_part_of_day_already_gone_means_the_next_one() -> None:
    """Said at 11:20 with no day named, "in the morning" is tomorrow morning."""
    at = datetime(2017, 1, 4, 11, 20, tzinfo=LONDON)
    assert due("in the morning", at=at) == "Thu 05 Jan 2017 09:00"
    assert due("this afternoon", at=at) == "Wed 04 Jan 2017 14:00"


def test_that_morning_is_the_morning_of_the_day_named_before() -> None:
    text = "the walkthrough is Tuesday, 10 January at 2:15 p.m. Remind me that morning at 8:30"
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.due == datetime(2017, 1, 10, 8, 30, tzinfo=LONDON)


def test_an_abbreviated_zone_is_read_with_the_offset_of_the_day_meant() -> None:
    """Said on Saturday 2 Nov 2024 in New York (EDT); tomorrow New York is on EST."""
    new_york = ZoneInfo("America/New_York")
    at = datetime(2024, 11, 2, 10, 0, tzinfo=new_york)
    result = EXTRACTOR.extract(ExtractRequest("remind me tomorrow at 9am UTC", at, new_york))
    assert result.due is not None and result.due.isoformat() == "2024-11-03T04:00:00-05:00"


def test_a_morning_hour_said_in_the_evening_is_asked_about() -> None:
    evening = datetime(2017, 1, 4, 18, 0, tzinfo=LONDON)
    assert extract("at 8", at=evening).reason is Reason.AM_PM  # 20:00 tonight or 08:00?
    assert due("tomorrow at 8", at=evening) == "Thu 05 Jan 2017 08:00"  # the day settles it
    assert due("at 8") == "Thu 05 Jan 2017 08:00"  # said at 10:15: business hours


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Meeting moved to Tues 11am - set a reminder 30 mins before?", "Tue 10 Jan 2017 10:30"),
        ("call at 4pm, ping me 10 minutes prior", "Wed 04 Jan 2017 15:50"),
        ("party on saturday, remind me 2 days before", "Thu 05 Jan 2017 09:00"),
        ("Invoice 2291 due 31/03. Remind me a week before", "Fri 24 Mar 2017 09:00"),
        ("Meeting at 3pm Friday. Remind me 1 hour and 30 minutes before.", "Fri 06 Jan 2017 13:30"),
        ("Meeting at 3pm Friday. Remind me an hour and a half before.", "Fri 06 Jan 2017 13:30"),
        ("Call with Amy 3pm Friday. Remind me 15 mins after", "Fri 06 Jan 2017 15:15"),
        ("bug me friday", "Fri 06 Jan 2017 09:00"),
        ("Don't forget to give me a shout on monday about the van", "Mon 09 Jan 2017 09:00"),
    ],
)
def test_a_span_before_the_time_named_earlier(text: str, expected: str) -> None:
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.due is not None, (result.reason, result.question)
    assert result.due.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") == expected


def test_an_hour_before_a_day_asks_what_time() -> None:
    text = "flight on friday, remind me an hour before"
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.reason is Reason.VAGUE_TIME and result.question is not None
    # a span before nothing said earlier is no such question
    assert due("- we finished an hour ahead. Again friday at 2") == "Fri 06 Jan 2017 14:00"


def test_the_task_of_a_polite_request_in_an_email() -> None:
    text = (
        "Hi Tom,\n\nHope you're well. Following our call, could you please send over the "
        "signed contract by Friday 6 January? I need it before the board meets.\n\nMany "
        "thanks,\nPriya"
    )
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.summary == "Send over the signed contract"
    assert result.due == datetime(2017, 1, 6, 9, 0, tzinfo=LONDON)


def test_the_30th_said_on_the_30th_of_january_offers_march() -> None:
    result = extract("on the 30th", at=datetime(2017, 1, 30, 9, 0, tzinfo=LONDON))
    assert result.reason is Reason.WHICH_DAY
    assert result.question == "Do you mean today (Monday 30 January) or Thursday 30 March?"


def test_new_years_eve_is_the_31st_not_new_years_day_evening() -> None:
    assert due("on New Year's Eve", at=datetime(2017, 6, 1, 9, 0, tzinfo=LONDON)) == (
        "Sun 31 Dec 2017 09:00"
    )


def test_a_date_that_has_just_passed_is_asked_about_not_moved_a_year() -> None:
    result = extract("on 2/1")  # said on 4 January: the 2nd has just gone
    assert result.reason is Reason.PAST_TIME
    assert (
        result.question == "Monday 2 January has just passed. Do you mean Tuesday 2 January 2018?"
    )
    assert due("on 2/1 2018") == "Tue 02 Jan 2018 09:00"  # with its year, no doubt
    assert due("on 2/12") == "Sat 02 Dec 2017 09:00"  # long gone: next year's, as said


def test_a_list_of_dates_is_several_dates() -> None:
    result = EXTRACTOR.extract(ExtractRequest("shifts 13/4 14/4 20/4", REFERENCE, LONDON, "en_GB"))
    assert [m.text for m in result.mentions] == ["13/4", "14/4", "20/4"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't remind me on Friday, remind me on Monday instead", "Mon 09 Jan 2017 09:00"),
        ("Don't remind me today. Remind me Friday at 10.", "Fri 06 Jan 2017 10:00"),
        ("remind me friday. don't remind me thursday.", "Fri 06 Jan 2017 09:00"),
        ("I don't need a reminder tomorrow but ping me on Friday at 10", "Fri 06 Jan 2017 10:00"),
    ],
)
def test_a_refusal_beside_a_request_leaves_the_request(text: str, expected: str) -> None:
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.due is not None, (result.wants_follow_up, result.reason)
    assert result.due.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") == expected


def test_a_summary_is_a_task_not_the_whole_message() -> None:
    result = EXTRACTOR.extract(
        ExtractRequest("x" * 5000 + " remind me tomorrow", REFERENCE, LONDON)
    )
    assert len(result.summary) <= 200


def test_a_number_of_things_is_not_a_date() -> None:
    assert due("friday about the 2 invoices") == "Fri 06 Jan 2017 09:00"  # not Friday the 2nd


def test_this_weekend_said_on_saturday_night_is_sunday_morning() -> None:
    saturday_night = datetime(2017, 1, 7, 23, 40, tzinfo=LONDON)
    assert due("this weekend", at=saturday_night) == "Sun 08 Jan 2017 09:00"


def test_of_two_days_offered_the_first_is_due() -> None:
    assert due("Monday or Tuesday") == "Mon 09 Jan 2017 09:00"


def test_now_said_within_a_second_is_now_not_the_past() -> None:
    at = datetime(2017, 1, 4, 10, 15, 0, 500000, tzinfo=LONDON)
    for text in ("remind me now", "asap"):
        result = EXTRACTOR.extract(ExtractRequest(text, at, LONDON, "en_GB"))
        assert not result.ambiguous and result.due is not None and result.due >= at


def test_a_named_zone_follows_its_own_daylight_saving() -> None:
    """On 10 March 2026 New York is on EDT, London still on GMT: four hours apart."""
    at = datetime(2026, 3, 10, 9, 0, tzinfo=LONDON)
    assert due("at 10am ET", at=at) == "Tue 10 Mar 2026 14:00"


@pytest.mark.parametrize(
    ("text", "at", "reason"),
    [
        ("early in the autumn", REFERENCE, Reason.VAGUE_PERIOD),
        ("at some point in March", REFERENCE, Reason.VAGUE_PERIOD),
        ("in a bit", REFERENCE, Reason.VAGUE_TIME),
        ("tomorrow", datetime(2017, 1, 4, 0, 30, tzinfo=LONDON), Reason.WHICH_DAY),
        ("the 31st", datetime(2017, 4, 10, 9, 0, tzinfo=LONDON), Reason.NONEXISTENT_DATE),
        ("on 31 April", REFERENCE, Reason.NONEXISTENT_DATE),
        ("tomorrow at 7", REFERENCE, Reason.AM_PM),
        ("later today", REFERENCE, Reason.VAGUE_TIME),
        ("next thursday", REFERENCE, Reason.WEEKDAY_THIS_OR_NEXT),  # said on a Wednesday
        ("friday the 12th", REFERENCE, Reason.WEEKDAY_DATE_CONFLICT),  # 12 Jan is a Thursday
        ("thursday 13th", REFERENCE, Reason.WEEKDAY_DATE_CONFLICT),  # 13 Jan is a Friday
        ("towards the end of the year", REFERENCE, Reason.VAGUE_PERIOD),
    ],
)
def test_asks_when_a_reasonable_person_would(text: str, at: datetime, reason: Reason) -> None:
    result = extract(text, at=at)
    assert result.ambiguous and result.reason is reason, (result.reason, result.due)
    assert result.question and result.question.endswith("?")


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow at 9am",
        "10 minutes later",
        "next week",
        "on the 20th",
        "tomorrow",  # at 10:15, not after midnight
        "friday the 13th",  # 13 Jan 2017 is a Friday
        "the 30th",  # January has one
        "at 7pm",
    ],
)
def test_never_asks_when_nobody_would(text: str) -> None:
    result = extract(text)
    assert not result.ambiguous, (result.reason, result.question)


def test_the_date_order_is_asked_only_where_the_locale_writes_both() -> None:
    assert extract("03/04", locale="en_CA").reason is Reason.UNKNOWN_DATE_ORDER
    assert not extract("in 1.5 hours", locale="en").ambiguous  # an amount, not a date
    assert due("03/04", locale="en_SG") == "Mon 03 Apr 2017 09:00"  # English is day-first
    assert not extract("03/04", locale="en_GB").ambiguous
    assert not extract("03/04", locale="en_US").ambiguous


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        ("remind me to pay rent on the 1st", "Pay rent"),
        (
            "Can you remind me tomorrow at 3 to call Dana about the lease?",
            "Call Dana about the lease",
        ),
        ("Tue 10 Jan about 14.45 remind me to send the slides", "Send the slides"),
        ("ping me over the weekend re the boiler", "The boiler"),
        (
            "Hi Sam,\n\nPlease remind me on Friday to book the venue.\n\nThanks,\nLeah",
            "Book the venue",
        ),
        ("call the vet tmrw at 4, remind me", "Call the vet"),
        (
            "Could you put in a follow-up for me to send them the checklist on Friday?",
            "Send them the checklist",
        ),
        ("remind me to email dana@example.com tomorrow at 3pm", "Email dana@example.com"),
        ("Remind me on Friday. Call Bob about the van.", "Call Bob about the van"),
        ("remind me Monday or Tuesday", "Remind me"),  # not "Or"
        ("Remind me tomorrow! Thanks", "Remind me"),
        ("Hi Dana, can you call me friday?", "Call me"),  # a request, and no greeting in it
        ("Don't forget to remind me about Jake's bday on Nov 12th", "Jake's bday"),
        ("remind me over the weekend", "Remind me"),  # not "Over"
    ],
)
def test_summaries_keep_the_action_and_its_object(text: str, summary: str) -> None:
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert result.summary == summary


@pytest.mark.parametrize(
    "text",
    [
        "thanks, got it!",
        "the invoice was paid on 3/12, here's the receipt",
        "cancel that reminder about the dentist",
        "no need to remind me about Friday, it's sorted",
        "Flight landed at 6.40, home by 8",
        "who's bringing the chips saturday?",
        "Thanks for the reminder - I already paid the invoice on Friday.",
        "thanks for the reminder about the footy yesterday!",
        "The report is attached. Let me know what you think.",  # asks the reader, no time
        "Don't remind me tomorrow",
        "please don't ping me on friday",
    ],
)
def test_messages_that_ask_for_nothing_get_nothing(text: str) -> None:
    result = EXTRACTOR.extract(ExtractRequest(text, REFERENCE, LONDON, "en_GB"))
    assert not result.wants_follow_up and result.due is None and not result.ambiguous
