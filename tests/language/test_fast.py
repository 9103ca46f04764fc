"""Tests of the clean-mask fast path: it agrees with the grammar path wherever it answers."""

from __future__ import annotations

from hypothesis import given

from eventmask import Catalogue, Mask, parse
from eventmask._language import parser as _parser
from eventmask._language.fast import read_clean

from ..strategies import grammar_strings, mask_texts


@given(grammar_strings())
def test_fast_path_agrees_with_the_grammar(text: str) -> None:
    """Where the split-based fast path answers, the Lark path builds the same mask."""
    fast = read_clean(text, Catalogue.default())
    if fast is None:
        return
    slow_items, slow_found = _parser.analyse(text, None)
    assert slow_found == []
    assert fast == Mask(tuple(slow_items))
    assert [i.span for i in fast.items] == [i.span for i in Mask(tuple(slow_items)).items]


@given(mask_texts())
def test_fast_path_takes_clean_masks(pair: tuple[Mask, str]) -> None:
    """Clean generated masks go through the fast path and match the slow one."""
    _, text = pair
    items, found = _parser.analyse(text, None)
    fast = read_clean(text, Catalogue.default())
    if found:
        assert fast is None
    else:
        assert fast == Mask(tuple(items))


def test_fast_path_refuses_what_needs_a_finding() -> None:
    """Anything with a finding (even a warning) is left to the grammar path."""
    catalogue = Catalogue.default()
    for text in (
        "booking;booking_new",
        "booking;booking",
        "ari;ari:rate:*:*",
        "Booking",
        "ari:rate",
        "ari:max_sell:*:*",
        "booking; message",
        "",
    ):
        assert read_clean(text, catalogue) is None, text
    assert read_clean("*", catalogue) == parse("*")
