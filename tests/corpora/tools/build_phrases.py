#!/usr/bin/env python3
"""Build the hand-written date/time phrase corpus for the resolver.

Every row below was written by hand: the phrase, the reference context it is
read in, its class and the expected LOCAL (naive, wall-clock in the row's zone)
window.  This script only

* turns the local windows into aware ISO timestamps with zoneinfo (so UTC
  offsets, including DST changes, are never computed by head),
* computes relative offsets ("in 1 hour 45 minutes") from the reference,
* validates the rows (see ``validate``), and
* writes ``tests/corpora/phrases.dev.jsonl`` and ``phrases.test.jsonl``.

Run:  python tests/corpora/tools/build_phrases.py          (writes the files)
      python tests/corpora/tools/build_phrases.py --check  (validate only;
      exits non-zero if the written files differ from what would be built)

Conventions are documented in tests/corpora/README.md ("phrases" section).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
CORPORA = HERE.parent
DEV_PATH = CORPORA / "phrases.dev.jsonl"
TEST_PATH = CORPORA / "phrases.test.jsonl"

# --------------------------------------------------------------------------
# Windows (local wall-clock) used by the conventions.
# --------------------------------------------------------------------------
DATE_ONLY = (time(8, 0), time(10, 0))  # a date with no time: default 09:00
PARTS = {
    "morning": (time(8, 0), time(10, 0)),  # default 09:00
    "lunchtime": (time(12, 0), time(13, 30)),
    "afternoon": (time(13, 0), time(16, 0)),
    "evening": (time(17, 0), time(20, 0)),
    "night": (time(20, 0), time(23, 0)),
}

# --------------------------------------------------------------------------
# Reference contexts: (naive local reference, IANA zone, locale).
# Weekday of the reference in the comment.
# --------------------------------------------------------------------------
CTX = {
    # the fixed main reference (about a third of the rows)
    "M": ("2017-01-04T10:15", "Europe/London", "en_GB"),  # Wed
    "GB1": ("2026-03-28T22:30", "Europe/London", "en_GB"),  # Sat, BST starts Sun 29 Mar 01:00 GMT
    "GB2": ("2026-10-24T18:00", "Europe/London", "en_GB"),  # Sat, BST ends Sun 25 Oct 02:00 BST
    "GB3": ("2026-06-12T00:20", "Europe/London", "en_GB"),  # Fri, just after midnight
    "GB4": ("2027-02-15T09:00", "Europe/London", "en_GB"),  # Mon
    "GB5": ("2025-12-31T23:40", "Europe/London", "en_GB"),  # Wed, just before the new year
    "IE1": ("2025-11-20T16:40", "Europe/Dublin", "en_IE"),  # Thu
    "IE2": ("2026-10-24T21:05", "Europe/Dublin", "en_IE"),  # Sat, IST ends Sun 25 Oct
    "IE3": ("2027-08-20T10:00", "Europe/Dublin", "en_IE"),  # Fri
    "DE1": ("2026-03-27T14:00", "Europe/Berlin", "en_IE"),  # Fri, CEST starts Sun 29 Mar 02:00
    "AU1": ("2026-04-04T19:30", "Australia/Sydney", "en_AU"),  # Sat, AEDT ends Sun 5 Apr 03:00
    "AU2": ("2026-10-03T11:00", "Australia/Sydney", "en_AU"),  # Sat, AEDT starts Sun 4 Oct 02:00
    "AU3": ("2025-08-14T08:05", "Australia/Perth", "en_AU"),  # Thu
    "AU4": ("2027-01-29T00:05", "Australia/Melbourne", "en_AU"),  # Fri, just after midnight
    "AU5": ("2027-10-01T16:00", "Australia/Brisbane", "en_AU"),  # Fri (no DST in Queensland)
    "NZ1": ("2026-09-26T15:20", "Pacific/Auckland", "en_NZ"),  # Sat, NZDT starts Sun 27 Sep 02:00
    "NZ2": ("2025-12-24T13:00", "Pacific/Auckland", "en_NZ"),  # Wed
    "NZ3": ("2027-04-03T08:00", "Pacific/Auckland", "en_NZ"),  # Sat, NZDT ends Sun 4 Apr 03:00
    "ZA1": ("2026-02-02T07:45", "Africa/Johannesburg", "en_ZA"),  # Mon
    "ZA2": ("2027-05-31T23:50", "Africa/Johannesburg", "en_ZA"),  # Mon, just before midnight
    "ZA3": ("2025-10-10T13:10", "Africa/Johannesburg", "en_ZA"),  # Fri
    "IN1": ("2025-07-09T11:30", "Asia/Kolkata", "en_IN"),  # Wed
    "IN2": ("2026-12-30T00:10", "Asia/Kolkata", "en_IN"),  # Wed, just after midnight
    "IN3": ("2027-03-15T18:20", "Asia/Kolkata", "en_IN"),  # Mon
    "AE1": ("2026-08-03T09:00", "Asia/Dubai", "en_IN"),  # Mon
    "SG1": ("2026-05-05T09:40", "Asia/Singapore", "en_GB"),  # Tue
    "US1": ("2026-03-07T21:10", "America/New_York", "en_US"),  # Sat, EDT starts Sun 8 Mar 02:00
    "US2": ("2026-10-31T15:00", "America/Chicago", "en_US"),  # Sat, CDT ends Sun 1 Nov 02:00
    "US3": ("2025-09-15T08:30", "America/Los_Angeles", "en_US"),  # Mon
    "US4": ("2027-06-30T17:45", "America/New_York", "en_US"),  # Wed
    "US5": ("2025-12-31T22:00", "America/Denver", "en_US"),  # Wed, new year's eve
    "CA1": ("2026-01-12T12:05", "America/Toronto", "en_CA"),  # Mon
    "CA2": ("2026-11-01T00:30", "America/Vancouver", "en_CA"),  # Sun, PDT ends 02:00 today
    "CA3": ("2027-03-13T09:30", "America/Halifax", "en_CA"),  # Sat, ADT starts Sun 14 Mar 02:00
}


# --------------------------------------------------------------------------
# Expectation helpers.  All dates/times are LOCAL wall-clock in the row zone.
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    kind: str  # "window" | "after" | "none"
    start: datetime | None = None  # naive local
    end: datetime | None = None  # naive local
    days: int = 0  # "after": calendar days (wall-clock kept) ...
    minutes: float = 0  # ... then elapsed minutes


def _dt(s: str) -> datetime:
    return datetime.fromisoformat(s)


def at(s: str) -> Expect:
    """Exact local time "YYYY-MM-DD HH:MM" (start == end)."""
    t = _dt(s)
    return Expect("window", t, t)


def day(s: str) -> Expect:
    """A date with no time: 08:00-10:00 local (default 09:00)."""
    d = date.fromisoformat(s)
    return Expect("window", datetime.combine(d, DATE_ONLY[0]), datetime.combine(d, DATE_ONLY[1]))


def pod(s: str, part: str) -> Expect:
    """A date plus a part of day (morning, lunchtime, afternoon, evening, night)."""
    d = date.fromisoformat(s)
    a, b = PARTS[part]
    return Expect("window", datetime.combine(d, a), datetime.combine(d, b))


def after(days: int = 0, hours: float = 0, minutes: float = 0) -> Expect:
    """Relative to the reference: `days` calendar days keeping the wall-clock
    time, then hours/minutes of elapsed (absolute) time.  Exact instant."""
    return Expect("after", days=days, minutes=hours * 60 + minutes)


NONE = Expect("none")


# --------------------------------------------------------------------------
# The rows: (text, context, expectation), grouped by class.
# --------------------------------------------------------------------------
ROWS: dict[str, list[tuple[str, str, Expect]]] = {}

ROWS["four_digit_time"] = [
    ("by 1745 on Friday", "M", at("2017-01-06 17:45")),
    ("Fri 3 Mar 1830", "M", at("2017-03-03 18:30")),
    ("5 Feb 1940", "M", at("2017-02-05 19:40")),
    ("1515 tomorrow", "M", at("2017-01-05 15:15")),
    ("sat 14 jan 0930", "M", at("2017-01-14 09:30")),
    ("meet 0800 thurs", "M", at("2017-01-05 08:00")),
    ("call at 1600", "M", at("2017-01-04 16:00")),
    ("0915 on 2 Feb.", "M", at("2017-02-02 09:15")),
    ("12 April 1300", "M", at("2017-04-12 13:00")),
    ("mon 1100?", "M", at("2017-01-09 11:00")),
    ("by 1200 on the 20th", "M", at("2017-01-20 12:00")),
    ("1930 sun 22/1", "M", at("2017-01-22 19:30")),
    ("around 0845 on weds 11th", "M", at("2017-01-11 08:45")),
    ("1 Jan 1745", "M", at("2018-01-01 17:45")),
    ("0700hrs Tue", "M", at("2017-01-10 07:00")),
    ("1830hrs sun", "AU1", at("2026-04-05 18:30")),
    ("1400 Monday", "AU1", at("2026-04-06 14:00")),
    ("tomorrow 0930", "GB1", at("2026-03-29 09:30")),
    ("2200 on the 31st", "GB2", at("2026-10-31 22:00")),
    ("1645 today", "GB3", at("2026-06-12 16:45")),
    ("0600 tmrw", "ZA1", at("2026-02-03 06:00")),
    ("by 1700 on 6 Feb", "ZA1", at("2026-02-06 17:00")),
    ("thu 1030", "IN1", at("2025-07-10 10:30")),
    ("17 Jul 1215", "IN1", at("2025-07-17 12:15")),
    ("1330 on 1 Jan", "IN2", at("2027-01-01 13:30")),
    ("sun 27 sept 1000", "NZ1", at("2026-09-27 10:00")),
    ("2 jan 0815", "NZ2", at("2026-01-02 08:15")),
    ("1300 sat", "AU4", at("2027-01-30 13:00")),
    ("2 Feb @ 0730", "AU4", at("2027-02-02 07:30")),
    ("1930 friday", "AU3", at("2025-08-15 19:30")),
    ("0845 mon", "IE1", at("2025-11-24 08:45")),
    ("1 Dec 1400", "IE1", at("2025-12-01 14:00")),
    ("12 nov 1945", "IE1", at("2026-11-12 19:45")),
    ("sun 1100", "IE2", at("2026-10-25 11:00")),
    ("1 June 0900", "ZA2", at("2027-06-01 09:00")),
    ("23 March 1800", "GB4", at("2027-03-23 18:00")),
    ("at 1715 on Mon 30 March", "DE1", at("2026-03-30 17:15")),
    ("0930 sat", "SG1", at("2026-05-09 09:30")),
    ("1400 on Tue", "CA1", at("2026-01-13 14:00")),
    ("1000 hrs wed", "IN3", at("2027-03-17 10:00")),
    ("1430 on 14 oct", "ZA3", at("2025-10-14 14:30")),
    ("sun 4 apr 1100", "NZ3", at("2027-04-04 11:00")),
    ("1215 mon 23rd", "IE3", at("2027-08-23 12:15")),
    ("2 jan 1100", "GB5", at("2026-01-02 11:00")),
    ("0815 mon", "AU5", at("2027-10-04 08:15")),
    ("1630 tues", "AE1", at("2026-08-04 16:30")),
]

ROWS["dot_time"] = [
    ("14.45", "M", at("2017-01-04 14:45")),
    ("about 14.45 tomorrow", "M", at("2017-01-05 14:45")),
    ("07.30", "M", at("2017-01-05 07:30")),
    ("at 9.15", "M", at("2017-01-05 09:15")),
    ("16.20h", "M", at("2017-01-04 16:20")),
    ("approx 11.40", "M", at("2017-01-04 11:40")),
    ("at 10.05", "M", at("2017-01-05 10:05")),
    ("around 13.30 on friday", "M", at("2017-01-06 13:30")),
    ("by 17.00 thurs", "M", at("2017-01-05 17:00")),
    ("at 08.50 on monday", "M", at("2017-01-09 08:50")),
    ("22.15", "M", at("2017-01-04 22:15")),
    ("at 12.30 sat", "M", at("2017-01-07 12:30")),
    ("at 4.30", "M", at("2017-01-04 16:30")),
    ("10.30 ish", "M", at("2017-01-04 10:30")),
    ("18h30", "M", at("2017-01-04 18:30")),
    ("9h tomorrow", "M", at("2017-01-05 09:00")),
    ("at 9.15", "GB3", at("2026-06-12 09:15")),
    ("23.30", "GB3", at("2026-06-12 23:30")),
    ("about 02.30", "GB1", at("2026-03-29 02:30")),
    ("06.45", "GB2", at("2026-10-25 06:45")),
    ("at 03.15", "AU1", at("2026-04-05 03:15")),
    ("10.45 tmrw", "AU2", at("2026-10-04 10:45")),
    ("around 17.20", "AU3", at("2025-08-14 17:20")),
    ("at 8.40", "AU4", at("2027-01-29 08:40")),
    ("19.35", "NZ1", at("2026-09-26 19:35")),
    ("09.30 sunday", "NZ1", at("2026-09-27 09:30")),
    ("16.40", "NZ2", at("2025-12-24 16:40")),
    ("at 7.50", "ZA1", at("2026-02-02 07:50")),
    ("18h00", "ZA1", at("2026-02-02 18:00")),
    ("00.15", "ZA2", at("2027-06-01 00:15")),
    ("about 12.40 on thursday", "IN1", at("2025-07-10 12:40")),
    ("15.20", "IN2", at("2026-12-30 15:20")),
    ("at 11.20", "IE1", at("2025-11-21 11:20")),
    ("20.45 tonight", "IE1", at("2025-11-20 20:45")),
    ("at 14.05", "SG1", at("2026-05-05 14:05")),
    ("07.15 on Wed", "SG1", at("2026-05-06 07:15")),
    ("at 2.15", "IE2", at("2026-10-25 14:15")),
    ("17.30 on mon", "DE1", at("2026-03-30 17:30")),
    ("14.45!", "GB4", at("2027-02-15 14:45")),
    ("ca. 21.50", "IN3", at("2027-03-15 21:50")),
    ("13.55 mon", "ZA3", at("2025-10-13 13:55")),
    ("about 08.20", "NZ3", at("2027-04-03 08:20")),
    ("8h45", "AU5", at("2027-10-02 08:45")),
]

ROWS["day_first_numeric"] = [
    ("21.3", "M", day("2017-03-21")),
    ("7.4.", "M", day("2017-04-07")),
    ("23/04", "M", day("2017-04-23")),
    ("13.07.2017", "M", day("2017-07-13")),
    ("3-5", "M", day("2017-05-03")),
    ("03/02/17", "M", day("2017-02-03")),
    ("on 2/1", "M", day("2018-01-02")),
    ("31/1 at 10.30", "M", at("2017-01-31 10:30")),
    ("6.1. at 16.00", "M", at("2017-01-06 16:00")),
    ("10/01 14.00", "M", at("2017-01-10 14:00")),
    ("24/12", "M", day("2017-12-24")),
    ("on 15.2", "M", day("2017-02-15")),
    ("05/01/2017", "M", day("2017-01-05")),
    ("28.02.", "M", day("2017-02-28")),
    ("due 17/01", "M", day("2017-01-17")),
    ("3/4", "M", day("2017-04-03")),
    ("13.07.2027", "IN1", day("2027-07-13")),
    ("1/1", "IN2", day("2027-01-01")),
    ("31.12", "IN2", day("2026-12-31")),
    ("3/5", "NZ2", day("2026-05-03")),
    ("27/9", "NZ1", day("2026-09-27")),
    ("05/04", "AU1", day("2026-04-05")),
    ("4/10", "AU2", day("2026-10-04")),
    ("on 19.8.", "AU3", day("2025-08-19")),
    ("2/2/27", "AU4", day("2027-02-02")),
    ("29-3", "GB1", day("2026-03-29")),
    ("25.10", "GB2", day("2026-10-25")),
    ("12/6 at 15.00", "GB3", at("2026-06-12 15:00")),
    ("01/03/27", "GB4", day("2027-03-01")),
    ("14/2", "GB4", day("2028-02-14")),
    ("6/2", "ZA1", day("2026-02-06")),
    ("2.6.2027", "ZA2", day("2027-06-02")),
    ("30.11", "IE1", day("2025-11-30")),
    ("26-10-26", "IE2", day("2026-10-26")),
    ("1/4", "DE1", day("2026-04-01")),
    ("8/5 9.30", "SG1", at("2026-05-08 09:30")),
    ("21.11.25", "IE1", day("2025-11-21")),
    ("2/1", "GB5", day("2026-01-02")),
    ("4.4. 14.30", "NZ3", at("2027-04-04 14:30")),
    ("on 20/03", "IN3", day("2027-03-20")),
    ("10/8", "AE1", day("2026-08-10")),
]

ROWS["weekday_and_date"] = [
    ("Mon 9 Jan", "M", day("2017-01-09")),
    ("Friday 13.01", "M", day("2017-01-13")),
    ("Thu 2/3", "M", day("2017-03-02")),
    ("sat 21st jan", "M", day("2017-01-21")),
    ("Tuesday 14 February", "M", day("2017-02-14")),
    ("wed 1 feb at 11", "M", at("2017-02-01 11:00")),
    ("Sun 9/4", "M", day("2017-04-09")),
    ("friday 27.1. 15.30", "M", at("2017-01-27 15:30")),
    ("thurs 12 jan about 14.45", "M", at("2017-01-12 14:45")),
    ("Mon 16th", "M", day("2017-01-16")),
    ("tue 31.1", "M", day("2017-01-31")),
    ("Fri 6th at 3", "M", at("2017-01-06 15:00")),
    ("sat 1 april", "M", day("2017-04-01")),
    ("Monday 1/5", "M", day("2017-05-01")),
    ("Friday 13.11", "IE1", day("2026-11-13")),
    ("Monday 1 Dec", "IE1", day("2025-12-01")),
    ("sun 25.10", "IE2", day("2026-10-25")),
    ("Tue 27/10 at 10.30", "IE2", at("2026-10-27 10:30")),
    ("Sun 29 Mar 9am", "GB1", at("2026-03-29 09:00")),
    ("mon 30/3", "GB1", day("2026-03-30")),
    ("Friday 12/6 7pm", "GB3", at("2026-06-12 19:00")),
    ("Sat 13th June", "GB3", day("2026-06-13")),
    ("Tue 16 Feb", "GB4", day("2027-02-16")),
    ("fri 19.2.27", "GB4", day("2027-02-19")),
    ("Sunday 5 April", "AU1", day("2026-04-05")),
    ("Mon 6/4 11am", "AU1", at("2026-04-06 11:00")),
    ("Sun 4 Oct", "AU2", day("2026-10-04")),
    ("Friday 15.8.", "AU3", day("2025-08-15")),
    ("Mon 1 Feb", "AU4", day("2027-02-01")),
    ("sun 27/9", "NZ1", day("2026-09-27")),
    ("Wed 31 Dec", "NZ2", day("2025-12-31")),
    ("Fri 2/1 at 10", "NZ2", at("2026-01-02 10:00")),
    ("Thursday 5 Feb", "ZA1", day("2026-02-05")),
    ("Tue 1 June", "ZA2", day("2027-06-01")),
    ("Saturday 12.07", "IN1", day("2025-07-12")),
    ("Fri 1/1", "IN2", day("2027-01-01")),
    ("Tue 12 May", "SG1", day("2026-05-12")),
    ("Tuesday 31/3", "DE1", day("2026-03-31")),
    ("thu 18/3 at 2", "IN3", at("2027-03-18 14:00")),
    ("wed 15 oct", "ZA3", day("2025-10-15")),
    ("Mon 5/4 10.00", "NZ3", at("2027-04-05 10:00")),
    ("fri 2 jan", "GB5", day("2026-01-02")),
]

ROWS["part_of_day_date"] = [
    ("the 4th of March afternoon", "M", pod("2017-03-04", "afternoon")),
    ("3.5. at night", "M", pod("2017-05-03", "night")),
    ("23/04 morning", "M", pod("2017-04-23", "morning")),
    ("Sunday evening", "M", pod("2017-01-08", "evening")),
    ("tomorrow morning", "M", pod("2017-01-05", "morning")),
    ("this afternoon", "M", pod("2017-01-04", "afternoon")),
    ("fri lunchtime", "M", pod("2017-01-06", "lunchtime")),
    ("noon on 10 Jan", "M", at("2017-01-10 12:00")),
    ("friday at midnight", "M", at("2017-01-07 00:00")),
    ("tomorrow evening.", "M", pod("2017-01-05", "evening")),
    ("sat night", "M", pod("2017-01-07", "night")),
    ("mon 9th afternoon", "M", pod("2017-01-09", "afternoon")),
    ("on the 12th in the morning", "M", pod("2017-01-12", "morning")),
    ("17/2 evening", "M", pod("2017-02-17", "evening")),
    ("this evening", "M", pod("2017-01-04", "evening")),
    ("thursday lunch", "M", pod("2017-01-05", "lunchtime")),
    ("noon tomorrow", "M", at("2017-01-05 12:00")),
    ("tomorrow morning", "GB2", pod("2026-10-25", "morning")),
    ("sunday afternoon", "GB1", pod("2026-03-29", "afternoon")),
    ("this afternoon", "GB3", pod("2026-06-12", "afternoon")),
    ("saturday morning", "GB3", pod("2026-06-13", "morning")),
    ("sun morning", "AU1", pod("2026-04-05", "morning")),
    ("tomorrow night", "AU2", pod("2026-10-04", "night")),
    ("Monday arvo", "AU2", pod("2026-10-05", "afternoon")),
    ("friday arvo", "AU3", pod("2025-08-15", "afternoon")),
    ("midnight tonight", "AU4", at("2027-01-30 00:00")),
    ("sunday evening", "NZ1", pod("2026-09-27", "evening")),
    ("31/12 at night", "NZ2", pod("2025-12-31", "night")),
    ("tues lunchtime", "ZA1", pod("2026-02-03", "lunchtime")),
    ("6 Feb afternoon", "ZA1", pod("2026-02-06", "afternoon")),
    ("tomorrow afternoon", "ZA2", pod("2027-06-01", "afternoon")),
    ("sat evening", "IN1", pod("2025-07-12", "evening")),
    ("1st jan morning", "IN2", pod("2027-01-01", "morning")),
    ("this morning", "IN2", pod("2026-12-30", "morning")),
    ("fri noon", "IE1", at("2025-11-21 12:00")),
    ("sunday night", "IE2", pod("2026-10-25", "night")),
    ("monday morning", "DE1", pod("2026-03-30", "morning")),
    ("tomorrow afternoon", "US2", pod("2026-11-01", "afternoon")),
    ("tuesday lunchtime", "US3", pod("2025-09-16", "lunchtime")),
    ("this morning", "CA2", pod("2026-11-01", "morning")),
    ("tomorrow at noon", "US1", at("2026-03-08 12:00")),
    ("2/1 in the evening", "GB5", pod("2026-01-02", "evening")),
    ("sunday morning", "NZ3", pod("2027-04-04", "morning")),
    ("tuesday afternoon", "IN3", pod("2027-03-16", "afternoon")),
]

ROWS["ordinal_date"] = [
    ("on March 3rd at 07.30", "M", at("2017-03-03 07:30")),
    ("the 21st", "M", day("2017-01-21")),
    ("3rd of May", "M", day("2017-05-03")),
    ("May 23rd", "M", day("2017-05-23")),
    ("the 2nd", "M", day("2017-02-02")),
    ("on the 31st", "M", day("2017-01-31")),
    ("1st feb", "M", day("2017-02-01")),
    ("the 6th at 2", "M", at("2017-01-06 14:00")),
    ("22nd jan 11am", "M", at("2017-01-22 11:00")),
    ("the twelfth of Feb", "M", day("2017-02-12")),
    ("on the 10th", "M", day("2017-01-10")),
    ("2nd January", "M", day("2018-01-02")),
    ("Feb 14th at noon", "M", at("2017-02-14 12:00")),
    ("on the 5th in the afternoon", "M", pod("2017-01-05", "afternoon")),
    ("the 3rd of april 9ish", "M", at("2017-04-03 09:00")),
    ("by the 8th", "M", day("2017-01-08")),
    ("the 1st", "IE1", day("2025-12-01")),
    ("25th november 2pm", "IE1", at("2025-11-25 14:00")),
    ("the 31st", "IE2", day("2026-10-31")),
    ("on the 29th", "GB1", day("2026-03-29")),
    ("the 30th", "GB4", day("2027-03-30")),
    ("the 14th", "GB3", day("2026-06-14")),
    ("5th april", "AU1", day("2026-04-05")),
    ("October 4th 10am", "AU2", at("2026-10-04 10:00")),
    ("the 20th at 4", "AU3", at("2025-08-20 16:00")),
    ("Feb 1st", "AU4", day("2027-02-01")),
    ("the 27th at 11", "NZ1", at("2026-09-27 11:00")),
    ("2nd of jan", "NZ2", day("2026-01-02")),
    ("3rd feb 8.30", "ZA1", at("2026-02-03 08:30")),
    ("June 1st", "ZA2", day("2027-06-01")),
    ("the 15th", "IN1", day("2025-07-15")),
    ("on the 2nd at 10", "IN2", at("2027-01-02 10:00")),
    ("march 9th", "US1", day("2026-03-09")),
    ("the 2nd at 9am", "US2", at("2026-11-02 09:00")),
    ("September 22nd", "US3", day("2025-09-22")),
    ("the 4th", "US4", day("2027-07-04")),
    ("Jan 20th", "CA1", day("2026-01-20")),
    ("the 3rd", "CA2", day("2026-11-03")),
    ("7th may 1pm", "SG1", at("2026-05-07 13:00")),
    ("31st march", "DE1", day("2026-03-31")),
    ("the 1st", "GB5", day("2026-01-01")),
    ("17th, 3pm", "IN3", at("2027-03-17 15:00")),
    ("oct 3rd", "AU5", day("2027-10-03")),
    ("on the 28", "ZA3", day("2025-10-28")),
    ("the 15 at 11am", "IE3", at("2027-09-15 11:00")),
]

ROWS["written_date"] = [
    ("3 March 2017", "M", day("2017-03-03")),
    ("March 13, 2017", "M", day("2017-03-13")),
    ("23rd March '17", "M", day("2017-03-23")),
    ("Mar 3", "M", day("2017-03-03")),
    ("9jan", "M", day("2017-01-09")),
    ("14 feb", "M", day("2017-02-14")),
    ("1 January 2018", "M", day("2018-01-01")),
    ("12 Jan at 15.00", "M", at("2017-01-12 15:00")),
    ("on 6 jan.", "M", day("2017-01-06")),
    ("Jan 30", "M", day("2017-01-30")),
    ("3 Jan", "M", day("2018-01-03")),
    ("20 October", "M", day("2017-10-20")),
    ("1 Nov", "M", day("2017-11-01")),
    ("sept 5", "M", day("2017-09-05")),
    ("5 june 2017 at 11am", "M", at("2017-06-05 11:00")),
    ("on 28 feb 2017", "M", day("2017-02-28")),
    ("3 March 2027", "GB4", day("2027-03-03")),
    ("March 3, 2028", "US4", day("2028-03-03")),
    ("13th March '27", "ZA1", day("2027-03-13")),
    ("Mar 3", "IN1", day("2026-03-03")),
    ("29 march", "GB1", day("2026-03-29")),
    ("25 Oct", "IE2", day("2026-10-25")),
    ("1 nov 2026", "US2", day("2026-11-01")),
    ("nov 2", "CA2", day("2026-11-02")),
    ("8 March", "US1", day("2026-03-08")),
    ("5 apr", "AU1", day("2026-04-05")),
    ("4 October 2026", "AU2", day("2026-10-04")),
    ("18 Aug", "AU3", day("2025-08-18")),
    ("1 feb 2027", "AU4", day("2027-02-01")),
    ("27 Sept", "NZ1", day("2026-09-27")),
    ("5 January 2026", "NZ2", day("2026-01-05")),
    ("10 Feb", "ZA1", day("2026-02-10")),
    ("2 june", "ZA2", day("2027-06-02")),
    ("Jul 21, 2025", "IN1", day("2025-07-21")),
    ("2 Jan 2027", "IN2", day("2027-01-02")),
    ("December 8", "IE1", day("2025-12-08")),
    ("Sept 30 2025", "US3", day("2025-09-30")),
    ("Jul 4", "US4", day("2027-07-04")),
    ("January 15 2026", "CA1", day("2026-01-15")),
    ("11 May", "SG1", day("2026-05-11")),
    ("2 April 2026", "DE1", day("2026-04-02")),
    ("Oct 26", "GB2", day("2026-10-26")),
    ("19jun", "GB3", day("2026-06-19")),
    ("1 jan 2026", "GB5", day("2026-01-01")),
    ("5 Apr '27", "NZ3", day("2027-04-05")),
    ("on 10 August", "AE1", day("2026-08-10")),
]

ROWS["mixed_format_month_first"] = [
    ("3/8", "US1", day("2026-03-08")),
    ("3/9 at 10am", "US1", at("2026-03-09 10:00")),
    ("Mon 3/9", "US1", day("2026-03-09")),
    ("03/15/26", "US1", day("2026-03-15")),
    ("3/14 at 2", "US1", at("2026-03-14 14:00")),
    ("11/1", "US2", day("2026-11-01")),
    ("11/2 9:30am", "US2", at("2026-11-02 09:30")),
    ("12/25", "US2", day("2026-12-25")),
    ("11/03/2026", "US2", day("2026-11-03")),
    ("9/19", "US3", day("2025-09-19")),
    ("10/1 at 3pm", "US3", at("2025-10-01 15:00")),
    ("3/4", "US3", day("2026-03-04")),
    ("9/16 around 4:30", "US3", at("2025-09-16 16:30")),
    ("1/2/26", "US3", day("2026-01-02")),
    ("7/4", "US4", day("2027-07-04")),
    ("7/1 @ 10", "US4", at("2027-07-01 10:00")),
    ("8-12", "US4", day("2027-08-12")),
    ("07/02/27 noon", "US4", at("2027-07-02 12:00")),
    ("6/30 8pm", "US4", at("2027-06-30 20:00")),
    ("1/13", "CA1", day("2026-01-13")),
    ("2/1", "CA1", day("2026-02-01")),
    ("01/20/2026 at 11", "CA1", at("2026-01-20 11:00")),
    ("3/10", "CA1", day("2026-03-10")),
    ("11/1 at 9", "CA2", at("2026-11-01 09:00")),
    ("11/5", "CA2", day("2026-11-05")),
    ("12/1 2pm", "CA2", at("2026-12-01 14:00")),
    ("3/14", "CA3", day("2027-03-14")),
    ("3/15 at 4", "CA3", at("2027-03-15 16:00")),
    ("4/1", "CA3", day("2027-04-01")),
    ("1/2", "US5", day("2026-01-02")),
    ("1/1 at 10am", "US5", at("2026-01-01 10:00")),
    ("12/31 11pm", "US5", at("2025-12-31 23:00")),
    ("2/3/26", "US5", day("2026-02-03")),
    ("Fri 1/2", "US5", day("2026-01-02")),
    ("on 1/19, 9:15", "CA1", at("2026-01-19 09:15")),
    ("sat 3/20", "CA3", day("2027-03-20")),
]

ROWS["relative_compound"] = [
    ("in 1 hour 45 minutes", "M", after(hours=1, minutes=45)),
    ("in 3 days 4 hours", "M", after(days=3, hours=4)),
    ("2h15 from now", "M", after(hours=2, minutes=15)),
    ("in 1.5 days", "M", after(hours=36)),
    ("a week from Tuesday", "M", day("2017-01-17")),
    ("the day after tomorrow at 8", "M", at("2017-01-06 08:00")),
    ("in 90 mins", "M", after(minutes=90)),
    ("in half an hour", "M", after(minutes=30)),
    ("an hour and a half from now", "M", after(minutes=90)),
    ("in 2 days at 14.00", "M", at("2017-01-06 14:00")),
    ("two weeks from friday", "M", day("2017-01-20")),
    ("in 45 min", "M", after(minutes=45)),
    ("3 days from now at 9", "M", at("2017-01-07 09:00")),
    ("in 1h30", "M", after(hours=1, minutes=30)),
    ("the day after tomorrow in the afternoon", "M", pod("2017-01-06", "afternoon")),
    ("in 2.5 hrs", "M", after(hours=2.5)),
    ("in 3 hours", "GB1", after(hours=3)),
    ("in 4h30", "GB1", after(hours=4, minutes=30)),
    ("in 12 hours", "GB2", after(hours=12)),
    ("in 1 day 2 hours", "GB2", after(days=1, hours=2)),
    ("in 6 hours", "US1", after(hours=6)),
    ("in 2 hours 20 minutes", "US2", after(hours=2, minutes=20)),
    ("in 10 hours", "AU1", after(hours=10)),
    ("in 2 days 3 hours", "AU2", after(days=2, hours=3)),
    ("in 20 hours", "NZ1", after(hours=20)),
    ("in 3 days 4 hours", "ZA1", after(days=3, hours=4)),
    ("in 25 minutes", "ZA2", after(minutes=25)),
    ("a week from thursday", "IN1", day("2025-07-17")),
    ("in 2 hours 50 mins", "IN2", after(hours=2, minutes=50)),
    ("a fortnight from monday", "IE1", day("2025-12-08")),
    ("in 1 day 3 hours", "IE2", after(days=1, hours=3)),
    ("in 2h45m", "CA1", after(hours=2, minutes=45)),
    ("in 36 hours", "US3", after(hours=36)),
    ("a week from Friday", "US4", day("2027-07-09")),
    ("in 1.5 days", "SG1", after(hours=36)),
    ("in 3 days 2 hours", "DE1", after(days=3, hours=2)),
    ("the day after tomorrow at 8", "AU3", at("2025-08-16 08:00")),
    ("day after tomorrow, evening", "NZ2", pod("2025-12-26", "evening")),
    ("in 8 hours", "AU4", after(hours=8)),
    ("in 40 minutes", "GB5", after(minutes=40)),
    ("in 20 hours", "NZ3", after(hours=20)),
]

ROWS["none"] = [
    ("the 1940s vibe", "M", NONE),
    ("version 2.15", "M", NONE),
    ("call 0800 1830 700", "M", NONE),
    ("3.5 stars", "M", NONE),
    ("room 1204", "M", NONE),
    ("order #2145 shipped", "M", NONE),
    ("£14.99 each", "M", NONE),
    ("see section 4.2", "M", NONE),
    ("v3.10.2 is out", "GB4", NONE),
    ("it was 21.5 degrees", "IN1", NONE),
    ("1.5 litres of milk", "AU1", NONE),
    ("ISBN 978-0-14-044913-6", "IE1", NONE),
    ("the 1990 world cup", "ZA1", NONE),
    ("rated 4.5 out of 5", "NZ2", NONE),
    ("it's 2.4km away", "AU3", NONE),
    ("16:9 aspect ratio", "US3", NONE),
    ("thanks, speak soon", "CA1", NONE),
    ("score was 3-1", "GB2", NONE),
    ("python 3.11", "SG1", NONE),
    ("mix 1:3 with water", "NZ1", NONE),
    ("pin 0412", "IE2", NONE),
    ("+61 2 9374 4000", "AU2", NONE),
    ("invoice INV-2026-0042", "US4", NONE),
    ("about 20 people", "ZA2", NONE),
    ("size 10.5 shoes", "US1", NONE),
    ("no worries at all!", "AU4", NONE),
    ("flight BA 2490", "IN2", NONE),
]


# --------------------------------------------------------------------------
# Build + validate
# --------------------------------------------------------------------------
CLASSES = [
    "four_digit_time",
    "dot_time",
    "day_first_numeric",
    "weekday_and_date",
    "part_of_day_date",
    "ordinal_date",
    "written_date",
    "mixed_format_month_first",
    "relative_compound",
    "none",
]
DAY_FIRST = {"en_GB", "en_IE", "en_AU", "en_NZ", "en_ZA", "en_IN"}
MONTH_FIRST = {"en_US", "en_CA"}
MIN_PER_CLASS = 25
MIN_TOTAL = 320

WEEKDAYS = {
    "mon": 0, "monday": 0,
    "tue": 1, "tues": 1, "tuesday": 1,
    "wed": 2, "weds": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3,
    "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5,
    "sun": 6, "sunday": 6,
}  # fmt: skip
WEEKDAY_RE = re.compile(r"\b(" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")\b", re.I)
# an explicit year: 2017/2025..2028, '27, a third numeric date field, ISO date
YEAR_RE = re.compile(
    r"\b20[12]\d\b|'\d\d\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d\d-\d\d\b"
)


# something that names a calendar date (month name, d/m, d.m., ordinal day)
DATE_HINT_RE = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"
    r"|\b\d{1,2}/\d{1,2}\b|\b\d{1,2}\.\d{1,2}\.|\b\d{1,2}(st|nd|rd|th)\b",
    re.I,
)


class BuildError(Exception):
    pass


def _localize(naive: datetime, zone: ZoneInfo, where: str) -> datetime:
    """Attach zone, refusing nonexistent or ambiguous wall-clock times."""
    a = naive.replace(tzinfo=zone, fold=0)
    b = naive.replace(tzinfo=zone, fold=1)
    if a.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise BuildError(f"{where}: {naive} does not exist in {zone.key}")
    if a.utcoffset() != b.utcoffset():
        raise BuildError(f"{where}: {naive} is ambiguous in {zone.key}")
    return a


def _iso(aware: datetime) -> str:
    return aware.isoformat(timespec="seconds")


def build() -> list[dict]:
    rows: list[dict] = []
    n = 0
    for cls in CLASSES:
        for text, ctx_key, exp in ROWS[cls]:
            n += 1
            ref_s, zone_s, locale = CTX[ctx_key]
            zone = ZoneInfo(zone_s)
            rid = f"ph-{n:04d}"
            ref_naive = datetime.fromisoformat(ref_s)
            ref = _localize(ref_naive, zone, rid)
            row = {
                "id": rid,
                "text": text,
                "reference": ref_naive.isoformat(timespec="seconds"),
                "zone": zone_s,
                "locale": locale,
                "class": cls,
            }
            if exp.kind == "none":
                row["expect"] = {"kind": "none"}
            elif exp.kind == "window":
                s = _localize(exp.start, zone, rid)
                e = _localize(exp.end, zone, rid)
                row["expect"] = {"start": _iso(s), "end": _iso(e)}
            elif exp.kind == "after":
                wall = ref_naive + timedelta(days=exp.days)
                base = _localize(wall, zone, rid)
                inst = (base.astimezone(UTC) + timedelta(minutes=exp.minutes)).astimezone(zone)
                row["expect"] = {"start": _iso(inst), "end": _iso(inst)}
            else:  # pragma: no cover
                raise BuildError(f"{rid}: unknown expectation {exp.kind}")
            row["_ref"] = ref
            rows.append(row)
    return rows


def split(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Deterministic: within each class, rows alternate dev, test, dev, ..."""
    dev, test = [], []
    seen: Counter = Counter()
    for r in rows:
        (dev if seen[r["class"]] % 2 == 0 else test).append(r)
        seen[r["class"]] += 1
    return dev, test


def validate(rows: list[dict], dev: list[dict], test: list[dict]) -> list[str]:
    errors: list[str] = []
    ids = [r["id"] for r in rows]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    texts = Counter((r["text"], r["reference"], r["zone"], r["locale"]) for r in rows)
    for k, v in texts.items():
        if v > 1:
            errors.append(f"duplicate row {k}")
    if len(rows) < MIN_TOTAL:
        errors.append(f"only {len(rows)} rows (< {MIN_TOTAL})")
    for r in rows:
        rid, ref = r["id"], r["_ref"]
        if r["class"] not in CLASSES:
            errors.append(f"{rid}: unknown class")
        if r["class"] == "mixed_format_month_first" and r["locale"] not in MONTH_FIRST:
            errors.append(f"{rid}: mixed_format_month_first row must be en_US/en_CA")
        if r["class"] == "day_first_numeric" and r["locale"] not in DAY_FIRST:
            errors.append(f"{rid}: day_first_numeric row must use a day-first locale")
        exp = r["expect"]
        if "kind" in exp:
            if r["class"] != "none":
                errors.append(f"{rid}: kind none outside class none")
            continue
        if r["class"] == "none":
            errors.append(f"{rid}: class none with a window")
            continue
        s, e = datetime.fromisoformat(exp["start"]), datetime.fromisoformat(exp["end"])
        if s > e:
            errors.append(f"{rid}: start > end")
        if s <= ref:
            errors.append(f"{rid}: window starts at/before the reference")
        if s - ref > timedelta(days=4 * 366):
            errors.append(f"{rid}: window more than 4 years ahead")
        # weekday named in the text must be the weekday of the resolved date
        # (relative anchors like "a week from Tuesday" are exempt, and so is
        # "Friday at midnight", which is 00:00 of the following day)
        if r["class"] != "relative_compound" and "midnight" not in r["text"].lower():
            for m in WEEKDAY_RE.finditer(r["text"]):
                wd = WEEKDAYS[m.group(1).lower()]
                if wd != s.weekday():
                    errors.append(f"{rid}: '{m.group(1)}' but resolves to {s:%a %Y-%m-%d}")
                ref_naive = datetime.fromisoformat(r["reference"])
                if wd == ref_naive.weekday() and not DATE_HINT_RE.search(r["text"]):
                    errors.append(
                        f"{rid}: bare weekday equal to the reference weekday is ambiguous"
                    )
        # no explicit year => the first occurrence on/after the reference date
        if r["class"] != "relative_compound" and not YEAR_RE.search(r["text"]):
            sd = s.date()
            try:
                prev = sd.replace(year=sd.year - 1)
            except ValueError:  # 29 Feb
                prev = sd - timedelta(days=365)
            if prev >= datetime.fromisoformat(r["reference"]).date():
                errors.append(f"{rid}: no year in text but resolves a year+ later ({sd})")
    for half_name, half in (("dev", dev), ("test", test)):
        present = Counter(r["class"] for r in half)
        for c in CLASSES:
            if present[c] == 0:
                errors.append(f"class {c} missing from {half_name}")
    per_class = Counter(r["class"] for r in rows)
    for c in CLASSES:
        if per_class[c] < MIN_PER_CLASS:
            errors.append(f"class {c} has {per_class[c]} rows (< {MIN_PER_CLASS})")
    locales = Counter(r["locale"] for r in rows)
    for loc in DAY_FIRST | MONTH_FIRST:
        if not locales[loc]:
            errors.append(f"locale {loc} unused")
    if len({r["zone"] for r in rows}) < 10:
        errors.append("fewer than 10 zones")
    main = sum(
        1 for r in rows if (r["reference"], r["zone"]) == ("2017-01-04T10:15:00", "Europe/London")
    )
    if not 0.28 <= main / len(rows) <= 0.40:
        errors.append(f"main reference share {main}/{len(rows)} not about a third")
    return errors


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


def _dump(rows: list[dict]) -> str:
    return "".join(json.dumps(_public(r), ensure_ascii=False) + "\n" for r in rows)


def report(rows: list[dict], dev: list[dict], test: list[dict]) -> str:
    out = []
    hdr = f"{'':28}{'dev':>6}{'test':>6}{'all':>6}"

    def table(title: str, key: str) -> None:
        out.append(f"\n{title}\n{hdr}")
        d, t = Counter(r[key] for r in dev), Counter(r[key] for r in test)
        for k in sorted(set(d) | set(t)):
            out.append(f"{k:28}{d[k]:>6}{t[k]:>6}{d[k] + t[k]:>6}")

    table("per class", "class")
    table("per locale", "locale")
    table("per zone", "zone")
    main = sum(
        1 for r in rows if r["reference"] == "2017-01-04T10:15:00" and r["zone"] == "Europe/London"
    )
    nones = sum(1 for r in rows if r["class"] == "none")
    out.append(
        f"\ntotal {len(rows)} (dev {len(dev)}, test {len(test)}); main reference {main}; none {nones}"
    )
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--check", action="store_true", help="validate and compare with the written files"
    )
    ap.add_argument(
        "--review", action="store_true", help="print every row with weekdays for eyeballing"
    )
    args = ap.parse_args()
    try:
        rows = build()
    except BuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    dev, test = split(rows)
    errors = validate(rows, dev, test)
    if errors:
        print("\n".join(f"error: {e}" for e in errors), file=sys.stderr)
        return 1
    if args.review:
        for r in rows:
            ref = datetime.fromisoformat(r["reference"])
            exp = r["expect"]
            if "kind" in exp:
                w = "none"
            else:
                s, e = datetime.fromisoformat(exp["start"]), datetime.fromisoformat(exp["end"])
                w = f"{s:%a %Y-%m-%d %H:%M%z}" + ("" if s == e else f" .. {e:%H:%M}")
            print(
                f"{r['id']} {r['class'][:10]:10} {ref:%a %Y-%m-%d %H:%M} {r['zone']:20} {r['locale']} | {r['text']!r:42} -> {w}"
            )
    dev_s, test_s = _dump(dev), _dump(test)
    if args.check:
        stale = [
            p
            for p, s in ((DEV_PATH, dev_s), (TEST_PATH, test_s))
            if not p.exists() or p.read_text() != s
        ]
        if stale:
            print("stale: " + ", ".join(str(p) for p in stale), file=sys.stderr)
            return 1
    else:
        DEV_PATH.write_text(dev_s)
        TEST_PATH.write_text(test_s)
    print(report(rows, dev, test))
    return 0


if __name__ == "__main__":
    sys.exit(main())
