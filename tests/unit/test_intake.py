"""The streamed item counter refuses exactly the bodies whose list has too many items,
however the bytes are split and however the key is spelled."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pigeon.api.intake import ItemCounter
from pigeon.errors import ValidationError

LIMIT = 5
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
spellings = st.sampled_from(['"items"', '"\\u0069tems"', '"it\\u0065ms"', '"items\\u0000"'])


def _refused(body: bytes, cuts: list[int]) -> bool:
    counter = ItemCounter("items", LIMIT)
    edges = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    try:
        for start, end in itertools.pairwise(edges):
            counter.feed(body[start:end])
    except ValidationError:
        return True
    return False


@given(
    items=st.lists(values, max_size=LIMIT * 2),
    spelling=spellings,
    before=st.dictionaries(st.text(max_size=4), values, max_size=2),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
)
def test_refused_exactly_when_the_items_pass_the_limit(
    items: list[object], spelling: str, before: dict[str, object], cuts: list[int]
) -> None:
    prefix = json.dumps(before)[:-1]
    prefix += ", " if before else ""
    body = f"{prefix}{spelling}: {json.dumps(items)}}}".encode()
    names_items = json.loads(spelling) == "items"
    assert _refused(body, cuts) == (names_items and len(items) > LIMIT)


def test_other_keys_and_nested_lists_are_not_counted() -> None:
    body = json.dumps({"other": [1] * 50, "items": [[1] * 50, {"items": [1] * 50}]}).encode()
    assert not _refused(body, [7, 13, 99])


def test_nesting_past_the_bound_is_refused() -> None:
    with pytest.raises(ValidationError):
        ItemCounter("items", LIMIT).feed(b"[" * 100)
