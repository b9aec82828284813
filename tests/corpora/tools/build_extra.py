"""Build the second, later dev set of both hand-written corpora (``*.dev2.jsonl``).

An extra development set written after the first corpora, by someone who had not
seen the extractor, its tests or the rows of ``build_followups.py`` /
``build_phrases.py``, so the extractor can be tuned against cases it has not met.
Every text below was written by hand; nothing is generated from templates.

The rows follow the conventions of tests/corpora/README.md exactly. The conversion
to aware ISO timestamps and the per-row checks are imported from the two existing
build scripts (same helpers, same refusal of non-existent or ambiguous local
times); only the corpus-size targets differ (a dev2 file is a single, smaller set):

    python tests/corpora/tools/build_extra.py           # validate, write both dev2 files
    python tests/corpora/tools/build_extra.py --check   # validate, report, and fail if
                                                        # the written files are stale
    python tests/corpora/tools/build_extra.py --review  # also print every row

Writes tests/corpora/followups.dev2.jsonl (ids fx-NNNN) and
tests/corpora/phrases.dev2.jsonl (ids px-NNNN).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import build_followups as bf
import build_phrases as bp
from build_followups import NONE, After, Ask, At, Day, Few, InDays, Row, Span
from build_phrases import after, at, day, pod

CORPORA = Path(__file__).resolve().parent.parent
FOLLOWUPS_PATH = CORPORA / "followups.dev2.jsonl"
PHRASES_PATH = CORPORA / "phrases.dev2.jsonl"

LON = "Europe/London"
DUB = "Europe/Dublin"
BER = "Europe/Berlin"
PAR = "Europe/Paris"
NYC = "America/New_York"
CHI = "America/Chicago"
DEN = "America/Denver"
LAX = "America/Los_Angeles"
TOR = "America/Toronto"
VAN = "America/Vancouver"
HAL = "America/Halifax"
EDM = "America/Edmonton"
SYD = "Australia/Sydney"
MEL = "Australia/Melbourne"
PER = "Australia/Perth"
BNE = "Australia/Brisbane"
ADL = "Australia/Adelaide"
AKL = "Pacific/Auckland"
JNB = "Africa/Johannesburg"
KOL = "Asia/Kolkata"
SIN = "Asia/Singapore"
HKG = "Asia/Hong_Kong"

# Rows made with RX name a weekday other than the due day: they are exempt from the
# "every weekday word is the due weekday" check below.
OTHER_DAYS: set[str] = set()


def R(channel: str, zone: str, locale: str, reference: str, cls: str, text: str, expect) -> Row:
    return Row(channel, zone, locale, reference, cls, text, expect)


def RX(channel: str, zone: str, locale: str, reference: str, cls: str, text: str, expect) -> Row:
    """A row whose text also names a weekday that is not the due day."""
    OTHER_DAYS.add(text)
    return Row(channel, zone, locale, reference, cls, text, expect)


# ------------------------------------------------------------------- followups
# Grouped by class. Reference = local wall-clock time in `zone` when the message
# arrived (weekday of the reference in the comment where it matters).

# fmt: off
FOLLOWUPS: list[Row] = [
    # ---------------------------------------------------------- time_beside_date
    R("sms", LON, "en_GB", "2026-03-26 19:05", "time_beside_date",  # Thu, BST from Sun
      "hiya can you remind me to ring the garage mon 30th at 11.15, they said the MOT will be done by then x",
      At("2026-03-30 11:15", "ring garage", wd="Mon")),
    R("email", NYC, "en_US", "2026-03-05 10:30", "time_beside_date",  # Thu, EDT from Sun 8th
      "Hi Dana,\n\nFollowing up on our call - please set a reminder for me to send the revised SOW on March 10 at 4:30 PM. Legal should have signed off by then.\n\nThanks,\nPriya",
      At("2026-03-10 16:30", "send sow")),
    R("whatsapp", SYD, "en_AU", "2026-04-02 21:40", "time_beside_date",  # Thu, AEST from Sun 5th
      "Can u remind me re the bond inspection Tues 7th @ 1030 🙏",
      At("2026-04-07 10:30", "bond inspection", wd="Tue")),
    R("chat", BER, "en_GB", "2026-10-22 15:00", "time_beside_date",  # Thu, CET from Sun 25th
      "pls ping me 27.10. at 0900 so I don't forget the Q3 numbers for Lena",
      At("2026-10-27 09:00", "q3 numbers")),
    R("sms", KOL, "en_IN", "2026-07-14 08:10", "time_beside_date",
      "Sir pls remind me to submit the GST return on 20th July by 5.30 pm",
      At("2026-07-20 17:30", "submit gst return")),
    R("email", TOR, "en_CA", "2026-10-29 16:45", "time_beside_date",  # Thu, EST from Sun 1 Nov
      "Hello,\n\nJust confirming the walkthrough with the tenants is Tuesday, November 3 at 2:15 p.m. Could you put in a follow-up for me to send them the checklist that morning at 8:30?\n\nBest,\nMarc",
      At("2026-11-03 08:30", "send checklist", wd="Tue")),
    R("whatsapp", JNB, "en_ZA", "2026-05-29 12:20", "time_beside_date",
      "Hey! Remind me about Thabo's quote on Wednesday 3 June at 10h30 please 😊",
      At("2026-06-03 10:30", "quote", wd="Wed")),
    R("chat", LAX, "en_US", "2026-02-26 17:50", "time_beside_date",
      "can you nudge me on 3/2 at 9:45am to follow up with Kenji about the renewal",
      At("2026-03-02 09:45", "kenji renewal")),
    R("sms", AKL, "en_NZ", "2026-09-24 20:15", "time_beside_date",  # Thu, NZDT from Sun 27th 02:00
      "remind me sun 27 sept 11am to call mum back",
      At("2026-09-27 11:00", "call mum", wd="Sun")),
    R("email", DUB, "en_IE", "2026-03-12 11:00", "time_beside_date",
      "Hi Siobhán,\n\nCan we set a reminder to chase the Revenue refund on the 19th at quarter past ten? Thanks a mil,\nCiarán",
      At("2026-03-19 10:15", "chase revenue refund")),
    R("chat", SIN, "en_GB", "2026-08-05 09:30", "time_beside_date",
      "set a follow-up for 12 Aug 1600 – vendor demo recap",
      At("2026-08-12 16:00", "vendor demo")),
    R("sms", CHI, "en_US", "2026-10-30 22:10", "time_beside_date",  # Fri, CST from Sun 1 Nov
      "remind me monday nov 2 at 8 am to drop off the ballot",
      At("2026-11-02 08:00", "ballot", wd="Mon")),
    R("whatsapp", MEL, "en_AU", "2026-10-01 07:55", "time_beside_date",  # Thu, AEDT from Sun 4th
      "morning! can you remind me Tue 6 Oct at 1:45pm to book the vet for Biscuit 🐶",
      At("2026-10-06 13:45", "book vet", wd="Tue")),
    RX("email", LON, "en_GB", "2026-10-21 14:05", "time_beside_date",  # Wed, GMT from Sun 25th
      "Hi both,\n\nThe board pack has to be with Helen by 1200 on Wednesday 28 October. Please remind me on the Tuesday at 1530 to do a last proofread.\n\nCheers,\nTom",
      At("2026-10-27 15:30", "proofread", wd="Tue")),
    R("sms", PER, "en_AU", "2026-06-18 16:00", "time_beside_date",
      "pls remind me 23/6 at 7.45am re the smoke alarm guy",
      At("2026-06-23 07:45", "smoke alarm")),
    R("chat", DEN, "en_US", "2026-01-07 13:20", "time_beside_date",
      "follow up w/ Rosa on Jan 15 @ 11:30 about the cabin deposit",
      At("2026-01-15 11:30", "cabin deposit")),
    R("email", JNB, "en_ZA", "2026-11-26 17:40", "time_beside_date",
      "Good day,\n\nKindly diarise a follow-up for Monday the 30th at 08:15 regarding the outstanding municipal account.\n\nRegards\nNomsa",
      At("2026-11-30 08:15", "municipal account", wd="Mon")),
    R("sms", VAN, "en_CA", "2026-03-06 18:30", "time_beside_date",  # Fri, PDT from Sun 8th
      "hey can u remind me Mar 9 at 6:30pm to pick up the bike from the shop",
      At("2026-03-09 18:30", "bike")),
    R("whatsapp", ADL, "en_AU", "2026-04-03 10:00", "time_beside_date",  # Fri, ACST from Sun 5th
      "Remind me Wed 8th April 2.30pm - physio follow up 👍",
      At("2026-04-08 14:30", "physio", wd="Wed")),
    R("chat", NYC, "en_US", "2026-10-28 09:00", "time_beside_date",  # Wed, EST from Sun 1 Nov
      "reminder pls: 11/4 at noon, send Mike the deck",
      At("2026-11-04 12:00", "mike deck")),
    R("sms", BNE, "en_AU", "2026-12-29 23:50", "time_beside_date",
      "can u remind me the 2nd of jan at 9.30 to renew rego",
      At("2027-01-02 09:30", "renew rego")),

    # --------------------------------------------------------- day_first_numeric
    R("sms", LON, "en_GB", "2026-03-24 12:00", "day_first_numeric",
      "remind me 2/4 to send the rent",
      Day("2026-04-02", "day", "send rent")),
    R("whatsapp", SYD, "en_AU", "2026-03-31 19:00", "day_first_numeric",
      "Don't let me forget the school forms on 9.4. 🙏",
      Day("2026-04-09", "day", "school forms")),
    R("email", DUB, "en_IE", "2026-05-20 10:10", "day_first_numeric",
      "Hi Aoife,\n\nCould you follow up with me on 02-06 about the insurance renewal? Thanks,\nDeclan",
      Day("2026-06-02", "day", "insurance renewal")),
    R("chat", JNB, "en_ZA", "2026-08-27 15:30", "day_first_numeric",
      "ping me 1/9 re: the levy statement",
      Day("2026-09-01", "day", "levy statement")),
    R("sms", KOL, "en_IN", "2026-12-28 11:00", "day_first_numeric",
      "pls remind 05/01 for car service booking",
      Day("2027-01-05", "day", "car service")),
    R("whatsapp", AKL, "en_NZ", "2026-03-30 08:00", "day_first_numeric",  # NZST from Sun 5 Apr
      "remind me on 7/4 to move the sprinkler timer back",
      Day("2026-04-07", "day", "sprinkler timer")),
    R("email", LON, "en_GB", "2026-01-20 16:00", "day_first_numeric",
      "Morning Jas,\n\nPlease can you remind me on 13.02 to chase the Hendricks invoice. Ta,\nLiz",
      Day("2026-02-13", "day", "hendricks invoice")),
    R("chat", NYC, "en_US", "2026-04-08 10:00", "day_first_numeric",  # one valid reading
      "can you remind me on 25/4 to renew the passport",
      Day("2026-04-25", "day", "renew passport")),
    R("sms", MEL, "en_AU", "2026-09-28 20:30", "day_first_numeric",
      "remind me 5/10 to pay the water bill",
      Day("2026-10-05", "day", "water bill")),
    R("whatsapp", DUB, "en_IE", "2026-10-23 13:00", "day_first_numeric",
      "Remind me 28.10 to ring the dentist 😬",
      Day("2026-10-28", "day", "ring dentist")),
    R("email", PER, "en_AU", "2026-02-10 09:00", "day_first_numeric",
      "Hi team,\n\nCan someone pop a reminder in for me on 20/2/26 to review the lease? Cheers, Gav",
      Day("2026-02-20", "day", "review lease")),
    R("chat", JNB, "en_ZA", "2026-06-10 14:00", "day_first_numeric",
      "remind me 19-06 about the braai budget",
      Day("2026-06-19", "day", "braai budget")),
    R("sms", LON, "en_GB", "2026-12-30 00:40", "day_first_numeric",
      "remind me 4/1 to take the tree to the tip",
      Day("2027-01-04", "day", "tree")),
    R("whatsapp", KOL, "en_IN", "2026-03-31 01:15", "day_first_numeric",
      "Please remind me on 03.04. for the passport appointment docs",
      Day("2026-04-03", "day", "passport appointment")),
    R("email", AKL, "en_NZ", "2026-11-11 12:00", "day_first_numeric",
      "Kia ora Mere,\n\nCould you set a follow-up for 17/11 to check the resource consent has come through?\n\nNgā mihi,\nTama",
      Day("2026-11-17", "day", "resource consent")),
    R("chat", CHI, "en_US", "2026-10-20 11:00", "day_first_numeric",  # one valid reading
      "pls remind me 31/10 to get candy for the trick or treaters",
      Day("2026-10-31", "day", "candy")),
    R("sms", SYD, "en_AU", "2026-10-02 22:10", "day_first_numeric",  # AEDT from Sun 4th
      "remind me 6.10 re the strata meeting minutes",
      Day("2026-10-06", "day", "strata meeting minutes")),
    R("whatsapp", LON, "en_GB", "2026-10-19 18:00", "day_first_numeric",
      "Can you remind me about Noor's leaving card on 30/10? need to get everyone to sign 🎉",
      Day("2026-10-30", "day", "leaving card")),
    R("email", DUB, "en_IE", "2026-02-25 08:50", "day_first_numeric",
      "Hi,\n\nA gentle reminder request: 16/03 - send the Paddy's Day rota to the floor managers.\n\nThanks\nGráinne",
      Day("2026-03-16", "day", "rota")),
    R("chat", TOR, "en_CA", "2026-05-04 09:00", "day_first_numeric",  # one valid reading
      "remind me 22/5 to renew the OHIP card",
      Day("2026-05-22", "day", "ohip card")),

    # ---------------------------------------------------------- part_of_day_date
    R("sms", LON, "en_GB", "2026-03-27 16:00", "part_of_day_date",  # Fri
      "remind me sunday evening to put the bins out",
      Day("2026-03-29", "evening", "bins", wd="Sun")),
    R("whatsapp", SYD, "en_AU", "2026-04-01 12:00", "part_of_day_date",  # Wed
      "Reminder for Mon arvo - call Shaz about the footy tix 🏉",
      Day("2026-04-06", "afternoon", "call shaz", wd="Mon")),
    R("email", NYC, "en_US", "2026-11-04 15:00", "part_of_day_date",
      "Hi Beth,\n\nCould you put a reminder on my calendar for the afternoon of the 9th to review the grant narrative?\n\nThanks!\nOmar",
      Day("2026-11-09", "afternoon", "grant narrative")),
    R("chat", BER, "en_GB", "2026-03-25 10:00", "part_of_day_date",  # Wed
      "first thing Monday pls remind me to send the payroll file",
      Day("2026-03-30", "morning", "payroll file", wd="Mon")),
    R("sms", JNB, "en_ZA", "2026-07-22 17:00", "part_of_day_date",  # Wed
      "remind me fri at lunch to pay the domestic worker's UIF",
      Day("2026-07-24", "lunch", "uif", wd="Fri")),
    R("whatsapp", AKL, "en_NZ", "2026-09-25 09:00", "part_of_day_date",  # Fri
      "can u remind me sunday night to charge the camera batteries for the tramp",
      Day("2026-09-27", "night", "camera batteries", wd="Sun")),
    R("email", KOL, "en_IN", "2026-09-30 18:00", "part_of_day_date",
      "Dear Ravi,\n\nPlease remind me on 5th Oct in the evening to call the CA regarding advance tax.\n\nRegards,\nMeera",
      Day("2026-10-05", "evening", "advance tax")),
    R("sms", LAX, "en_US", "2026-10-29 20:00", "part_of_day_date",  # Thu
      "remind me mon morning to call the pharmacy re refill",
      Day("2026-11-02", "morning", "pharmacy", wd="Mon")),
    R("chat", DUB, "en_IE", "2026-06-16 11:30", "part_of_day_date",  # Tue
      "after lunch on Thursday can you remind me to book the Galway hotel",
      Day("2026-06-18", "afterlunch", "galway hotel", wd="Thu")),
    R("whatsapp", MEL, "en_AU", "2026-04-03 08:00", "part_of_day_date",  # Fri; AEST from Sun 03:00
      "remind me tomorrow night to set the clocks back 🕒",
      Day("2026-04-04", "night", "clocks")),
    R("sms", TOR, "en_CA", "2026-03-06 23:15", "part_of_day_date",  # Fri
      "remind me sat morning to change the furnace filter",
      Day("2026-03-07", "morning", "furnace filter", wd="Sat")),
    R("email", LON, "en_GB", "2026-05-19 09:30", "part_of_day_date",
      "Hi Sam,\n\nCould you remind me on the morning of the 1st to send round the June rota? Thanks,\nPhil",
      Day("2026-06-01", "morning", "june rota")),
    R("chat", SIN, "en_GB", "2026-12-01 14:00", "part_of_day_date",  # Tue
      "can you remind me thurs afternoon to chase legal on the NDA",
      Day("2026-12-03", "afternoon", "nda", wd="Thu")),
    RX("whatsapp", JNB, "en_ZA", "2026-03-19 21:30", "part_of_day_date",  # Thu
      "Remind me tomorrow evening to buy charcoal for Saturday 🔥",
      Day("2026-03-20", "evening", "charcoal", wd="Fri")),
    R("sms", NYC, "en_US", "2026-03-07 10:00", "part_of_day_date",  # Sat, EDT from 02:00 Sun
      "remind me tmrw night to set out the recycling",
      Day("2026-03-08", "night", "recycling")),
    R("email", AKL, "en_NZ", "2026-04-02 13:00", "part_of_day_date",  # Thu
      "Hi Lou,\n\nCould you please remind me on Tuesday afternoon to send the invoice to Kauri Builders.\n\nCheers,\nAnna",
      Day("2026-04-07", "afternoon", "invoice", wd="Tue")),
    R("chat", CHI, "en_US", "2026-12-22 09:00", "part_of_day_date",
      "lunchtime on 12/28 remind me to return the sweater",
      Day("2026-12-28", "lunch", "sweater")),
    R("sms", PER, "en_AU", "2026-11-12 15:00", "part_of_day_date",  # Thu
      "remind me sat arvo to mow before the heat hits",
      Day("2026-11-14", "afternoon", "mow", wd="Sat")),
    R("whatsapp", KOL, "en_IN", "2026-08-20 00:30", "part_of_day_date",  # Thu, after midnight
      "remind me saturday morning to call Nani 🙏",
      Day("2026-08-22", "morning", "call nani", wd="Sat")),
    R("email", DUB, "en_IE", "2026-10-21 17:00", "part_of_day_date",
      "Hi Niamh,\n\nPlease remind me on the evening of 26/10 to prep the school lunches for the week.\n\nThanks,\nOrla",
      Day("2026-10-26", "evening", "school lunches")),

    # --------------------------------------------------------- compound_duration
    R("sms", LON, "en_GB", "2026-03-29 00:20", "compound_duration",  # GMT -> BST at 01:00
      "remind me in an hour and a half to take the bread out",
      After("bread", hours=1.5)),
    R("chat", NYC, "en_US", "2026-11-01 00:40", "compound_duration",  # EDT, repeated hour ahead
      "ping me in 45 min to check the oven",
      After("oven", minutes=45)),
    R("whatsapp", SYD, "en_AU", "2026-04-04 23:30", "compound_duration",  # AEDT ends 03:00
      "remind me in 4 hrs to give Max his meds 💊",
      After("meds", hours=4)),
    R("email", BER, "en_GB", "2026-10-23 16:00", "compound_duration",
      "Hi Jonas,\n\nPlease follow up with me in 3 days about the Lisbon offsite budget.\n\nBest,\nMaria",
      InDays(3, "offsite budget")),
    R("sms", AKL, "en_NZ", "2026-09-26 21:00", "compound_duration",  # Sat, NZDT from Sun
      "remind me in 2 days 3 hours to send the bond back",
      After("bond", days=2, hours=3)),
    R("chat", TOR, "en_CA", "2026-03-07 22:00", "compound_duration",  # Sat, EDT from Sun 02:00
      "nudge me in 6h to turn off the humidifier lol",
      After("humidifier", hours=6)),
    R("whatsapp", JNB, "en_ZA", "2026-05-14 11:05", "compound_duration",
      "Remind me in a week and 3 days about the geyser guarantee",
      InDays(10, "geyser guarantee")),
    R("email", LAX, "en_US", "2026-02-27 14:10", "compound_duration",
      "Hey,\n\nCan you check back with me in 90 minutes on whether the wire cleared?\n\nThx\nJ",
      After("wire", minutes=90)),
    R("sms", DUB, "en_IE", "2026-10-24 23:10", "compound_duration",  # IST ends Sun 02:00
      "remind me in 3 and a half hours to take the next reading",
      After("reading", hours=3.5)),
    R("chat", SIN, "en_GB", "2026-06-03 10:00", "compound_duration",
      "remind me in 1d 4h to re-run the reconciliation",
      After("reconciliation", days=1, hours=4)),
    R("whatsapp", MEL, "en_AU", "2026-10-03 20:30", "compound_duration",  # AEDT from Sun 02:00
      "remind me in 12 hours to move the car, street sweeping 🧹",
      After("move car", hours=12)),
    R("sms", CHI, "en_US", "2026-07-08 09:15", "compound_duration",
      "remind me in a couple of days to follow up on the roof estimate",
      InDays(2, "roof estimate")),
    R("email", KOL, "en_IN", "2026-02-04 12:45", "compound_duration",
      "Hi Anil,\n\nKindly remind me after 2 weeks about the vendor KYC documents.\n\nThanks & regards,\nSneha",
      InDays(14, "kyc documents")),
    R("chat", LON, "en_GB", "2026-10-24 22:45", "compound_duration",  # BST ends 02:00
      "remind me in 2h15 to switch the dishwasher off",
      After("dishwasher", hours=2, minutes=15)),
    R("whatsapp", NYC, "en_US", "2026-03-08 00:15", "compound_duration",  # EST -> EDT at 02:00
      "remind me in 3 hours to check on the dough 🍞",
      After("dough", hours=3)),
    R("sms", SYD, "en_AU", "2026-09-30 17:00", "compound_duration",  # AEDT from Sun 4 Oct
      "remind me in a few days to chase the body corporate",
      Few("body corporate")),
    R("email", DEN, "en_US", "2026-10-30 11:00", "compound_duration",  # MDT -> MST Sun 1 Nov
      "Hi Carla,\n\nCan you circle back with me 48 hours from now on the Boulder lease?\n\nThanks,\nEvan",
      After("boulder lease", hours=48)),
    R("chat", AKL, "en_NZ", "2026-04-04 18:00", "compound_duration",  # NZST from Sun 03:00
      "remind me in 1 day 2 hours to do the timesheets",
      After("timesheets", days=1, hours=2)),
    R("sms", JNB, "en_ZA", "2026-01-15 08:00", "compound_duration",
      "pls remind me 20 mins from now to switch the borehole pump off",
      After("borehole pump", minutes=20)),
    R("whatsapp", PAR, "en_GB", "2026-03-28 20:00", "compound_duration",  # Sat, CEST from Sun
      "remind me this time tomorrow to water Claire's plants 🌱",
      After("plants", days=1)),
    R("chat", LON, "en_GB", "2026-01-21 15:20", "compound_duration",
      "this time next week can you remind me to review Dev's PR",
      After("review pr", days=7)),
    R("sms", HAL, "en_CA", "2026-03-07 21:30", "compound_duration",  # AST -> ADT Sun 02:00
      "remind me in 5 and a half hours to check the sump pump",
      After("sump pump", hours=5.5)),

    # ---------------------------------------------------------------- period_end
    R("email", NYC, "en_US", "2026-03-02 09:00", "period_end",
      "Hi Ana,\n\nPlease remind me to close out the Q1 accruals by end of Q1.\n\nThanks,\nSteve",
      Day("2026-03-31", "eod", "q1 accruals")),
    R("sms", LON, "en_GB", "2026-03-26 08:30", "period_end",  # Thu
      "remind me EOW to submit my expenses",
      Day("2026-03-27", "eod", "expenses", wd="Fri")),
    R("chat", SYD, "en_AU", "2026-06-02 10:00", "period_end",
      "can you remind me by end of financial year to lodge the super contributions",
      Day("2026-06-30", "eod", "super contributions")),
    R("whatsapp", KOL, "en_IN", "2026-03-16 19:00", "period_end",
      "Pls remind me end of the financial year to file the 80C proofs",
      Day("2026-03-31", "eod", "80c proofs")),
    R("email", AKL, "en_NZ", "2026-03-20 11:00", "period_end",
      "Kia ora,\n\nCould you remind me at the end of the tax year to reconcile the donations receipts?\n\nCheers,\nRangi",
      Day("2026-03-31", "eod", "donations receipts")),
    R("sms", CHI, "en_US", "2026-10-27 14:00", "period_end",  # 31 Oct is a Saturday
      "remind me end of month to cancel the gym",
      Span("2026-10-30 16:00", "2026-10-31 18:00", "cancel gym")),
    R("chat", BER, "en_GB", "2026-10-19 09:00", "period_end",  # Mon
      "pls nudge me end of next week re the GDPR audit",
      Day("2026-10-30", "eod", "gdpr audit", wd="Fri")),
    R("whatsapp", JNB, "en_ZA", "2026-11-30 13:00", "period_end",
      "Remind me end of the year to renew the car licence disc 🚗",
      Day("2026-12-31", "eod", "licence disc")),
    R("email", TOR, "en_CA", "2026-08-10 10:00", "period_end",
      "Hello Priya,\n\nCould you please set a reminder to send the vendor scorecards by EOQ?\n\nThanks,\nDerek",
      Day("2026-09-30", "eod", "vendor scorecards")),
    R("sms", DUB, "en_IE", "2026-05-26 18:40", "period_end",  # 31 May is a Sunday
      "remind me end of may to top up the Leap card",
      Span("2026-05-29 16:00", "2026-05-31 18:00", "leap card")),
    R("chat", LAX, "en_US", "2026-12-15 16:00", "period_end",
      "ping me by end of the quarter re: the SOC2 evidence",
      Day("2026-12-31", "eod", "soc2 evidence")),
    R("email", LON, "en_GB", "2026-03-23 09:10", "period_end",  # 5 Apr is a Sunday
      "Hi Raj,\n\nCould you remind me to get my SA receipts together by the end of the tax year? Thanks,\nGemma",
      Span("2026-04-03 16:00", "2026-04-05 18:00", "receipts")),
    R("whatsapp", MEL, "en_AU", "2026-09-22 07:30", "period_end",
      "remind me EOM to book the car service 🙏",
      Day("2026-09-30", "eod", "car service")),
    R("sms", NYC, "en_US", "2026-10-26 11:00", "period_end",  # Mon
      "remind me EOW to follow up w the landlord",
      Day("2026-10-30", "eod", "landlord", wd="Fri")),
    R("chat", SIN, "en_GB", "2026-11-02 10:00", "period_end",
      "end of this month pls remind me to submit the claims",
      Day("2026-11-30", "eod", "claims")),
    R("email", PER, "en_AU", "2026-06-08 09:00", "period_end",
      "Hi Jess,\n\nCan you remind me to get the depreciation schedule to the accountant by EOFY?\n\nThanks,\nLachie",
      Day("2026-06-30", "eod", "depreciation schedule")),
    R("sms", AKL, "en_NZ", "2026-12-21 12:00", "period_end",
      "remind me by the end of the year to donate to the hospice",
      Day("2026-12-31", "eod", "hospice")),
    R("whatsapp", DEN, "en_US", "2026-01-27 17:00", "period_end",  # Tue
      "remind me end of the week to order the birthday cake 🎂",
      Day("2026-01-30", "eod", "birthday cake", wd="Fri")),
    R("chat", LON, "en_GB", "2026-02-16 10:00", "period_end",  # 28 Feb is a Saturday
      "can you ping me end of Feb re the pension transfer",
      Span("2026-02-27 16:00", "2026-02-28 18:00", "pension transfer")),
    R("chat", LON, "en_GB", "2026-10-20 11:00", "period_end",  # Tue
      "pls remind me by close of play thursday to sign off the Harrow quote",
      Day("2026-10-22", "eod", "harrow quote", wd="Thu")),

    # ----------------------------------------------------------- weekend_workday
    R("sms", LON, "en_GB", "2026-03-25 19:00", "weekend_workday",  # Wed
      "remind me at the weekend to sort the loft",
      Day("2026-03-28", "day", "loft")),
    R("email", NYC, "en_US", "2026-06-11 15:00", "weekend_workday",  # Thu
      "Hi Kim,\n\nCan you remind me the next business day to send the signed NDA back?\n\nThanks,\nRob",
      Day("2026-06-12", "day", "nda")),
    R("whatsapp", SYD, "en_AU", "2026-10-01 20:00", "weekend_workday",  # Thu
      "remind me on the weekend to clean the gutters 🍂",
      Day("2026-10-03", "day", "gutters")),
    R("chat", BER, "en_GB", "2026-10-23 17:30", "weekend_workday",  # Fri
      "remind me after the weekend to reply to the works council",
      Day("2026-10-26", "day", "works council")),
    R("sms", JNB, "en_ZA", "2026-02-11 12:00", "weekend_workday",  # Wed
      "remind me over the weekend to fix the gate motor",
      Day("2026-02-14", "day", "gate motor")),
    R("email", TOR, "en_CA", "2026-10-28 10:00", "weekend_workday",  # 1 Nov is a Sunday
      "Hi Sandra,\n\nCould you follow up with me on the first business day of next month about the benefits enrolment?\n\nRegards,\nKevin",
      Day("2026-11-02", "day", "benefits enrolment")),
    R("chat", KOL, "en_IN", "2026-07-16 18:00", "weekend_workday",  # Thu
      "remind me next working day to raise the PO",
      Day("2026-07-17", "day", "raise po")),
    R("whatsapp", AKL, "en_NZ", "2026-09-23 09:00", "weekend_workday",  # Wed
      "remind me this weekend to put the winter duvet away",
      Day("2026-09-26", "day", "winter duvet")),
    R("sms", CHI, "en_US", "2026-10-29 21:00", "weekend_workday",  # Thu
      "remind me fri or sat to return the costume",
      Span("2026-10-30 08:00", "2026-10-31 10:00", "costume")),
    R("email", DUB, "en_IE", "2026-11-05 09:00", "weekend_workday",  # Thu
      "Hi Fiona,\n\nCan you remind me over the weekend to finish the Christmas card list?\n\nThanks,\nEimear",
      Day("2026-11-07", "day", "christmas card list")),
    R("chat", LAX, "en_US", "2026-03-06 16:00", "weekend_workday",  # Fri, PDT from Sun
      "remind me monday or tuesday to submit the timecard fix",
      Span("2026-03-09 08:00", "2026-03-10 10:00", "timecard")),
    R("sms", MEL, "en_AU", "2026-06-03 14:00", "weekend_workday",  # Wed
      "pls remind me weekend to buy the snow chains ❄️",
      Day("2026-06-06", "day", "snow chains")),
    R("email", LON, "en_GB", "2026-07-31 17:30", "weekend_workday",  # Fri; 1 Aug is a Saturday
      "Hi Chris,\n\nCan you set a reminder for the first working day of next month to send the August invoices? Ta,\nBen",
      Day("2026-08-03", "day", "august invoices")),
    R("whatsapp", PER, "en_AU", "2026-12-09 11:00", "weekend_workday",  # Wed
      "remind me after the weekend to book Xmas lunch 🎄",
      Day("2026-12-14", "day", "xmas lunch")),
    R("chat", SIN, "en_GB", "2026-05-13 17:00", "weekend_workday",  # Wed
      "pls remind me next business day re the SGX filing",
      Day("2026-05-14", "day", "sgx filing")),
    R("sms", DEN, "en_US", "2026-01-09 18:30", "weekend_workday",  # Fri
      "remind me next business day to call the HOA",
      Day("2026-01-12", "day", "hoa")),
    R("email", JNB, "en_ZA", "2026-09-02 08:00", "weekend_workday",  # Wed
      "Morning Lindi,\n\nPlease remind me on Thursday or Friday to collect the certified copies.\n\nThanks,\nPieter",
      Span("2026-09-03 08:00", "2026-09-04 10:00", "certified copies")),
    R("whatsapp", NYC, "en_US", "2026-02-24 20:00", "weekend_workday",  # Tue
      "remind me this wknd to sort the kids' winter gear",
      Day("2026-02-28", "day", "winter gear")),
    R("sms", AKL, "en_NZ", "2026-10-22 08:00", "weekend_workday",  # Thu
      "remind me next working day to call IRD",
      Day("2026-10-23", "day", "call ird")),

    # ------------------------------------------------------------------- holiday
    R("email", NYC, "en_US", "2026-11-17 10:00", "holiday",  # Thanksgiving Thu 26 Nov
      "Hi Jen,\n\nLet's touch base the Monday after Thanksgiving on the holiday party budget - can you set a reminder?\n\nThanks,\nMark",
      Day("2026-11-30", "day", "party budget", wd="Mon")),
    R("sms", LON, "en_GB", "2026-03-30 18:00", "holiday",  # Easter Sunday 5 Apr
      "remind me the friday before easter to pick up the hot cross buns lol",
      Day("2026-04-03", "day", "hot cross buns", wd="Fri")),
    R("whatsapp", SYD, "en_AU", "2026-04-20 09:00", "holiday",  # Anzac Day Sat 25 Apr
      "remind me the day before Anzac Day to iron the medals 🎖️",
      Day("2026-04-24", "day", "medals")),
    R("chat", TOR, "en_CA", "2026-10-05 11:00", "holiday",  # Thanksgiving (CA) Mon 12 Oct
      "ping me the Tuesday after Thanksgiving about the Q4 forecast",
      Day("2026-10-13", "day", "q4 forecast", wd="Tue")),
    R("email", DUB, "en_IE", "2026-10-20 15:00", "holiday",  # October bank holiday Mon 26 Oct
      "Hi Máire,\n\nCould you set me a reminder for the day after the October bank holiday to send out the parent-teacher schedule?\n\nThanks,\nSeán",
      Day("2026-10-27", "day", "schedule")),
    R("sms", JNB, "en_ZA", "2026-09-18 12:00", "holiday",  # Heritage Day Thu 24 Sep
      "remind me the day before Heritage Day to buy boerewors",
      Day("2026-09-23", "day", "boerewors")),
    R("whatsapp", KOL, "en_IN", "2026-10-26 20:00", "holiday",  # Diwali Sun 8 Nov
      "Please remind me 2 days before Diwali to order the sweets box for office 🪔",
      Day("2026-11-06", "day", "sweets box")),
    R("chat", LAX, "en_US", "2026-08-31 09:00", "holiday",  # Labor Day Mon 7 Sep
      "remind me the day after Labor Day to restart the sprinkler schedule",
      Day("2026-09-08", "day", "sprinkler schedule")),
    R("sms", AKL, "en_NZ", "2026-10-19 12:00", "holiday",  # Labour Day Mon 26 Oct
      "remind me the friday before Labour Day to book the bach",
      Day("2026-10-23", "day", "bach", wd="Fri")),
    R("email", LON, "en_GB", "2026-12-07 09:30", "holiday",
      "Hi Anya,\n\nCan you remind me ahead of Christmas to send the thank-you hampers to the suppliers?\n\nBest,\nOwen",
      Span("2026-12-18 08:00", "2026-12-24 18:00", "hampers")),
    R("chat", SIN, "en_GB", "2026-04-30 17:00", "holiday",  # Thu; Labour Day Fri 1 May
      "pls remind me next business day re the payroll cutoff",
      Day("2026-05-04", "day", "payroll cutoff")),
    R("whatsapp", MEL, "en_AU", "2026-10-29 19:00", "holiday",  # Melbourne Cup Tue 3 Nov
      "remind me first working day after Cup Day to chase the tipping money 🐎",
      Day("2026-11-04", "day", "tipping money")),
    R("sms", CHI, "en_US", "2026-05-20 08:00", "holiday",  # Memorial Day Mon 25 May
      "remind me the tuesday after memorial day to renew the pool pass",
      Day("2026-05-26", "day", "pool pass", wd="Tue")),
    R("email", JNB, "en_ZA", "2026-12-09 10:00", "holiday",  # Day of Reconciliation Wed 16 Dec
      "Good morning,\n\nPlease remind me on the working day after the Day of Reconciliation to release the December payroll.\n\nKind regards,\nThandi",
      Day("2026-12-17", "day", "december payroll")),
    R("sms", DUB, "en_IE", "2026-03-10 21:00", "holiday",  # St Patrick's Day Tue 17 Mar
      "remind me the morning of paddy's day to collect the flags from Una",
      Day("2026-03-17", "morning", "flags")),
    R("chat", NYC, "en_US", "2026-12-28 14:00", "holiday",  # New Year's Day Fri 1 Jan 2027
      "remind me the first business day after New Year's to send the W-9s",
      Day("2027-01-04", "day", "w-9s")),
    R("whatsapp", KOL, "en_IN", "2026-01-20 10:00", "holiday",  # Republic Day Mon 26 Jan
      "Remind me the day before Republic Day to collect the flags for the society function 🇮🇳",
      Day("2026-01-25", "day", "flags")),
    R("email", PER, "en_AU", "2026-12-14 08:30", "holiday",
      "Hi all,\n\nCould someone remind me the working day before Christmas to switch on the out-of-office?\n\nCheers,\nDan",
      Day("2026-12-24", "day", "out-of-office")),
    R("chat", TOR, "en_CA", "2026-05-12 16:00", "holiday",  # Victoria Day Mon 18 May
      "remind me the Friday before Victoria Day to confirm the cottage",
      Day("2026-05-15", "day", "cottage", wd="Fri")),
    R("sms", LON, "en_GB", "2026-05-20 07:30", "holiday",  # spring bank holiday Mon 25 May
      "remind me the day after the spring bank holiday to send the quarterly VAT figures",
      Day("2026-05-26", "day", "vat figures")),

    # ------------------------------------------------------- business_convention
    R("sms", LON, "en_GB", "2026-03-26 13:00", "business_convention",  # Thu
      "half past 4 tmrw remind me to pick up Alfie from cricket",
      At("2026-03-27 16:30", "alfie")),
    R("email", LAX, "en_US", "2026-01-13 09:00", "business_convention",  # Tue
      "Hi Leo,\n\nCan you set a reminder for the Toronto sync Thursday at 2pm EST? I'll be dialling in from the airport.\n\nThanks,\nJune",
      At("2026-01-15 14:00", "toronto sync", tz=NYC, wd="Thu")),
    R("chat", BER, "en_GB", "2026-02-18 10:00", "business_convention",  # Wed
      "can u remind me friday at 9am UK time to join the London standup",
      At("2026-02-20 09:00", "standup", tz=LON, wd="Fri")),
    R("whatsapp", SYD, "en_AU", "2026-03-31 11:00", "business_convention",
      "remind me tmrw at 5 to call dad 📞",
      At("2026-04-01 17:00", "call dad")),
    R("sms", KOL, "en_IN", "2026-06-24 10:00", "business_convention",
      "Remind me at 3 for the client call with Singapore",
      At("2026-06-24 15:00", "client call")),
    R("chat", TOR, "en_CA", "2026-03-11 12:00", "business_convention",  # Wed; Toronto EDT, London GMT
      "ping me 10am london time fri about the GBP transfer",
      At("2026-03-13 10:00", "gbp transfer", tz=LON, wd="Fri")),
    R("email", LON, "en_GB", "2026-03-16 09:00", "business_convention",  # Mon; NY EDT, London GMT
      "Hi Ellie,\n\nCan you remind me to dial into the NY board call on Wednesday at 11am New York time?\n\nThanks,\nJames",
      At("2026-03-18 11:00", "board call", tz=NYC, wd="Wed")),
    R("sms", JNB, "en_ZA", "2026-08-11 14:00", "business_convention",  # Tue
      "remind me thurs at 20 to 5 to fetch the kids",
      At("2026-08-13 16:40", "fetch kids", wd="Thu")),
    R("whatsapp", DUB, "en_IE", "2026-09-08 19:00", "business_convention",
      "remind me tomorrow at half 10 to ring the solicitor",
      At("2026-09-09 10:30", "solicitor")),
    R("chat", AKL, "en_NZ", "2026-04-01 16:00", "business_convention",  # Wed
      "can you remind me monday 4pm sydney time for the trans-tasman catch-up",
      At("2026-04-06 16:00", "catch-up", tz=SYD, wd="Mon")),
    R("email", SIN, "en_GB", "2026-07-06 09:00", "business_convention",  # Mon
      "Hi Wei Ling,\n\nPlease set a follow-up for COB Wednesday on the tender clarifications.\n\nRegards,\nArun",
      Day("2026-07-08", "eod", "tender clarifications", wd="Wed")),
    R("sms", CHI, "en_US", "2026-11-05 08:30", "business_convention",
      "remind me tomorrow at quarter past 1 to call the vet back",
      At("2026-11-06 13:15", "call vet")),
    R("whatsapp", MEL, "en_AU", "2026-06-16 10:00", "business_convention",  # Tue
      "Remind me thursday at 11 to put the washing out ☀️",
      At("2026-06-18 11:00", "washing", wd="Thu")),
    R("chat", LAX, "en_US", "2026-10-27 15:00", "business_convention",  # Tue
      "remind me at 9am ET monday to approve the release",
      At("2026-11-02 09:00", "approve release", tz=NYC, wd="Mon")),
    R("sms", PER, "en_AU", "2026-02-09 10:00", "business_convention",
      "remind me EOD tmrw to upload the rosters",
      Day("2026-02-10", "eod", "rosters")),
    R("email", NYC, "en_US", "2026-03-02 14:00", "business_convention",  # Mon; Berlin on CET
      "Hi team,\n\nPlease remind me to call the Frankfurt vendor Thursday at 4pm CET - they close early.\n\nThanks,\nAli",
      At("2026-03-05 16:00", "frankfurt vendor", tz=BER, wd="Thu")),
    R("whatsapp", JNB, "en_ZA", "2026-10-14 09:30", "business_convention",
      "Remind me at 12 tomorrow to collect the cake 🎂",
      At("2026-10-15 12:00", "cake")),
    R("chat", LON, "en_GB", "2026-11-10 11:00", "business_convention",  # Tue
      "remind me weds at 6 to book the Christmas panto tickets",
      At("2026-11-11 18:00", "panto tickets", wd="Wed")),
    R("sms", VAN, "en_CA", "2026-12-02 18:00", "business_convention",
      "remind me tmrw at 10 to 3 to phone the strata",
      At("2026-12-03 14:50", "strata")),
    R("email", HKG, "en_GB", "2026-01-14 09:00", "business_convention",  # Wed
      "Hi Karen,\n\nCan you remind me Friday 2pm Singapore time to send the SGX pack? Same time for us anyway.\n\nThanks,\nMatt",
      At("2026-01-16 14:00", "sgx pack", tz=SIN, wd="Fri")),
    R("chat", DEN, "en_US", "2026-02-03 16:00", "business_convention",  # Tue; LA on PST
      "remind me tmrw 10am PST to join the vendor call",
      At("2026-02-04 10:00", "vendor call", tz=LAX)),

    # ------------------------------------------------------------ plain_relative
    R("sms", LON, "en_GB", "2026-10-24 21:00", "plain_relative",  # Sat, GMT from Sun 02:00
      "remind me tomorrow to check the boiler clock",
      Day("2026-10-25", "day", "boiler clock")),
    R("whatsapp", SYD, "en_AU", "2026-04-04 16:00", "plain_relative",
      "remind me tonight to put the bins out 🗑️",
      Day("2026-04-04", "tonight", "bins")),
    R("chat", NYC, "en_US", "2026-06-09 10:00", "plain_relative",
      "remind me this afternoon to send the W2 to the mortgage guy",
      Day("2026-06-09", "afternoon", "mortgage")),
    R("email", BER, "en_GB", "2026-03-26 18:00", "plain_relative",  # Thu
      "Hi Tom,\n\nCan you remind me next week about the translation quote?\n\nThanks,\nUlla",
      Day("2026-03-30", "day", "translation quote")),
    R("sms", JNB, "en_ZA", "2026-04-15 12:00", "plain_relative",
      "remind me in two weeks to check the pool chemicals",
      InDays(14, "pool chemicals")),
    R("whatsapp", KOL, "en_IN", "2026-05-06 09:00", "plain_relative",  # Wed
      "remind me friday to transfer the rent to Mr Iyer",
      Day("2026-05-08", "day", "rent", wd="Fri")),
    R("chat", AKL, "en_NZ", "2026-09-22 13:00", "plain_relative",  # Tue
      "remind me tuesday next week about the sheep dip order lol",
      Day("2026-09-29", "day", "sheep dip", wd="Tue")),
    R("sms", TOR, "en_CA", "2026-10-27 20:00", "plain_relative",  # Tue: one week later
      "remind me next tuesday to pay the hydro bill",
      Day("2026-11-03", "day", "hydro bill", wd="Tue")),
    R("email", DUB, "en_IE", "2026-01-29 16:30", "plain_relative",
      "Hi Ronan,\n\nRemind me in a week to check whether the grant payment has landed.\n\nThanks,\nClare",
      InDays(7, "grant payment")),
    R("whatsapp", MEL, "en_AU", "2026-10-02 10:00", "plain_relative",
      "tmoro remind me to buy the paint for the fence 🎨",
      Day("2026-10-03", "day", "paint")),
    R("chat", CHI, "en_US", "2026-03-05 09:00", "plain_relative",  # Thu
      "remind me monday to reorder printer toner",
      Day("2026-03-09", "day", "printer toner", wd="Mon")),
    R("sms", LAX, "en_US", "2026-10-31 13:00", "plain_relative",  # Sat, PST from Sun 02:00
      "remind me 2moro to return the rental car",
      Day("2026-11-01", "day", "rental car")),
    R("email", PER, "en_AU", "2026-08-19 14:00", "plain_relative",  # Wed
      "Hi Kate,\n\nCould you remind me thurs about the site induction paperwork?\n\nThanks,\nBilly",
      Day("2026-08-20", "day", "site induction", wd="Thu")),
    R("whatsapp", LON, "en_GB", "2026-03-28 08:00", "plain_relative",
      "remind me tonight to move the clocks forward ⏰",
      Day("2026-03-28", "tonight", "clocks")),
    R("sms", JNB, "en_ZA", "2026-03-02 09:00", "plain_relative",  # Mon
      "remind me wednesday to send the ID copy to the bank",
      Day("2026-03-04", "day", "id copy", wd="Wed")),
    R("chat", SIN, "en_GB", "2026-09-10 11:30", "plain_relative",
      "remind me next week re the visa renewal",
      Day("2026-09-14", "day", "visa renewal")),
    R("email", NYC, "en_US", "2026-11-30 10:00", "plain_relative",
      "Hey Sarah,\n\nPing me this evening about the holiday card list - I'll have the addresses by then.\n\nThanks,\nTed",
      Day("2026-11-30", "evening", "holiday card list")),
    R("sms", KOL, "en_IN", "2026-11-12 22:00", "plain_relative",
      "tomorow remind me to book the gas cylinder",
      Day("2026-11-13", "day", "gas cylinder")),
    R("whatsapp", AKL, "en_NZ", "2026-04-02 19:30", "plain_relative",  # Thu, NZST from Sun 03:00
      "remind me sunday to go to the farmers market 🥕",
      Day("2026-04-05", "day", "farmers market", wd="Sun")),
    R("chat", DEN, "en_US", "2026-03-04 15:00", "plain_relative",  # MDT from Sun 8 Mar
      "remind me in 2 weeks to follow up on the appraisal",
      InDays(14, "appraisal")),

    # ----------------------------------------------------------------- ambiguous
    # which_day
    R("sms", LON, "en_GB", "2026-03-29 00:30", "ambiguous",
      "remind me tomorrow to call the surgery",
      Ask("which_day", "Do you mean later today (Sunday 29 March) or Monday 30 March?")),
    R("whatsapp", NYC, "en_US", "2026-11-01 00:50", "ambiguous",
      "remind me tmrw to take out the trash 🗑️",
      Ask("which_day", "Today (Sunday) or Monday?")),
    R("chat", SYD, "en_AU", "2026-07-15 02:10", "ambiguous",
      "can't sleep. remind me tomorrow to email the school about the excursion",
      Ask("which_day", "Later today (Wednesday) or Thursday?")),
    R("email", KOL, "en_IN", "2026-09-01 10:00", "ambiguous",
      "Hi,\n\nPlease remind me on the 1st to pay the society maintenance.\n\nThanks,\nVikram",
      Ask("which_day", "Today, 1 September, or 1 October?")),
    R("sms", JNB, "en_ZA", "2026-12-05 01:45", "ambiguous",
      "remind me 2moro morning about the braai wood",
      Ask("which_day", "This morning (Saturday) or Sunday morning?")),
    R("chat", TOR, "en_CA", "2026-06-01 15:00", "ambiguous",
      "ping me on the 1st re: the rent cheque",
      Ask("which_day", "Today (June 1) or July 1?")),
    R("whatsapp", AKL, "en_NZ", "2026-09-27 00:15", "ambiguous",
      "remind me tomorrow arvo to ring the plumber",
      Ask("which_day", "This afternoon (Sunday) or Monday afternoon?")),
    # which_week
    R("sms", LON, "en_GB", "2026-10-22 18:00", "ambiguous",  # Thu
      "remind me next friday to book the MOT",
      Ask("which_week", "Tomorrow (23 October) or Friday 30 October?")),
    R("email", NYC, "en_US", "2026-03-07 11:00", "ambiguous",  # Sat
      "Hi Jo,\n\nCan you remind me next Sunday to call Grandma?\n\nXo\nMel",
      Ask("which_week", "Tomorrow (March 8) or Sunday March 15?")),
    R("whatsapp", SYD, "en_AU", "2026-09-30 12:00", "ambiguous",
      "remind me next weekend to clean out the shed 🏚️",
      Ask("which_week", "This coming weekend (3-4 Oct) or the one after (10-11 Oct)?")),
    R("chat", BER, "en_GB", "2026-03-24 10:00", "ambiguous",  # Tue
      "remind me tuesday to send Katrin the slides",
      Ask("which_week", "Today or next Tuesday, 31 March?")),
    R("sms", JNB, "en_ZA", "2026-07-05 09:00", "ambiguous",  # Sun
      "remind me next monday to pay the creche",
      Ask("which_week", "Tomorrow (6 July) or Monday 13 July?")),
    R("email", DUB, "en_IE", "2026-11-13 16:00", "ambiguous",  # Fri
      "Hi Ger,\n\nCould you remind me Friday about the fundraiser raffle prizes?\n\nThanks,\nBríd",
      Ask("which_week", "Later today or next Friday, 20 November?")),
    R("chat", CHI, "en_US", "2026-04-14 12:00", "ambiguous",  # Tue
      "can you remind me next wednesday to renew the parking permit",
      Ask("which_week", "Tomorrow (April 15) or Wednesday April 22?")),
    # vague_period
    R("email", LON, "en_GB", "2026-02-10 11:00", "ambiguous",
      "Hi Priya,\n\nCan you remind me sometime in the spring to get the boiler serviced?\n\nThanks,\nNat",
      Ask("vague_period", "When in the spring - which date should I remind you?")),
    R("sms", SYD, "en_AU", "2026-05-05 19:00", "ambiguous",
      "remind me mid-june to renew the rego",
      Ask("vague_period", "Which day in mid-June?")),
    R("chat", NYC, "en_US", "2026-06-22 10:00", "ambiguous",
      "let's revisit the pricing page in Q4 - remind me?",
      Ask("vague_period", "When in Q4 should I remind you?")),
    R("whatsapp", KOL, "en_IN", "2026-08-03 21:00", "ambiguous",
      "Remind me sometime next month about Amma's eye checkup 👀",
      Ask("vague_period", "Which day in September?")),
    R("email", TOR, "en_CA", "2026-09-01 09:00", "ambiguous",
      "Hi Marie,\n\nCan you remind me late in the fall to winterize the cottage?\n\nMerci,\nJean",
      Ask("vague_period", "Which date in late fall?")),
    R("sms", AKL, "en_NZ", "2026-01-19 14:00", "ambiguous",
      "remind me at some point over summer to get the deck oiled",
      Ask("vague_period", "When over summer should I remind you?")),
    R("chat", JNB, "en_ZA", "2026-03-03 16:00", "ambiguous",
      "can you nudge me towards the end of the year about the retirement annuity top-up",
      Ask("vague_period", "Which date towards the end of the year?")),
    # vague_time
    R("sms", LON, "en_GB", "2026-05-12 14:00", "ambiguous",
      "remind me in a bit to take the chicken out of the freezer",
      Ask("vague_time", "How long is a bit - in 30 minutes?")),
    R("whatsapp", JNB, "en_ZA", "2026-08-18 11:00", "ambiguous",
      "Ja remind me just now to call the electrician ⚡",
      Ask("vague_time", "What time should I remind you?")),
    R("chat", LAX, "en_US", "2026-04-21 10:00", "ambiguous",
      "remind me after my dentist appt to book the follow-up",
      Ask("vague_time", "When does your dentist appointment end?")),
    R("email", DUB, "en_IE", "2026-02-17 09:30", "ambiguous",
      "Hi Ciara,\n\nCan you remind me before the staff meeting to print the agendas?\n\nThanks,\nPádraig",
      Ask("vague_time", "When is the staff meeting?")),
    R("sms", SYD, "en_AU", "2026-11-20 17:00", "ambiguous",
      "remind me later to text Bec back",
      Ask("vague_time", "What time later?")),
    R("chat", KOL, "en_IN", "2026-06-04 15:00", "ambiguous",
      "remind me once I'm back from the site visit to update the BOQ",
      Ask("vague_time", "When will you be back from the site visit?")),
    R("whatsapp", NYC, "en_US", "2026-12-10 19:00", "ambiguous",
      "remind me sometime soon to return Jill's casserole dish 😅",
      Ask("vague_time", "When should I remind you - tomorrow?")),
    # invalid_date
    R("email", LON, "en_GB", "2026-04-10 10:00", "ambiguous",
      "Hi Ash,\n\nCould you set a reminder for 31 April to send the renewal notice?\n\nThanks,\nIvy",
      Ask("invalid_date", "April has 30 days - did you mean 30 April or 1 May?")),
    R("sms", NYC, "en_US", "2026-02-02 12:00", "ambiguous",
      "remind me feb 29 to pay the quarterly estimate",
      Ask("invalid_date", "There's no Feb 29 in 2026 - Feb 28 or March 1?")),
    R("chat", SYD, "en_AU", "2026-06-01 09:00", "ambiguous",
      "pls remind me 31/6 re the BAS lodgement",
      Ask("invalid_date", "June has 30 days - 30 June or 1 July?")),
    R("whatsapp", JNB, "en_ZA", "2026-09-10 08:00", "ambiguous",
      "Remind me on 31 September to renew the medical aid 🙏",
      Ask("invalid_date", "September has 30 days - 30 September or 1 October?")),
    R("sms", TOR, "en_CA", "2026-11-02 17:00", "ambiguous",
      "remind me Nov 31 to submit the mileage log",
      Ask("invalid_date", "November has 30 days - Nov 30 or Dec 1?")),
    R("email", KOL, "en_IN", "2026-02-20 11:00", "ambiguous",
      "Dear Sir,\n\nKindly remind me on 30.02 regarding the TDS certificate.\n\nRegards,\nKiran",
      Ask("invalid_date", "February has no 30th - 28 February or 2 March?")),
    # weekday_date_conflict
    R("sms", LON, "en_GB", "2026-03-02 10:00", "ambiguous",  # 13 Mar 2026 is a Friday
      "remind me thursday 13th to send the quote",
      Ask("weekday_date_conflict", "The 13th is a Friday - Thursday 12th or Friday 13th?")),
    R("email", NYC, "en_US", "2026-06-01 09:00", "ambiguous",  # June 9 is a Tuesday
      "Hi Ray,\n\nCan you remind me Monday, June 9 about the dental benefits?\n\nThanks,\nLiz",
      Ask("weekday_date_conflict", "June 9 is a Tuesday - Monday June 8 or Tuesday June 9?")),
    R("whatsapp", SYD, "en_AU", "2026-10-05 12:00", "ambiguous",  # 11 Oct is a Sunday
      "Remind me Sat 11/10 to pick up the cake 🎂",
      Ask("weekday_date_conflict", "11/10 is a Sunday - Saturday 10th or Sunday 11th?")),
    R("chat", DUB, "en_IE", "2026-11-03 15:00", "ambiguous",  # 12 Nov is a Thursday
      "can you remind me fri 12 nov re the audit pack",
      Ask("weekday_date_conflict", "12 Nov is a Thursday - Thursday 12th or Friday 13th?")),
    R("sms", AKL, "en_NZ", "2026-07-20 08:00", "ambiguous",  # 24 Jul is a Friday
      "remind me wed 24th to ring the accountant",
      Ask("weekday_date_conflict", "The 24th is a Friday - Wednesday 22nd or Friday 24th?")),
    R("email", JNB, "en_ZA", "2026-01-26 10:00", "ambiguous",  # 4 Feb 2026 is a Wednesday
      "Morning,\n\nPlease diarise a reminder for Tuesday 4 February about the SARS eFiling.\n\nThanks,\nLerato",
      Ask("weekday_date_conflict", "4 February is a Wednesday - Tuesday 3rd or Wednesday 4th?")),
    # am_pm
    R("sms", LON, "en_GB", "2026-05-05 12:00", "ambiguous",
      "remind me thurs at 7 to call the builder",
      Ask("am_pm", "7am or 7pm on Thursday?")),
    R("chat", NYC, "en_US", "2026-09-14 10:00", "ambiguous",
      "ping me tomorrow at 7 re the shuttle booking",
      Ask("am_pm", "7am or 7pm tomorrow?")),
    R("whatsapp", JNB, "en_ZA", "2026-10-08 16:00", "ambiguous",
      "Remind me sat at 7 to phone Gogo",
      Ask("am_pm", "07:00 or 19:00 on Saturday?")),
    R("email", SYD, "en_AU", "2026-08-24 09:00", "ambiguous",
      "Hi Tash,\n\nCould you remind me Wednesday at 7 about the P&C raffle?\n\nThanks,\nJo",
      Ask("am_pm", "7am or 7pm on Wednesday?")),
    R("chat", KOL, "en_IN", "2026-04-13 11:00", "ambiguous",
      "remind me 7 o'clock tomorrow to send the MIS report",
      Ask("am_pm", "7 in the morning or 7 in the evening?")),
    R("sms", TOR, "en_CA", "2026-02-09 13:00", "ambiguous",
      "remind me at 7 on friday to call Jess",
      Ask("am_pm", "7am or 7pm on Friday?")),
    # date_order (en_CA uses both orders)
    R("sms", TOR, "en_CA", "2026-02-20 10:00", "ambiguous",
      "remind me 03/04 to book the tire swap",
      Ask("date_order", "March 4 or April 3?")),
    R("email", VAN, "en_CA", "2026-05-01 09:00", "ambiguous",
      "Hi Amrit,\n\nPlease remind me on 06/07 to send the strata levy.\n\nThanks,\nJas",
      Ask("date_order", "June 7 or July 6?")),
    R("chat", HAL, "en_CA", "2026-08-05 14:00", "ambiguous",
      "ping me 9/10 re the lobster supplier",
      Ask("date_order", "September 10 or October 9?")),
    R("whatsapp", EDM, "en_CA", "2026-10-15 18:00", "ambiguous",
      "Remind me 11/12 to order the turkey 🦃",
      Ask("date_order", "November 12 or December 11?")),
    R("sms", TOR, "en_CA", "2026-12-01 08:00", "ambiguous",
      "remind me 1/2 to renew the transit pass",
      Ask("date_order", "January 2 or February 1?")),
    R("email", VAN, "en_CA", "2026-03-10 12:00", "ambiguous",
      "Hello,\n\nCould you set a follow-up for 05/06 about the deck permit?\n\nThanks,\nGreg",
      Ask("date_order", "May 6 or June 5?")),

    # ------------------------------------------------------------------ negative
    R("email", LON, "en_GB", "2026-03-27 10:00", "negative",
      "Hi all,\n\nJust a heads-up that the office will be closed on Friday 3 April and Monday 6 April for Easter.\n\nBest,\nFacilities",
      NONE),
    R("sms", NYC, "en_US", "2026-03-09 08:00", "negative",
      "ugh forgot the clocks changed yesterday, was 20 min late lol",
      NONE),
    R("whatsapp", SYD, "en_AU", "2026-04-05 10:00", "negative",
      "Thanks for the reminder about the footy yesterday! Great game 🏉",
      NONE),
    R("chat", BER, "en_GB", "2026-10-26 09:00", "negative",
      "no need to remind me about Thursday's demo, it's in my calendar",
      NONE),
    R("email", KOL, "en_IN", "2026-10-02 12:00", "negative",
      "Dear Team,\n\nWishing everyone a happy Gandhi Jayanti. The office reopens on Monday 5th at 9:30 am as usual.\n\nRegards,\nHR",
      NONE),
    R("sms", JNB, "en_ZA", "2026-06-16 13:00", "negative",
      "please cancel the reminder for Thursday, the plumber came today",
      NONE),
    R("chat", TOR, "en_CA", "2026-11-04 15:00", "negative",
      "Sanjay needs the deck by 3pm Friday, fyi",
      NONE),
    R("whatsapp", AKL, "en_NZ", "2026-09-28 08:00", "negative",
      "lost an hour of sleep on sunday 😴 never again",
      NONE),
    R("email", DUB, "en_IE", "2026-12-18 16:00", "negative",
      "Hi Liam,\n\nThe shop's Christmas hours: 9am-6pm until the 23rd, 9am-1pm on Christmas Eve.\n\nCheers,\nRosie",
      NONE),
    R("sms", LAX, "en_US", "2026-07-06 09:00", "negative",
      "my bday is 8/14 btw, no pressure 😂",
      NONE),
    R("chat", SIN, "en_GB", "2026-05-20 10:00", "negative",
      "the deploy went out at 0300 last night, all green",
      NONE),
    R("email", MEL, "en_AU", "2026-02-27 17:00", "negative",
      "Hi Ben,\n\nFor the record, the lease started on 1/2/25 and runs for 24 months.\n\nCheers,\nSophie",
      NONE),
    R("sms", CHI, "en_US", "2026-10-19 20:00", "negative",
      "lost 2-4 at home last night, brutal 😩",
      NONE),
    R("whatsapp", LON, "en_GB", "2026-08-03 12:00", "negative",
      "train's delayed, now due 14.52 🙄",
      NONE),
    R("chat", KOL, "en_IN", "2026-01-12 10:30", "negative",
      "v4.18.2 is on staging now, release notes are in the wiki",
      NONE),
    R("email", NYC, "en_US", "2026-11-30 09:00", "negative",
      "Hi Dan,\n\nThanks for the reminder - I already paid the invoice on Friday.\n\nBest,\nGreta",
      NONE),
    R("sms", SYD, "en_AU", "2026-10-05 07:00", "negative",
      "woke up at 6 thinking it was 7, stupid daylight saving 😂",
      NONE),
    R("whatsapp", JNB, "en_ZA", "2026-04-28 12:00", "negative",
      "Happy belated Freedom Day! Hope you had a lekker long weekend 🇿🇦",
      NONE),
    R("chat", DEN, "en_US", "2026-03-10 11:00", "negative",
      "Jamie's deadline for the audit is 3/31, not ours",
      NONE),
    R("email", PER, "en_AU", "2026-09-14 09:00", "negative",
      "Hi team,\n\nOur office hours are 8:30-5:00 Mon to Fri. Call 08 9123 4567 if urgent.\n\nRegards,\nReception",
      NONE),
    R("sms", DUB, "en_IE", "2026-03-18 10:00", "negative",
      "what a paddy's day yesterday 🍀 head is wrecked",
      NONE),
    R("chat", LON, "en_GB", "2026-01-05 09:00", "negative",
      "nvm, scrap that reminder for 2pm, meeting got moved to next month",
      NONE),
    R("whatsapp", AKL, "en_NZ", "2026-12-24 18:00", "negative",
      "Meri Kirihimete! See you all in the new year 🎄",
      NONE),
    R("email", TOR, "en_CA", "2026-06-22 16:00", "negative",
      "Hi,\n\nOur flight lands at 11:40 pm on the 30th - we'll grab a cab, no need to pick us up.\n\nThanks,\nNina",
      NONE),
    R("sms", KOL, "en_IN", "2026-07-30 19:00", "negative",
      "got a 4.7 rating on the feedback form 🎉",
      NONE),
    R("chat", VAN, "en_CA", "2026-04-02 14:00", "negative",
      "room 1410 at 3 was booked by Marketing, we'll use 1108 instead",
      NONE),
]
# fmt: on


# --------------------------------------------------------------------- phrases
# Reference contexts: (naive local reference, IANA zone, locale). Weekday in the comment.
PHRASE_CTX = {
    "A1": ("2026-03-27T17:40", LON, "en_GB"),  # Fri, BST starts Sun 29 Mar 01:00 GMT
    "A2": ("2026-10-22T09:05", DUB, "en_IE"),  # Thu, IST ends Sun 25 Oct
    "A3": ("2026-03-06T20:15", NYC, "en_US"),  # Fri, EDT starts Sun 8 Mar
    "A4": ("2026-10-29T11:20", LAX, "en_US"),  # Thu, PDT ends Sun 1 Nov
    "A5": ("2026-04-03T15:00", SYD, "en_AU"),  # Fri (Good Friday), AEDT ends Sun 5 Apr 03:00
    "A6": ("2026-10-01T08:40", ADL, "en_AU"),  # Thu, ACDT starts Sun 4 Oct 02:00
    "A7": ("2026-09-24T12:10", AKL, "en_NZ"),  # Thu, NZDT starts Sun 27 Sep 02:00
    "A8": ("2026-07-21T00:25", JNB, "en_ZA"),  # Tue, just after midnight
    "A9": ("2026-11-18T14:30", KOL, "en_IN"),  # Wed
    "A10": ("2026-02-11T10:00", TOR, "en_CA"),  # Wed
    "A11": ("2026-03-13T16:45", VAN, "en_CA"),  # Fri, PDT since Sun 8 Mar
    "A12": ("2026-12-30T22:50", LON, "en_GB"),  # Wed, late evening before the new year
    "A13": ("2026-06-15T07:30", SIN, "en_GB"),  # Mon
    "A14": ("2026-03-28T23:10", BER, "en_IE"),  # Sat, CEST starts Sun 29 Mar 02:00
    "A15": ("2026-01-14T00:40", CHI, "en_US"),  # Wed, just after midnight
    "A16": ("2026-05-08T13:00", PER, "en_AU"),  # Fri
    "A17": ("2026-08-31T09:45", JNB, "en_ZA"),  # Mon
    "A18": ("2026-04-04T21:30", AKL, "en_NZ"),  # Sat, NZDT ends Sun 5 Apr 03:00
    "A19": ("2026-10-31T23:30", DEN, "en_US"),  # Sat, MDT ends Sun 1 Nov 02:00
    "A20": ("2027-01-06T11:00", KOL, "en_IN"),  # Wed
    "A21": ("2026-09-09T15:15", DUB, "en_IE"),  # Wed
    "A22": ("2026-11-02T08:00", HAL, "en_CA"),  # Mon, AST since Sun 1 Nov
    "A23": ("2026-07-01T12:00", "Asia/Dubai", "en_IN"),  # Wed
}

# fmt: off
PHRASES: dict[str, list[tuple[str, str, bp.Expect]]] = {
    "four_digit_time": [
        ("by 0830 on Monday", "A1", at("2026-03-30 08:30")),
        ("1315 tomorrow", "A2", at("2026-10-23 13:15")),
        ("0600hrs Sunday", "A19", at("2026-11-01 06:00")),
        ("2145 tonight", "A13", at("2026-06-15 21:45")),
        ("at 1700 on the 5th", "A9", at("2026-12-05 17:00")),
        ("12 Apr 1830", "A5", at("2026-04-12 18:30")),
        ("0745 Wed", "A8", at("2026-07-22 07:45")),
        ("2 Nov 2359", "A4", at("2026-11-02 23:59")),
        ("4 Oct 0300", "A6", at("2026-10-04 03:00")),  # first minute of ACDT
        ("1100hrs on Mar 14", "A3", at("2026-03-14 11:00")),
        ("0915 on the 2nd", "A17", at("2026-09-02 09:15")),
        ("1600 Fri", "A10", at("2026-02-13 16:00")),
        ("the 29th at 2000", "A14", at("2026-03-29 20:00")),
        ("1230 on 1 Jan", "A12", at("2027-01-01 12:30")),
        ("at 1530 on Friday", "A23", at("2026-07-03 15:30")),
    ],
    "dot_time": [
        ("at 4.30 tomorrow", "A1", at("2026-03-28 16:30")),
        ("around 19.45", "A13", at("2026-06-15 19:45")),
        ("13.05 on Tuesday", "A21", at("2026-09-15 13:05")),
        ("by 08.15 Monday", "A11", at("2026-03-16 08:15")),
        ("17h45 thursday", "A16", at("2026-05-14 17:45")),
        ("ca. 10.40", "A9", at("2026-11-19 10:40")),
        ("at 2.50", "A6", at("2026-10-01 14:50")),
        ("8h tomorrow", "A7", at("2026-09-25 08:00")),
        ("about 6.20 on sunday", "A18", at("2026-04-05 18:20")),
        ("11.55 mon", "A15", at("2026-01-19 11:55")),
        ("21.30h", "A3", at("2026-03-06 21:30")),
        ("09.40 on Sunday", "A14", at("2026-03-29 09:40")),
        ("at 9.05", "A8", at("2026-07-21 09:05")),
        ("16.00h on friday", "A20", at("2027-01-08 16:00")),
    ],
    "day_first_numeric": [
        ("2/4", "A1", day("2026-04-02")),
        ("30.10.", "A2", day("2026-10-30")),
        ("6-4", "A5", day("2026-04-06")),
        ("11/10/26", "A6", day("2026-10-11")),
        ("1.12", "A9", day("2026-12-01")),
        ("28/09 at 10.30", "A7", at("2026-09-28 10:30")),
        ("21-07", "A8", day("2026-07-21")),  # today, the morning is still ahead
        ("15.6.", "A13", day("2026-06-15")),  # today, 07:30 is before 08:00
        ("3/1/27", "A12", day("2027-01-03")),
        ("05/04", "A18", day("2026-04-05")),
        ("1-9", "A17", day("2026-09-01")),
        ("12.1.", "A20", day("2027-01-12")),
        ("31/3 at 4", "A14", at("2026-03-31 16:00")),
        ("07/11/2026", "A21", day("2026-11-07")),
    ],
    "weekday_and_date": [
        ("Mon 30/3", "A1", day("2026-03-30")),
        ("Tuesday 27.10.", "A2", day("2026-10-27")),
        ("Sat 7 Mar", "A3", day("2026-03-07")),
        ("Wed Nov 4", "A4", day("2026-11-04")),
        ("Thurs 9th April", "A5", day("2026-04-09")),
        ("Sunday 4 October at 10am", "A6", at("2026-10-04 10:00")),
        ("fri 2/10", "A7", day("2026-10-02")),
        ("Monday the 27th", "A8", day("2026-07-27")),
        ("Sat 21.11", "A9", day("2026-11-21")),
        ("Tue Feb 17", "A10", day("2026-02-17")),
        ("Friday, January 1", "A12", day("2027-01-01")),
        ("Thu 18.6. 14.00", "A13", at("2026-06-18 14:00")),
        ("Wednesday 1 April", "A14", day("2026-04-01")),
        ("sun 18 jan", "A15", day("2026-01-18")),
    ],
    "part_of_day_date": [
        ("Sunday afternoon", "A1", pod("2026-03-29", "afternoon")),
        ("25/10 evening", "A2", pod("2026-10-25", "evening")),
        ("tomorrow at lunchtime", "A3", pod("2026-03-07", "lunchtime")),
        ("Monday night", "A4", pod("2026-11-02", "night")),
        ("mon arvo", "A5", pod("2026-04-06", "afternoon")),
        ("saturday at midnight", "A6", at("2026-10-04 00:00")),  # end of Saturday, still ACST
        ("noon on the 1st", "A7", at("2026-10-01 12:00")),
        ("this evening", "A8", pod("2026-07-21", "evening")),
        ("the morning of the 20th", "A9", pod("2026-11-20", "morning")),
        ("Thursday lunchtime", "A10", pod("2026-02-12", "lunchtime")),
        ("13/5 at night", "A16", pod("2026-05-13", "night")),
        ("midnight tonight", "A12", at("2026-12-31 00:00")),
        ("wednesday morning", "A13", pod("2026-06-17", "morning")),
        ("Sunday evening", "A14", pod("2026-03-29", "evening")),
        ("tuesday noon", "A17", at("2026-09-01 12:00")),
    ],
    "ordinal_date": [
        ("the 2nd of next month", "A1", day("2026-04-02")),
        ("on the 31st", "A9", day("2026-12-31")),  # November has no 31st
        ("April 14th", "A5", day("2026-04-14")),
        ("the 3rd at 3", "A3", at("2026-04-03 15:00")),
        ("the 30th", "A10", day("2026-03-30")),  # February has no 30th
        ("1st of November at 9am", "A4", at("2026-11-01 09:00")),
        ("on the 5th of Oct", "A6", day("2026-10-05")),
        ("Sept 28th", "A7", day("2026-09-28")),
        ("the 21st", "A8", day("2026-07-21")),  # today, the morning is still ahead
        ("16th June at 07.30", "A13", at("2026-06-16 07:30")),
        ("the 1st", "A12", day("2027-01-01")),
        ("March 29th at 10.15", "A14", at("2026-03-29 10:15")),
        ("the 19th at 2pm", "A15", at("2026-01-19 14:00")),
        ("the 22nd of January", "A20", day("2027-01-22")),
    ],
    "written_date": [
        ("3 April 2026", "A1", day("2026-04-03")),
        ("November 3, 2026", "A2", day("2026-11-03")),
        ("9 Mar", "A3", day("2026-03-09")),
        ("1 Dec '26", "A4", day("2026-12-01")),
        ("7apr", "A5", day("2026-04-07")),
        ("October 4", "A6", day("2026-10-04")),
        ("27 Sept 2026", "A7", day("2026-09-27")),
        ("22 July", "A8", day("2026-07-22")),
        ("14 Jan 2027", "A9", day("2027-01-14")),
        ("Feb. 20", "A10", day("2026-02-20")),
        ("8 Jan 1915", "A12", at("2027-01-08 19:15")),  # 1915 is no year here: a time
        ("1 Jan 2027", "A12", day("2027-01-01")),
        ("June 30th 2026", "A13", day("2026-06-30")),
        ("3 November 1830", "A22", at("2026-11-03 18:30")),
    ],
    "mixed_format_month_first": [
        ("3/9", "A3", day("2026-03-09")),
        ("11/2", "A4", day("2026-11-02")),
        ("2/14", "A10", day("2026-02-14")),
        ("3/16 at 5pm", "A11", at("2026-03-16 17:00")),
        ("1/20", "A15", day("2026-01-20")),
        ("11/1 at 9", "A19", at("2026-11-01 09:00")),
        ("12-1", "A22", day("2026-12-01")),
        ("2/3/27", "A4", day("2027-02-03")),
        ("Tue 3/10", "A3", day("2026-03-10")),
        ("10/31 evening", "A4", pod("2026-10-31", "evening")),
        ("12/31 at noon", "A22", at("2026-12-31 12:00")),
        ("4/5", "A11", day("2026-04-05")),
        ("1/2 at 4.30", "A19", at("2027-01-02 16:30")),
        ("03/01/2026", "A10", day("2026-03-01")),
    ],
    "relative_compound": [
        ("in an hour and a half", "A1", after(hours=1.5)),
        ("in 3 hours 15 minutes", "A14", after(hours=3, minutes=15)),  # across the CEST jump
        ("a week on Tuesday", "A2", day("2026-11-03")),
        ("the day after tomorrow at 4", "A3", at("2026-03-08 16:00")),
        ("in 1 day 3 hours", "A18", after(days=1, hours=3)),
        ("90 mins from now", "A19", after(minutes=90)),  # 01:00 MDT, before the repeat
        ("a fortnight from Monday", "A7", day("2026-10-12")),
        ("in 2 weeks 3 days", "A9", after(days=17)),
        ("3h45 from now", "A13", after(hours=3, minutes=45)),
        ("in 2.5 days", "A5", after(hours=60)),  # fractional days are elapsed hours
        ("the day after tomorrow", "A16", day("2026-05-10")),
        ("in 45 minutes", "A8", after(minutes=45)),
        ("a week from Friday", "A10", day("2026-02-20")),
        ("in 4 days 2 hours", "A11", after(days=4, hours=2)),
        ("2 weeks from tomorrow at 10am", "A12", at("2027-01-14 10:00")),
    ],
    "none": [
        ("ISO 9001 audit", "A1", bp.NONE),
        ("buy 2 get 1 free", "A4", bp.NONE),
        ("1.75 kg of flour", "A5", bp.NONE),
        ("call 021 555 0134", "A8", bp.NONE),
        ("the 90s playlist", "A3", bp.NONE),
        ("ratio 4:3", "A13", bp.NONE),
        ("£12.50 each", "A12", bp.NONE),
        ("no rush at all", "A16", bp.NONE),
        ("door code 2207", "A17", bp.NONE),
        ("1080p 60fps", "A10", bp.NONE),
        ("ticket #44712", "A6", bp.NONE),
    ],
}
# fmt: on


# ---------------------------------------------------------------- followups build

FOLLOWUP_MIN_ROWS = 220
FOLLOWUP_MIN_PER_CLASS = 15
WEEKDAY_WORDS = {
    "mon": "Mon", "monday": "Mon",
    "tue": "Tue", "tues": "Tue", "tuesday": "Tue",
    "wed": "Wed", "weds": "Wed", "wednesday": "Wed",
    "thu": "Thu", "thur": "Thu", "thurs": "Thu", "thursday": "Thu",
    "fri": "Fri", "friday": "Fri",
    "sat": "Sat", "saturday": "Sat",
    "sun": "Sun", "sunday": "Sun",
}  # fmt: skip
WEEKDAY_WORD_RE = re.compile(
    r"(?<!\w)(" + "|".join(sorted(WEEKDAY_WORDS, key=len, reverse=True)) + r")(?!\w)", re.I
)
TOMORROW_RE = re.compile(r"(?<!\w)(tomorrow|tomorow|tmrw|tmr|2moro|tmoro)(?!\w)", re.I)
DATE_WORD_RE = re.compile(
    r"\d|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|next week", re.I
)


def build_followups() -> list[dict]:
    out = []
    for i, row in enumerate(FOLLOWUPS, start=1):
        out.append(
            {
                "id": f"fx-{i:04d}",
                "channel": row.channel,
                "text": row.text,
                "reference": bf.parse_local(row.reference).isoformat(timespec="seconds"),
                "zone": row.zone,
                "locale": row.locale,
                "class": row.cls,
                "expect": bf.expect_json(row),
            }
        )
    return out


def validate_followups(records: list[dict]) -> list[str]:
    """The per-row checks of build_followups.validate, run on these rows, plus a few more."""
    saved = bf.ROWS
    bf.ROWS = FOLLOWUPS  # validate() walks the module's ROWS beside the records
    try:
        errors = bf.validate(records)
    finally:
        bf.ROWS = saved
    for row, rec in zip(FOLLOWUPS, records, strict=True):
        rid, e = rec["id"], row.expect
        ref = bf.parse_local(row.reference)
        if rec["expect"]["kind"] != "due":
            continue
        # a due "tomorrow" is never sent 00:00-02:59 (that is an ask, which_day)
        if ref.hour < 3 and TOMORROW_RE.search(row.text):
            errors.append(f"{rid}: 'tomorrow' just after midnight must be an ask")
        # every weekday word in the text is the due weekday (recorded as wd)
        words = {WEEKDAY_WORDS[m.group(1).lower()] for m in WEEKDAY_WORD_RE.finditer(row.text)}
        wd = getattr(e, "wd", None)
        if row.text in OTHER_DAYS or isinstance(e, Span):
            continue
        if words and wd is None:
            errors.append(f"{rid}: names {sorted(words)} but no wd recorded")
        if wd is not None and words and words != {wd}:
            errors.append(f"{rid}: weekday words {sorted(words)} but wd={wd}")
        # never a bare weekday said on that same weekday (that is an ask, which_week)
        if (
            wd == bf.WEEKDAYS[ref.weekday()]
            and "next" not in row.text.lower()
            and not DATE_WORD_RE.search(row.text)
        ):
            errors.append(f"{rid}: bare weekday equal to the reference weekday")
    return errors


def report_followups(records: list[dict]) -> list[str]:
    problems: list[str] = []
    total = len(records)
    print(f"followups.dev2: {total} rows")
    for key in ("class", "channel", "zone", "locale"):
        c = Counter(r[key] for r in records)
        print(f"\n  {key}:")
        for k, n in sorted(c.items()):
            print(f"    {k:24} {n:4}")
    kinds = Counter(r["expect"]["kind"] for r in records)
    print("\n  kind:")
    for k, n in sorted(kinds.items()):
        print(f"    {k:24} {n:4} ({100 * n / total:.1f}%)")
    abouts = Counter(r["expect"]["about"] for r in records if r["expect"]["kind"] == "ask")
    print("\n  ask about:")
    for k, n in sorted(abouts.items()):
        print(f"    {k:24} {n:4}")
    midnight = sum(1 for r in records if datetime.fromisoformat(r["reference"]).hour < 3)
    dst = near = 0
    for row, rec in zip(FOLLOWUPS, records, strict=True):
        if rec["expect"]["kind"] != "due":
            continue
        w = bf.window(row)
        assert w is not None
        if bf.crosses_dst(row, w[0]) or bf.crosses_dst(row, w[1]):
            dst += 1
            if w[0] - bf.localize(bf.parse_local(row.reference), row.zone) <= timedelta(days=14):
                near += 1
    print(f"\n  references 00:00-03:00: {midnight}")
    print(f"  due windows across a DST change: {dst} ({near} within 14 days)")
    if total < FOLLOWUP_MIN_ROWS:
        problems.append(f"followups: only {total} rows")
    for cls in bf.CLASSES:
        n = sum(1 for r in records if r["class"] == cls)
        if n < FOLLOWUP_MIN_PER_CLASS:
            problems.append(f"followups: class {cls} has only {n} rows")
    for about in bf.ABOUT:
        if not abouts[about]:
            problems.append(f"followups: no ask row about {about}")
    if not 0.18 <= kinds["ask"] / total <= 0.22:
        problems.append("followups: ask rows are not about 20%")
    if not 0.08 <= kinds["none"] / total <= 0.12:
        problems.append("followups: none rows are not about 10%")
    if len({r["zone"] for r in records}) < 12:
        problems.append("followups: fewer than 12 zones")
    if {r["locale"] for r in records} != bf.LOCALES:
        problems.append("followups: not all eight locales used")
    if {r["channel"] for r in records} != bf.CHANNELS:
        problems.append("followups: not all channels used")
    if midnight < 10 or near < 20:
        problems.append("followups: too few midnight references or DST crossings")
    return problems


# ------------------------------------------------------------------ phrases build

PHRASE_MIN_ROWS = 120
PHRASE_MIN_PER_CLASS = 10
# targets of the full corpus that a smaller dev2 set does not have to meet
_SIZE_ERRORS = re.compile(r"^only \d+ rows|^class \S+ has \d+ rows|^main reference share")


def build_phrases() -> list[dict]:
    rows: list[dict] = []
    n = 0
    for cls in bp.CLASSES:
        for text, ctx_key, exp in PHRASES[cls]:
            n += 1
            rid = f"px-{n:04d}"
            ref_s, zone_s, locale = PHRASE_CTX[ctx_key]
            zone = ZoneInfo(zone_s)
            ref_naive = datetime.fromisoformat(ref_s)
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
                assert exp.start is not None and exp.end is not None
                s = bp._localize(exp.start, zone, rid)
                e = bp._localize(exp.end, zone, rid)
                row["expect"] = {"start": bp._iso(s), "end": bp._iso(e)}
            else:  # "after": calendar days keeping the wall clock, then elapsed minutes
                base = bp._localize(ref_naive + timedelta(days=exp.days), zone, rid)
                inst = (base.astimezone(UTC) + timedelta(minutes=exp.minutes)).astimezone(zone)
                row["expect"] = {"start": bp._iso(inst), "end": bp._iso(inst)}
            row["_ref"] = bp._localize(ref_naive, zone, rid)
            rows.append(row)
    return rows


def validate_phrases(rows: list[dict]) -> list[str]:
    """build_phrases.validate on these rows, without the full corpus's size targets."""
    dev, test = bp.split(rows)
    errors = [e for e in bp.validate(rows, dev, test) if not _SIZE_ERRORS.search(e)]
    if len(rows) < PHRASE_MIN_ROWS:
        errors.append(f"phrases: only {len(rows)} rows")
    per_class = Counter(r["class"] for r in rows)
    for c in bp.CLASSES:
        if per_class[c] < PHRASE_MIN_PER_CLASS:
            errors.append(f"phrases: class {c} has only {per_class[c]} rows")
    if not 0.06 <= per_class["none"] / len(rows) <= 0.10:
        errors.append("phrases: none rows are not about 8%")
    return errors


def report_phrases(rows: list[dict]) -> None:
    print(f"\nphrases.dev2: {len(rows)} rows")
    for key in ("class", "locale", "zone"):
        print(f"\n  {key}:")
        for k, n in sorted(Counter(r[key] for r in rows).items()):
            print(f"    {k:28} {n:4}")


# ----------------------------------------------------------------------- main


def _lines(records: list[dict]) -> str:
    return "".join(
        json.dumps({k: v for k, v in r.items() if not k.startswith("_")}, ensure_ascii=False) + "\n"
        for r in records
    )


def _review(followups: list[dict], phrases: list[dict]) -> None:
    def show(exp: dict) -> str:
        if "start" not in exp:
            return exp.get("about", exp["kind"])
        s, e = datetime.fromisoformat(exp["start"]), datetime.fromisoformat(exp["end"])
        return f"{s:%a %Y-%m-%d %H:%M%z}" + ("" if s == e else f" .. {e:%a %d %H:%M}")

    for r in followups + phrases:
        ref = datetime.fromisoformat(r["reference"])
        text = r["text"].replace("\n", " ")[:70]
        print(
            f"{r['id']} {r['class'][:12]:12} {ref:%a %Y-%m-%d %H:%M} {r['zone']:19} "
            f"{r['locale']} | {text!r:72} -> {show(r['expect'])}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="validate; fail if the files are stale")
    ap.add_argument("--review", action="store_true", help="print every row with weekdays")
    args = ap.parse_args(argv)
    try:
        followups = build_followups()
        phrases = build_phrases()
    except (ValueError, bp.BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    errors = validate_followups(followups) + report_followups(followups)
    errors += validate_phrases(phrases)
    report_phrases(phrases)
    if args.review:
        _review(followups, phrases)
    for msg in errors:
        print("ERROR:", msg, file=sys.stderr)
    if errors:
        return 1
    out = {FOLLOWUPS_PATH: _lines(followups), PHRASES_PATH: _lines(phrases)}
    if args.check:
        stale = [p.name for p, s in out.items() if not p.exists() or p.read_text("utf-8") != s]
        if stale:
            print("stale: " + ", ".join(stale), file=sys.stderr)
            return 1
        return 0
    for path, text in out.items():
        path.write_text(text, encoding="utf-8")
    print(
        f"\nwrote {len(followups)} rows to {FOLLOWUPS_PATH.name}, {len(phrases)} to {PHRASES_PATH.name}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
