"""Neutral resolution: phrases and free text -> wall-clock spans and mentions.

"Neutral" means Duckling's semantics, with no follow-up policy: a past date
stays in the past, "next friday" is Friday of next week. The extractor
applies the follow-up policy on top (see `rules.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pigeon.extract import expr as ex
from pigeon.extract import grammar
from pigeon.extract.holiday_rules import HOLIDAY_ALIASES
from pigeon.extract.lexicon import (
    MONTHS,
    NUMBER_WORDS,
    ORDINAL_WORDS,
    REGION_ZONES,
    TOMORROW_WORDS,
    UNITS,
    WEEKDAYS,
    ZONES,
)
from pigeon.extract.protocols import Grain, TimeMention
from pigeon.extract.timemath import localize

if TYPE_CHECKING:
    from datetime import tzinfo


@dataclass(frozen=True, slots=True)
class Resolved:
    """A resolved phrase in local wall-clock time (naive)."""

    start: datetime
    end: datetime
    grain: Grain
    kind: str  # "instant" or "interval"
    open: str | None
    label: str  # what sort of expression: "pod:morning", "eod", "deadline", "date", ...
    expr: ex.Expr | None = None  # what was parsed, for the follow-up policy to inspect


def label_of(e: ex.Expr) -> str:
    pod, _ = grammar.pod_parts(e)
    if pod is not None:
        return f"pod:{pod.name}"
    if isinstance(e, grammar.Until):
        return "deadline:" + label_of(e.x)
    if isinstance(e, grammar.Open):
        return f"open:{e.side}:{label_of(e.x)}"
    if isinstance(e, grammar.Edge):
        return f"edge:{e.part}"
    return e.kind


def resolve_expr(
    e: ex.Expr, ref: datetime, zone: tzinfo, locale: str, *, business: bool = False
) -> Resolved | None:
    try:
        span = ex.first(e, ex.Ctx(ref, zone, locale, business))
    except (ValueError, OverflowError):  # "in 99999 years": past the last representable year
        return None
    if span is None:
        return None
    interval = isinstance(
        e, grammar.Interval | grammar.Open | grammar.Until | grammar.Range | grammar.Edge
    )
    interval = interval or e.kind in {"pod", "interval", "season", "weekend"}
    interval = interval or (
        span.grain in {Grain.HOUR, Grain.DAY} and span.end - span.start > _ONE[span.grain]
    )
    open_side = e.side if isinstance(e, grammar.Open) else None
    kind = "interval" if interval else "instant"
    return Resolved(span.start, span.end, span.grain, kind, open_side, label_of(e), e)


_ONE = {Grain.HOUR: timedelta(hours=1), Grain.DAY: timedelta(days=1)}


def resolve_phrase(text: str, ref: datetime, zone: tzinfo, locale: str = "en") -> Resolved | None:
    """Resolve a whole phrase at `ref` (naive local wall time in `zone`)."""
    e = grammar.parse(text, locale)
    return None if e is None else resolve_expr(e, ref, zone, locale)


# ---------------------------------------------------------------- free text
_KEYWORDS = {
    "today", "tonight", "tonite", "tomorrow", "tomorrows", "tmrw", "tmr", "tmw", "yesterday", "now",
    "next", "last", "this", "coming", "upcoming", "past", "previous", "following", "in", "at", "on",
    "by", "before", "after", "until", "till", "til", "from", "between", "since", "within", "noon",
    "midday", "midnight", "morning", "afternoon", "evening", "night", "arvo", "lunch", "eod", "cob",
    "eob", "eom", "eoy", "eow", "bom", "boy", "end", "beginning", "start", "early", "mid", "late",
    "asap", "the", "first", "weekend", "week-end", "wkend", "summer", "winter", "spring", "fall",
    "autumn", "quarter", "qtr", "half", "ago", "hence", "later", "am", "pm", "a.m.", "p.m.", "day",
    "a.m", "p.m", "rest", "all", "close", "around", "about", "@", "thing", "business", "working",
    "o'clock", "oclock", "ides", "christmas", "xmas", "easter", "closest", "a", "an", "of", "for",
    "and", "to", "-", "through", "thru", "sometime", "anytime", "approximately", "lunchtime",
    "ish", "h", "hrs", "approx", "ca", "circa", "+", "out", "fortnight", "couple", "few",
    "post", "ahead", "advance", "run-up", "wknd", "financial", "fiscal", "tax", "fy", "work",
    "eve", "evo", "eoq", "play", "cop", "eop", "eofy", "season", "top", "hour", "every", "each",
    "month-end", "year-end", "quarter-end", "b4", "bfore", "over", "during", "same",
    "school", "dinner", "tea", "long", "mid-morning", "midmorning", "mid-afternoon", "midafternoon",
}  # fmt: skip
_VOCAB = (
    set(MONTHS) | set(WEEKDAYS) | set(NUMBER_WORDS) | set(ORDINAL_WORDS) | set(UNITS)
    | set(ZONES) | _KEYWORDS
    | {word for alias in HOLIDAY_ALIASES for word in alias.split()}
    | {word for name in REGION_ZONES for word in name.split()}
)  # fmt: skip
_EDGE_STOP = {"a", "an", "of", "for", "and", "to", "-", "the", "in", "at", "on", "by", "from"}
_TOKEN = re.compile(r"[^\s,;!?()\"]+")
_MAX_WORDS = 9
_MAX_MENTIONS = 64  # a message names a few times; a list of thousands is not a request


_NUMERIC = re.compile(r"(?:\d|q\d)[\w:./\-'\"]*")
_TOMORROW = re.compile(TOMORROW_WORDS)  # every spelling: "tmoro", "tomorow", "2moro"


def _timeish(token: str) -> bool:
    """Could this token be part of a time? Cheap, so only likely windows get parsed."""
    word = token.lower().rstrip(".':").lstrip("'")
    if _NUMERIC.fullmatch(word) or _TOMORROW.fullmatch(word):
        return True
    word = word.removesuffix("ish").removesuffix("-")  # "noonish", "noon-ish"
    return word in _VOCAB or word.rstrip("s") in _VOCAB


@dataclass(frozen=True, slots=True)
class Found:
    text: str
    span: tuple[int, int]
    expr: ex.Expr


# A bare number is a quantity, not a time, after these words ("version 2.15", "size 10.5",
# "room 1204") or before these ("1.5 litres", "3.5 stars", "2.4km").
_QUANTITY_BEFORE = {
    "version", "ver", "v", "release", "python", "ios", "android", "macos", "windows", "node",
    "size", "room", "page", "pages", "chapter", "section", "pin", "code", "flight", "gate",
    "platform", "bus", "route", "step", "level", "grade", "no", "number", "num", "#", "ref",
    "rated", "rating", "score", "scored", "scores", "was", "costs", "cost", "price", "total",
    "pay", "paid", "owe", "owes", "ext", "extension", "tel", "phone", "call", "dial", "apt",
    "unit", "suite", "seat", "row", "aisle", "order", "invoice", "ticket", "case", "id",
}  # fmt: skip
_QUANTITY_AFTER = re.compile(
    r"\s*(?:%|percent|per ?cent|litres?|liters?|l\b|ml\b|kg|kgs|kilos?|grams?|g\b|mg\b|lbs?|"
    r"pounds?|km|kms|k\b|miles?|mi\b|m\b|metres?|meters?|cm|mm|ft|feet|inch|inches|stars?|"
    r"points?|pts|out of|x\b|times\b|gb|mb|tb|bn|million|billion|dollars?|euros?|quid|bucks|"
    r"rupees?|rand|kph|mph|degrees?|°|mins? (?:long|late|walk|drive)|hours? (?:long|late))",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(r"[\d.,:/-]+")
_CURRENCY = "£$€¥₹"


def _is_quantity(text: str, start: int, end: int) -> bool:
    """A number with nothing of a time about it but its digits, in a quantity's place."""
    if not _BARE_NUMBER.fullmatch(text[start:end]):
        return False
    before = text[max(0, start - 20) : start]
    last = before.rstrip()[-1:]
    if last and last in _CURRENCY:
        return True
    words = re.findall(r"[\w#]+", before.lower())
    if words and words[-1] in _QUANTITY_BEFORE and before[-1:].isspace():
        return True
    counted = _COUNTED.match(text, end)  # "the 2 invoices", "3 kids": things, not times
    if counted and not _timeish(counted["noun"]) and text[start:end].isdigit():
        return True
    return bool(_QUANTITY_AFTER.match(text, end))


_COUNTED = re.compile(r" (?P<noun>[a-z]{3,}s)\b")


def find_expressions(text: str, locale: str = "en") -> list[Found]:
    """Longest time expressions in `text`, left to right, never overlapping."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    timeish = [
        _timeish(text[start:end]) and not _is_quantity(text, start, end) for start, end in tokens
    ]
    found: list[Found] = []
    i = 0
    while i < len(tokens) and len(found) < _MAX_MENTIONS:
        if not timeish[i]:
            i += 1
            continue
        hit = _longest_at(text, tokens, timeish, i, locale)
        if hit is None:
            i += 1
            continue
        found.append(hit[0])
        i = hit[1]
    return found


def _longest_at(
    text: str, tokens: list[tuple[int, int]], timeish: list[bool], i: int, locale: str
) -> tuple[Found, int] | None:
    last = i
    while last + 1 < len(tokens) and last + 1 - i < _MAX_WORDS and timeish[last + 1]:
        last += 1
    for j in range(last, i - 1, -1):
        end_word = text[tokens[j][0] : tokens[j][1]].lower().rstrip(".")
        if end_word in _EDGE_STOP and j > i:
            continue
        start, end = tokens[i][0], tokens[j][1]
        phrase = text[start:end].rstrip(".")
        e = grammar.parse(phrase, locale)
        if e is not None:
            return Found(phrase, (start, start + len(phrase)), e), j + 1
    return None


def to_mention(found: Found, resolved: Resolved, zone: tzinfo) -> TimeMention:
    return TimeMention(
        text=found.text,
        span=found.span,
        start=localize(resolved.start, zone),
        end=localize(resolved.end, zone),
        grain=resolved.grain,
        kind=resolved.kind,
        open=resolved.open,
        notes=(resolved.label,),
    )


def find_mentions(
    text: str, received_at: datetime, zone: tzinfo, locale: str = "en", *, business: bool = False
) -> list[tuple[TimeMention, Resolved]]:
    """Every time mention in `text`, resolved at `received_at` (aware) in `zone`; with
    `business`, a 12-hour time without am/pm is read in business hours."""
    ref = received_at.astimezone(zone).replace(tzinfo=None)
    out: list[tuple[TimeMention, Resolved]] = []
    for item in _joined(text, find_expressions(text, locale), ref, zone, locale, business):
        found, found_ref = _on_that_day(text, item, [r for _, r in out]) or (item, ref)
        resolved = resolve_expr(found.expr, found_ref, zone, locale, business=business)
        if resolved is not None:
            out.append((to_mention(found, resolved, zone), resolved))
    ahead = _ahead_of_a_time(text, out, ref, zone, locale, business)
    return sorted(out + ahead, key=lambda pair: pair[0].span)


# "Meeting at 11am - remind me 30 mins before", "an hour and a half before", "15 mins after":
# a span of time from the time named earlier; the words before it are tried as the span.
AHEAD = re.compile(
    r"(?P<d>(?:[\w.-]+\s+){1,6}?)(?P<w>before(?:hand)?|earlier|prior|ahead|after(?:wards)?)"
    r"(?:\s+(?:it|that|then|this))?(?!\s*\w)",
    re.IGNORECASE,
)


def ahead_span(m: re.Match[str]) -> tuple[ex.Duration, int, int] | None:
    """The span an `AHEAD` match names, its sign, and where its words start."""
    words = list(re.finditer(r"[\w.-]+", m["d"]))
    sign = 1 if m["w"].lower().startswith("after") else -1
    for first in words:  # the longest run of words before the keyword that is a duration
        duration = grammar.parse_duration(m["d"][first.start() :].strip().lower())
        if duration is not None:
            return duration, sign, m.start("d") + first.start()
    return None


def _ahead_of_a_time(
    text: str,
    found: list[tuple[TimeMention, Resolved]],
    ref: datetime,
    zone: tzinfo,
    locale: str,
    business: bool,
) -> list[tuple[TimeMention, Resolved]]:
    out = []
    for m in AHEAD.finditer(text):
        span = ahead_span(m)
        if span is None:
            continue
        duration, sign, start = span
        times = [r for mention, r in found if mention.span[1] <= start and r.expr is not None]
        if not times:
            continue
        if times[-1].grain > (Grain.DAY if duration.finest >= Grain.DAY else Grain.HOUR):
            continue  # "an hour before" a day named: before when on it?
        anchor = times[-1].expr
        assert anchor is not None
        finest = min(anchor.grain, Grain.MINUTE if duration.finest < Grain.DAY else Grain.DAY)
        shifted = ex.Shift(duration, sign, anchor=anchor, grain=finest)
        resolved = resolve_expr(shifted, ref, zone, locale, business=business)
        if resolved is not None:
            resolved = replace(resolved, label="ahead")  # the follow-up asked for: chosen first
            item = Found(text[start : m.end()], (start, m.end()), shifted)
            out.append((to_mention(item, resolved, zone), resolved))
    return out


_THAT = re.compile(r"\b(?:that|that same|the same)\s+$", re.IGNORECASE)


def _on_that_day(text: str, found: Found, earlier: list[Resolved]) -> tuple[Found, datetime] | None:
    """ "Tuesday, November 3 at 2:15pm ... that morning at 8:30": a time of day said of
    the day named before it, found from that day's midnight."""
    that = _THAT.search(text[: found.span[0]][-12:])
    days = [r for r in earlier if r.grain <= Grain.DAY]
    label = label_of(found.expr)
    if that is None or not days or not (label.startswith("pod:") or found.expr.kind == "time"):
        return None
    start = found.span[0] - len(that.group(0))
    day = datetime.combine(days[-1].start.date(), datetime.min.time())
    return Found(text[start : found.span[1]], (start, found.span[1]), found.expr), day


# What may stand between a date and its time: "Monday 6 April (Easter Monday) at 3pm",
# "the 4th December, post lunch", "Tuesday 10am ET:".
_JOINER = re.compile(r"[\s,;:()\-@]*(?:(?:at|on|around|about|by|from|in the)\s+)?[\s(]*")


def _joined(
    text: str, found: list[Found], ref: datetime, zone: tzinfo, locale: str, business: bool
) -> list[Found]:
    """Neighbouring expressions that name one time together, joined into one."""
    out: list[Found] = []
    for item in found:
        if out and _JOINER.fullmatch(text, out[-1].span[1], item.span[0]):
            combined = grammar.combine(out[-1].expr, item.expr)
            if (
                combined is not None
                and not combined.latent
                and resolve_expr(combined, ref, zone, locale, business=business) is not None
            ):
                start = out[-1].span[0]
                out[-1] = Found(text[start : item.span[1]], (start, item.span[1]), combined)
                continue
        out.append(item)
    return out
