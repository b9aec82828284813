"""The extraction port: values it returns and the `Extractor` protocol.

Everything here is a frozen value so a result can be cached, compared in
tests and handed across threads without copies.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo


class Grain(enum.IntEnum):
    """Precision of a resolved time; ordered from finest to coarsest."""

    SECOND = 0
    MINUTE = 1
    HOUR = 2
    DAY = 3
    WEEK = 4
    MONTH = 5
    QUARTER = 6
    YEAR = 7

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(enum.StrEnum):
    REMIND = "remind"
    REMIND_AND_DRAFT = "remind_and_draft"


class Reason(enum.StrEnum):
    """Stable codes for "ambiguous"; the human text lives in `REASON_TEXT`."""

    NO_TIME = "no_time"
    VAGUE_TIME = "vague_time"
    UNKNOWN_DATE_ORDER = "unknown_date_order"
    WEEKDAY_THIS_OR_NEXT = "weekday_this_or_next"
    NONEXISTENT_DATE = "nonexistent_date"
    PAST_TIME = "past_time"
    CONFLICTING_TIMES = "conflicting_times"
    WHICH_DAY = "which_day"
    VAGUE_PERIOD = "vague_period"
    WEEKDAY_DATE_CONFLICT = "weekday_date_conflict"
    AM_PM = "am_pm"


REASON_TEXT: dict[Reason, str] = {
    Reason.NO_TIME: "no due time was mentioned",
    Reason.VAGUE_TIME: "the time is too vague to schedule",
    Reason.UNKNOWN_DATE_ORDER: "the date could be read day-first or month-first",
    Reason.WEEKDAY_THIS_OR_NEXT: "the weekday could mean this week or next week",
    Reason.NONEXISTENT_DATE: "that date does not exist",
    Reason.PAST_TIME: "the time has already passed",
    Reason.CONFLICTING_TIMES: "the message names several different times",
    Reason.WHICH_DAY: "it could mean today or the next day",
    Reason.VAGUE_PERIOD: "the period is too long to pick a day",
    Reason.WEEKDAY_DATE_CONFLICT: "the weekday and the date do not match",
    Reason.AM_PM: "it could be morning or evening",
}


@dataclass(frozen=True, slots=True)
class PreferredHours:
    """The user's wall-clock hours that stand in for vague parts of the day."""

    morning: time
    afternoon: time
    evening: time
    night: time
    lunch: time
    end_of_day: time
    first_thing: time

    @classmethod
    def default(cls) -> PreferredHours:
        from datetime import time

        return cls(
            morning=time(9),
            afternoon=time(14),
            evening=time(18),
            night=time(20),
            lunch=time(12),
            end_of_day=time(17),
            first_thing=time(9),
        )


@dataclass(frozen=True, slots=True)
class TimeMention:
    """One time expression found in a text, resolved in the user's zone.

    `start` and `end` are aware; `end` is exclusive. `open` is "after" or
    "before" for half-open intervals, whose missing side is `None`.
    """

    text: str
    span: tuple[int, int]
    start: datetime | None
    end: datetime | None
    grain: Grain
    kind: str = "instant"
    open: str | None = None
    vague: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Extraction:
    """What to follow up about, and when; or why we have to ask."""

    due: datetime | None
    grain: Grain | None
    summary: str
    action: Action
    mentions: tuple[TimeMention, ...] = ()
    ambiguous: bool = False
    reason: Reason | None = None
    reason_text: str | None = None
    question: str | None = None  # what to ask the sender back, when `ambiguous`
    # False: the text asks for no follow-up at all ("thanks, got it!", a past date, someone
    # else's deadline); then `due` is None and nothing is asked.
    wants_follow_up: bool = True
    source: str = "rules"
    notes: tuple[str, ...] = field(default=())


# A reference outside these years leaves no room for what a text may add or take away.
FIRST_YEAR, LAST_YEAR = 1900, 8999


@dataclass(frozen=True, slots=True)
class ExtractRequest:
    """The input of one extraction; `received_at` must be aware."""

    text: str
    received_at: datetime
    zone: ZoneInfo
    locale: str = "en"
    hours: PreferredHours = field(default_factory=PreferredHours.default)


class Extractor(Protocol):
    """Turns a message into a follow-up extraction. Must never raise on text."""

    def extract(self, request: ExtractRequest) -> Extraction: ...
