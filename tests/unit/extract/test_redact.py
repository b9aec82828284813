"""PII redaction round trips."""

from __future__ import annotations

import pytest

from pigeon.extract.redact import luhn_valid, redact


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("1234567812345678", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("secret", "kind"),
    [
        ("bob@example.com", "EMAIL"),
        ("4111 1111 1111 1111", "CARD"),
        ("5500-0000-0000-0004", "CARD"),
        ("123-45-6789", "NATIONAL_ID"),
        ("AB 12 34 56 C", "NATIONAL_ID"),
        ("+44 20 7946 0958", "PHONE"),
        ("(415) 555-2671", "PHONE"),
    ],
)
def test_each_kind_is_hidden_and_restored(secret: str, kind: str) -> None:
    text = f"Call about {secret} tomorrow at 3pm"
    result = redact(text)
    assert secret not in result.text
    assert f"[{kind}_1]" in result.text
    assert "tomorrow at 3pm" in result.text
    assert result.restore(result.text) == text


def test_a_number_failing_luhn_is_not_a_card() -> None:
    result = redact("order 4111 1111 1111 1112 ships")
    assert "[CARD_" not in result.text


def test_same_value_reuses_its_placeholder_and_unknown_ones_survive() -> None:
    result = redact("mail a@b.io or a@b.io, not c@d.io")
    assert result.text == "mail [EMAIL_1] or [EMAIL_1], not [EMAIL_2]"
    assert result.restore("reply to [EMAIL_2] and [PHONE_9]") == "reply to c@d.io and [PHONE_9]"
