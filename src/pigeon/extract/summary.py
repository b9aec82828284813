"""What a follow-up is about: the action and its object, without the time, the request
words, the greeting or the signature ("pay rent", "call Dana about the lease")."""

from __future__ import annotations

import re

from pigeon.extract.intent import DECLINED, INSTRUCTION
from pigeon.extract.protocols import Action

# Lines that open or close a letter: "Hi Sam,", "Dear Mr Braun,", "Thanks,", "Best\nJulia".
_GREETING = re.compile(
    r"^\s*(?:hi|hey|hello|dear|morning|good morning|good afternoon|afternoon|evening|hiya|yo)"
    r"\b(?:[ \t]+[\w.'-]+){0,3}[ \t]*(?:[,!:]+[ \t]*\n?|\n)",  # "Hi Sam,", "Hi Dana, can you"
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"\n\s*(?:thanks|thank you|thx|cheers|best|regards|kind regards|best regards|warm regards|"
    r"many thanks|ta|sincerely|yours|br|abraços|saludos|grüße|gruss|love|xx)\b[^\n]{0,25}"
    r"(?:\n[^\n]{0,40}){0,3}\s*\Z",
    re.IGNORECASE,
)
# What stands before the task in a request: "can you remind me to", "please set a reminder
# for", "follow up with", "so I remember to".
_REQUEST = re.compile(
    r"(?:(?:can|could|would|will) (?:you|u|someone) |please |pls |plz |kindly |just |"
    r"hey |ok |so )*"
    r"(?:remind(?:er)?s? (?:me )?(?:again )?(?:to |about |of |that |re:? |regarding |for )?|"
    r"rmd me (?:to )?|rmnd me (?:to )?|ping me (?:to |about |re:? )?|nudge me (?:to |about )?|"
    r"bug me (?:to |about )?|give me a (?:shout|buzz|bell) (?:to |about )?|"
    r"(?:put in|set up|add|create|schedule|book) (?:a |an )?(?:follow[- ]?up|reminder)"
    r"(?: for me)?\s*(?:to |for |about |on )?|"
    r"set (?:me )?(?:a |an )?(?:reminder|alarm|alert)\b(?: for me)?\s*"
    r"(?:to |for |so i remember to )?|"
    r"don'?t let me forget (?:to |about )?|do not let me forget (?:to |about )?|"
    r"don'?t forget (?:to )?|make sure (?:i |to )?|diari[sz]e (?:a )?(?:follow-up|reminder)? ?|"
    r"note to self:? |so i remember to |erinnerung:? |lembrete:? |recordatorio:? )",
    re.IGNORECASE,
)
_PLEASANTRY = re.compile(
    r"(?:(?:many |thanks|thank you|thx|ty|cheers|ta|please|pls|ok|okay|great|cool|much "
    r"appreciated|appreciated|a lot|so much|in advance|mate|x+|:\)|!)\s*)+",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|please|pls|plz|can you|could you|would you|will you|"
    r"kindly|just|also|and|or|then|me|to|for|re:?|regarding|concerning|about|towards?|over|"
    r"during|on|at|in|by|every|at some point|"
    r"some ?point|sometime|"
    r"some time|so i remember to|so i don'?t forget to|i remember to|i don'?t forget to|"
    r"i need to|i have to|i must|we should|i should|we need to)[,]?\s+)*",
    re.IGNORECASE,
)
_DRAFT = re.compile(
    r"\b(?:reply|respond|draft|write (?:back|to|a)|send (?:a|an|the|him|her|them|it|over|back)?|"
    r"email (?:him|her|them|back)|get back to|answer|text (?:him|her|them|back))\b",
    re.IGNORECASE,
)
_DANGLING = re.compile(
    r"(?:\s+\b(?:on|at|by|in|for|from|until|till|before|after|around|about|towards?|the|and|"
    r"over|during|every|each|or|to|next|"
    r"this|sometime|remind me|please|thanks|re)\b)+\s*$|^\s*(?:\b(?:on|at|by|in|for|and|to)\b\s+)+",
    re.IGNORECASE,
)
# A full stop ends a sentence only before a space: "dana@example.com", "www.bbc.co.uk" stay whole.
_SENTENCE = re.compile(r"(?:[^.!?\n]|[.!?](?=[^\s.!?]))+[.!?]*")
_SPACE = re.compile(r"\s+")
_PUNCT = " \t\n.,;:!?-\u2013\u2014()"


MAX_SUMMARY = 200


def summarize(text: str, spans: list[tuple[int, int]]) -> str:
    """The task in `text`, without the time phrases at `spans`."""
    blanked = list(text)
    for start, end in spans:
        blanked[start:end] = " " * (end - start)
    body = _SIGN_OFF.sub("", _GREETING.sub("", "".join(blanked) + "\n", count=1)).strip()
    task = _tidy(_task(body) or body)
    if len(task) > MAX_SUMMARY:  # a task, not the message: what a reminder can show
        task = task[: MAX_SUMMARY - 1].rstrip() + "…"
    return task


def _task(body: str) -> str | None:
    """The words after the request in its sentence, or before it ("call the vet tmrw,
    remind me")."""
    previous, asked = "", False
    for sentence in _SENTENCE.findall(body):
        if DECLINED.search(sentence):  # "Don't remind me today.": what is asked is elsewhere
            continue
        m = _REQUEST.search(sentence)
        if m is None:
            task = _tidy(sentence)
            if asked and task and not _PLEASANTRY.fullmatch(task):  # "Remind me Friday. Call Bob."
                return task
            previous = sentence
            continue
        rest = sentence[m.end() :]
        again = _REQUEST.match(rest)  # "don't forget to remind me about ..."
        after = _tidy(rest[again.end() :] if again else rest)
        if after.lower() not in {"", "me", "me please", "please"}:
            return after
        before = _tidy(sentence[: m.start()])
        if before:
            return before
        if previous.strip():  # "We should revisit the lease terms. Set a reminder?"
            return _tidy(previous)
        asked = True
    for sentence in _SENTENCE.findall(body):  # "could you please send over the contract?"
        instruction = INSTRUCTION.search(sentence)
        if instruction is not None:
            return _tidy(sentence[instruction.start("verb") :])
    return None


def _tidy(text: str) -> str:
    body = _SPACE.sub(" ", text).strip(_PUNCT)
    body = _FILLER.sub("", body, count=1).strip(_PUNCT)
    previous = None
    while previous != body:
        previous = body
        body = _DANGLING.sub("", body).strip(_PUNCT)
    body = _SPACE.sub(" ", re.sub(r"\s+([,.;:!?])", r"\1", body)).strip(_PUNCT)
    if body.lower() in _LONE_WORDS:  # what was left between two times: "Monday or Tuesday"
        return ""
    return body[:1].upper() + body[1:] if body else ""


_LONE_WORDS = {
    "or", "and", "to", "or maybe", "and then", "then", "till", "until", "every", "each", "over",
    "during", "about", "re", "at", "on", "in", "by", "for", "from", "around", "sometime", "later",
}  # fmt: skip


def action_for(text: str) -> Action:
    """Draft a message when the sender asks for a reply to be written or sent."""
    return Action.REMIND_AND_DRAFT if _DRAFT.search(text) else Action.REMIND
