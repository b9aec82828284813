"""The default extractor: rule-based resolution plus follow-up policy.

The resolver answers what a phrase means (Duckling's semantics). This layer
decides what to do about it for a reminder:

* a due time is never in the past: a passed date asks back (`past_time`);
  "today" or "this week" while still running becomes "now";
* a day without a clock time gets the user's morning hour; a part of the
  day ("tomorrow evening", "EOD", "first thing") gets the user's hour for it;
* a deadline ("by Friday", "before 3pm") reminds ahead of it;
* vague phrases ("sometime next week", "later", "soon"), a numeric date
  whose order the locale does not settle ("3/11"), a date that does not
  exist ("the 31st" in April) and "next <weekday>" said in the same week
  are returned as ambiguous with a stable reason code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from pigeon.extract import asking, intent
from pigeon.extract import expr as ex
from pigeon.extract.holiday_rules import is_business_day
from pigeon.extract.protocols import (
    REASON_TEXT,
    Extraction,
    ExtractRequest,
    Grain,
    PreferredHours,
    Reason,
    TimeMention,
)
from pigeon.extract.resolve import Resolved, find_mentions
from pigeon.extract.summary import action_for, summarize
from pigeon.extract.timemath import localize

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_BEFORE_MARGIN = timedelta(minutes=30)


class RuleBasedExtractor:
    """Pure and offline: no I/O, no clock reads; safe to share between threads."""

    def extract(self, request: ExtractRequest) -> Extraction:
        received = request.received_at
        found = find_mentions(request.text, received, request.zone, request.locale, business=True)
        mentions = tuple(m for m, _ in found)
        summary = summarize(request.text, [m.span for m in mentions])
        action = action_for(request.text)
        base = Extraction(due=None, grain=None, summary=summary, action=action, mentions=mentions)
        ranked = intent.choose(request.text, found, received)
        if not intent.wants_follow_up(request.text, list(mentions)):
            return replace(base, wants_follow_up=False)
        primary = ranked[0] if ranked else None
        question = asking.ask_for(request, primary, found)
        if question is not None:
            return _ask(base, question.reason, question.question)
        assert primary is not None  # ask_for asks when there is nothing to schedule
        try:
            due, grain = _due(primary[0], primary[1], request)
        except (ValueError, OverflowError):  # the due time falls past the year 9999
            return _ask(base, Reason.NO_TIME, "That is too far ahead. When should I remind you?")
        if due < received.replace(microsecond=0):  # "now" said at 10:00:00.5 is not past
            return _ask(
                base,
                Reason.PAST_TIME,
                "That time has already passed. When should I remind you instead?",
                due=due,
                grain=grain,
            )
        return replace(base, due=max(due, received), grain=grain)


def _ask(
    base: Extraction,
    reason: Reason,
    question: str,
    *,
    due: datetime | None = None,
    grain: Grain | None = None,
) -> Extraction:
    return replace(
        base,
        due=due,
        grain=grain,
        ambiguous=True,
        reason=reason,
        reason_text=REASON_TEXT[reason],
        question=question,
    )


def _pod_hour(label: str, hours: PreferredHours) -> time | None:
    name = label.split(":", 1)[1] if label.startswith(("pod:", "deadline:pod:")) else label
    name = name.rsplit(":", 1)[-1]
    return {
        "morning": hours.morning,
        "am": hours.morning,
        "first_thing": hours.first_thing,
        "afternoon": hours.afternoon,
        "pm": hours.afternoon,
        "after lunch": hours.afternoon,
        "lunch": hours.lunch,
        "evening": hours.evening,
        "night": hours.night,
        "late night": hours.night,
        "eod": hours.end_of_day,
    }.get(name)


def _at(day: datetime, hour: time, zone: ZoneInfo) -> datetime:
    return localize(datetime.combine(day.date(), hour), zone)


def _due(
    mention: TimeMention, resolved: Resolved, request: ExtractRequest
) -> tuple[datetime, Grain]:
    zone, hours, received = request.zone, request.hours, request.received_at
    label = resolved.label
    if label.startswith("deadline"):
        return _deadline(resolved, request)
    if label.startswith(("edge:end", "edge:late", "open:before:edge:end")):
        return _period_end(resolved.end, request), Grain.MINUTE
    if label == "weekend":  # "over the weekend": Saturday morning, or Sunday's if that has gone
        saturday = resolved.start + timedelta(days=(5 - resolved.start.weekday()) % 7)
        for day in (saturday, saturday + timedelta(days=1)):
            if _at(day, hours.morning, zone) >= received:
                return _at(day, hours.morning, zone), Grain.MINUTE
        return received, Grain.MINUTE
    if label.startswith("open:after") and (resolved.grain >= Grain.DAY or "weekend" in label):
        return max(_at(resolved.end, hours.morning, zone), received), Grain.MINUTE
    preferred = _pod_hour(label, hours)
    if preferred is not None:
        due = _at(resolved.start, preferred, zone)
        if due < received and isinstance(resolved.expr, ex.DailyRange):
            # "in the morning" said at 11:20, no day named: tomorrow's
            return _at(resolved.start + timedelta(days=1), preferred, zone), Grain.MINUTE
        if resolved.end <= _local(received, zone):
            return due, Grain.MINUTE  # "this morning" said at 19:00: over, so asked about
        return (
            max(due, received) if resolved.start <= _local(received, zone) else due
        ), Grain.MINUTE
    start = localize(resolved.start, zone)
    if label.startswith("open:before") and resolved.grain >= Grain.DAY:
        # "ahead of Christmas", "before Friday": the working day before, in the morning
        day = resolved.start - timedelta(days=1)
        zone_name = getattr(zone, "key", None)
        while not is_business_day(day.date(), request.locale, zone_name):
            day -= timedelta(days=1)
        return max(_at(day, hours.morning, zone), received), Grain.MINUTE
    if label.startswith("open:before"):
        return max(start - _BEFORE_MARGIN, received), Grain.MINUTE
    shift = resolved.expr
    if isinstance(shift, ex.Shift) and shift.anchor is None:
        # "in 3 days", "in a month", "in a year": calendar arithmetic that keeps the clock
        moved = ex.shift_from(_local(received, zone), shift.duration, shift.sign, zone)
        return localize(moved, zone), Grain.MINUTE
    if resolved.grain <= Grain.HOUR or label.startswith("open"):
        return start, resolved.grain
    if resolved.start <= _local(received, zone) < resolved.end:
        if resolved.grain == Grain.DAY:  # "today", "21.7" said at 00:25: that morning
            return max(_at(resolved.start, hours.morning, zone), received), Grain.MINUTE
        return received, Grain.MINUTE  # "this week": still running, so now
    return _at(resolved.start, hours.morning, zone), Grain.MINUTE


def _period_end(end: datetime, request: ExtractRequest) -> datetime:
    """The end of a week, month, quarter or year (`end` is the midnight after it): the
    close of its last weekday. A public holiday there still counts: people mean the date
    ("by the end of the tax year" is 5 April, whatever day it falls on)."""
    last = end - timedelta(days=1)
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return max(_at(last, request.hours.end_of_day, request.zone), request.received_at)


def _deadline(resolved: Resolved, request: ExtractRequest) -> tuple[datetime, Grain]:
    zone, hours = request.zone, request.hours
    end = resolved.end
    target = resolved.label.split(":", 1)[1]
    if target.startswith(("edge:end", "edge:late")):
        return _period_end(end, request), Grain.MINUTE
    if target == "eod":
        return max(
            _at(end - timedelta(days=1), hours.end_of_day, zone), request.received_at
        ), Grain.MINUTE
    if end.time() != time(0):
        # "by 1745 on Tuesday": the sender named the moment; remind at it.
        return max(localize(end, zone), request.received_at), Grain.MINUTE
    # A deadline on a day ("by friday"): remind that morning, or now if that has passed.
    # "by the end of the month" ends at the next midnight, so step back into the unit.
    inclusive = target.startswith("edge")
    day = end - timedelta(days=1) if inclusive and end.time() == time(0) else end
    return max(_at(day, hours.morning, zone), request.received_at), Grain.MINUTE


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)
