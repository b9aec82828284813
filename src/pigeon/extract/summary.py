"""What a follow-up is about: the message minus its time phrases and filler."""

from __future__ import annotations

import re

from pigeon.extract.protocols import Action

_FILLER = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|please|pls|plz|can you|could you|would you|will you|"
    r"kindly|just|also|and|then)[,]?\s+)*"
    r"(?:(?:don'?t forget to|do not forget to|remember to|remind me (?:to|about|of|that)|"
    r"remind me|set a reminder (?:to|for)|make sure (?:to|i)|i need to|need to|i have to|"
    r"have to|i should|i must|follow[- ]up (?:with|on|about|re:?)|follow[- ]up|"
    r"check (?:back )?(?:in )?with|ping|nudge)\s+)?",
    re.IGNORECASE,
)
_DRAFT = re.compile(
    r"\b(?:reply|respond|draft|write (?:back|to|a)|send (?:a|an|the|him|her|them|it|over|back)?|"
    r"email (?:him|her|them|back)|get back to|answer|text (?:him|her|them|back))\b",
    re.IGNORECASE,
)
_DANGLING = re.compile(
    r"(?:\s+\b(?:on|at|by|in|for|from|until|till|before|after|around|about|the|and|or|to|next|"
    r"this|sometime)\b)+\s*$|^\s*(?:\b(?:on|at|by|in|for|and|to)\b\s+)+",
    re.IGNORECASE,
)
_SPACE = re.compile(r"\s+")
_PUNCT = " \t\n.,;:!?-\u2013\u2014"


def summarize(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the time phrases at `spans` and without leading filler."""
    kept, last = [], 0
    for start, end in sorted(spans):
        kept.append(text[last:start])
        last = end
    kept.append(text[last:])
    body = _SPACE.sub(" ", " ".join(part.strip() for part in kept)).strip(_PUNCT)
    body = _FILLER.sub("", body, count=1).strip(_PUNCT)
    previous = None
    while previous != body:
        previous = body
        body = _DANGLING.sub("", body).strip(_PUNCT)
    body = _SPACE.sub(" ", re.sub(r"\s+([,.;:!?])", r"\1", body))
    return body[:1].upper() + body[1:] if body else ""


def action_for(text: str) -> Action:
    """Draft a message when the sender asks for a reply to be written or sent."""
    return Action.REMIND_AND_DRAFT if _DRAFT.search(text) else Action.REMIND
