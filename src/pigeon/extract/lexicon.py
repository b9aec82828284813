"""Words the grammar knows: numbers, ordinals, months, weekdays, units, zones."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pigeon.extract.protocols import Grain

if TYPE_CHECKING:
    from collections.abc import Iterable

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
_ORD_ONES = [
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
    "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth",
    "sixteenth", "seventeenth", "eighteenth", "nineteenth",
]  # fmt: skip
_ORD_TENS = {"twentieth": 20, "thirtieth": 30}

NUMBER_WORDS: dict[str, int] = {word: i for i, word in enumerate(_ONES)}
NUMBER_WORDS.update(_TENS)
for _tens_word, _tens in _TENS.items():
    for _i in range(1, 10):
        NUMBER_WORDS[f"{_tens_word}-{_ONES[_i]}"] = _tens + _i
        NUMBER_WORDS[f"{_tens_word} {_ONES[_i]}"] = _tens + _i
NUMBER_WORDS.update({"a": 1, "an": 1, "single": 1, "dozen": 12})

# Words that count loosely: "a couple of days" is two, "a few" three.
QUANTIFIERS: dict[str, int] = {
    "a couple of": 2, "a couple": 2, "couple of": 2, "couple": 2, "a pair of": 2,
    "pair of": 2, "a few": 3, "few": 3, "several": 3,
}  # fmt: skip

ORDINAL_WORDS: dict[str, int] = {word: i for i, word in enumerate(_ORD_ONES) if i}
ORDINAL_WORDS.update(_ORD_TENS)
for _i in range(1, 10):
    ORDINAL_WORDS[f"twenty-{_ORD_ONES[_i]}"] = 20 + _i
    ORDINAL_WORDS[f"twenty {_ORD_ONES[_i]}"] = 20 + _i
ORDINAL_WORDS["thirty-first"] = 31
ORDINAL_WORDS["thirty first"] = 31

MONTHS: dict[str, int] = {}
for _i, _name in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august",
     "september", "october", "november", "december"], start=1,
):  # fmt: skip
    MONTHS[_name] = _i
    MONTHS[_name[:3]] = _i
MONTHS["sept"] = 9

WEEKDAYS: dict[str, int] = {}
for _i, (_name, *_abbrevs) in enumerate(
    [
        ("monday", "mon", "mo"),
        ("tuesday", "tue", "tues", "tu"),
        ("wednesday", "wed", "weds"),
        ("thursday", "thu", "thur", "thurs", "th"),
        ("friday", "fri"),
        ("saturday", "sat"),
        ("sunday", "sun"),
    ]
):
    for _word in (_name, *_abbrevs):
        WEEKDAYS[_word] = _i

UNITS: dict[str, Grain] = {}
for _grain, _words in {
    Grain.SECOND: ("second", "seconds", "sec", "secs", "s"),
    Grain.MINUTE: ("minute", "minutes", "min", "mins", "m"),
    Grain.HOUR: ("hour", "hours", "hr", "hrs", "h"),
    Grain.DAY: ("day", "days", "d"),
    Grain.WEEK: ("week", "weeks", "wk", "wks", "w"),
    Grain.MONTH: ("month", "months", "mo", "mos"),
    Grain.QUARTER: ("quarter", "quarters", "qtr", "qtrs"),
    Grain.YEAR: ("year", "years", "yr", "yrs", "y"),
}.items():
    for _word in _words:
        UNITS[_word] = _grain

# Zone abbreviations -> minutes east of UTC. Only unambiguous-enough ones;
# "IST" is India here, as in Duckling.
ZONES: dict[str, int] = {
    "utc": 0, "gmt": 0, "z": 0, "wet": 0, "bst": 60, "cet": 60, "cest": 120, "eet": 120,
    "eest": 180, "msk": 180, "ist": 330, "sgt": 480, "hkt": 480, "jst": 540, "kst": 540,
    "aest": 600, "aedt": 660, "nzst": 720, "nzdt": 780, "est": -300, "edt": -240,
    "cst": -360, "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    "akst": -540, "hst": -600,
}  # fmt: skip

# Zones named by a region or a city, not an offset: "3pm PT", "10am New York time" follow
# that place's daylight saving on the day meant.
REGION_ZONES: dict[str, str] = {
    "pt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
    "pacific time": "America/Los_Angeles", "la time": "America/Los_Angeles",
    "california time": "America/Los_Angeles", "seattle time": "America/Los_Angeles",
    "sf time": "America/Los_Angeles", "san francisco time": "America/Los_Angeles",
    "mt": "America/Denver", "mountain time": "America/Denver", "denver time": "America/Denver",
    "ct": "America/Chicago", "central time": "America/Chicago", "chicago time": "America/Chicago",
    "et": "America/New_York", "eastern": "America/New_York", "eastern time": "America/New_York",
    "new york time": "America/New_York", "ny time": "America/New_York",
    "nyc time": "America/New_York", "boston time": "America/New_York",
    "toronto time": "America/Toronto",
    "uk time": "Europe/London", "london time": "Europe/London",
    "irish time": "Europe/Dublin", "dublin time": "Europe/Dublin",
    "paris time": "Europe/Paris", "berlin time": "Europe/Berlin",
    "german time": "Europe/Berlin", "amsterdam time": "Europe/Amsterdam",
    "india time": "Asia/Kolkata", "singapore time": "Asia/Singapore",
    "hong kong time": "Asia/Hong_Kong", "tokyo time": "Asia/Tokyo", "japan time": "Asia/Tokyo",
    "sydney time": "Australia/Sydney", "melbourne time": "Australia/Melbourne",
    "brisbane time": "Australia/Brisbane", "perth time": "Australia/Perth",
    "nz time": "Pacific/Auckland", "auckland time": "Pacific/Auckland",
    "sa time": "Africa/Johannesburg", "joburg time": "Africa/Johannesburg",
    "johannesburg time": "Africa/Johannesburg", "dubai time": "Asia/Dubai",
}  # fmt: skip

# Locales whose numeric dates are written day first.
# English is written day-first almost everywhere; these regions write the month first
# ("3/4" is March 4), and so does English with no region, as Duckling reads it.
MONTH_FIRST_REGIONS = frozenset({"us", "ca", "ph", "as", "gu", "mp", "pr", "um", "vi", "001"})


def is_day_first(locale: str) -> bool:
    """ "en_GB", "en-in", "en_SG": day-first; "en", "en_US", "en_CA": month-first."""
    _, _, region = locale.lower().replace("-", "_").partition("_")
    return bool(region) and region not in MONTH_FIRST_REGIONS


def alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first so prefixes do not win."""
    items = sorted(words, key=len, reverse=True)
    return "(?:" + "|".join(re.escape(w) for w in items) + ")"


# Every spelling of "tomorrow" people send.
TOMORROW_WORDS = (
    r"tomorrows?|tmrw|tmr|tmw|tmrow|tomoz|tomorow|tomorrw|tomrrow|2moro|2morrow|2mrw|tmoro|"
    r"tommorow|tommorrow|tomm?orow"
)
