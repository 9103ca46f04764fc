"""Tests of reading notification streams: the forms an input may take, and true line numbers."""

from __future__ import annotations

import gzip
import io

import pytest

from eventmask import InputError, filter_lines, parse
from eventmask._routing.inputs import open_input, read_notifications

from ..helpers import python_output


def lines_of(data: bytes) -> list[bytes]:
    return list(read_notifications(open_input(io.BytesIO(data)), "x.jsonl"))


def test_json_lines_come_back_as_they_are() -> None:
    """JSON Lines are the stream's own lines, newlines included."""
    assert lines_of(b'{"event":"a"}\n{"event":"b"}\n') == [b'{"event":"a"}\n', b'{"event":"b"}\n']


def test_leading_blank_lines_keep_line_numbers_true() -> None:
    """A stream that starts with blank lines reports a bad line at its real number.

    The blank lines used to be dropped before the first line, so every later
    line was reported one line early per blank.
    """
    data = b"\n  \n" + b'{"event":"a"}\n' + b'{"event": 5}\n'
    with pytest.raises(InputError) as info:
        list(filter_lines(parse("*"), lines_of(data), source="x.jsonl"))
    assert (info.value.line, info.value.message) == (
        4,
        "expected a string, got integer (at $.event)",
    )


def test_an_array_a_pretty_object_and_gzip() -> None:
    """One JSON array, one pretty-printed object, and gzip (by its magic bytes) all read."""
    assert lines_of(b' [{"event": "a"},\n {"event": "b"}]') == [b'{"event":"a"}', b'{"event":"b"}']
    assert lines_of(b'{\n  "event": "a"\n}\n') == [b'{"event":"a"}']
    assert lines_of(gzip.compress(b'{"event":"a"}\n')) == [b'{"event":"a"}\n']
    assert lines_of(b"") == []


def test_only_a_compressed_input_loads_gzip() -> None:
    code = (
        "import io, sys; from eventmask._routing.inputs import open_input; "
        "open_input(io.BytesIO(b'{}')).read(); print('gzip' in sys.modules)"
    )
    assert python_output(code) == "False"
