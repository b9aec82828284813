"""Does a message ask for a follow-up at all, and which of its times is the due one?

Pure text rules: a request has a cue ("remind me", "ping me", "follow up", "diarise",
"don't let me forget") or opens with an instruction ("call Dana tomorrow at 3"); a message
that only reports ("the invoice was paid on 3/12"), asks a question of someone else, or
cancels a reminder asks for none.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from pigeon.extract.protocols import TimeMention
    from pigeon.extract.resolve import Resolved

_REQUEST = re.compile(
    r"\b(?:remind(?:er)?s?|rmd|rmnd|ping|nudge|poke|buzz|nag|follow[- ]?up|f/u|chase|"
    r"diari[sz]e|note to self|don'?t (?:let me )?forget|do not (?:let me )?forget|"
    r"make sure (?:i|to)|to-?do|check (?:in|back)|circle back|get back to me|tell me|"
    r"text me|email me|message me|alert me|let me know|bump (?:me|this)|bug me|"
    r"give me a (?:shout|buzz|bell|call)|shout me|"
    r"set (?:me )?(?:a|an) (?:alarm|alert)|erinnerung|lembrete|recordatorio|rappel)\b",
    re.IGNORECASE,
)
# An instruction at the start of a line or asked for: "call the bank tomorrow", "pay rent on
# the 1st", "Hi Dana, can you call me friday?".
INSTRUCTION = re.compile(
    r"(?:^\s*(?:(?:hi|hey|hello|morning)\s+\w+\s*,\s*)?|\b(?:can|could|would|will)\s+(?:you|u)\s+)"
    r"(?:(?:pls|please|plz|and|then|also)\s+)?(?P<verb>call|ring|phone|email|e-mail|text|"
    r"whatsapp|message|send|pay|book|buy|pick up|collect|renew|submit|file|ask|review|"
    r"finish|order|sort|clean|water|mow|take|bring|post|return|confirm|prep|prepare|print|"
    r"sign|update|write|draft|reply|respond|invite|remember|cancel my|lodge|transfer|talk to|"
    r"speak to|speak with|meet|visit|chat with|fix|start|get the|go to|drop off)\b",
    re.IGNORECASE | re.MULTILINE,
)
# "cancel that reminder", "no need to remind me", "don't remind me".
DECLINED = re.compile(
    r"\b(?:cancel|delete|remove|scrap|stop|never ?mind|no need|don'?t need|do not need|"
    r"don'?t remind|do not remind|no reminder needed)\b[^.!?\n,]{0,40}?"
    r"\b(?:remind(?:er)?|nudge|ping|that|it)\b"
    # "don't remind me tomorrow", "please don't ping me on friday", "do not send tomorrow"
    r"|\b(?:don'?t|dont|do not|never|no need to|stop)\s+(?:remind|ping|nudge|send|text|"
    r"message|bug|chase|email)\b",
    re.IGNORECASE,
)
_ASKS_THE_READER = re.compile(r"let me know|get back to me|tell me", re.IGNORECASE)
# "thanks for the reminder": a reminder mentioned, not one asked for
_THANKED = re.compile(
    r"\b(?:thanks|thank you|thx|ty|cheers|ta)\s+(?:\w+\s+){0,2}?for\s+(?:the|your|that|this)\s+"
    r"(?:\w+\s+)?$",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"(?:\bnot|n't|\bno)\s*(?:\w+\s+)?$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")


def wants_follow_up(text: str, mentions: list[TimeMention]) -> bool:
    """Whether `text` asks for a reminder or a follow-up: it says so, it is an instruction
    with a time ("call Ann tomorrow"), or it is only a time ("tomorrow 3pm", as a form
    field or `pigeon send --at` gives it)."""
    declined = _declined(text)
    cue = _request_cue(text, declined)
    if declined and cue is None:  # "don't remind me tomorrow", with nothing asked besides
        return False
    if cue is not None:
        # "let me know what you think" asks the reader, not for a reminder, unless a time
        # comes with it ("let me know by Friday")
        return bool(mentions) or not _ASKS_THE_READER.fullmatch(cue.group(0))
    rest = _without(text, mentions)
    if INSTRUCTION.search(rest):  # "call Ann", "after lunch talk to Jim"
        return True
    return bool(mentions) and len(re.findall(r"\w+", rest)) <= 1


def _request_cue(text: str, declined: list[tuple[int, int]]) -> re.Match[str] | None:
    """The first cue that asks: not thanked for, not in a clause that declines."""
    for cue in _REQUEST.finditer(text):
        if _THANKED.search(text[: cue.start()][-40:]) or _inside(cue.start(), declined):
            continue
        return cue
    return None


_CLAUSE_END = re.compile(r"[.!?;,\n]|\b(?:but|instead)\b", re.IGNORECASE)


def _declined(text: str) -> list[tuple[int, int]]:
    """The clauses that decline: "don't remind me on Friday", "cancel that reminder"."""
    clauses = []
    for m in DECLINED.finditer(text):
        end = _CLAUSE_END.search(text, m.end())
        clauses.append((m.start(), end.start() if end else len(text)))
    return clauses


def _inside(at: int, clauses: list[tuple[int, int]]) -> bool:
    return any(start <= at < end for start, end in clauses)


def _without(text: str, mentions: list[TimeMention]) -> str:
    """`text` with its time phrases taken out."""
    rest, last = [], 0
    for mention in sorted(mentions, key=lambda m: m.span):
        rest.append(text[last : mention.span[0]])
        last = mention.span[1]
    rest.append(text[last:])
    return " ".join(part.strip() for part in rest).strip()


def choose(
    text: str, found: list[tuple[TimeMention, Resolved]], received_at: datetime
) -> list[tuple[TimeMention, Resolved]]:
    """The mentions that may be the due time, best first: not negated ("not today"), not
    already over, and in the sentence that asks when there is one; the most precise first,
    then the earliest said."""
    declined = _declined(text)
    live = [
        pair
        for pair in found
        if not _NEGATED.search(text[: pair[0].span[0]][-12:])
        and not _inside(pair[0].span[0], declined)
    ]
    upcoming = [pair for pair in live if pair[0].end is None or pair[0].end > received_at]
    pool = upcoming or live or found
    cue = _request_cue(text, declined)
    if cue is not None:
        sentence = _sentence_around(text, cue.start())
        near = [pair for pair in pool if sentence[0] <= pair[0].span[0] < sentence[1]]
        pool = near or pool
    # "remind me 30 mins before" the time said first: that is the due time asked for
    return sorted(pool, key=lambda pair: (pair[1].label != "ahead", pair[1].grain, pair[0].span[0]))


def _sentence_around(text: str, at: int) -> tuple[int, int]:
    start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, at)), default=0)
    end = _SENTENCE_END.search(text, at)
    return start, end.start() if end else len(text)
