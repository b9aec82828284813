"""Build and audit the hand-written follow-up corpus (tests/corpora/followups.*.jsonl).

Every message text below was written by hand; nothing is generated from templates.
This script only turns the hand-written local (wall-clock) expectations into aware
ISO timestamps with the right UTC offset for the zone and date (zoneinfo, so DST
is handled), validates the rows, and splits them deterministically:

    python tests/corpora/tools/build_followups.py            # rebuild the two halves
    python tests/corpora/tools/build_followups.py --check    # validate + print counts only

Split: rows with an odd id number go to followups.dev.jsonl, even ones to
followups.test.jsonl. The combined followups.jsonl is written first and then
removed unless --keep-combined is given. Conventions: see tests/corpora/README.md.
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
from zoneinfo import ZoneInfo, available_timezones

CORPORA = Path(__file__).resolve().parent.parent

LON = "Europe/London"
BER = "Europe/Berlin"
DUB = "Europe/Dublin"
NYC = "America/New_York"
TOR = "America/Toronto"
CHI = "America/Chicago"
LAX = "America/Los_Angeles"
SAO = "America/Sao_Paulo"
SYD = "Australia/Sydney"
AKL = "Pacific/Auckland"
TYO = "Asia/Tokyo"
SIN = "Asia/Singapore"
KOL = "Asia/Kolkata"
JNB = "Africa/Johannesburg"

CHANNELS = {"email", "sms", "whatsapp", "chat"}
LOCALES = {"en_GB", "en_US", "en_AU", "en_IE", "en_IN", "en_CA", "en_NZ", "en_ZA"}
CLASSES = {
    "time_beside_date",
    "day_first_numeric",
    "part_of_day_date",
    "compound_duration",
    "period_end",
    "weekend_workday",
    "holiday",
    "business_convention",
    "plain_relative",
    "ambiguous",
    "negative",
}
ABOUT = {
    "which_day",
    "which_week",
    "vague_period",
    "vague_time",
    "invalid_date",
    "weekday_date_conflict",
    "am_pm",
    "date_order",
}

# Windows (local wall clock) for a day named without an explicit time.
PARTS = {
    "day": ("08:00", "10:00"),  # a bare day: the morning, 09:00 default
    "morning": ("08:00", "10:00"),
    "lunch": ("12:00", "13:00"),
    "afterlunch": ("13:00", "14:30"),
    "afternoon": ("13:00", "17:00"),
    "eod": ("16:00", "18:00"),  # end of day, EOD, COB, close/end of play
    "evening": ("17:00", "20:00"),
    "tonight": ("18:00", "21:00"),
    "night": ("20:00", "23:00"),
}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


# ---------------------------------------------------------------- expectations


@dataclass(frozen=True)
class At:
    """An exact local time (start == end). tz: the zone the time is stated in."""

    local: str
    summary: str
    tz: str | None = None
    wd: str | None = None


@dataclass(frozen=True)
class Day:
    """A day plus a part-of-day window from PARTS."""

    day: str
    part: str
    summary: str
    wd: str | None = None


@dataclass(frozen=True)
class Span:
    """An explicit local window."""

    start: str
    end: str
    summary: str
    tz: str | None = None


@dataclass(frozen=True)
class After:
    """reference + days (calendar, wall clock kept) + hours/minutes (elapsed time)."""

    summary: str
    days: int = 0
    hours: float = 0
    minutes: int = 0


@dataclass(frozen=True)
class InDays:
    """'in N days/weeks' with no time: that day, from min(08:00, ref time) to max(10:00, ref time)."""

    n: int
    summary: str


@dataclass(frozen=True)
class Few:
    """'in a few days' = 3 days +/- 1: ref day+2 min(08:00, ref time) .. ref day+4 max(10:00, ref time)."""

    summary: str


@dataclass(frozen=True)
class Ask:
    about: str
    question: str


@dataclass(frozen=True)
class Nothing:
    pass


NONE = Nothing()


@dataclass(frozen=True)
class Row:
    channel: str
    zone: str
    locale: str
    reference: str
    cls: str
    text: str
    expect: At | Day | Span | After | InDays | Few | Ask | Nothing


def R(channel: str, zone: str, locale: str, reference: str, cls: str, text: str, expect) -> Row:
    return Row(channel, zone, locale, reference, cls, text, expect)


# ------------------------------------------------------------------------ rows
# Grouped by class. Reference = local wall-clock time in `zone` when the message arrived.

# fmt: off
ROWS: list[Row] = [
    # ---------------------------------------------------------- time_beside_date
    R("sms", LON, "en_GB", "2026-03-27 18:20", "time_beside_date",
      "can u remind me to send the invoice to Marco by 1745 on Tues",
      At("2026-03-31 17:45", "send invoice", wd="Tue")),
    R("email", BER, "en_GB", "2026-01-05 09:12", "time_beside_date",
      "Hi Anja,\n\nCould you set a follow-up for the supplier call on Fri 9 Jan about 14.45? I want to check whether they've confirmed the pallet count.\n\nDanke,\nJonas",
      At("2026-01-09 14:45", "supplier call", wd="Fri")),
    R("chat", NYC, "en_US", "2026-03-06 16:40", "time_beside_date",
      "ping me Mon 3/9 at 0930 to chase the W-9 from Halvorsen",
      At("2026-03-09 09:30", "chase halvorsen", wd="Mon")),
    R("whatsapp", SYD, "en_AU", "2026-04-03 20:15", "time_beside_date",
      "hey can you remind me Tuesday 7 April at 10:30 to ring the strata manager about the leak 🙏",
      At("2026-04-07 10:30", "ring strata", wd="Tue")),
    R("sms", LAX, "en_US", "2026-10-30 11:05", "time_beside_date",
      "remind me nov 2 @ 1400 to renew parking permit",
      At("2026-11-02 14:00", "renew parking permit", wd="Mon")),
    R("email", DUB, "en_IE", "2026-10-23 15:30", "time_beside_date",
      "Hi,\n\nPlease remind me on Monday 26 October at 11:15 to submit the grant report to the council. It's a bank holiday but the portal closes that day.\n\nThanks,\nAoife",
      At("2026-10-26 11:15", "submit grant report", wd="Mon")),
    R("chat", KOL, "en_IN", "2026-02-10 12:02", "time_beside_date",
      "set a reminder for 13 Feb 16:30 — follow up with Ravi on the vendor PO",
      At("2026-02-13 16:30", "follow ravi", wd="Fri")),
    R("sms", TYO, "en_US", "2026-06-01 08:50", "time_beside_date",
      "remind me jun 4 at 19:00 dinner reservation confirm w/ Kenji",
      At("2026-06-04 19:00", "dinner reservation", wd="Thu")),
    R("whatsapp", JNB, "en_ZA", "2026-05-20 21:40", "time_beside_date",
      "Please remind me Saturday 23 May at 0800 to pick up the cake from Mrs Naidoo 🎂",
      At("2026-05-23 08:00", "pick cake", wd="Sat")),
    R("email", NYC, "en_US", "2026-10-29 17:55", "time_beside_date",
      "Thanks Priya — can you put a follow-up on my calendar for Tuesday, November 3 at 10:00 AM to review the Q4 forecast with Dev?\n\n> On Oct 29, 2026, at 4:12 PM, Priya Shah wrote:\n> Forecast draft is in the shared folder, final numbers Friday.\n\nBest,\nTom",
      At("2026-11-03 10:00", "review forecast", wd="Tue")),
    R("sms", AKL, "en_NZ", "2026-09-25 19:30", "time_beside_date",
      "remind me mon 28 sept 7.30am to book the wof for the ute",
      At("2026-09-28 07:30", "book wof", wd="Mon")),
    R("chat", SIN, "en_GB", "2026-08-11 14:00", "time_beside_date",
      "follow up with the landlord re deposit — 14 Aug, 1500h",
      At("2026-08-14 15:00", "landlord deposit", wd="Fri")),
    R("email", LON, "en_GB", "2026-10-22 10:20", "time_beside_date",
      "Dear Sam,\nWould you mind reminding me to chase the solicitor about completion on Tuesday 27th October at 09:30?\nKind regards,\nHelen",
      At("2026-10-27 09:30", "chase solicitor", wd="Tue")),
    R("whatsapp", SAO, "en_GB", "2026-07-01 22:10", "time_beside_date",
      "hey remind me 03/07 at 18h to transfer the rent to Lucas",
      At("2026-07-03 18:00", "transfer rent", wd="Fri")),
    R("sms", CHI, "en_US", "2026-03-07 23:10", "time_beside_date",
      "need reminder sun 3/8 at 1pm to call the plumber back",
      At("2026-03-08 13:00", "call plumber", wd="Sun")),
    R("chat", BER, "en_GB", "2026-03-26 16:45", "time_beside_date",
      "Can you nudge me on 30.03. at 08:15 to renew the Deutschlandticket",
      At("2026-03-30 08:15", "renew deutschlandticket", wd="Mon")),
    R("email", TOR, "en_CA", "2026-02-27 13:30", "time_beside_date",
      "Hello,\n\nPlease set a reminder for Thursday March 12 at 2:30 pm so I remember to send the signed lease back to the property manager.\n\nThank you,\nMarc",
      At("2026-03-12 14:30", "send lease", wd="Thu")),
    R("sms", SYD, "en_AU", "2026-10-02 17:00", "time_beside_date",
      "remind me sun 4 oct 1130 to call nan",
      At("2026-10-04 11:30", "call nan", wd="Sun")),
    R("whatsapp", LON, "en_GB", "2026-06-15 00:40", "time_beside_date",
      "omg nearly forgot, remind me weds 17th at 1300 to ring the vet about Biscuit's jabs 🐶",
      At("2026-06-17 13:00", "ring vet", wd="Wed")),
    R("chat", LAX, "en_US", "2026-04-20 01:15", "time_beside_date",
      "remind me thursday 4/23 @ 16:00 to submit the expense report",
      At("2026-04-23 16:00", "submit expense report", wd="Thu")),
    R("sms", KOL, "en_IN", "2026-11-09 00:20", "time_beside_date",
      "remind me 12 nov 1130 hrs pay electricity bill",
      At("2026-11-12 11:30", "pay electricity bill", wd="Thu")),
    R("email", AKL, "en_NZ", "2026-04-02 09:00", "time_beside_date",
      "Kia ora,\n\nCould you please remind me to call the accountant about the provisional tax on Wednesday 8 April at 10.00am?\n\nNgā mihi,\nRewi",
      At("2026-04-08 10:00", "call accountant", wd="Wed")),
    R("chat", DUB, "en_IE", "2026-03-27 12:30", "time_beside_date",
      "remind me Sun 29 Mar at 11 to text Niamh about the car share",
      At("2026-03-29 11:00", "text niamh", wd="Sun")),
    R("sms", JNB, "en_ZA", "2026-09-21 07:30", "time_beside_date",
      "pls remind me 24 sept 0900 fetch the braai stuff frm makro",
      At("2026-09-24 09:00", "fetch braai", wd="Thu")),
    R("whatsapp", NYC, "en_US", "2026-10-31 19:00", "time_beside_date",
      "remind me Mon Nov 2nd 8:45am to drop off the ballot 🗳️",
      At("2026-11-02 08:45", "drop ballot", wd="Mon")),
    R("email", SIN, "en_GB", "2026-01-28 18:05", "time_beside_date",
      "Hi Wei Ling,\n\nJust a reminder request: 2 Feb 2026, 15:30 — follow up with DBS on the loan restructuring.\n\nRegards,\nArjun",
      At("2026-02-02 15:30", "dbs loan", wd="Mon")),
    R("chat", TYO, "en_US", "2026-12-28 10:00", "time_beside_date",
      "remind me Jan 5 at 09:00 to send new year greetings to the Osaka clients",
      At("2027-01-05 09:00", "send greetings", wd="Tue")),
    R("sms", LON, "en_GB", "2026-10-24 23:50", "time_beside_date",
      "remind me tues 27/10 at 0830 dentist",
      At("2026-10-27 08:30", "dentist", wd="Tue")),
    R("chat", CHI, "en_US", "2026-10-28 12:00", "time_beside_date",
      "Ping me Tue Nov 3 1530 – follow up with Kim about the election day coverage",
      At("2026-11-03 15:30", "follow kim", wd="Tue")),
    R("whatsapp", BER, "en_GB", "2026-10-23 20:30", "time_beside_date",
      "Could you remind me Monday the 26th at 7:45 to take the car to the TÜV? It's in the morning before work",
      At("2026-10-26 07:45", "car tüv", wd="Mon")),
    R("email", SYD, "en_AU", "2026-04-01 16:10", "time_beside_date",
      "Hi team,\n\nCan someone set me a reminder for Monday 6 April (Easter Monday) at 3:00pm to email the revised rostering to the site leads.\n\nCheers,\nMel",
      At("2026-04-06 15:00", "email rostering", wd="Mon")),
    R("sms", SAO, "en_GB", "2026-02-12 02:10", "time_beside_date",
      "remind me 19/02 14:00 dentist appt confirm",
      At("2026-02-19 14:00", "dentist", wd="Thu")),
    R("chat", TOR, "en_CA", "2026-10-30 00:45", "time_beside_date",
      "remind me Nov 2 at 13:30 to call the bank re: mortgage renewal",
      At("2026-11-02 13:30", "call bank", wd="Mon")),
    R("sms", AKL, "en_NZ", "2026-09-26 01:30", "time_beside_date",
      "remind me 27 sep 4pm pick up kids from rugby",
      At("2026-09-27 16:00", "pick kids", wd="Sun")),
    # --------------------------------------------------------- day_first_numeric
    R("sms", BER, "en_GB", "2026-03-16 10:00", "day_first_numeric",
      "remind me 21.3 to water the plants at mum's",
      Day("2026-03-21", "day", "water plants", wd="Sat")),
    R("chat", BER, "en_GB", "2026-03-30 09:40", "day_first_numeric",
      "pls remind me on 7.4. to cancel the gym contract",
      Day("2026-04-07", "day", "cancel gym")),
    R("whatsapp", LON, "en_GB", "2026-04-14 19:00", "day_first_numeric",
      "Remind me 23/04 to buy Dad's birthday card!! 🎉",
      Day("2026-04-23", "day", "buy card")),
    R("sms", DUB, "en_IE", "2026-03-09 08:00", "day_first_numeric",
      "Fri 13.03 remind me to ring the insurance crowd",
      Day("2026-03-13", "day", "ring insurance", wd="Fri")),
    R("chat", SIN, "en_GB", "2026-11-02 11:00", "day_first_numeric",
      "Follow up on the visa docs Friday 13.11",
      Day("2026-11-13", "day", "visa docs", wd="Fri")),
    R("email", KOL, "en_IN", "2026-05-04 10:30", "day_first_numeric",
      "Dear Sir,\n\nKindly remind me on 15/05/2026 to renew the vehicle insurance policy.\n\nRegards,\nSuresh Iyer",
      Day("2026-05-15", "day", "renew insurance")),
    R("sms", SYD, "en_AU", "2026-03-30 12:00", "day_first_numeric",
      "remind me 6/4 rego renewal",
      Day("2026-04-06", "day", "rego renewal")),
    R("whatsapp", AKL, "en_NZ", "2026-09-20 18:30", "day_first_numeric",
      "can u remind me 29/9 to pay the power bill ⚡",
      Day("2026-09-29", "day", "pay power bill")),
    R("chat", JNB, "en_ZA", "2026-06-08 14:00", "day_first_numeric",
      "Remind me 12/06 to renew my driver's licence at the testing centre",
      Day("2026-06-12", "day", "renew licence")),
    R("sms", NYC, "en_US", "2026-04-01 09:00", "day_first_numeric",
      "remind me 13/4 to send the deposit",
      Day("2026-04-13", "day", "send deposit")),
    R("email", LAX, "en_US", "2026-05-18 15:00", "day_first_numeric",
      "Hi Carla, my German colleague wrote the deadline as 29.05. — can you remind me that morning to upload the translations?\nThanks, Jeff",
      Day("2026-05-29", "morning", "upload translations")),
    R("sms", LON, "en_GB", "2026-10-20 21:00", "day_first_numeric",
      "remind me 26/10 book mot",
      Day("2026-10-26", "day", "book mot")),
    R("chat", BER, "en_GB", "2026-10-21 13:00", "day_first_numeric",
      "Erinnerung pls: 27.10. 10:00 call with Steuerberater",
      At("2026-10-27 10:00", "call steuerberater")),
    R("whatsapp", DUB, "en_IE", "2026-10-19 20:00", "day_first_numeric",
      "remind me on the 30/10 to get the hallowe'en costumes sorted 🎃",
      Day("2026-10-30", "day", "costumes")),
    R("sms", KOL, "en_IN", "2026-01-20 00:30", "day_first_numeric",
      "remind me 2/2 pay school fees",
      Day("2026-02-02", "day", "pay school fees")),
    R("chat", SYD, "en_AU", "2026-09-28 10:00", "day_first_numeric",
      "Can you remind me 5.10 to lodge the BAS",
      Day("2026-10-05", "day", "lodge bas")),
    R("email", JNB, "en_ZA", "2026-02-23 08:15", "day_first_numeric",
      "Morning Thabo,\n\nPlease diarise a follow-up for 04/03 — I need to check whether the municipality has processed the rates clearance.\n\nThanks\nLerato",
      Day("2026-03-04", "day", "rates clearance")),
    R("sms", AKL, "en_NZ", "2026-04-01 07:00", "day_first_numeric",
      "remind me 7/4 11am physio",
      At("2026-04-07 11:00", "physio")),
    R("chat", SIN, "en_GB", "2026-07-20 02:00", "day_first_numeric",
      "set reminder 24/7 — not 24/7 lol, the 24th of July — collect passport",
      Day("2026-07-24", "day", "collect passport")),
    R("sms", LON, "en_GB", "2026-03-25 17:30", "day_first_numeric",
      "rmd me 31/3 to cancel netflix b4 renewal",
      Day("2026-03-31", "day", "cancel netflix")),
    R("whatsapp", BER, "en_GB", "2026-03-24 22:00", "day_first_numeric",
      "Kannst du... sorry, English 😅 remind me on 2.4. to send Oma's parcel",
      Day("2026-04-02", "day", "send parcel")),
    R("email", DUB, "en_IE", "2026-11-23 12:00", "day_first_numeric",
      "Hi,\nCan you remind me on 01/12 to renew the TV licence? Last year I forgot and got the letter.\nThanks,\nCiarán",
      Day("2026-12-01", "day", "renew licence")),
    R("chat", KOL, "en_IN", "2026-08-10 18:00", "day_first_numeric",
      "remind me on 14.08 at 6 pm to book the tickets for the Independence Day weekend trip",
      At("2026-08-14 18:00", "book tickets")),
    R("sms", JNB, "en_ZA", "2026-12-10 09:30", "day_first_numeric",
      "remind me 15/12 collect car from panelbeater",
      Day("2026-12-15", "day", "collect car")),
    R("whatsapp", SYD, "en_AU", "2026-12-20 16:00", "day_first_numeric",
      "remind me 4/1 to restart the direct debit for the gym pls",
      Day("2027-01-04", "day", "restart debit")),
    R("chat", AKL, "en_NZ", "2026-06-29 13:00", "day_first_numeric",
      "follow up with the recruiter 3.7.",
      Day("2026-07-03", "day", "follow recruiter")),
    R("sms", LON, "en_GB", "2026-01-26 00:10", "day_first_numeric",
      "remind me 28/1 2pm hmrc call",
      At("2026-01-28 14:00", "hmrc call")),
    R("email", BER, "en_GB", "2026-06-22 09:00", "day_first_numeric",
      "Hello Felix,\n\nthe contract says the notice period ends on 30.06.2026. Please remind me on 29.06. so I can send the termination letter in time.\n\nBest regards\nKatrin",
      Day("2026-06-29", "day", "send termination letter")),
    R("chat", JNB, "en_ZA", "2026-04-22 01:40", "day_first_numeric",
      "remind me 27/04 to put the flag up for Freedom Day",
      Day("2026-04-27", "day", "flag")),
    R("sms", DUB, "en_IE", "2026-02-25 08:40", "day_first_numeric",
      "remind me 17/3 parade stuff - collect the banners from the community hall",
      Day("2026-03-17", "day", "collect banners")),
    R("whatsapp", SAO, "en_GB", "2026-02-09 12:00", "day_first_numeric",
      "me lembra / remind me 20/02 to pay the IPTU installment 💸",
      Day("2026-02-20", "day", "pay iptu")),
    R("chat", KOL, "en_IN", "2026-03-02 23:30", "day_first_numeric",
      "remind me on 5-3 to get the holi colours back from Anil",
      Day("2026-03-05", "day", "colours anil")),
    R("sms", NYC, "en_US", "2026-10-26 10:00", "day_first_numeric",
      "remind me 30/10 to pay the sitter",
      Day("2026-10-30", "day", "pay sitter")),
    R("email", AKL, "en_NZ", "2026-04-03 02:30", "day_first_numeric",
      "Hi,\n\nSorry for the late email. Could you please remind me on 10/04 to follow up with the insurer about the roof claim?\n\nCheers\nHemi",
      Day("2026-04-10", "day", "insurer roof")),
    # --------------------------------------------------------- part_of_day_date
    R("email", LON, "en_GB", "2026-02-27 11:00", "part_of_day_date",
      "Hi Ben,\n\nCould you remind me on the 4th of March in the afternoon to call the letting agent about the boiler?\n\nThanks\nRuth",
      Day("2026-03-04", "afternoon", "call agent")),
    R("sms", BER, "en_GB", "2026-04-28 10:00", "part_of_day_date",
      "3.5. at night remind me to put the bins out",
      Day("2026-05-03", "night", "bins")),
    R("chat", LON, "en_GB", "2026-04-20 09:00", "part_of_day_date",
      "23/04 morning - chase the printers for the proofs",
      Day("2026-04-23", "morning", "chase printers")),
    R("whatsapp", SYD, "en_AU", "2026-04-02 21:00", "part_of_day_date",
      "remind me sunday arvo to ring mum for easter 🐣",
      Day("2026-04-05", "afternoon", "ring mum", wd="Sun")),
    R("sms", NYC, "en_US", "2026-03-05 17:00", "part_of_day_date",
      "remind me sunday evening to prep the slides for monday",
      Day("2026-03-08", "evening", "prep slides", wd="Sun")),
    R("chat", LAX, "en_US", "2026-10-29 13:00", "part_of_day_date",
      "remind me sunday night to take the halloween decorations down",
      Day("2026-11-01", "night", "decorations", wd="Sun")),
    R("email", DUB, "en_IE", "2026-03-26 14:00", "part_of_day_date",
      "Hi Orla,\nCan you put in a reminder for Monday morning to send the revised quote to Brennan's?\nThanks a million,\nDeclan",
      Day("2026-03-30", "morning", "send quote", wd="Mon")),
    R("sms", JNB, "en_ZA", "2026-07-14 08:00", "part_of_day_date",
      "remind me thurs afternoon to collect the school uniforms",
      Day("2026-07-16", "afternoon", "collect uniforms", wd="Thu")),
    R("chat", KOL, "en_IN", "2026-09-01 10:00", "part_of_day_date",
      "remind me on 5th Sept evening to call the caterer",
      Day("2026-09-05", "evening", "call caterer")),
    R("whatsapp", AKL, "en_NZ", "2026-09-24 19:00", "part_of_day_date",
      "remind me sunday morning to check the smoke alarm batteries, clocks go forward sat night so good time to do it 🔋",
      Day("2026-09-27", "morning", "check batteries", wd="Sun")),
    R("sms", TYO, "en_US", "2026-05-07 00:50", "part_of_day_date",
      "remind me sat morning to book the shinkansen for the 16th",
      Day("2026-05-09", "morning", "book shinkansen", wd="Sat")),
    R("email", TOR, "en_CA", "2026-10-29 16:00", "part_of_day_date",
      "Hi Jenna,\n\nPlease remind me on the afternoon of November 2 to follow up with Cheng about the audit sample.\n\nThanks,\nRaj",
      Day("2026-11-02", "afternoon", "cheng audit")),
    R("chat", SIN, "en_GB", "2026-03-18 15:00", "part_of_day_date",
      "remind me tmr night to transfer the $ for the condo",
      Day("2026-03-19", "night", "transfer condo")),
    R("sms", CHI, "en_US", "2026-03-06 12:00", "part_of_day_date",
      "sunday afternoon - remind me to change the furnace filter",
      Day("2026-03-08", "afternoon", "change filter", wd="Sun")),
    R("whatsapp", BER, "en_GB", "2026-03-27 18:00", "part_of_day_date",
      "Could you remind me Sunday morning to call my sister in Toronto 🙂",
      Day("2026-03-29", "morning", "call sister", wd="Sun")),
    R("email", LAX, "en_US", "2026-06-30 09:00", "part_of_day_date",
      "Hey,\n\nCan you remind me on the morning of July 6th to renew the domain for the bakery site? It expires on the 8th.\n\n– Dana",
      Day("2026-07-06", "morning", "renew domain")),
    R("sms", LON, "en_GB", "2026-10-23 00:15", "part_of_day_date",
      "remind me sun eve to iron school uniform",
      Day("2026-10-25", "evening", "iron uniform", wd="Sun")),
    R("chat", NYC, "en_US", "2026-07-27 11:00", "part_of_day_date",
      "Friday afternoon pls: follow up with legal on the NDA redlines",
      Day("2026-07-31", "afternoon", "legal nda", wd="Fri")),
    R("sms", SAO, "en_GB", "2026-09-08 20:00", "part_of_day_date",
      "remind me 12/9 afternoon to pick up the suit from the tailor",
      Day("2026-09-12", "afternoon", "pick suit")),
    R("whatsapp", JNB, "en_ZA", "2026-08-04 22:30", "part_of_day_date",
      "Remind me on the 9th in the evening to phone Gogo for Women's Day 💐",
      Day("2026-08-09", "evening", "phone gogo")),
    R("email", KOL, "en_IN", "2026-12-01 09:45", "part_of_day_date",
      "Hi Neha,\n\nPlease set a reminder for the 4th December, post lunch, to review the appraisal forms.\n\nThanks & regards,\nVikram",
      Day("2026-12-04", "afterlunch", "review appraisal forms")),
    R("sms", SYD, "en_AU", "2026-10-01 08:30", "part_of_day_date",
      "remind me sat night to put the clocks forward ⏰",
      Day("2026-10-03", "night", "clocks", wd="Sat")),
    R("chat", AKL, "en_NZ", "2026-04-03 13:00", "part_of_day_date",
      "remind me Monday lunchtime to email the school about the camp forms",
      Day("2026-04-06", "lunch", "email school", wd="Mon")),
    R("sms", DUB, "en_IE", "2026-05-29 23:40", "part_of_day_date",
      "remind me tues mornin to bring the bins in",
      Day("2026-06-02", "morning", "bins", wd="Tue")),
    R("whatsapp", TOR, "en_CA", "2026-03-06 19:15", "part_of_day_date",
      "remind me sunday night to pack lunches for the week 🥪",
      Day("2026-03-08", "night", "pack lunches", wd="Sun")),
    R("email", BER, "en_GB", "2026-10-22 12:00", "part_of_day_date",
      "Hi,\n\nplease remind me on Tuesday afternoon, 27.10., to send Mr Weber the reviewed draft.\n\nThanks\nLena",
      Day("2026-10-27", "afternoon", "send draft", wd="Tue")),
    R("chat", CHI, "en_US", "2026-11-18 00:30", "part_of_day_date",
      "remind me fri morning to order the turkey",
      Day("2026-11-20", "morning", "order turkey", wd="Fri")),
    R("sms", TYO, "en_US", "2026-12-29 15:00", "part_of_day_date",
      "remind me jan 2 afternoon to visit the shrine with aunt",
      Day("2027-01-02", "afternoon", "visit shrine")),
    R("whatsapp", NYC, "en_US", "2026-10-30 01:20", "part_of_day_date",
      "remind me sunday morning to move the car for street cleaning 🚗",
      Day("2026-11-01", "morning", "move car", wd="Sun")),
    R("sms", KOL, "en_IN", "2026-10-05 02:30", "part_of_day_date",
      "remind me wed evng to pay maid salary",
      Day("2026-10-07", "evening", "pay salary", wd="Wed")),
    R("chat", LON, "en_GB", "2026-03-26 08:00", "part_of_day_date",
      "Remind me Saturday night to put the clocks forward — actually they do it themselves, so remind me to change the oven clock instead",
      Day("2026-03-28", "night", "oven clock", wd="Sat")),
    R("email", SYD, "en_AU", "2026-09-30 10:00", "part_of_day_date",
      "Hi Priya,\n\nCould you set me a reminder for Tuesday morning (6 Oct) to follow up the physio invoice with Medibank?\n\nThanks,\nLachlan",
      Day("2026-10-06", "morning", "physio invoice", wd="Tue")),
    R("sms", JNB, "en_ZA", "2026-03-19 21:00", "part_of_day_date",
      "remind me 21st in the morning to take the dogs to the vet",
      Day("2026-03-21", "morning", "dogs vet")),
    # -------------------------------------------------------- compound_duration
    R("chat", LON, "en_GB", "2026-05-12 14:10", "compound_duration",
      "remind me in 1 hour 45 minutes to take the bread out",
      After("take bread", hours=1, minutes=45)),
    R("sms", NYC, "en_US", "2026-06-03 09:00", "compound_duration",
      "remind me in 3 days 4 hours to check the sourdough starter",
      After("check starter", days=3, hours=4)),
    R("chat", BER, "en_GB", "2026-02-17 10:05", "compound_duration",
      "ping me in 2h15 re: deploy rollback window",
      After("deploy rollback", hours=2, minutes=15)),
    R("sms", SYD, "en_AU", "2026-06-18 21:00", "compound_duration",
      "remind me in 1.5 days to follow up the tradie",
      After("follow tradie", hours=36)),
    R("whatsapp", LAX, "en_US", "2026-08-08 19:20", "compound_duration",
      "10 minutes later remind me to flip the brisket 🔥",
      After("flip brisket", minutes=10)),
    R("sms", CHI, "en_US", "2026-01-15 11:40", "compound_duration",
      "20 mins out, remind me to move the car",
      After("move car", minutes=20)),
    R("chat", SIN, "en_GB", "2026-04-09 16:00", "compound_duration",
      "now + 25 min: call Mei about the slides",
      After("call mei", minutes=25)),
    R("email", DUB, "en_IE", "2026-05-05 10:00", "compound_duration",
      "Hi Seán,\n\nThanks for the draft. Could you remind me in a fortnight to check whether the planning office has replied?\n\nRegards,\nMáire",
      InDays(14, "check planning")),
    R("sms", JNB, "en_ZA", "2026-09-14 12:00", "compound_duration",
      "remind me in a few days to chase the plumber's quote",
      Few("chase quote")),
    R("sms", LON, "en_GB", "2026-03-29 00:35", "compound_duration",
      "remind me in 2 hours to check the dough",
      After("check dough", hours=2)),
    R("chat", NYC, "en_US", "2026-11-01 00:50", "compound_duration",
      "set a timer-ish reminder: 90 minutes from now, take the lasagna out",
      After("lasagna", minutes=90)),
    R("sms", BER, "en_GB", "2026-10-24 23:30", "compound_duration",
      "in 4 hrs remind me to check on the server migration",
      After("server migration", hours=4)),
    R("whatsapp", SYD, "en_AU", "2026-04-04 22:00", "compound_duration",
      "remind me in 6 hours to feed the baby 🍼 (night shift lol)",
      After("feed baby", hours=6)),
    R("chat", AKL, "en_NZ", "2026-09-26 23:15", "compound_duration",
      "remind me in 3 hours to check the lambing shed",
      After("check shed", hours=3)),
    R("sms", KOL, "en_IN", "2026-07-07 08:00", "compound_duration",
      "remind me in 45 min to leave for the bank",
      After("leave bank", minutes=45)),
    R("chat", TYO, "en_US", "2026-09-10 13:00", "compound_duration",
      "in 2 weeks remind me to follow up on the apartment application",
      InDays(14, "apartment application")),
    R("email", TOR, "en_CA", "2026-02-25 15:00", "compound_duration",
      "Hi,\n\nPlease follow up with me in 3 weeks about the warranty claim on the dishwasher.\n\nThanks,\nÉmilie",
      InDays(21, "warranty claim")),
    R("sms", SAO, "en_GB", "2026-06-10 21:00", "compound_duration",
      "lembrete: in 36h call the accountant",
      After("call accountant", hours=36)),
    R("whatsapp", JNB, "en_ZA", "2026-11-05 17:45", "compound_duration",
      "remind me in an hour and a half to fetch Lindiwe from netball 🏐",
      After("fetch lindiwe", minutes=90)),
    R("sms", LAX, "en_US", "2026-03-07 22:30", "compound_duration",
      "remind me in 5 hrs to feed the cat",
      After("feed cat", hours=5)),
    R("chat", DUB, "en_IE", "2026-03-28 23:00", "compound_duration",
      "nudge me in 3h30 to check the bread proof",
      After("bread", hours=3, minutes=30)),
    R("sms", CHI, "en_US", "2026-10-31 23:45", "compound_duration",
      "in 2 hrs 15 min remind me to take my meds",
      After("take meds", hours=2, minutes=15)),
    R("email", LON, "en_GB", "2026-09-01 09:00", "compound_duration",
      "Morning,\n\nCould you remind me in 10 days to chase Harrow Council about the parking permit appeal?\n\nBest,\nPriya",
      InDays(10, "chase council")),
    R("chat", SIN, "en_GB", "2026-12-30 20:00", "compound_duration",
      "remind me in 1 week 2 days to file the GST return",
      InDays(9, "file gst return")),
    R("sms", NYC, "en_US", "2026-03-07 09:00", "compound_duration",
      "remind me in 2 days to call the landlord",
      InDays(2, "call landlord")),
    R("whatsapp", BER, "en_GB", "2026-03-28 11:00", "compound_duration",
      "remind me in 24h to pay back Jonas for the tickets 🎟️",
      After("pay jonas", hours=24)),
    R("sms", AKL, "en_NZ", "2026-04-04 12:00", "compound_duration",
      "remind me in 1 day to renew the boat licence",
      InDays(1, "renew licence")),
    R("chat", KOL, "en_IN", "2026-02-02 01:10", "compound_duration",
      "remind me in 7 hrs to call the CA",
      After("call ca", hours=7)),
    R("sms", JNB, "en_ZA", "2026-01-12 00:40", "compound_duration",
      "remind me in 8h to phone home affairs",
      After("home affairs", hours=8)),
    R("email", SYD, "en_AU", "2026-09-21 09:00", "compound_duration",
      "Hi Sam,\n\nCan you follow up with me in a fortnight regarding the council DA submission?\n\nThanks\nGrace",
      InDays(14, "council submission")),
    R("chat", LAX, "en_US", "2026-10-31 20:00", "compound_duration",
      "remind me in 12 hours to return the costume rental",
      After("return costume", hours=12)),
    R("sms", TOR, "en_CA", "2026-10-31 22:00", "compound_duration",
      "remind me in a couple of days to book the snow tire swap",
      InDays(2, "snow tire")),
    R("whatsapp", LON, "en_GB", "2026-07-15 18:00", "compound_duration",
      "give me a shout in half an hour to ring Tesco about the delivery 🛒",
      After("ring tesco", minutes=30)),
    R("chat", TYO, "en_US", "2026-01-20 02:15", "compound_duration",
      "in 6h30m remind me to join the standup with the SF team",
      After("join standup", hours=6, minutes=30)),
    R("sms", DUB, "en_IE", "2026-10-24 22:10", "compound_duration",
      "remind me in 10 hours to let the dog out",
      After("dog", hours=10)),
    R("chat", BER, "en_GB", "2026-04-10 15:00", "compound_duration",
      "remind me in a few days to ask Lukas about the bike",
      Few("ask lukas")),
    # ---------------------------------------------------------------- period_end
    R("sms", LON, "en_GB", "2026-03-10 12:00", "period_end",
      "remind me end of the month to submit my timesheet",
      Day("2026-03-31", "eod", "submit timesheet")),
    R("email", NYC, "en_US", "2026-10-05 09:30", "period_end",
      "Hi Lauren,\n\nPlease remind me by end of week to send the revised SOW to Acme.\n\nThanks,\nMike",
      Day("2026-10-09", "eod", "send sow", wd="Fri")),
    R("chat", SIN, "en_GB", "2026-09-02 11:00", "period_end",
      "EOQ reminder: close out the vendor reconciliations",
      Day("2026-09-30", "eod", "vendor reconciliations")),
    R("sms", BER, "en_GB", "2026-11-16 08:00", "period_end",
      "remind me end of this year to cancel the Spotify family plan",
      Day("2026-12-31", "eod", "cancel spotify")),
    R("whatsapp", SYD, "en_AU", "2026-05-12 20:00", "period_end",
      "remind me end of financial year to make the super contribution 💰",
      Day("2026-06-30", "eod", "super contribution")),
    R("email", KOL, "en_IN", "2026-03-02 10:00", "period_end",
      "Dear Meera,\n\nKindly remind me at the end of the financial year to close the petty cash register.\n\nRegards,\nKaran",
      Day("2026-03-31", "eod", "petty cash")),
    R("sms", CHI, "en_US", "2026-10-27 14:00", "period_end",
      "eom remind me to reconcile the amex",
      Span("2026-10-30 16:00", "2026-10-31 18:00", "reconcile amex")),
    R("chat", TOR, "en_CA", "2026-10-20 10:00", "period_end",
      "remind me end of next week to follow up with the inspector",
      Day("2026-10-30", "eod", "inspector", wd="Fri")),
    R("sms", DUB, "en_IE", "2026-03-23 09:00", "period_end",
      "remind me by end of the week to book the NCT",
      Day("2026-03-27", "eod", "book nct", wd="Fri")),
    R("whatsapp", JNB, "en_ZA", "2026-02-03 07:00", "period_end",
      "Please remind me end of Feb to renew the car licence disc 🚗",
      Span("2026-02-27 16:00", "2026-02-28 18:00", "licence disc")),
    R("email", LAX, "en_US", "2026-06-08 16:00", "period_end",
      "Team — a reminder request for myself: by end of Q2 I need to have the vendor security reviews filed. Please remind me.\n\nThx,\nAlicia",
      Day("2026-06-30", "eod", "security reviews")),
    R("sms", AKL, "en_NZ", "2026-09-08 18:00", "period_end",
      "remind me end of the month re power company switch",
      Day("2026-09-30", "eod", "power company")),
    R("chat", LON, "en_GB", "2026-10-14 15:00", "period_end",
      "EOM pls - chase unpaid invoices from Q3",
      Span("2026-10-30 16:00", "2026-10-31 18:00", "chase invoices")),
    R("sms", NYC, "en_US", "2026-02-19 13:00", "period_end",
      "by end of month remind me to transfer $ to the HSA",
      Span("2026-02-27 16:00", "2026-02-28 18:00", "transfer hsa")),
    R("chat", BER, "en_GB", "2026-03-16 11:00", "period_end",
      "end of quarter: remind me to archive the Jira board",
      Day("2026-03-31", "eod", "archive board")),
    R("email", SYD, "en_AU", "2026-09-15 10:00", "period_end",
      "Hi Tom,\n\nBy the end of the month, could you remind me to review the insurance renewal documents?\n\nKind regards,\nSophie",
      Day("2026-09-30", "eod", "review insurance")),
    R("sms", SAO, "en_GB", "2026-12-02 09:00", "period_end",
      "remind me end of year to pay the 13th salary to the cleaner",
      Day("2026-12-31", "eod", "pay salary")),
    R("chat", KOL, "en_IN", "2026-06-22 00:20", "period_end",
      "remind me EOW to send the travel claim",
      Day("2026-06-26", "eod", "travel claim", wd="Fri")),
    R("whatsapp", LON, "en_GB", "2026-08-03 21:00", "period_end",
      "remind me by end of play friday to get the invoice over to Graham 👍",
      Day("2026-08-07", "eod", "invoice graham", wd="Fri")),
    R("sms", TYO, "en_US", "2026-03-20 18:00", "period_end",
      "remind me end of the month to file the expense backlog",
      Day("2026-03-31", "eod", "expense backlog")),
    R("email", DUB, "en_IE", "2026-12-07 11:00", "period_end",
      "Hi Ger,\n\nCould you put a reminder in for the end of the year to renew the domain names? They all lapse on 2 January.\n\nThanks,\nFiona",
      Day("2026-12-31", "eod", "renew domain")),
    R("chat", NYC, "en_US", "2026-10-21 10:00", "period_end",
      "remind me by the end of next month to renew my passport",
      Day("2026-11-30", "eod", "renew passport")),
    R("sms", CHI, "en_US", "2026-12-15 00:10", "period_end",
      "end of the year remind me donate to the food bank",
      Day("2026-12-31", "eod", "donate food")),
    R("whatsapp", SIN, "en_GB", "2026-05-25 08:00", "period_end",
      "remind me end of this week to book the chalet for June hols 🏖️",
      Day("2026-05-29", "eod", "book chalet", wd="Fri")),
    R("chat", AKL, "en_NZ", "2026-03-16 09:00", "period_end",
      "remind me at the end of the tax year to sort the rental property receipts",
      Day("2026-03-31", "eod", "receipts")),
    R("sms", LON, "en_GB", "2026-03-02 19:00", "period_end",
      "remind me end of the tax year to use my ISA allowance",
      Span("2026-04-03 16:00", "2026-04-05 18:00", "isa allowance")),
    R("email", TOR, "en_CA", "2026-11-25 14:00", "period_end",
      "Hello Ana,\n\nPlease remind me by the end of the month to submit the RRSP contribution paperwork.\n\nCheers,\nLiam",
      Day("2026-11-30", "eod", "rrsp contribution")),
    R("sms", JNB, "en_ZA", "2026-06-01 01:30", "period_end",
      "remind me end of month pay the domestic worker UIF",
      Day("2026-06-30", "eod", "uif")),
    R("chat", LAX, "en_US", "2026-03-02 10:00", "period_end",
      "EOM reminder plz: rotate the API keys for staging",
      Day("2026-03-31", "eod", "rotate keys")),
    R("whatsapp", BER, "en_GB", "2026-10-05 12:00", "period_end",
      "Remind me end of October to switch the car to winter tyres ❄️",
      Span("2026-10-30 16:00", "2026-10-31 18:00", "winter tyres")),
    R("email", SIN, "en_GB", "2026-11-03 09:00", "period_end",
      "Dear Farah,\n\nPlease set a reminder for end of Q4 to prepare the board pack.\n\nBest,\nDaniel",
      Day("2026-12-31", "eod", "board pack")),
    # ----------------------------------------------------------- weekend_workday
    R("sms", LON, "en_GB", "2026-06-10 12:00", "weekend_workday",
      "remind me over the weekend to sort the garage",
      Day("2026-06-13", "day", "sort garage", wd="Sat")),
    R("chat", NYC, "en_US", "2026-03-06 17:30", "weekend_workday",
      "remind me next business day to wire the deposit",
      Day("2026-03-09", "day", "wire deposit", wd="Mon")),
    R("email", BER, "en_GB", "2026-03-27 16:00", "weekend_workday",
      "Hi Paul,\n\nI'll be offline until Monday. Please remind me on the next working day to approve the holiday requests.\n\nBest\nSabine",
      Day("2026-03-30", "day", "approve requests", wd="Mon")),
    R("whatsapp", SYD, "en_AU", "2026-04-01 19:00", "weekend_workday",
      "remind me this weekend to clean the gutters 🍂",
      Day("2026-04-04", "day", "clean gutters", wd="Sat")),
    R("sms", DUB, "en_IE", "2026-10-21 13:00", "weekend_workday",
      "remind me at the weekend to get the heating serviced",
      Day("2026-10-24", "day", "heating", wd="Sat")),
    R("chat", TOR, "en_CA", "2026-10-30 09:00", "weekend_workday",
      "remind me Monday or Tuesday to call the insurance broker",
      Span("2026-11-02 08:00", "2026-11-03 10:00", "call broker")),
    R("sms", JNB, "en_ZA", "2026-05-08 15:00", "weekend_workday",
      "remind me next working day to call the bond originator",
      Day("2026-05-11", "day", "call originator", wd="Mon")),
    R("email", LAX, "en_US", "2026-09-30 11:00", "weekend_workday",
      "Hey Jess,\n\nCan you remind me on the first business day of next month to send the rent reconciliation to the owners?\n\nThanks!\nMarco",
      Day("2026-10-01", "day", "rent reconciliation", wd="Thu")),
    R("sms", KOL, "en_IN", "2026-08-12 18:00", "weekend_workday",
      "remind me on the weekend to get the AC serviced",
      Day("2026-08-15", "day", "ac serviced", wd="Sat")),
    R("chat", SIN, "en_GB", "2026-07-03 09:00", "weekend_workday",
      "remind me after the weekend to chase the contractor",
      Day("2026-07-06", "day", "chase contractor", wd="Mon")),
    R("whatsapp", AKL, "en_NZ", "2026-09-23 20:00", "weekend_workday",
      "remind me over the weekend to mow the lawns 🌱",
      Day("2026-09-26", "day", "mow lawns", wd="Sat")),
    R("sms", LON, "en_GB", "2026-10-23 17:00", "weekend_workday",
      "remind me next working day to send the contracts to Bristol",
      Day("2026-10-26", "day", "send contracts", wd="Mon")),
    R("email", NYC, "en_US", "2026-10-30 18:30", "weekend_workday",
      "Hi,\n\nPlease remind me first thing next business day to follow up with the landlord about the radiator.\n\nThank you,\nGrace",
      Day("2026-11-02", "morning", "landlord radiator", wd="Mon")),
    R("chat", BER, "en_GB", "2026-05-13 10:00", "weekend_workday",
      "remind me on Saturday to repaint the balcony railing",
      Day("2026-05-16", "day", "repaint railing", wd="Sat")),
    R("sms", CHI, "en_US", "2026-03-05 20:00", "weekend_workday",
      "remind me sunday to change the smoke detector batteries",
      Day("2026-03-08", "day", "batteries", wd="Sun")),
    R("whatsapp", JNB, "en_ZA", "2026-11-11 12:00", "weekend_workday",
      "remind me Monday or Tuesday to book the car service 🔧",
      Span("2026-11-16 08:00", "2026-11-17 10:00", "book service")),
    R("chat", TYO, "en_US", "2026-06-12 11:00", "weekend_workday",
      "remind me next working day to send the contract to Yamada-san",
      Day("2026-06-15", "day", "send contract", wd="Mon")),
    R("sms", SAO, "en_GB", "2026-08-28 18:00", "weekend_workday",
      "remind me weekend to pay the condo fee",
      Day("2026-08-29", "day", "condo fee", wd="Sat")),
    R("email", SYD, "en_AU", "2026-09-25 16:30", "weekend_workday",
      "Hi Jo,\n\nCan you remind me on the next business day to submit my leave form?\n\nThanks,\nAmit",
      Day("2026-09-28", "day", "leave form", wd="Mon")),
    R("chat", DUB, "en_IE", "2026-03-28 11:00", "weekend_workday",
      "remind me tomorrow or monday to ring the garage",
      Span("2026-03-29 08:00", "2026-03-30 10:00", "ring garage")),
    R("sms", NYC, "en_US", "2026-02-11 09:00", "weekend_workday",
      "remind me over the wknd to do taxes",
      Day("2026-02-14", "day", "taxes", wd="Sat")),
    R("whatsapp", LON, "en_GB", "2026-03-25 21:30", "weekend_workday",
      "can you remind me on Sunday to book the holiday cottage 🏡",
      Day("2026-03-29", "day", "book cottage", wd="Sun")),
    R("chat", KOL, "en_IN", "2026-04-18 00:45", "weekend_workday",
      "remind me on the next working day to reply to the auditor",
      Day("2026-04-20", "day", "reply auditor", wd="Mon")),
    R("sms", AKL, "en_NZ", "2026-04-03 15:00", "weekend_workday",
      "remind me sunday to turn the clocks back on the oven",
      Day("2026-04-05", "day", "clocks oven", wd="Sun")),
    R("email", TOR, "en_CA", "2026-03-04 10:00", "weekend_workday",
      "Hi Brent,\n\nCould you remind me on Monday or Tuesday next week to send the updated floor plan to the contractor?\n\nThanks,\nNadia",
      Span("2026-03-09 08:00", "2026-03-10 10:00", "floor plan")),
    R("sms", LAX, "en_US", "2026-07-08 23:50", "weekend_workday",
      "this weekend remind me to wash the car",
      Day("2026-07-11", "day", "wash car", wd="Sat")),
    R("chat", JNB, "en_ZA", "2026-09-18 01:20", "weekend_workday",
      "remind me on Saturday to collect the bike from the shop",
      Day("2026-09-19", "day", "collect bike", wd="Sat")),
    R("whatsapp", BER, "en_GB", "2026-10-21 18:00", "weekend_workday",
      "remind me on Sunday to put the summer tyres in the cellar",
      Day("2026-10-25", "day", "tyres", wd="Sun")),
    R("sms", SIN, "en_GB", "2026-02-13 17:00", "weekend_workday",
      "remind me next working day to renew the road tax",
      Day("2026-02-16", "day", "renew tax", wd="Mon")),
    R("chat", LON, "en_GB", "2026-11-27 16:45", "weekend_workday",
      "Monday or Tuesday — remind me to follow up with Kerry on the tender",
      Span("2026-11-30 08:00", "2026-12-01 10:00", "kerry tender")),
    R("email", CHI, "en_US", "2026-10-30 11:00", "weekend_workday",
      "Dana,\n\nPlease remind me over the weekend to review the board deck before Monday's meeting.\n\nThanks,\nPhil",
      Day("2026-10-31", "day", "review deck", wd="Sat")),
    # ------------------------------------------------------------------- holiday
    R("email", NYC, "en_US", "2026-08-31 10:00", "holiday",
      "Hi Kevin,\n\nLet's regroup after the holiday. Can you remind me the Monday after Labor Day to restart the hiring pipeline conversation?\n\nBest,\nSara",
      Day("2026-09-14", "day", "hiring pipeline", wd="Mon")),
    R("sms", LON, "en_GB", "2026-12-18 12:00", "holiday",
      "remind me the day after boxing day to return the jumper",
      Day("2026-12-27", "day", "return jumper", wd="Sun")),
    R("chat", DUB, "en_IE", "2026-12-01 10:00", "holiday",
      "remind me ahead of Christmas to send cards to the Galway lot",
      Span("2026-12-18 08:00", "2026-12-24 18:00", "send cards")),
    R("sms", CHI, "en_US", "2026-11-20 09:00", "holiday",
      "remind me day after thanksgiving to put up the lights 🎄",
      Day("2026-11-27", "day", "lights", wd="Fri")),
    R("whatsapp", SYD, "en_AU", "2026-04-01 10:00", "holiday",
      "remind me Easter Monday to take the Easter eggs to nonna's 🐰",
      Day("2026-04-06", "day", "eggs nonna", wd="Mon")),
    R("chat", TOR, "en_CA", "2026-10-08 15:00", "holiday",
      "remind me the day after Thanksgiving to return the roasting pan to Mom",
      Day("2026-10-13", "day", "return pan", wd="Tue")),
    R("sms", NYC, "en_US", "2026-05-20 19:00", "holiday",
      "remind me memorial day to put the flag out",
      Day("2026-05-25", "day", "flag", wd="Mon")),
    R("email", LON, "en_GB", "2026-04-29 11:00", "holiday",
      "Hello,\n\nCould you remind me on the bank holiday Monday to cut the hedge before the neighbours' party?\n\nCheers,\nTim",
      Day("2026-05-04", "day", "cut hedge", wd="Mon")),
    R("sms", KOL, "en_IN", "2026-01-20 09:00", "holiday",
      "remind me republic day morning to buy flags for the society function",
      Day("2026-01-26", "morning", "buy flags", wd="Mon")),
    R("chat", AKL, "en_NZ", "2026-10-20 12:00", "holiday",
      "remind me on Labour Day to get the veggie garden planted",
      Day("2026-10-26", "day", "garden", wd="Mon")),
    R("whatsapp", JNB, "en_ZA", "2026-09-20 20:00", "holiday",
      "remind me on Heritage Day at 3pm to light the braai 🔥",
      At("2026-09-24 15:00", "light braai", wd="Thu")),
    R("sms", DUB, "en_IE", "2026-03-10 22:00", "holiday",
      "remind me paddy's day to ring uncle Tom in Boston",
      Day("2026-03-17", "day", "ring tom", wd="Tue")),
    R("email", SIN, "en_GB", "2026-07-28 10:00", "holiday",
      "Hi Jia Hui,\n\nPlease remind me on the working day after National Day to submit the claims.\n\nThanks,\nRahul",
      Day("2026-08-11", "day", "submit claims", wd="Tue")),
    R("chat", TYO, "en_US", "2026-05-01 14:00", "holiday",
      "remind me first working day after Golden Week to send the contract to Yamada-san",
      Day("2026-05-07", "day", "send contract", wd="Thu")),
    R("sms", LAX, "en_US", "2026-07-01 08:00", "holiday",
      "remind me on the fourth of july at noon to bring the cooler to Ryan's bbq",
      At("2026-07-04 12:00", "bring cooler", wd="Sat")),
    R("whatsapp", BER, "en_GB", "2026-12-14 18:00", "holiday",
      "remind me on Christmas Eve morning to pick up the goose from the butcher 🦢",
      Day("2026-12-24", "morning", "goose", wd="Thu")),
    R("email", NYC, "en_US", "2026-12-10 14:00", "holiday",
      "Hi Jordan,\n\nCan you set a reminder for the first business day after New Year's to kick off the Q1 planning?\n\nThanks,\nElena",
      Day("2027-01-04", "day", "planning", wd="Mon")),
    R("sms", SYD, "en_AU", "2026-04-20 09:00", "holiday",
      "remind me anzac day to call grandad",
      Day("2026-04-25", "day", "call grandad", wd="Sat")),
    R("chat", LON, "en_GB", "2026-05-20 10:00", "holiday",
      "remind me the working day before the spring bank holiday to sign off the rota",
      Day("2026-05-22", "day", "sign rota", wd="Fri")),
    R("sms", TOR, "en_CA", "2026-05-14 21:00", "holiday",
      "remind me victoria day to open the cottage water line",
      Day("2026-05-18", "day", "water line", wd="Mon")),
    R("whatsapp", SAO, "en_GB", "2026-02-10 12:00", "holiday",
      "remind me on Ash Wednesday to take Vovó to the clinic, carnival will be over by then 😅",
      Day("2026-02-18", "day", "clinic", wd="Wed")),
    R("email", JNB, "en_ZA", "2026-12-08 09:00", "holiday",
      "Dear Sipho,\n\nPlease remind me on the Day of Reconciliation to send the year-end thank-you messages to the team.\n\nRegards,\nAnele",
      Day("2026-12-16", "day", "messages", wd="Wed")),
    R("sms", CHI, "en_US", "2026-10-31 22:30", "holiday",
      "remind me the monday after thanksgiving to return the blender",
      Day("2026-11-30", "day", "return blender", wd="Mon")),
    R("chat", KOL, "en_IN", "2026-09-28 11:00", "holiday",
      "remind me on Gandhi Jayanti to drop the donation at the ashram",
      Day("2026-10-02", "day", "donation", wd="Fri")),
    R("sms", DUB, "en_IE", "2026-10-22 17:00", "holiday",
      "remind me on the bank holiday to clear out the shed",
      Day("2026-10-26", "day", "clear shed", wd="Mon")),
    R("whatsapp", AKL, "en_NZ", "2026-07-06 20:00", "holiday",
      "remind me Matariki to ring the whānau about the hāngī 🌟",
      Day("2026-07-10", "day", "ring whānau", wd="Fri")),
    R("email", LAX, "en_US", "2026-11-18 16:00", "holiday",
      "Hi Megan,\n\nBefore Thanksgiving, can you remind me to confirm the headcount with the caterer? The Tuesday before would be perfect.\n\nThanks,\nChris",
      Day("2026-11-24", "day", "confirm headcount", wd="Tue")),
    R("sms", LON, "en_GB", "2026-12-21 01:10", "holiday",
      "remind me xmas eve to collect the turkey from the farm shop",
      Day("2026-12-24", "day", "collect turkey", wd="Thu")),
    R("chat", SYD, "en_AU", "2026-10-01 12:00", "holiday",
      "remind me on the Tuesday after the Labour Day long weekend to book the car service",
      Day("2026-10-06", "day", "book service", wd="Tue")),
    R("email", BER, "en_GB", "2026-11-30 10:00", "holiday",
      "Dear Mr Braun,\n\nkindly remind me ahead of Christmas to send the annual statements to our clients.\n\nBest regards\nClaudia Hoff",
      Span("2026-12-18 08:00", "2026-12-24 18:00", "annual statements")),
    R("sms", NYC, "en_US", "2026-06-30 00:30", "holiday",
      "remind me the day after the 4th to return the folding chairs",
      Day("2026-07-05", "day", "return chairs", wd="Sun")),
    R("chat", TYO, "en_US", "2026-07-14 10:00", "holiday",
      "remind me on Marine Day to book the onsen for August",
      Day("2026-07-20", "day", "book onsen", wd="Mon")),
    R("sms", KOL, "en_IN", "2026-10-28 19:00", "holiday",
      "remind me day after diwali to give the sweets box to the watchman",
      Day("2026-11-09", "day", "sweets", wd="Mon")),
    R("email", SYD, "en_AU", "2026-10-02 16:30", "holiday",
      "Hi Jo,\n\nCan you remind me on the next business day to submit my timesheet? Monday's the public holiday.\n\nThanks,\nAmit",
      Day("2026-10-06", "day", "submit timesheet", wd="Tue")),
    # ------------------------------------------------------- business_convention
    R("sms", LON, "en_GB", "2026-05-11 10:00", "business_convention",
      "can you remind me to call Dana about the lease tomorrow at 3",
      At("2026-05-12 15:00", "call dana")),
    R("chat", NYC, "en_US", "2026-09-16 11:00", "business_convention",
      "quarter to 5 tomorrow - remind me to send the deck to Marcus",
      At("2026-09-17 16:45", "send deck")),
    R("email", BER, "en_GB", "2026-06-17 09:00", "business_convention",
      "Hi Tobias,\n\nplease remind me EOD Friday to submit the sprint report.\n\nThanks\nMira",
      Day("2026-06-19", "eod", "sprint report", wd="Fri")),
    R("chat", LON, "en_GB", "2026-06-09 10:00", "business_convention",
      "remind me 3pm PT tomorrow to jump on the call with the Seattle team",
      At("2026-06-10 15:00", "call seattle", tz=LAX)),
    R("email", LON, "en_GB", "2026-03-16 14:00", "business_convention",
      "Hi Alex,\n\nCan you remind me to ping the New York office on Thursday at 5pm New York time? They're an hour closer than usual this week because of the clock change.\n\nThanks,\nJo",
      At("2026-03-19 17:00", "ping office", tz=NYC, wd="Thu")),
    R("sms", NYC, "en_US", "2026-01-13 16:00", "business_convention",
      "remind me thurs 9am CET to dial into the Berlin standup",
      At("2026-01-15 09:00", "berlin standup", tz=BER, wd="Thu")),
    R("chat", SYD, "en_AU", "2026-03-03 10:00", "business_convention",
      "remind me tmrw at 2 to follow up with the bank",
      At("2026-03-04 14:00", "follow bank")),
    R("sms", CHI, "en_US", "2026-04-14 15:00", "business_convention",
      "call w/ vendor tmrw at 4 remind me",
      At("2026-04-15 16:00", "call vendor")),
    R("whatsapp", JNB, "en_ZA", "2026-08-18 08:30", "business_convention",
      "remind me Thursday at half 2 to collect the forms from the school office",
      At("2026-08-20 14:30", "collect forms", wd="Thu")),
    R("chat", SIN, "en_GB", "2026-10-19 09:00", "business_convention",
      "remind me 9am London time tomorrow to email the UK team",
      At("2026-10-20 09:00", "email team", tz=LON)),
    R("email", TOR, "en_CA", "2026-11-02 10:00", "business_convention",
      "Good morning,\n\nPlease schedule a follow-up for Wednesday at 1 to go over the renovation invoices with Paul.\n\nBest,\nSandra",
      At("2026-11-04 13:00", "renovation invoices", wd="Wed")),
    R("sms", LAX, "en_US", "2026-02-24 13:30", "business_convention",
      "remind me tmrw 11 ET to call the NY recruiter",
      At("2026-02-25 11:00", "call recruiter", tz=NYC)),
    R("chat", KOL, "en_IN", "2026-03-27 17:00", "business_convention",
      "remind me Monday 2 pm UK time to join the client call",
      At("2026-03-30 14:00", "client call", tz=LON, wd="Mon")),
    R("sms", DUB, "en_IE", "2026-04-07 16:20", "business_convention",
      "cob tmrw remind me re the planning objection",
      Day("2026-04-08", "eod", "planning objection")),
    R("whatsapp", NYC, "en_US", "2026-03-05 18:00", "business_convention",
      "remind me monday 8am PT for the call with Liz in LA 📞",
      At("2026-03-09 08:00", "call liz", tz=LAX, wd="Mon")),
    R("chat", BER, "en_GB", "2026-10-22 11:00", "business_convention",
      "Reminder for Tuesday 10am ET: follow up with the Boston investors",
      At("2026-10-27 10:00", "boston investors", tz=NYC, wd="Tue")),
    R("sms", AKL, "en_NZ", "2026-05-05 12:00", "business_convention",
      "remind me tmoro at 5 to pick up the keys from the agent",
      At("2026-05-06 17:00", "pick keys")),
    R("email", SAO, "en_GB", "2026-09-14 08:00", "business_convention",
      "Hi Rafael,\n\nCould you remind me on Wednesday at 10am New York time to send the term sheet to the fund?\n\nAbraços,\nBeatriz",
      At("2026-09-16 10:00", "term sheet", tz=NYC, wd="Wed")),
    R("chat", TYO, "en_US", "2026-11-05 09:00", "business_convention",
      "remind me tomorrow at 4:30 to submit the visa paperwork",
      At("2026-11-06 16:30", "visa paperwork")),
    R("sms", LON, "en_GB", "2026-02-03 09:45", "business_convention",
      "remind me tmrw 10 to 4 to leave for the school run",
      At("2026-02-04 15:50", "school run")),
    R("whatsapp", SYD, "en_AU", "2026-04-02 15:00", "business_convention",
      "remind me monday at 9am Singapore time to call the supplier 📦",
      At("2026-04-06 09:00", "call supplier", tz=SIN, wd="Mon")),
    R("chat", CHI, "en_US", "2026-10-29 10:00", "business_convention",
      "remind me EOD monday to send payroll adjustments",
      Day("2026-11-02", "eod", "payroll adjustments", wd="Mon")),
    R("email", NYC, "en_US", "2026-06-24 12:00", "business_convention",
      "Hi Rosa,\n\nPlease put a follow-up on my calendar for tomorrow at noon — I need to check whether the permits came through.\n\nThanks,\nMatt",
      At("2026-06-25 12:00", "check permits")),
    R("sms", KOL, "en_IN", "2026-06-02 09:00", "business_convention",
      "remind me tmrw 6 pm SGT to call the Singapore office",
      At("2026-06-03 18:00", "call office", tz=SIN)),
    R("chat", TOR, "en_CA", "2026-03-02 16:00", "business_convention",
      "remind me Tuesday next week at 3 Pacific to sync with Vancouver",
      At("2026-03-10 15:00", "sync vancouver", tz=LAX, wd="Tue")),
    R("sms", JNB, "en_ZA", "2026-11-24 12:00", "business_convention",
      "remind me fri at 11 to pay the deposit for the venue",
      At("2026-11-27 11:00", "pay deposit", wd="Fri")),
    R("whatsapp", LON, "en_GB", "2026-10-21 19:00", "business_convention",
      "remind me Monday half 9 to ring the GP for the results 🙏",
      At("2026-10-26 09:30", "ring gp", wd="Mon")),
    R("email", SIN, "en_GB", "2026-03-24 10:00", "business_convention",
      "Dear Lim,\n\nPlease remind me Thursday 4pm CET to follow up with the Frankfurt desk on the settlement break.\n\nRegards,\nAnand",
      At("2026-03-26 16:00", "settlement break", tz=BER, wd="Thu")),
    R("chat", LAX, "en_US", "2026-11-10 08:00", "business_convention",
      "remind me tmrw at 2:15 for the dentist callback",
      At("2026-11-11 14:15", "dentist callback")),
    R("sms", DUB, "en_IE", "2026-09-10 11:00", "business_convention",
      "remind me tmrw at 12 to collect Saoirse from the creche",
      At("2026-09-11 12:00", "collect saoirse")),
    R("chat", BER, "en_GB", "2026-02-18 14:00", "business_convention",
      "remind me tomorrow 9 sharp to send the Angebot to Müller GmbH",
      At("2026-02-19 09:00", "send angebot")),
    R("whatsapp", AKL, "en_NZ", "2026-09-24 11:00", "business_convention",
      "remind me monday 10am sydney time for the call with the aussie branch",
      At("2026-09-28 10:00", "call branch", tz=SYD, wd="Mon")),
    R("sms", NYC, "en_US", "2026-10-30 15:00", "business_convention",
      "remind me mon at 9 to confirm the contractor start date",
      At("2026-11-02 09:00", "confirm contractor", wd="Mon")),
    R("email", KOL, "en_IN", "2026-10-20 10:00", "business_convention",
      "Hi Arun,\n\nPlease set a reminder for Monday 26th at 9:30 am GMT for the London review call.\n\nThanks,\nDivya",
      At("2026-10-26 09:30", "review call", tz=LON, wd="Mon")),
    R("chat", SAO, "en_GB", "2026-11-03 13:00", "business_convention",
      "remind me tomorrow at 3 to send the proposta to the client",
      At("2026-11-04 15:00", "send proposta")),
    R("sms", CHI, "en_US", "2026-03-06 17:00", "business_convention",
      "remind me mon at 10 to call the dealership",
      At("2026-03-09 10:00", "call dealership", wd="Mon")),
    R("chat", TYO, "en_US", "2026-03-11 10:00", "business_convention",
      "remind me Friday 8am ET to check in with the NY team",
      At("2026-03-13 08:00", "check team", tz=NYC, wd="Fri")),
    # ------------------------------------------------------------ plain_relative
    R("sms", LON, "en_GB", "2026-03-28 10:00", "plain_relative",
      "remind me tomorrow to pay rent",
      Day("2026-03-29", "day", "pay rent")),
    R("chat", NYC, "en_US", "2026-06-05 14:00", "plain_relative",
      "remind me next week to follow up with Priya about the contract",
      Day("2026-06-08", "day", "priya contract", wd="Mon")),
    R("sms", BER, "en_GB", "2026-05-06 12:00", "plain_relative",
      "in two weeks remind me to check the parcel",
      InDays(14, "check parcel")),
    R("whatsapp", SYD, "en_AU", "2026-07-15 18:00", "plain_relative",
      "remind me monday to book the vet for Milo 🐾",
      Day("2026-07-20", "day", "book vet", wd="Mon")),
    R("chat", LAX, "en_US", "2026-10-31 14:00", "plain_relative",
      "remind me tomorrow to return the library books",
      Day("2026-11-01", "day", "return books")),
    R("sms", CHI, "en_US", "2026-02-09 09:30", "plain_relative",
      "remind me this afternoon to call mom",
      Day("2026-02-09", "afternoon", "call mom")),
    R("sms", DUB, "en_IE", "2026-11-19 16:00", "plain_relative",
      "remind me tonight to put the bins out",
      Day("2026-11-19", "tonight", "bins")),
    R("email", KOL, "en_IN", "2026-04-06 11:00", "plain_relative",
      "Hi Pooja,\n\nPlease remind me tomorrow morning to send the revised estimate to the client.\n\nRegards,\nManish",
      Day("2026-04-07", "morning", "send estimate")),
    R("chat", TOR, "en_CA", "2026-03-07 11:00", "plain_relative",
      "remind me tomorrow evening to prep the tax docs",
      Day("2026-03-08", "evening", "tax docs")),
    R("sms", AKL, "en_NZ", "2026-09-26 16:00", "plain_relative",
      "rmind me tmrw to ring the plumber",
      Day("2026-09-27", "day", "ring plumber")),
    R("whatsapp", JNB, "en_ZA", "2026-03-11 13:00", "plain_relative",
      "remind me friday to pay the gardener 🌿",
      Day("2026-03-13", "day", "pay gardener", wd="Fri")),
    R("chat", SIN, "en_GB", "2026-05-18 10:00", "plain_relative",
      "remind me in a week to check on the refund",
      InDays(7, "check refund")),
    R("sms", TYO, "en_US", "2026-08-20 21:00", "plain_relative",
      "2moro remind me to buy the omiyage",
      Day("2026-08-21", "day", "buy omiyage")),
    R("sms", LON, "en_GB", "2026-10-24 13:00", "plain_relative",
      "tomorow remind me to phone gran",
      Day("2026-10-25", "day", "phone gran")),
    R("email", NYC, "en_US", "2026-03-06 16:30", "plain_relative",
      "Hi Ken,\n\nCould you remind me on Monday to send the onboarding packet to the new hire?\n\nThanks,\nLisa",
      Day("2026-03-09", "day", "onboarding packet", wd="Mon")),
    R("chat", BER, "en_GB", "2026-10-23 18:00", "plain_relative",
      "remind me tomorrow night to turn the clocks back",
      Day("2026-10-24", "night", "clocks")),
    R("whatsapp", SAO, "en_GB", "2026-05-27 07:30", "plain_relative",
      "me lembra hoje à noite / remind me tonight to call the vet about Pipoca 🐱",
      Day("2026-05-27", "tonight", "call vet")),
    R("sms", SYD, "en_AU", "2026-10-02 20:00", "plain_relative",
      "remind me sunday to call dad",
      Day("2026-10-04", "day", "call dad", wd="Sun")),
    R("chat", JNB, "en_ZA", "2026-12-29 15:00", "plain_relative",
      "remind me next week to renew the gym membership",
      Day("2027-01-04", "day", "renew gym", wd="Mon")),
    R("sms", CHI, "en_US", "2026-10-30 19:00", "plain_relative",
      "remind me thurs to pick up the dry cleaning",
      Day("2026-11-05", "day", "dry cleaning", wd="Thu")),
    R("email", LON, "en_GB", "2026-09-08 10:30", "plain_relative",
      "Hi Claire,\n\nThanks for this morning. Please remind me next Tuesday to follow up on the Henley quote — not today obviously!\n\nBest,\nMark",
      Day("2026-09-15", "day", "henley quote", wd="Tue")),
    R("chat", KOL, "en_IN", "2026-07-01 16:00", "plain_relative",
      "remind me tomorrow afternoon to call the courier",
      Day("2026-07-02", "afternoon", "call courier")),
    R("whatsapp", NYC, "en_US", "2026-11-14 10:00", "plain_relative",
      "remind me wednesday to order the pies for thanksgiving 🥧",
      Day("2026-11-18", "day", "order pies", wd="Wed")),
    R("sms", AKL, "en_NZ", "2026-04-04 09:00", "plain_relative",
      "remind me tomorrow arvo to take the trailer back",
      Day("2026-04-05", "afternoon", "trailer")),
    R("chat", DUB, "en_IE", "2026-01-07 08:00", "plain_relative",
      "remind me this evening to email the creche about fees",
      Day("2026-01-07", "evening", "email creche")),
    R("sms", LAX, "en_US", "2026-03-06 13:00", "plain_relative",
      "remind me in 3 days to follow up w/ the DMV",
      InDays(3, "dmv")),
    R("email", SIN, "en_GB", "2026-06-15 09:00", "plain_relative",
      "Hi,\n\nKindly remind me on Thursday to submit the CPF nomination form.\n\nThank you,\nSiti",
      Day("2026-06-18", "day", "nomination form", wd="Thu")),
    R("chat", TYO, "en_US", "2026-04-10 01:30", "plain_relative",
      "remind me monday to renew the residence card",
      Day("2026-04-13", "day", "renew card", wd="Mon")),
    R("sms", BER, "en_GB", "2026-03-27 02:10", "plain_relative",
      "remind me sunday to call mum",
      Day("2026-03-29", "day", "call mum", wd="Sun")),
    R("whatsapp", TOR, "en_CA", "2026-06-26 12:00", "plain_relative",
      "remind me next week to book the camping site for the long weekend ⛺",
      Day("2026-06-29", "day", "camping", wd="Mon")),
    R("chat", JNB, "en_ZA", "2026-08-27 00:15", "plain_relative",
      "remind me saturday to take the recycling to the depot",
      Day("2026-08-29", "day", "recycling", wd="Sat")),
    R("sms", KOL, "en_IN", "2026-12-14 02:45", "plain_relative",
      "remind me wednesday pay the credit card bill",
      Day("2026-12-16", "day", "pay credit", wd="Wed")),
    R("sms", SYD, "en_AU", "2026-01-22 23:00", "plain_relative",
      "remind me in a week to cancel the trial",
      InDays(7, "cancel trial")),
    R("chat", LON, "en_GB", "2026-07-21 11:00", "plain_relative",
      "remind me tomorrow lunchtime to book the restaurant for Saturday",
      Day("2026-07-22", "lunch", "book restaurant")),
    R("email", CHI, "en_US", "2026-08-04 09:00", "plain_relative",
      "Jim —\n\nRemind me Friday to get the insurance certificate to the venue, please.\n\nThanks,\nRick",
      Day("2026-08-07", "day", "insurance certificate", wd="Fri")),
    R("whatsapp", DUB, "en_IE", "2026-03-27 23:30", "plain_relative",
      "remind me sunday morning to ring mam 🙈",
      Day("2026-03-29", "morning", "ring mam", wd="Sun")),
    R("sms", NYC, "en_US", "2026-01-30 00:20", "plain_relative",
      "remind me next week to schedule the physical",
      Day("2026-02-02", "day", "schedule physical", wd="Mon")),
    R("chat", AKL, "en_NZ", "2026-02-02 01:00", "plain_relative",
      "remind me friday to confirm the bach booking for Waitangi weekend",
      Day("2026-02-06", "day", "confirm bach", wd="Fri")),
    # ------------------------------------------------------------------ ambiguous
    # "tomorrow" said just after midnight: the coming day or later today?
    R("sms", LON, "en_GB", "2026-04-15 00:20", "ambiguous",
      "remind me tomorrow to call the bank",
      Ask("which_day", "Just to check: do you mean later today (Wednesday 15 April) or Thursday 16 April?")),
    R("chat", NYC, "en_US", "2026-09-23 01:05", "ambiguous",
      "remind me tmrw morning to send the invoice to Greg",
      Ask("which_day", "It's just past midnight — do you mean this morning (Wednesday, Sept 23) or Thursday morning?")),
    R("whatsapp", SYD, "en_AU", "2026-05-02 00:45", "ambiguous",
      "ugh can't sleep. remind me tomorrow to ring the electrician about the switchboard ⚡",
      Ask("which_day", "Do you mean today, Saturday 2 May, once you're up, or Sunday 3 May?")),
    R("sms", BER, "en_GB", "2026-03-29 00:30", "ambiguous",
      "rem me tomorrow to pack the gym bag",
      Ask("which_day", "Should that be later today (Sunday 29 March) or Monday 30 March?")),
    R("chat", KOL, "en_IN", "2026-11-10 02:40", "ambiguous",
      "remind me tomorrow at 11 to call the CA",
      Ask("which_day", "Do you mean today (Tuesday 10 November) at 11 or Wednesday at 11?")),
    R("email", DUB, "en_IE", "2026-02-19 00:55", "ambiguous",
      "Hi,\n\nApologies for the late mail. Can you remind me tomorrow to send the signed forms to the solicitor?\n\nThanks,\nEoin",
      Ask("which_day", "Your email arrived just after midnight — do you mean today, Thursday 19 February, or Friday 20 February?")),
    R("sms", CHI, "en_US", "2026-07-11 01:30", "ambiguous",
      "remind me tmrw to mow the lawn",
      Ask("which_day", "Today (Saturday, July 11) or Sunday, July 12?")),
    R("whatsapp", JNB, "en_ZA", "2026-10-16 00:10", "ambiguous",
      "remind me tomorrow at 9 to take the car for the service 🚗",
      Ask("which_day", "Do you mean this morning at 9 (Friday 16 October) or Saturday at 9?")),
    R("chat", TOR, "en_CA", "2026-01-08 02:15", "ambiguous",
      "remind me tomorrow afternoon to follow up with Stéphane",
      Ask("which_day", "This afternoon (Thursday, January 8) or Friday afternoon?")),
    R("sms", AKL, "en_NZ", "2026-06-20 00:05", "ambiguous",
      "remind me 2moro to get milk",
      Ask("which_day", "Today (Saturday 20 June) or Sunday 21 June?")),
    R("chat", SIN, "en_GB", "2026-08-25 01:45", "ambiguous",
      "remind me tmr to submit the claims form",
      Ask("which_day", "Do you mean later today, Tuesday 25 August, or Wednesday 26 August?")),
    R("sms", LAX, "en_US", "2026-11-01 00:40", "ambiguous",
      "remind me tomorrow to call grandma",
      Ask("which_day", "Today (Sunday, November 1) or Monday, November 2?")),
    R("whatsapp", SAO, "en_GB", "2026-03-13 00:25", "ambiguous",
      "remind me tomorrow morning to take the dog to the groomer 🐶",
      Ask("which_day", "This morning (Friday 13 March) or Saturday morning?")),
    R("email", TYO, "en_US", "2026-02-05 01:10", "ambiguous",
      "Hi,\n\nCould you remind me tomorrow to confirm the hotel booking for Sapporo?\n\nThanks,\nKen",
      Ask("which_day", "Should I remind you today (Thursday, February 5) or on Friday, February 6?")),
    R("sms", LON, "en_GB", "2026-10-25 00:50", "ambiguous",
      "remind me tmrw 2 call the council",
      Ask("which_day", "Do you mean later today (Sunday 25 October) or Monday 26 October?")),
    R("chat", NYC, "en_US", "2026-12-24 00:35", "ambiguous",
      "remind me tomorrow to call aunt Marie",
      Ask("which_day", "Today, Christmas Eve (December 24), or Christmas Day?")),
    R("whatsapp", BER, "en_GB", "2026-07-04 02:50", "ambiguous",
      "remind me tomorrow evening to water the tomatoes 🍅",
      Ask("which_day", "This evening (Saturday 4 July) or Sunday evening?")),
    R("sms", SAO, "en_GB", "2026-01-15 00:30", "ambiguous",
      "remind me tomorrow night to take out the trash",
      Ask("which_day", "Tonight (Thursday 15 January) or Friday night?")),
    R("chat", CHI, "en_US", "2026-05-29 00:15", "ambiguous",
      "remind me tomorrow at noon to pick up the cake",
      Ask("which_day", "Noon today (Friday, May 29) or noon Saturday?")),
    R("sms", JNB, "en_ZA", "2026-01-07 02:20", "ambiguous",
      "remind me tomorrow to pay the school fees",
      Ask("which_day", "Today (Wednesday 7 January) or Thursday 8 January?")),
    R("email", SYD, "en_AU", "2026-10-04 01:30", "ambiguous",
      "Hi,\n\nJust before I forget — remind me tomorrow to send the quarterly report to Jess.\n\nCheers,\nBen",
      Ask("which_day", "Do you mean today, Sunday 4 October, or Monday 5 October?")),
    # vague periods
    R("email", LON, "en_GB", "2026-06-03 10:00", "ambiguous",
      "Hi Rob,\n\nLet's touch base early in the autumn about renewing the maintenance contract. Could you set a reminder for me?\n\nThanks,\nSue",
      Ask("vague_period", "When in early autumn would you like the reminder — which date?")),
    R("sms", NYC, "en_US", "2026-01-12 09:00", "ambiguous",
      "remind me at some point in March to look at the 401k allocation",
      Ask("vague_period", "Which day in March should I remind you?")),
    R("chat", BER, "en_GB", "2026-05-20 15:00", "ambiguous",
      "sometime next month remind me to renew the passport",
      Ask("vague_period", "Which day in June works for the passport reminder?")),
    R("whatsapp", SYD, "en_AU", "2026-08-10 19:00", "ambiguous",
      "remind me in spring to get the aircon serviced before summer ☀️",
      Ask("vague_period", "Spring starts on 1 September — which date would you like?")),
    R("sms", CHI, "en_US", "2026-02-02 08:00", "ambiguous",
      "remind me mid-april to check on the tax refund",
      Ask("vague_period", "Which day in mid-April — for example Wednesday, April 15?")),
    R("chat", KOL, "en_IN", "2026-03-15 11:00", "ambiguous",
      "remind me later this year to renew the passport",
      Ask("vague_period", "Which month and date should I use for the passport reminder?")),
    R("email", TOR, "en_CA", "2026-09-01 10:00", "ambiguous",
      "Hi Megan,\n\nCan you remind me in the new year to revisit the pricing? No rush.\n\nThanks,\nOwen",
      Ask("vague_period", "Which date in the new year — the first working day, Monday January 4, or later?")),
    R("sms", DUB, "en_IE", "2026-04-20 12:00", "ambiguous",
      "remind me over the summer to paint the shed",
      Ask("vague_period", "When over the summer should I remind you — which date?")),
    R("chat", SIN, "en_GB", "2026-10-05 09:00", "ambiguous",
      "remind me towards the end of the year sometime to plan the offsite",
      Ask("vague_period", "Which date towards the end of the year should I use?")),
    R("whatsapp", JNB, "en_ZA", "2026-07-07 20:00", "ambiguous",
      "remind me one of these days to sort out the will 📝",
      Ask("vague_period", "When would you like the reminder about the will?")),
    R("sms", AKL, "en_NZ", "2026-11-03 14:00", "ambiguous",
      "remind me in the school holidays to take the kids to the dentist",
      Ask("vague_period", "Which day in the school holidays should I remind you?")),
    R("email", LAX, "en_US", "2026-05-11 13:00", "ambiguous",
      "Hey,\n\nWe should revisit the lease terms sometime in Q3. Set a reminder?\n\n- Dan",
      Ask("vague_period", "Q3 runs July through September — which date should I pick?")),
    R("chat", LON, "en_GB", "2026-01-19 10:00", "ambiguous",
      "remind me sometime after Easter to chase the insurance claim",
      Ask("vague_period", "Easter Monday is 6 April — which day after that should I remind you?")),
    R("sms", BER, "en_GB", "2026-09-14 08:00", "ambiguous",
      "remind me early october to book the xmas market trip",
      Ask("vague_period", "Which day in early October?")),
    R("whatsapp", NYC, "en_US", "2026-03-20 17:00", "ambiguous",
      "remind me when the weather gets warmer to put the AC units back in 😅",
      Ask("vague_period", "I can't tell when it'll warm up — which date should I set?")),
    R("chat", LON, "en_GB", "2026-06-11 09:00", "ambiguous",
      "remind me before the meeting to print the agenda",
      Ask("vague_time", "When is the meeting, and how long before it should I remind you?")),
    R("chat", AKL, "en_NZ", "2026-07-22 10:00", "ambiguous",
      "remind me when I get back from Fiji to renew the rego",
      Ask("vague_time", "When do you get back from Fiji?")),
    R("whatsapp", SIN, "en_GB", "2026-09-09 21:00", "ambiguous",
      "remind me the day after the wedding to send the thank you cards 💌",
      Ask("vague_time", "What date is the wedding?")),
    R("chat", TYO, "en_US", "2026-10-12 09:00", "ambiguous",
      "remind me this week sometime to call the insurance",
      Ask("vague_period", "Which day this week — and what time?")),
    R("sms", DUB, "en_IE", "2026-09-18 11:00", "ambiguous",
      "remind me sometime the week after next to book flights",
      Ask("vague_period", "Which day in the week of 28 September?")),
    # dates that do not exist, or that clash with the weekday given
    R("sms", LON, "en_GB", "2026-04-10 10:00", "ambiguous",
      "remind me on the 31st to pay the window cleaner",
      Ask("invalid_date", "April only has 30 days — did you mean Thursday 30 April or Friday 1 May?")),
    R("chat", NYC, "en_US", "2026-02-10 09:00", "ambiguous",
      "remind me feb 30 to renew the domain",
      Ask("invalid_date", "February 2026 has 28 days — do you want Saturday, Feb 28 or Monday, March 2?")),
    R("email", BER, "en_GB", "2026-06-01 09:00", "ambiguous",
      "Hello,\n\nplease remind me on 31.06. to submit the travel expenses.\n\nThanks\nUwe",
      Ask("invalid_date", "June has only 30 days — should I use 30 June or 1 July?")),
    R("whatsapp", SYD, "en_AU", "2026-09-03 20:00", "ambiguous",
      "remind me 31/9 to pay the school fees 💸",
      Ask("invalid_date", "September only has 30 days — 30 September or 1 October?")),
    R("sms", CHI, "en_US", "2026-02-01 12:00", "ambiguous",
      "remind me feb 29 to cancel the subscription",
      Ask("invalid_date", "2026 isn't a leap year — Saturday, Feb 28 or Sunday, March 1?")),
    R("chat", KOL, "en_IN", "2026-11-02 10:00", "ambiguous",
      "remind me on 31 Nov to pay the maid",
      Ask("invalid_date", "November has 30 days — should I use 30 November or 1 December?")),
    R("whatsapp", JNB, "en_ZA", "2026-04-08 19:00", "ambiguous",
      "remind me on 31 April to fetch the kids' uniforms 👕",
      Ask("invalid_date", "There's no 31 April — did you mean Thursday 30 April or Friday 1 May?")),
    R("sms", DUB, "en_IE", "2026-03-03 09:00", "ambiguous",
      "remind me friday the 12th to ring the dentist",
      Ask("weekday_date_conflict", "The 12th is a Thursday — do you mean Thursday 12 March or Friday 13 March?")),
    R("email", NYC, "en_US", "2026-06-15 11:00", "ambiguous",
      "Hi Kate,\n\nCan you remind me on Tuesday, June 24 to send the vendor list to procurement?\n\nThanks,\nBen",
      Ask("weekday_date_conflict", "June 24 is a Wednesday — should I use Tuesday, June 23 or Wednesday, June 24?")),
    R("chat", LAX, "en_US", "2026-10-06 10:00", "ambiguous",
      "remind me monday 10/13 to file the extension",
      Ask("weekday_date_conflict", "10/13 is a Tuesday — Monday, Oct 12 or Tuesday, Oct 13?")),
    R("sms", TYO, "en_US", "2026-09-01 09:00", "ambiguous",
      "remind me thurs 9/4 to call the realtor",
      Ask("weekday_date_conflict", "9/4 is a Friday — do you want Thursday, Sept 3 or Friday, Sept 4?")),
    R("chat", AKL, "en_NZ", "2026-05-25 10:00", "ambiguous",
      "remind me on Wednesday 28 May to email the school",
      Ask("weekday_date_conflict", "28 May is a Thursday — Wednesday 27 May or Thursday 28 May?")),
    # "next <weekday>" said the day before, "next weekend", a weekday said on that weekday
    R("sms", LON, "en_GB", "2026-05-14 12:00", "ambiguous",
      "remind me next friday to book the MOT",
      Ask("which_week", "Tomorrow (Friday 15 May) or Friday 22 May?")),
    R("chat", NYC, "en_US", "2026-07-16 16:00", "ambiguous",
      "ping me next friday re: the offsite budget",
      Ask("which_week", "Do you mean tomorrow, Friday July 17, or Friday July 24?")),
    R("whatsapp", SYD, "en_AU", "2026-08-22 11:00", "ambiguous",
      "remind me next sunday to call aunty Jo 📞",
      Ask("which_week", "Tomorrow (Sunday 23 August) or Sunday 30 August?")),
    R("email", BER, "en_GB", "2026-11-19 09:30", "ambiguous",
      "Hi Jana,\n\nCould you remind me next Friday to send the invoices to the tax office?\n\nThanks\nMax",
      Ask("which_week", "Do you mean tomorrow, Friday 20 November, or Friday 27 November?")),
    R("sms", JNB, "en_ZA", "2026-02-28 10:00", "ambiguous",
      "remind me next sunday to fetch mom from the airport",
      Ask("which_week", "Tomorrow (Sunday 1 March) or Sunday 8 March?")),
    R("chat", TOR, "en_CA", "2026-10-01 14:00", "ambiguous",
      "next fri remind me to submit the timesheet",
      Ask("which_week", "Tomorrow (Friday, October 2) or Friday, October 9?")),
    R("sms", KOL, "en_IN", "2026-06-13 18:00", "ambiguous",
      "remind me next sunday to call the electrician",
      Ask("which_week", "Tomorrow (Sunday 14 June) or Sunday 21 June?")),
    R("whatsapp", DUB, "en_IE", "2026-05-08 13:00", "ambiguous",
      "remind me next weekend to clear out the attic 🧹",
      Ask("which_week", "This weekend (9–10 May) or the one after (16–17 May)?")),
    R("sms", NYC, "en_US", "2026-03-19 08:00", "ambiguous",
      "remind me thursday to call the pharmacy",
      Ask("which_week", "Today (Thursday, March 19) or next Thursday, March 26?")),
    R("sms", BER, "en_GB", "2026-04-01 10:00", "ambiguous",
      "remind me on the 1st to pay rent",
      Ask("which_day", "Today is the 1st — do you mean later today or 1 May?")),
    # 12-hour times with no am/pm where both readings are plausible
    R("sms", LON, "en_GB", "2026-04-21 14:00", "ambiguous",
      "remind me thursday at 7 to call the builder",
      Ask("am_pm", "7am or 7pm on Thursday?")),
    R("chat", NYC, "en_US", "2026-05-05 10:00", "ambiguous",
      "remind me tomorrow at 7 to send the report to Jill",
      Ask("am_pm", "Is that 7 AM or 7 PM tomorrow?")),
    R("email", CHI, "en_US", "2026-09-09 15:00", "ambiguous",
      "Hi,\n\nPlease remind me Friday at 7:30 to call the Tokyo office.\n\nBest,\nMaya",
      Ask("am_pm", "7:30 AM or 7:30 PM on Friday?")),
    R("whatsapp", SYD, "en_AU", "2026-11-10 12:00", "ambiguous",
      "remind me sat at 7 to pick up the hire car 🚙",
      Ask("am_pm", "7am or 7pm on Saturday?")),
    R("sms", DUB, "en_IE", "2026-06-02 09:00", "ambiguous",
      "remind me wed at half 7 to ring the GAA club",
      Ask("am_pm", "Half seven in the morning or the evening on Wednesday?")),
    R("chat", BER, "en_GB", "2026-12-01 13:00", "ambiguous",
      "remind me on the 3rd at 7 to send the offer to the client",
      Ask("am_pm", "07:00 or 19:00 on Thursday 3 December?")),
    R("sms", JNB, "en_ZA", "2026-03-16 11:00", "ambiguous",
      "remind me thurs at 7 to pay the deposit",
      Ask("am_pm", "7am or 7pm on Thursday?")),
    R("chat", SIN, "en_GB", "2026-01-14 16:00", "ambiguous",
      "remind me friday 7.15 to book the grab to the airport",
      Ask("am_pm", "7.15am or 7.15pm on Friday?")),
    R("sms", LAX, "en_US", "2026-07-20 08:00", "ambiguous",
      "remind me wed @ 7 call the agent",
      Ask("am_pm", "7 AM or 7 PM on Wednesday?")),
    R("email", KOL, "en_IN", "2026-08-03 10:00", "ambiguous",
      "Dear Rohit,\n\nPlease remind me on 6th August at 7 to follow up with the vendor in Chennai.\n\nRegards,\nAjay",
      Ask("am_pm", "Should that be 7 am or 7 pm on 6 August?")),
    R("whatsapp", AKL, "en_NZ", "2026-02-16 17:00", "ambiguous",
      "remind me wednesday at 7 to take the bins out 🗑️",
      Ask("am_pm", "7am or 7pm on Wednesday?")),
    R("chat", TYO, "en_US", "2026-06-08 15:00", "ambiguous",
      "remind me tue at 7 to prep the board call with SF",
      Ask("am_pm", "7 AM or 7 PM on Tuesday?")),
    R("email", LAX, "en_US", "2026-04-13 17:30", "ambiguous",
      "Hi,\n\nPlease remind me at 5 to call the client back.\n\n— Tom",
      Ask("am_pm", "5 PM has just passed — do you mean 5 AM or 5 PM tomorrow?")),
    # numeric dates the locale does not settle (en_CA uses both orders)
    R("sms", TOR, "en_CA", "2026-02-20 10:00", "ambiguous",
      "remind me 03/04 to renew the car insurance",
      Ask("date_order", "Is 03/04 March 4 or April 3?")),
    R("email", TOR, "en_CA", "2026-04-01 09:00", "ambiguous",
      "Hello,\n\nPlease remind me on 05/06 to send the signed addendum to the notary.\n\nMerci,\nJulie",
      Ask("date_order", "Do you mean May 6 or June 5?")),
    R("chat", TOR, "en_CA", "2026-08-10 15:00", "ambiguous",
      "remind me 9/10 to book the flu shot",
      Ask("date_order", "September 10 or October 9?")),
    R("whatsapp", TOR, "en_CA", "2026-10-15 20:00", "ambiguous",
      "remind me 11/12 to get the snow blower serviced ❄️",
      Ask("date_order", "Is that November 12 or December 11?")),
    R("sms", TOR, "en_CA", "2026-05-01 12:00", "ambiguous",
      "rmd me 7/6 - dentist",
      Ask("date_order", "July 6 or June 7?")),
    R("chat", TOR, "en_CA", "2026-01-05 10:00", "ambiguous",
      "follow up w/ Jacques on 2/3",
      Ask("date_order", "February 3 or March 2?")),
    R("email", TOR, "en_CA", "2026-06-15 11:00", "ambiguous",
      "Hi Sam,\n\nCould you set a reminder for 08/09 so I remember to enrol the kids in swimming?\n\nThanks,\nLeah",
      Ask("date_order", "Is 08/09 August 9 or September 8?")),
    R("sms", TOR, "en_CA", "2026-03-02 09:00", "ambiguous",
      "remind me 4/5 @ 10am to call the tax guy",
      Ask("date_order", "April 5 or May 4, at 10am?")),
    # "in a bit" / "later" with nothing else
    R("sms", LON, "en_GB", "2026-05-19 14:00", "ambiguous",
      "remind me in a bit to call Jess",
      Ask("vague_time", "How long is a bit — 30 minutes, an hour?")),
    R("chat", NYC, "en_US", "2026-08-12 10:00", "ambiguous",
      "remind me later to check the build",
      Ask("vague_time", "When would you like the reminder — in an hour, this afternoon?")),
    R("whatsapp", SYD, "en_AU", "2026-02-14 12:00", "ambiguous",
      "remind me later about the flowers 💐",
      Ask("vague_time", "What time should I remind you about the flowers?")),
    R("sms", CHI, "en_US", "2026-04-28 18:00", "ambiguous",
      "remind me in a while to text Mike back",
      Ask("vague_time", "How long from now — 30 minutes? An hour?")),
    R("chat", BER, "en_GB", "2026-10-13 11:00", "ambiguous",
      "can you remind me soon about the invoice",
      Ask("vague_time", "When exactly — this afternoon, or tomorrow morning?")),
    R("sms", KOL, "en_IN", "2026-12-03 16:00", "ambiguous",
      "remind me after some time to call papa",
      Ask("vague_time", "After how long should I remind you?")),
    R("whatsapp", JNB, "en_ZA", "2026-06-18 13:00", "ambiguous",
      "remind me just now to buy bread",
      Ask("vague_time", "When is just now — in an hour, or later this afternoon?")),
    R("email", SAO, "en_GB", "2026-11-11 09:00", "ambiguous",
      "Hi Paulo,\n\nCould you remind me later about the supplier contract?\n\nObrigado,\nAna",
      Ask("vague_time", "When should I remind you about the supplier contract — today or another day?")),
    # ------------------------------------------------------------------- negative
    R("sms", LON, "en_GB", "2026-03-03 10:00", "negative", "thanks, got it!", NONE),
    R("chat", NYC, "en_US", "2026-04-16 09:10", "negative",
      "the meeting yesterday went well, Priya was happy with the numbers", NONE),
    R("email", BER, "en_GB", "2026-02-11 14:20", "negative",
      "Hi Sven,\n\nfor the form: I was born on 3 March 1990 in Kassel.\n\nBest\nJulia", NONE),
    R("whatsapp", SYD, "en_AU", "2026-06-06 19:40", "negative", "haha yes 😂 see you there", NONE),
    R("sms", CHI, "en_US", "2026-09-02 12:05", "negative", "ok sounds good", NONE),
    R("email", DUB, "en_IE", "2026-02-17 11:30", "negative",
      "Hi Aoife,\n\nJust confirming we received your payment on 14 February. Nothing further is needed from your side.\n\nKind regards,\nAccounts", NONE),
    R("chat", KOL, "en_IN", "2026-07-19 19:05", "negative",
      "Flight landed at 6.40, reaching home by 8", NONE),
    R("sms", TOR, "en_CA", "2026-08-21 08:00", "negative", "happy birthday!! 🎂 hope it's a great one", NONE),
    R("whatsapp", JNB, "en_ZA", "2026-05-13 13:30", "negative",
      "Load shedding stage 2 from 16:00 to 18:30 today apparently 🙄", NONE),
    R("email", LAX, "en_US", "2026-05-19 10:00", "negative",
      "Hi team,\n\nThe office will be closed on Monday, May 25 for Memorial Day. Enjoy the long weekend!\n\nHR", NONE),
    R("chat", SIN, "en_GB", "2026-03-12 18:00", "negative", "did you manage to call the bank on Tuesday?", NONE),
    R("sms", AKL, "en_NZ", "2026-10-08 08:50", "negative", "running 10 min late sorry", NONE),
    R("chat", TYO, "en_US", "2026-03-16 11:00", "negative", "the invoice was paid on 3/12, here's the receipt", NONE),
    R("email", NYC, "en_US", "2026-06-12 16:45", "negative",
      "Thanks Mark — I've already sent the contract to Dana, so no need to remind me. Have a great weekend!\n\nBest,\nLiz", NONE),
    R("sms", SAO, "en_GB", "2026-04-22 23:10", "negative", "cheguei! / I'm home 🏠", NONE),
    R("whatsapp", LON, "en_GB", "2026-11-16 21:00", "negative",
      "That film last Friday was brilliant 🍿 we should go again sometime", NONE),
    R("chat", BER, "en_GB", "2026-05-13 09:00", "negative", "The deployment on 12.05. went fine, no rollback needed.", NONE),
    R("sms", KOL, "en_IN", "2026-08-05 10:20", "negative", "ok done, paid the electricity bill", NONE),
    R("email", SYD, "en_AU", "2026-05-14 15:00", "negative",
      "Hi Mel,\n\nAttached are the minutes from Tuesday's meeting. Our next quarterly review is already in everyone's calendar for 14 July.\n\nCheers,\nDave", NONE),
    R("chat", DUB, "en_IE", "2026-01-22 12:00", "negative", "Ah grand, no bother", NONE),
    R("sms", CHI, "en_US", "2026-06-24 17:30", "negative",
      "cancel that reminder about the plumber, he already came", NONE),
    R("whatsapp", NYC, "en_US", "2026-11-22 09:30", "negative",
      "lol my mom called at 7 this morning to ask about thanksgiving 🙄", NONE),
    R("email", TOR, "en_CA", "2026-03-04 13:00", "negative",
      "Hello,\n\nThank you for visiting Maple Dental on March 3. We hope to see you again!\n\nMaple Dental", NONE),
    R("sms", JNB, "en_ZA", "2026-07-26 10:00", "negative", "Shot for the lift yesterday bru 🙏", NONE),
    R("chat", LAX, "en_US", "2026-06-01 11:30", "negative",
      "The Q2 numbers are due to finance by June 30 — FYI, Rachel is handling it.", NONE),
    R("whatsapp", AKL, "en_NZ", "2026-01-11 09:15", "negative", "sweet as, cheers for the feed last night 🍖", NONE),
    R("email", LON, "en_GB", "2026-03-28 09:00", "negative",
      "Dear Customer,\n\nYour order #48213 was dispatched on 27 March and should arrive within 3–5 working days.\n\nThe Shop Team", NONE),
    R("sms", SIN, "en_GB", "2026-09-30 09:05", "negative", "Reached office liao", NONE),
    R("chat", KOL, "en_IN", "2026-11-16 09:30", "negative", "Diwali holidays were amazing, back in office now", NONE),
    R("whatsapp", BER, "en_GB", "2026-12-31 23:59", "negative", "🎉🎉🎉", NONE),
    R("sms", NYC, "en_US", "2026-08-13 13:00", "negative", "who's bringing the chips saturday?", NONE),
    R("email", DUB, "en_IE", "2026-10-02 10:00", "negative",
      "Hi Ciara,\n\nThe 2025 accounts were filed on 30 September 2026. I'm attaching the CRO receipt for your records.\n\nRegards,\nNiall", NONE),
    R("chat", SYD, "en_AU", "2026-02-20 20:00", "negative", "in 2019 we went to Bali for 2 weeks, loved it", NONE),
    R("sms", CHI, "en_US", "2026-01-28 08:10", "negative", "np, thx for the reminder yesterday 👍", NONE),
    R("chat", TOR, "en_CA", "2026-05-06 14:00", "negative",
      "My lease ends on 06/30 but I've already renewed, all good", NONE),
    R("whatsapp", JNB, "en_ZA", "2026-09-28 11:00", "negative",
      "hey it's me, just wanted to say the party was lekker on Saturday, thanks for organising, chat soon bye", NONE),
    R("email", TYO, "en_US", "2026-04-24 17:00", "negative",
      "Hi Aiko,\n\nThe train leaves Tokyo at 08:33 and arrives in Kyoto at 10:48. I'll meet you at the central gate.\n\nBest,\nDan", NONE),
    R("sms", LON, "en_GB", "2026-07-09 07:45", "negative", "no thanks", NONE),
    R("chat", AKL, "en_NZ", "2026-09-29 12:30", "negative",
      "The clocks went forward on Sunday and I'm still confused lol", NONE),
    R("sms", KOL, "en_IN", "2026-02-25 01:15", "negative", "Got your message, thanks", NONE),
    R("email", NYC, "en_US", "2026-09-11 09:00", "negative",
      "Hi,\n\nQuick recap: we shipped v2.3 on Tuesday, the hotfix went out Wednesday at 4pm, and error rates are back to normal.\n\nThanks,\nOps", NONE),
    R("whatsapp", SAO, "en_GB", "2026-10-17 00:40", "negative", "Feliz aniversário!! 🥳 30 anos hein", NONE),
    R("chat", BER, "en_GB", "2026-10-16 08:30", "negative",
      "The Kita was closed on 14.10. because of the strike.", NONE),
    R("sms", DUB, "en_IE", "2026-12-05 02:05", "negative", "yeah I saw it, thanks", NONE),
    R("chat", SIN, "en_GB", "2026-03-02 12:40", "negative", "The 2025 bonus was credited on 28/02, checked my account", NONE),
    R("email", JNB, "en_ZA", "2026-06-03 08:00", "negative",
      "Good day,\n\nPlease note that your statement for the period 1 May to 31 May 2026 is attached.\n\nKind regards,\nCustomer Care", NONE),
    R("sms", LAX, "en_US", "2026-03-10 18:20", "negative", "ugh monday was rough", NONE),
    R("chat", LON, "en_GB", "2026-10-26 10:15", "negative",
      "I already set a reminder for that myself, ignore my last message", NONE),
]
# fmt: on


# ------------------------------------------------------------------ computing


def parse_local(s: str) -> datetime:
    return datetime.fromisoformat(s)


def localize(naive: datetime, zone: str) -> datetime:
    """Attach zone to a wall-clock time, refusing times that do not exist or occur twice."""
    tz = ZoneInfo(zone)
    a = naive.replace(tzinfo=tz, fold=0)
    b = naive.replace(tzinfo=tz, fold=1)
    if a.utcoffset() != b.utcoffset():
        raise ValueError(f"{naive} is ambiguous or nonexistent in {zone}")
    back = a.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        raise ValueError(f"{naive} does not exist in {zone}")
    return a


def at_clock(d: date, hhmm: str) -> datetime:
    return datetime.combine(d, time.fromisoformat(hhmm))


def window(row: Row) -> tuple[datetime, datetime, list[str]] | None:
    """(start, end, summary words) as aware datetimes in the row's zone, or None."""
    e = row.expect
    tz = ZoneInfo(row.zone)
    ref_naive = parse_local(row.reference)
    ref = localize(ref_naive, row.zone)
    if isinstance(e, At):
        s = localize(parse_local(e.local), e.tz or row.zone)
        start = end = s
        summary = e.summary
    elif isinstance(e, Day):
        d = date.fromisoformat(e.day)
        lo, hi = PARTS[e.part]
        start = localize(at_clock(d, lo), row.zone)
        end = localize(at_clock(d, hi), row.zone)
        summary = e.summary
    elif isinstance(e, Span):
        start = localize(parse_local(e.start), e.tz or row.zone)
        end = localize(parse_local(e.end), e.tz or row.zone)
        summary = e.summary
    elif isinstance(e, After):
        wall = localize(ref_naive + timedelta(days=e.days), row.zone)
        start = end = (
            wall.astimezone(UTC) + timedelta(hours=e.hours, minutes=e.minutes)
        ).astimezone(tz)
        summary = e.summary
    elif isinstance(e, InDays | Few):
        lo_days, hi_days = (e.n, e.n) if isinstance(e, InDays) else (2, 4)
        t = ref_naive.time()
        lo_d = ref_naive.date() + timedelta(days=lo_days)
        hi_d = ref_naive.date() + timedelta(days=hi_days)
        start = localize(datetime.combine(lo_d, min(t, time(8, 0))), row.zone)
        end = localize(datetime.combine(hi_d, max(t, time(10, 0))), row.zone)
        summary = e.summary
    else:
        return None
    assert ref.tzinfo is not None
    return start.astimezone(tz), end.astimezone(tz), summary.split()


def expect_json(row: Row) -> dict:
    e = row.expect
    if isinstance(e, Ask):
        return {"kind": "ask", "about": e.about, "question": e.question}
    if isinstance(e, Nothing):
        return {"kind": "none"}
    w = window(row)
    assert w is not None
    start, end, words = w
    return {
        "kind": "due",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "summary": words,
    }


def build() -> list[dict]:
    out = []
    for i, row in enumerate(ROWS, start=1):
        out.append(
            {
                "id": f"fu-{i:04d}",
                "channel": row.channel,
                "text": row.text,
                "reference": parse_local(row.reference).isoformat(timespec="seconds"),
                "zone": row.zone,
                "locale": row.locale,
                "class": row.cls,
                "expect": expect_json(row),
            }
        )
    return out


# ----------------------------------------------------------------- validation


def crosses_dst(row: Row, start: datetime) -> bool:
    ref = localize(parse_local(row.reference), row.zone)
    zones = {row.zone}
    tz_attr = getattr(row.expect, "tz", None)
    if tz_attr:
        zones.add(tz_attr)
    return any(
        ref.astimezone(ZoneInfo(z)).utcoffset() != start.astimezone(ZoneInfo(z)).utcoffset()
        for z in zones
    )


def validate(records: list[dict]) -> list[str]:
    errors: list[str] = []
    zones = available_timezones()
    ids = [r["id"] for r in records]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    texts = Counter(r["text"] for r in records)
    errors += [f"duplicate text: {t!r}" for t, n in texts.items() if n > 1]
    for row, rec in zip(ROWS, records, strict=True):
        rid = rec["id"]
        if row.zone not in zones:
            errors.append(f"{rid}: bad zone {row.zone}")
        if row.channel not in CHANNELS:
            errors.append(f"{rid}: bad channel")
        if row.locale not in LOCALES:
            errors.append(f"{rid}: bad locale")
        if row.cls not in CLASSES:
            errors.append(f"{rid}: bad class {row.cls}")
        try:
            ref = localize(parse_local(row.reference), row.zone)
        except ValueError as exc:
            errors.append(f"{rid}: reference {exc}")
            continue
        kind = rec["expect"]["kind"]
        if (kind == "ask") != (row.cls == "ambiguous") or (kind == "none") != (
            row.cls == "negative"
        ):
            errors.append(f"{rid}: class {row.cls} does not match kind {kind}")
        if kind == "ask" and rec["expect"]["about"] not in ABOUT:
            errors.append(f"{rid}: bad about")
        if kind != "due":
            continue
        try:
            w = window(row)
        except ValueError as exc:
            errors.append(f"{rid}: {exc}")
            continue
        assert w is not None
        start, end, words = w
        if not start <= end:
            errors.append(f"{rid}: start > end")
        if not start > ref:
            errors.append(f"{rid}: window starts before the reference")
        if end - ref > timedelta(days=400):
            errors.append(f"{rid}: window implausibly far away")
        if not 1 <= len(words) <= 3:
            errors.append(f"{rid}: summary must have 1-3 words")
        low = row.text.lower()
        for wd in words:
            if wd != wd.lower() or not re.search(rf"(?<!\w){re.escape(wd)}(?!\w)", low):
                errors.append(f"{rid}: summary word {wd!r} not in text")
        want = getattr(row.expect, "wd", None)
        if want:
            local_day = (
                start.astimezone(ZoneInfo(row.zone))
                if not getattr(row.expect, "tz", None)
                else start.astimezone(ZoneInfo(row.expect.tz))
            )
            if WEEKDAYS[local_day.weekday()] != want:
                errors.append(f"{rid}: expected {want}, date is {WEEKDAYS[local_day.weekday()]}")
    return errors


def half(rec: dict) -> str:
    return "dev" if int(rec["id"].split("-")[1]) % 2 == 1 else "test"


def report(records: list[dict]) -> list[str]:
    """Print the counts; return problems with the coverage targets."""
    problems: list[str] = []
    total = len(records)
    print(f"rows: {total}")
    for key in ("class", "channel", "zone", "locale"):
        c = Counter(r[key] for r in records)
        print(f"\n{key}:")
        for k, n in sorted(c.items()):
            d = sum(1 for r in records if r[key] == k and half(r) == "dev")
            print(f"  {k:24} {n:4}   dev {d:3}  test {n - d:3}")
    kinds = Counter(r["expect"]["kind"] for r in records)
    print("\nkind:")
    for k, n in sorted(kinds.items()):
        d = sum(1 for r in records if r["expect"]["kind"] == k and half(r) == "dev")
        print(f"  {k:24} {n:4} ({100 * n / total:.1f}%)   dev {d:3}  test {n - d:3}")
    abouts = Counter(r["expect"]["about"] for r in records if r["expect"]["kind"] == "ask")
    print("\nask about:")
    for k, n in sorted(abouts.items()):
        d = sum(1 for r in records if r["expect"].get("about") == k and half(r) == "dev")
        print(f"  {k:24} {n:4}   dev {d:3}  test {n - d:3}")
    halves = Counter(half(r) for r in records)
    print(f"\nhalves: {dict(halves)}")
    midnight = [r for r in records if 0 <= datetime.fromisoformat(r["reference"]).hour < 3]
    dst: list[dict] = []
    near: list[dict] = []  # the change falls within two weeks of the reference
    for row, rec in zip(ROWS, records, strict=True):
        if rec["expect"]["kind"] == "due":
            w = window(row)
            assert w is not None
            if crosses_dst(row, w[0]) or crosses_dst(row, w[1]):
                dst.append(rec)
                ref = localize(parse_local(row.reference), row.zone)
                if w[0] - ref <= timedelta(days=14):
                    near.append(rec)
    exact = sum(
        1
        for r in records
        if r["expect"]["kind"] == "due" and r["expect"]["start"] == r["expect"]["end"]
    )
    print(
        f"references 00:00-03:00: {len(midnight)} (dev {sum(half(r) == 'dev' for r in midnight)})"
    )
    print(f"due windows across a DST change: {len(dst)} (dev {sum(half(r) == 'dev' for r in dst)})")
    print(
        f"  ... of which due within 14 days of the reference: {len(near)} (dev {sum(half(r) == 'dev' for r in near)})"
    )
    print(f"exact due times (start == end): {exact}")
    for cls in CLASSES:
        n = sum(1 for r in records if r["class"] == cls)
        if n < 25:
            problems.append(f"class {cls} has only {n} rows")
        for h in ("dev", "test"):
            if not any(r["class"] == cls and half(r) == h for r in records):
                problems.append(f"class {cls} missing from {h}")
    for k in ("due", "ask", "none"):
        for h in ("dev", "test"):
            if not any(r["expect"]["kind"] == k and half(r) == h for r in records):
                problems.append(f"kind {k} missing from {h}")
    for ch in CHANNELS:
        for h in ("dev", "test"):
            if not any(r["channel"] == ch and half(r) == h for r in records):
                problems.append(f"channel {ch} missing from {h}")
    if total < 420:
        problems.append(f"only {total} rows")
    if len({r["zone"] for r in records}) < 12:
        problems.append("fewer than 12 zones")
    if len(midnight) < 30:
        problems.append("fewer than 30 references just after midnight")
    if len(near) < 30:
        problems.append("fewer than 30 due windows across a DST change")
    return problems


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="validate and report only")
    ap.add_argument("--keep-combined", action="store_true", help="keep followups.jsonl")
    args = ap.parse_args(argv)
    records = build()
    errors = validate(records)
    problems = report(records)
    for msg in errors + problems:
        print("ERROR:", msg, file=sys.stderr)
    if errors or problems:
        return 1
    if args.check:
        return 0
    combined = CORPORA / "followups.jsonl"
    write_jsonl(combined, records)
    lines = combined.read_text(encoding="utf-8").splitlines(keepends=True)
    dev = [ln for ln in lines if half(json.loads(ln)) == "dev"]
    test = [ln for ln in lines if half(json.loads(ln)) == "test"]
    (CORPORA / "followups.dev.jsonl").write_text("".join(dev), encoding="utf-8")
    (CORPORA / "followups.test.jsonl").write_text("".join(test), encoding="utf-8")
    if not args.keep_combined:
        combined.unlink()
    print(f"\nwrote {len(dev)} dev + {len(test)} test rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
