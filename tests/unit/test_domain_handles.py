from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pigeon.domain.handles import normalize_handle
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
