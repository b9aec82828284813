"""Opt-out keywords, Twilio style: STOP, START and HELP words per language, and what to
answer.

A message is a keyword only when the WHOLE message is one: trimmed, compared without case
or accents, with punctuation, symbols and emoji around it ignored ("Stop.", " stop! ",
"STOP 🙏", "¡Alto!"). A keyword inside a sentence ("please don't stop texting me", "stop by
tomorrow") is conversation, never consent. That is also why YES-like words ("YES" is a
START word, as at Twilio) are safe: they count only as a whole message, and opting in a
handle that never opted out changes nothing.

The configuration is a workspace setting document (`workspace_settings`, key `opt_out`):

    {"languages": {"en": {"stop": [...], "start": [...], "help": [...],
                          "help_text": "...", "stop_text": null, "start_text": null}, ...}}

`stop_text` and `start_text` are confirmations sent after a STOP or START that changed
something; they are off (null) by default. A word may appear in one action only (across all
languages); the same word in several languages' lists of one action matches the first
language listed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pigeon.domain.storable import text_problem
from pigeon.errors import ValidationError

SETTING_KEY = "opt_out"

MAX_WORD_CHARS = 40
MAX_WORDS = 50  # per list
MAX_TEXT_CHARS = 1000
MAX_LANGUAGES = 20
# Longer messages are never a keyword; spares normalising long texts.
MAX_KEYWORD_MESSAGE_CHARS = 200

# Replies pigeon sends to a keyword (HELP's answer, the confirmations) carry this meta key,
# set by the server (services/messages refuses `pigeon.` keys from callers). The release
# gate must let such a message through to an opted-out handle: Twilio answers HELP, and
# confirms STOP, whatever the handle's consent (see services/optout.py).
REPLY_META_KEY = "pigeon.keyword_reply"


class Action(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


@dataclass(frozen=True)
class Language:
    stop: tuple[str, ...]
    start: tuple[str, ...]
    help: tuple[str, ...]
    help_text: str
    stop_text: str | None = None  # a confirmation after STOP: off by default
    start_text: str | None = None  # a confirmation after START: off by default

    def words(self, action: Action) -> tuple[str, ...]:
        return {Action.STOP: self.stop, Action.START: self.start, Action.HELP: self.help}[action]

    def reply(self, action: Action) -> str | None:
        """What to answer a keyword of `action` with; None: nothing."""
        return {
            Action.STOP: self.stop_text,
            Action.START: self.start_text,
            Action.HELP: self.help_text,
        }[action]


@dataclass(frozen=True)
class Match:
    action: Action
    keyword: str  # as configured, e.g. "ARRÊT" for "arret !"
    language: str


@dataclass(frozen=True)
class Config:
    languages: tuple[tuple[str, Language], ...]  # in order: the first listed wins a tie

    def language(self, code: str) -> Language | None:
        return dict(self.languages).get(code)

    @functools.cached_property
    def _index(self) -> dict[str, Match]:
        index: dict[str, Match] = {}
        for code, language in self.languages:
            for action in Action:
                for word in language.words(action):
                    index.setdefault(normalize(word), Match(action, word, code))
        return index

    def to_json(self) -> dict[str, Any]:
        return {
            "languages": {
                code: {
                    "stop": list(language.stop),
                    "start": list(language.start),
                    "help": list(language.help),
                    "help_text": language.help_text,
                    "stop_text": language.stop_text,
                    "start_text": language.start_text,
                }
                for code, language in self.languages
            }
        }

    @classmethod
    def from_json(cls, value: Any, *, field: str = "") -> Config:
        """A configuration from its JSON document; every bad field is named."""
        return _parse(value, field)


def classify(text: str, config: Config) -> Match | None:
    """The keyword `text` is, if the whole message is one; else None."""
    if len(text) > MAX_KEYWORD_MESSAGE_CHARS:
        return None
    key = normalize(text)
    return config._index.get(key) if key else None


def normalize(text: str) -> str:
    """`text` as keywords are compared: accents folded, case folded, inner whitespace made
    one space, anything but letters and digits at either end dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    start, end = 0, len(folded)
    while start < end and not _word_char(folded[start]):
        start += 1
    while end > start and not _word_char(folded[end - 1]):
        end -= 1
    return " ".join(folded[start:end].split())


def _word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


# What a keyword may hold: letters and digits, words joined by a space, a hyphen or an
# apostrophe. Punctuation at either end would be ignored when matching, so it is refused.
_KEYWORD = re.compile(r"[^\W_]+(?:[ '\-\u2019][^\W_]+)*")


# Defaults -------------------------------------------------------------------------------

DEFAULT = Config(
    (
        (
            "en",
            Language(
                stop=("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"),
                start=("START", "YES", "UNSTOP"),
                help=("HELP", "INFO"),
                help_text=(
                    "Reply STOP to stop receiving messages from this number, "
                    "START to receive them again."
                ),
            ),
        ),
        (
            "es",
            Language(
                # No "SI": a plain "sí" answers questions far more often than it asks to
                # subscribe again.
                stop=("ALTO", "PARAR", "BAJA", "CANCELAR", "DETENER"),
                start=("ALTA", "REANUDAR"),
                help=("AYUDA",),
                help_text=(
                    "Responda BAJA para dejar de recibir mensajes de este número, "
                    "ALTA para volver a recibirlos."
                ),
            ),
        ),
        (
            "fr",
            Language(
                stop=("ARRÊT", "DÉSABONNER"),
                start=("REPRENDRE",),
                help=("AIDE",),
                help_text=(
                    "Répondez STOP ou ARRÊT pour ne plus recevoir de messages de ce numéro, "
                    "REPRENDRE pour les recevoir à nouveau."
                ),
            ),
        ),
        (
            "de",
            Language(
                stop=("STOPP", "ABMELDEN"),
                start=("ANMELDEN",),
                help=("HILFE",),
                help_text=(
                    "Antworten Sie STOPP, um keine Nachrichten mehr von dieser Nummer zu "
                    "erhalten, ANMELDEN, um sie wieder zu erhalten."
                ),
            ),
        ),
    )
)


# Parsing --------------------------------------------------------------------------------

_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?")
_FIELDS = frozenset({"stop", "start", "help", "help_text", "stop_text", "start_text"})


def _parse(value: Any, field: str) -> Config:
    at = (lambda name: f"{field}.{name}") if field else (lambda name: name)
    errors: dict[str, str] = {}
    if not isinstance(value, dict):
        raise ValidationError.field(field or "body", "must be an object with `languages`")
    for name in sorted(set(value) - {"languages"}):
        errors[at(name)] = "is not a known field"
    languages = value.get("languages")
    if not isinstance(languages, dict) or not languages:
        errors[at("languages")] = 'must be an object of languages by code, e.g. {"en": {...}}'
        raise ValidationError(errors)
    if len(languages) > MAX_LANGUAGES:
        errors[at("languages")] = f"must hold at most {MAX_LANGUAGES} languages"
    parsed: list[tuple[str, Language]] = []
    owner: dict[str, tuple[Action, str]] = {}  # normalised word -> (action, field)
    for code, raw in languages.items():
        where = at(f"languages.{code}")
        if not isinstance(code, str) or not _LANGUAGE_CODE.fullmatch(code):
            errors[where] = "is not a language code such as en, es or pt-BR"
            continue
        language = _language(raw, where, errors, owner)
        if language is not None:
            parsed.append((code, language))
    if errors:
        raise ValidationError(errors)
    return Config(tuple(parsed))


def _language(
    raw: Any, where: str, errors: dict[str, str], owner: dict[str, tuple[Action, str]]
) -> Language | None:
    if not isinstance(raw, dict):
        errors[where] = "must be an object with stop, start, help and help_text"
        return None
    for name in sorted(set(raw) - _FIELDS):
        errors[f"{where}.{name}"] = "is not a known field"
    words: dict[Action, tuple[str, ...]] = {}
    for action in Action:
        words[action] = _words(
            raw.get(action.value), f"{where}.{action.value}", action, errors, owner
        )
    help_text = _text(raw.get("help_text"), f"{where}.help_text", errors, required=True)
    stop_text = _text(raw.get("stop_text"), f"{where}.stop_text", errors, required=False)
    start_text = _text(raw.get("start_text"), f"{where}.start_text", errors, required=False)
    if help_text is None:
        return None
    return Language(
        stop=words[Action.STOP],
        start=words[Action.START],
        help=words[Action.HELP],
        help_text=help_text,
        stop_text=stop_text,
        start_text=start_text,
    )


def _words(
    raw: Any,
    where: str,
    action: Action,
    errors: dict[str, str],
    owner: dict[str, tuple[Action, str]],
) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors[where] = "must be a list of words"
        return ()
    if len(raw) > MAX_WORDS:
        errors[where] = f"must hold at most {MAX_WORDS} words"
        return ()
    found: list[str] = []
    seen: set[str] = set()
    for index, word in enumerate(raw):
        item = f"{where}[{index}]"
        if not isinstance(word, str):
            errors[item] = "must be a string"
            continue
        word = word.strip()
        if not 1 <= len(word) <= MAX_WORD_CHARS:
            errors[item] = f"must be 1 to {MAX_WORD_CHARS} characters"
            continue
        if text_problem(word) or not _KEYWORD.fullmatch(word):
            errors[item] = "must be letters and digits (words joined by a space or a hyphen)"
            continue
        key = normalize(word)
        if key in seen:
            errors[item] = "is repeated in this list"
            continue
        seen.add(key)
        other = owner.get(key)
        if other is not None and other[0] is not action:
            errors[item] = f"is already a {other[0].value} word ({other[1]})"
            continue
        owner.setdefault(key, (action, item))
        found.append(word)
    return tuple(found)


def _text(raw: Any, where: str, errors: dict[str, str], *, required: bool) -> str | None:
    if raw is None:
        if required:
            errors[where] = "is required"
        return None
    if not isinstance(raw, str):
        errors[where] = "must be a string"
        return None
    text = raw.strip()
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        errors[where] = f"must be 1 to {MAX_TEXT_CHARS} characters"
        return None
    if problem := text_problem(text):
        errors[where] = problem
        return None
    return text
