"""What a line must hold: the byte pre-check, held to a lower-casing oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask._routing.line_needs import Ids

_id_text = st.text(alphabet="abcdefABCDEF0123456789-x", min_size=1, max_size=12)


@settings(max_examples=300)
@given(st.lists(_id_text, min_size=1, max_size=10), st.lists(_id_text, max_size=6), st.data())
def test_an_id_search_finds_an_id_in_any_case_and_nothing_else(
    ids: list[str], words: list[str], data: st.DataObject
) -> None:
    """The oracle: the line, lower-cased, holds one of the ids (lower-cased)."""
    mixed = [data.draw(st.sampled_from([w, w.upper(), w.swapcase()])) for w in words + ids[:1]]
    if data.draw(st.booleans()):
        mixed.pop()  # sometimes the line holds no id on purpose
    line = ('{"id":"' + '","x":"'.join(mixed) + '"}').encode()
    expected = any(i.lower().encode() in line.lower() for i in ids)
    assert Ids([i.lower() for i in ids]).found(line) == expected
