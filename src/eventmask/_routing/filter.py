"""Filtering streams of notifications (JSON Lines) through a mask.

`filter_lines` is the library form; ``eventmask filter`` is a thin shell
over it.  Speed comes from doing as little as possible per line: decode
once, drop the line by its event before building anything, and write lines
that pass unchanged as the very bytes that came in.  Only an ARI line whose
payload is narrowed is encoded again, keys in their order (docs/filter.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import attrs

from .._catalogue import ARI, Catalogue
from .._envelope import decode_line, input_error
from .._errors import InputError, NotificationError
from .._json import dumps
from .._language.mask import Mask
from .filter_fast import Result, events_wanted, fast_path, in_scope, narrow

if TYPE_CHECKING:
    # Only a filter given predicates builds them: `eventmask filter` without any
    # should not pay for their import at start-up.
    from .predicates import Predicates

__all__ = ["FilterStats", "filter_lines", "filter_with"]


@attrs.define(slots=True)
class FilterStats:
    """Counters a filter run fills in as it goes.

    >>> FilterStats(lines=2, matched=1).summary().startswith("read 2 lines")
    True
    """

    lines: int = 0
    blank: int = 0
    invalid: int = 0
    matched: int = 0
    items_read: int = 0
    items_selected: int = 0
    bytes_read: int = 0
    started: float = attrs.field(factory=time.perf_counter)

    def add(self, other: FilterStats) -> None:
        """Add the counts of `other`, a run over other lines (``filter --jobs``); the time
        this run started stays its own.

        >>> stats = FilterStats(lines=2); stats.add(FilterStats(lines=3, matched=1))
        >>> stats.lines, stats.matched
        (5, 1)
        """
        for field in attrs.fields(FilterStats):
            if field.name != "started":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def summary(self) -> str:
        """One line for stderr: counts and throughput.

        >>> "matched 0" in FilterStats().summary()
        True
        """
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return (
            f"read {self.lines:,} lines ({self.bytes_read / 1e6:,.1f} MB), "
            f"matched {self.matched:,}, selected {self.items_selected:,} of "
            f"{self.items_read:,} ARI items, skipped {self.blank:,} blank and "
            f"{self.invalid:,} invalid lines; {self.lines / elapsed:,.0f} lines/s, "
            f"{self.bytes_read / 1e6 / elapsed:,.1f} MB/s"
        )


def _noop(_: object) -> None:
    return None


class _General:
    """The general path for one line: decode it whole and ask the index.

    This is the reference: the fast path (`filter_fast`) answers only lines
    on which it agrees with this, and sends every other line here.
    """

    def __init__(
        self,
        mask: Mask,
        property_id: str | None,
        items: bool,
        catalogue: Catalogue,
        predicates: Predicates | None = None,
    ) -> None:
        # Built on the first line the fast path sends here (on a real ARI log,
        # often none): the index and its routes cost ~8 ms to import, 3% of
        # filtering 45 MB (docs/filter.md, "Speed").
        from .index import Index
        from .routes import Route

        self.index = Index([Route(mask, _noop, property_id)], catalogue)
        self.wanted = events_wanted(mask, catalogue)
        self.scope = property_id.lower() if property_id else None
        self.items = items
        self.resolve = catalogue.resolve
        self.predicates = predicates if predicates is not None and not predicates.empty else None

    def __call__(self, line: bytes | str, source: str, number: int) -> Result:
        """What the filter does with one line; raise `InputError` for a bad one."""
        doc = decode_line(line, source, number)
        event: str = doc["event"]
        payload = doc.get("payload")
        is_ari = self.resolve(event) == ARI
        read = len(payload) if is_ari and payload.__class__ is list else 0
        # Drop the line by its event before anything is built.
        if self.wanted is not None and event not in self.wanted:
            return (None, read, 0, False)
        if not in_scope(self.scope, doc.get("property_id")):
            return (None, read, 0, False)
        asked = self.predicates
        # An item predicate needs ARI items to ask about; a time window, a timestamp.
        if asked is not None and (
            not asked.notification(doc) or (asked.on_items and not (is_ari and read))
        ):
            return (None, read, 0, False)
        try:
            selection = self.index.match(doc)
        except NotificationError as err:
            raise input_error(err, source, number) from None
        if not selection:
            return (None, read, 0, False)
        raw = line if isinstance(line, bytes) else line.encode()
        if not is_ari or payload is None:
            return (None if self.items else raw, read, 0, True)
        ((_, chosen),) = selection
        if asked is not None and asked.on_items:
            # Narrowed by value as by mask: an item that fails a predicate is not selected.
            chosen = tuple(item for item in chosen if asked.item(item))
            if not chosen:
                return (None, read, 0, False)
        if self.items:
            prop = doc.get("property_id")
            return (
                [dumps({"property_id": prop, **item}) for item in chosen],
                read,
                len(chosen),
                True,
            )
        if len(chosen) == len(payload):
            return (raw, read, len(chosen), True)
        ids = {id(item) for item in chosen}
        keep = [n for n, item in enumerate(payload) if id(item) in ids]
        return (narrow(raw, keep), read, len(chosen), True)


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
    fast: bool = True,
    predicates: Predicates | None = None,
) -> Iterator[bytes]:
    """Yield the JSON of each notification in `lines` that `mask` matches.

    Each output is one line of JSON (bytes, without the newline).  ARI
    payloads are narrowed to the selected items; everything else is kept as
    it came.  With ``items=True`` each selected ARI item is yielded on its
    own, with the notification's ``property_id`` added in front.  A bad line
    raises `InputError`, unless `on_invalid` is given: then it is called and
    the line skipped.  ``fast=False`` sends every line through the general
    path (the two give the same output; the tests compare them).
    `predicates` narrow further by item values and dates and by the
    notification's time (`Predicates`); the fast path asks them of the items
    it decodes, so a line is still decoded once.

    >>> from eventmask import parse
    >>> lines = [b'{"event":"ari","payload":[{"rate":1},{"booked":2}]}', b'{"event":"message"}']
    >>> list(filter_lines(parse("ari:rate:*:*"), lines))
    [b'{"event":"ari","payload":[{"rate":1}]}']
    """
    catalogue = catalogue or mask.catalogue or Catalogue.default()
    asked = predicates if predicates is not None and not predicates.empty else None
    quick = fast_path(mask, property_id, catalogue, asked, items=items) if fast else None
    return filter_with(quick, mask, lines, property_id=property_id, items=items, source=source,
                       catalogue=catalogue, on_invalid=on_invalid, stats=stats,
                       predicates=asked)  # fmt: skip


# size: one generator with its counters in locals: a helper per line would
# add a call to the hottest loop of `eventmask filter` (docs/filter.md, "Speed").
def filter_with(
    quick: Callable[[bytes], Result | None] | None,
    mask: Mask,
    lines: Iterable[bytes | str],
    *,
    property_id: str | None,
    items: bool,
    source: str,
    catalogue: Catalogue,
    on_invalid: Callable[[InputError], None] | None,
    stats: FilterStats | None,
    predicates: Predicates | None,
) -> Iterator[bytes]:
    """`filter_lines` with the fast path `quick` (None: the general path alone).

    The aggregates pass one that sums what it selects instead of yielding it
    (`aggregate_fast`); every line it declines is filtered as usual.

    >>> from eventmask import parse
    >>> list(filter_with(None, parse("booking"), [b'{"event":"booking"}'], property_id=None,
    ...                  items=False, source="-", catalogue=Catalogue.default(),
    ...                  on_invalid=None, stats=None, predicates=None))
    [b'{"event":"booking"}']
    """
    asked = predicates
    general: _General | None = None
    counts = stats if stats is not None else FilterStats()
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
            # The fast path reads the line as it came (a trailing newline is
            # JSON whitespace), sparing a copy of every line; the general
            # path strips it, keeping the left side so that columns stay true.
            result = quick(raw) if quick is not None and raw.__class__ is bytes else None
            if result is None:
                line = raw.rstrip()
                if not line:
                    counts.blank += 1
                    read -= 1
                    continue
                if general is None:
                    general = _General(mask, property_id, items, catalogue, asked)
                try:
                    result = general(line, source, number)
                except InputError as problem:
                    if on_invalid is None:
                        raise
                    counts.invalid += 1
                    on_invalid(problem)
                    continue
            out, in_line, selected, matched = result
            items_read += in_line
            if matched:
                counts.matched += 1
                counts.items_selected += selected
            if isinstance(out, bytes):
                yield out
            elif out is not None:
                yield from out
    finally:
        sync()
