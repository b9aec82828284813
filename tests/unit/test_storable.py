"""What both databases can store: text cleaned for recording keeps its full length."""

from __future__ import annotations

from pigeon.domain.storable import cleaned


def test_a_cleaned_text_is_cut_after_what_cannot_be_stored_is_removed() -> None:
    assert cleaned("a\x00" + "b" * 2000, limit=2000) == "a" + "b" * 1999
    assert len(cleaned("\x00" * 10 + "x" * 3000, limit=2000)) == 2000
