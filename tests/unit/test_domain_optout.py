"""Opt-out keywords: only a whole message is a keyword; the configuration names every bad
field."""

from __future__ import annotations

from typing import Any

import pytest

from pigeon.domain.optout import DEFAULT, Action, Config, Match, classify
from pigeon.errors import ValidationError


@pytest.mark.parametrize(
    ("text", "action", "keyword", "language"),
    [
        ("STOP", Action.STOP, "STOP", "en"),
        ("Stop.", Action.STOP, "STOP", "en"),
        (" stop! ", Action.STOP, "STOP", "en"),
        ("STOP 🙏", Action.STOP, "STOP", "en"),
        ("stop!!! 🙏🏽", Action.STOP, "STOP", "en"),
        ('"Unsubscribe"', Action.STOP, "UNSUBSCRIBE", "en"),
        ("\tquit\n", Action.STOP, "QUIT", "en"),
        ("¡Alto!", Action.STOP, "ALTO", "es"),
        ("arrêt", Action.STOP, "ARRÊT", "fr"),
        ("ARRET", Action.STOP, "ARRÊT", "fr"),  # accents folded both ways
        ("Désabonner", Action.STOP, "DÉSABONNER", "fr"),
        ("stopp", Action.STOP, "STOPP", "de"),
        ("Start", Action.START, "START", "en"),
        ("yes", Action.START, "YES", "en"),
        ("alta.", Action.START, "ALTA", "es"),
        ("HELP?", Action.HELP, "HELP", "en"),
        ("info", Action.HELP, "INFO", "en"),
        ("Ayuda", Action.HELP, "AYUDA", "es"),
        ("aide", Action.HELP, "AIDE", "fr"),
        ("Hilfe!", Action.HELP, "HILFE", "de"),
    ],
)
def test_a_whole_message_keyword_matches(
    text: str, action: Action, keyword: str, language: str
) -> None:
    assert classify(text, DEFAULT) == Match(action, keyword, language)


@pytest.mark.parametrize(
    "text",
    [
        "please don't stop texting me",
        "stop by tomorrow",
        "Stop it",
        "STOP STOP",
        "yes please",
        "help me move on Saturday",
        "S.T.O.P",
        "stopping",
        "",
        "   ",
        "🙏",
        "sí",  # a plain yes in Spanish is not a START word
        "STOP" + " " * 300,  # only short messages can be keywords
    ],
)
def test_a_keyword_inside_a_sentence_is_conversation(text: str) -> None:
    assert classify(text, DEFAULT) is None


def test_the_default_configuration_round_trips_through_json() -> None:
    assert Config.from_json(DEFAULT.to_json()) == DEFAULT
    assert DEFAULT.to_json()["languages"]["en"]["stop_text"] is None  # confirmations off


def _config(**language: Any) -> dict[str, Any]:
    base = {"stop": ["STOP"], "start": ["START"], "help": ["HELP"], "help_text": "Reply STOP."}
    return {"languages": {"en": {**base, **language}}}


def test_a_custom_configuration_classifies_with_its_own_words() -> None:
    config = Config.from_json(
        {
            "languages": {
                "en": {"stop": ["END IT"], "start": ["BACK"], "help": [], "help_text": "Hi."},
                "pt-BR": {"stop": ["PARE"], "help": ["AJUDA"], "help_text": "Olá."},
            }
        }
    )
    assert classify("end   it!", config) == Match(Action.STOP, "END IT", "en")
    assert classify("Pare", config) == Match(Action.STOP, "PARE", "pt-BR")
    assert classify("STOP", config) is None  # not a word of this configuration


def test_a_bad_configuration_names_every_bad_field() -> None:
    value = {
        "languages": {
            "en": {
                "stop": ["STOP", "", "x" * 41, "STOP!", "stop", 7],
                "start": ["STOP", "GO"],
                "help": ["HELP"] * 51,
                "help_text": "",
                "stop_text": "y" * 1001,
                "colour": "blue",
            },
            "english": {"help_text": "Hi"},
            "fr": "AIDE",
        },
        "extra": True,
    }
    with pytest.raises(ValidationError) as caught:
        Config.from_json(value)
    errors = caught.value.errors
    assert sorted(errors) == sorted(
        [
            "extra",
            "languages.en.stop[1]",  # empty
            "languages.en.stop[2]",  # 41 characters
            "languages.en.stop[3]",  # punctuation would never match
            "languages.en.stop[4]",  # the same word twice in the list
            "languages.en.stop[5]",  # not a string
            "languages.en.start[0]",  # already a stop word
            "languages.en.help",  # more than 50 words
            "languages.en.help_text",
            "languages.en.stop_text",
            "languages.en.colour",
            "languages.english",
            "languages.fr",
        ]
    )
    assert "already a stop word" in errors["languages.en.start[0]"]
    assert "at most 50" in errors["languages.en.help"]


def test_a_word_may_not_belong_to_two_actions_across_languages() -> None:
    value = _config()
    value["languages"]["es"] = {"start": ["stop"], "help_text": "Hola."}
    with pytest.raises(ValidationError) as caught:
        Config.from_json(value)
    assert list(caught.value.errors) == ["languages.es.start[0]"]


def test_the_same_word_for_one_action_in_two_languages_matches_the_first() -> None:
    value = _config()
    value["languages"]["fr"] = {"stop": ["Stop"], "help_text": "Bonjour."}
    config = Config.from_json(value)
    assert classify("stop", config) == Match(Action.STOP, "STOP", "en")


def test_help_text_is_required_and_the_body_must_be_an_object() -> None:
    with pytest.raises(ValidationError) as caught:
        Config.from_json({"languages": {"en": {"stop": ["STOP"]}}})
    assert caught.value.errors == {"languages.en.help_text": "is required"}
    with pytest.raises(ValidationError) as caught:
        Config.from_json({"languages": {}})
    assert list(caught.value.errors) == ["languages"]
    with pytest.raises(ValidationError) as caught:
        Config.from_json(["STOP"])
    assert list(caught.value.errors) == ["body"]
