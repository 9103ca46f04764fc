"""Reading notification streams: gzip detection, JSON Lines, or one JSON document.

The command line's `filter` and `explain` read their inputs through here;
`filter_lines` takes the lines it yields (docs/filter.md, "Input").
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from typing import IO, Final

from .._errors import InputError, InvalidJSON
from .._json import dumps, loads

__all__ = ["GZIP_MAGIC", "may_be_one_document", "open_input", "read_notifications"]

# How a gzip stream starts (RFC 1952): compression is told by this, not by a name.
GZIP_MAGIC: Final = b"\x1f\x8b"


def open_input(raw: IO[bytes]) -> IO[bytes]:
    """Wrap a binary input so that gzip (detected by its magic bytes) reads as plain bytes.

    >>> import gzip
    >>> open_input(io.BytesIO(gzip.compress(b'{"event":"x"}'))).read()
    b'{"event":"x"}'
    """
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        import gzip  # only a compressed stream pays for it

        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def read_notifications(stream: IO[bytes], source: str) -> Iterator[bytes]:
    """The notification lines of an input: JSON Lines, or one JSON array or object.

    A file whose first non-blank byte is ``[`` holds one array of
    notifications; a file whose first line is not JSON but whose whole text
    is one object holds a single (pretty-printed) notification.  JSON Lines
    come back as the stream's own lines (blank ones included, so that line
    numbers stay true), with no Python code between them and the reader.

    >>> list(read_notifications(io.BytesIO(b'[{"event": "a"}, {"event": "b"}]'), "x.json"))
    [b'{"event":"a"}', b'{"event":"b"}']
    """
    blanks = []
    first = stream.readline()
    while first and not first.strip():
        blanks.append(first)
        first = stream.readline()
    if not first:
        return iter(blanks)
    if not may_be_one_document(first):
        return itertools.chain(blanks, (first,), stream)
    whole = first + stream.read()
    if first.lstrip().startswith(b"["):
        try:
            docs = loads(whole)
        except InvalidJSON as err:
            line = err.line + len(blanks)
            raise InputError(f"invalid JSON: {err.reason}", source, line, err.column) from None
        # One compact line per notification.
        return iter([dumps(doc) for doc in (docs if isinstance(docs, list) else [docs])])
    try:
        doc = loads(whole)
    except InvalidJSON:
        # Not one object either: read it as JSON Lines, so the first
        # bad line is reported with its own line number.
        return itertools.chain(blanks, whole.splitlines(keepends=True))
    return iter([dumps(doc)])  # a pretty-printed object becomes one line


def may_be_one_document(first: bytes) -> bool:
    """Whether a stream whose first non-blank line is `first` may hold one JSON document
    rather than JSON Lines: an array, or an object that is not JSON on its own line.

    >>> may_be_one_document(b'[{"event": "a"}'), may_be_one_document(b'{"event": "a"}')
    (True, False)
    """
    head = first.lstrip()
    if head.startswith(b"["):
        return True
    if head.startswith(b"{"):
        try:
            loads(first)
        except InvalidJSON:
            return True
    return False
