"""Filtering streams of notifications (JSON Lines) through a mask.

`filter_lines` is the library form; ``eventmask filter`` is a thin shell
over it.  Speed comes from doing as little as possible per line: decode with
orjson, drop the line by its event before building anything, and write
lines that pass unchanged as the very bytes that came in.  Only an ARI line
whose payload is narrowed is encoded again (orjson keeps key order).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final

import attrs
import orjson

from ._ast import AriFilter, EventItem, Mask
from ._catalogue import Catalogue
from ._errors import MaskError, NotificationError
from ._index import Index, pick
from ._router import Route

__all__ = [
    "FilterStats",
    "InputError",
    "decode_line",
    "filter_lines",
    "open_input",
    "read_notifications",
]

_GZIP_MAGIC: Final = b"\x1f\x8b"


class InputError(MaskError, ValueError):
    """A line of input that is not a usable notification.

    ``source`` names the input (a file name, or ``-`` for stdin), ``line``
    and ``column`` are 1-based; ``str()`` is ``source:line:column: message``.
    """

    def __init__(self, message: str, source: str, line: int, column: int = 1) -> None:
        super().__init__(message, source, line, column)
        self.message = message
        self.source = source
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


@attrs.define(slots=True)
class FilterStats:
    """Counters a filter run fills in as it goes."""

    lines: int = 0
    blank: int = 0
    invalid: int = 0
    matched: int = 0
    items_read: int = 0
    items_selected: int = 0
    bytes_read: int = 0
    started: float = attrs.field(factory=time.perf_counter)

    def summary(self) -> str:
        """One line for stderr: counts and throughput."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return (
            f"read {self.lines:,} lines ({self.bytes_read / 1e6:,.1f} MB), "
            f"matched {self.matched:,}, selected {self.items_selected:,} of "
            f"{self.items_read:,} ARI items, skipped {self.blank:,} blank and "
            f"{self.invalid:,} invalid lines; {self.lines / elapsed:,.0f} lines/s, "
            f"{self.bytes_read / 1e6 / elapsed:,.1f} MB/s"
        )


def _events_wanted(mask: Mask, catalogue: Catalogue) -> frozenset[str] | None:
    """Every `event` spelling the mask can match (None: all of them)."""
    if mask.is_wildcard:
        return None
    names = {i.name for i in mask.items if isinstance(i, EventItem)}
    if any(isinstance(i, AriFilter) for i in mask.items):
        names.add("ari")
    names |= {old for old, new in catalogue.alias_map.items() if new in names}
    return frozenset(names)


def _noop(_: object) -> None:
    return None


def filter_lines(
    mask: Mask,
    lines: Iterable[bytes | str],
    *,
    property_id: str | None = None,
    items: bool = False,
    source: str = "-",
    catalogue: Catalogue | None = None,
    on_invalid: Callable[[InputError], None] | None = None,
    stats: FilterStats | None = None,
) -> Iterator[bytes]:
    """Yield the JSON of each notification in `lines` that `mask` matches.

    Each output is one line of JSON (bytes, without the newline).  ARI
    payloads are narrowed to the selected items; everything else is kept as
    it came.  With ``items=True`` each selected ARI item is yielded on its
    own, with the notification's ``property_id`` added in front.  A bad line
    raises `InputError`, unless `on_invalid` is given: then it is called and
    the line skipped.

    >>> from eventmask import parse
    >>> lines = [b'{"event":"ari","payload":[{"rate":1},{"booked":2}]}', b'{"event":"message"}']
    >>> list(filter_lines(parse("ari:rate:*:*"), lines))
    [b'{"event":"ari","payload":[{"rate":1}]}']
    """
    catalogue = catalogue or Catalogue.default()
    index = Index([Route(mask, _noop, property_id)], catalogue)
    wanted = _events_wanted(mask, catalogue)
    scope = property_id.lower() if property_id else None
    counts = stats if stats is not None else FilterStats()
    aliases = catalogue.alias_map
    # Counters live in locals on the hot path and reach `counts` every 256
    # lines (the progress bar reads them) and when the stream ends or fails.
    read = size = items_read = 0

    def sync() -> None:
        nonlocal read, size, items_read
        counts.lines += read
        counts.bytes_read += size
        counts.items_read += items_read
        read = size = items_read = 0

    try:
        for number, raw in enumerate(lines, 1):
            read += 1
            size += len(raw)
            if not read & 255:
                sync()
            line = raw.rstrip()  # keep the left side, so columns stay true
            if not line:
                counts.blank += 1
                read -= 1
                continue
            try:
                doc = decode_line(line, source, number)
            except InputError as problem:
                if on_invalid is None:
                    raise
                counts.invalid += 1
                on_invalid(problem)
                continue
            event: str = doc["event"]
            payload = doc.get("payload")
            is_ari = aliases.get(event, event) == "ari"
            if is_ari and payload.__class__ is list:
                items_read += len(payload)
            # Drop the line by its event before anything is built.
            if wanted is not None and event not in wanted:
                continue
            if scope is not None:
                prop = doc.get("property_id")
                if prop.__class__ is not str or prop.lower() != scope:
                    continue
            try:
                selection = index.match(doc)
            except NotificationError as err:
                unusable = InputError(f"{err.message} (at {err.path})", source, number)
                if on_invalid is None:
                    raise unusable from None
                counts.invalid += 1
                on_invalid(unusable)
                continue
            if not selection.matches:
                continue
            counts.matched += 1
            if not is_ari or payload is None:
                if not items:
                    yield line if isinstance(line, bytes) else line.encode()
                continue
            ((_, selector),) = selection.matches
            chosen = pick(payload, selection, selector)
            counts.items_selected += len(chosen)
            if items:
                prop = doc.get("property_id")
                for item in chosen:
                    yield orjson.dumps({"property_id": prop, **item})
            elif len(chosen) == len(payload):
                yield line if isinstance(line, bytes) else line.encode()
            else:
                doc["payload"] = list(chosen)
                yield orjson.dumps(doc)
    finally:
        sync()


def decode_line(line: bytes | str, source: str, number: int) -> dict[str, Any]:
    """One JSON Lines notification, or `InputError` naming ``source:line:column``."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {err.msg}", source, number, err.colno) from None
    if doc.__class__ is not dict or doc.get("event").__class__ is not str:
        raise _not_a_notification(doc, source, number)
    return doc


def _not_a_notification(doc: object, source: str, number: int) -> InputError:
    from ._notification import type_name

    if not isinstance(doc, Mapping):
        return InputError(f"expected a JSON object, got {type_name(doc)}", source, number)
    if "event" not in doc:
        return InputError("missing required field 'event'", source, number)
    return InputError(f"'event' must be a string, got {type_name(doc['event'])}", source, number)


def open_input(raw: IO[bytes]) -> IO[bytes]:
    """Wrap a binary input so that gzip (detected by its magic bytes) reads as plain bytes."""
    import gzip  # only when reading a stream

    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[return-value]
    return buffered


def read_notifications(stream: IO[bytes], source: str) -> Iterator[bytes]:
    """The notification lines of an input: JSON Lines, or one JSON array or object.

    A file whose first non-blank byte is ``[`` holds one array of
    notifications; a file whose first line is not JSON but whose whole text
    is one object holds a single (pretty-printed) notification.
    """
    first = stream.readline()
    while first and not first.strip():
        first = stream.readline()
    if not first:
        return
    head = first.lstrip()
    if head.startswith(b"["):
        whole = first + stream.read()
        try:
            docs = orjson.loads(whole)
        except orjson.JSONDecodeError as err:
            raise InputError(f"invalid JSON: {err.msg}", source, err.lineno, err.colno) from None
        for doc in docs if isinstance(docs, list) else [docs]:
            yield orjson.dumps(doc)  # one compact line per notification
        return
    if head.startswith(b"{"):
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            whole = first + stream.read()
            try:
                doc = orjson.loads(whole)
            except orjson.JSONDecodeError:
                # Not one object either: read it as JSON Lines, so the first
                # bad line is reported with its own line number.
                yield from whole.splitlines(keepends=True)
                return
            yield orjson.dumps(doc)  # a pretty-printed object becomes one line
            return
    yield first
    yield from stream
