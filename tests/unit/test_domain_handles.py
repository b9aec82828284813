from __future__ import annotations

import contextlib

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pigeon.domain.handles import _canonical, _is_valid_e164, _parsed_phone, normalize_handle
from pigeon.domain.ids import hash_secret, new_id, new_secret, secret_matches
from pigeon.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155552671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+44 20 7946 0958", "+442079460958"),
        ("Ann.Lee@Example.ORG", "Ann.Lee@example.org"),
    ],
)
def test_valid_handles(raw: str, expected: str) -> None:
    assert normalize_handle(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "4155552671", "+1 555", "a@b", "a b@c.com", "@x.com"])
def test_invalid_handles_name_the_field(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_handle(raw, field="to_handle")
    assert list(caught.value.errors) == ["to_handle"]


@given(st.text(max_size=300))
def test_anything_either_normalises_or_fails_cleanly(raw: str) -> None:
    with contextlib.suppress(ValidationError):
        normalize_handle(raw)


def test_ids_are_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(i[14] == "7" for i in ids)
    assert len(set(ids)) == 50


def test_secrets_are_hashed_and_compared() -> None:
    secret = new_secret("pgn_dev")
    assert secret.startswith("pgn_dev_") and len(secret) > 40
    assert secret_matches(secret, hash_secret(secret))
    assert not secret_matches(secret + "x", hash_secret(secret))


def _example_numbers() -> list[str]:
    found = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in range(12):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


EXAMPLES = _example_numbers()


def test_the_e164_shortcut_agrees_with_full_parsing_on_every_region_example() -> None:
    shortcut = [n for n in EXAMPLES if _is_valid_e164(n)]
    assert len(shortcut) > 0.8 * len(EXAMPLES)  # the shortcut is the common path
    for number in shortcut:
        assert _parsed_phone(number, None) == (None, number)
    for number in EXAMPLES:
        assert _canonical(number, None) == _parsed_phone(number, None)


@given(st.sampled_from(EXAMPLES), st.integers(0, 14), st.sampled_from("0123456789"))
def test_the_e164_shortcut_agrees_with_full_parsing_on_near_misses(
    example: str, position: int, digit: str
) -> None:
    # One digit changed, inserted or dropped: valid and invalid numbers near real ones.
    index = 1 + position % (len(example) - 1)
    for candidate in (
        example[:index] + digit + example[index + 1 :],
        example[:index] + digit + example[index:],
        example[:index] + example[index + 1 :],
    ):
        if _is_valid_e164(candidate):
            assert _parsed_phone(candidate, None) == (None, candidate)


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True))
def test_the_e164_shortcut_agrees_with_full_parsing_on_any_digits(candidate: str) -> None:
    if _is_valid_e164(candidate):
        assert _parsed_phone(candidate, None) == (None, candidate)
