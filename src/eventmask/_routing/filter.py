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

import attrs

from .._catalogue import ARI, Catalogue
from .._envelope import decode_line, input_error
from .._errors import InputError, NotificationError
from .._json import dumps
from .._language.items import AriFilter, EventItem
from .._language.mask import Mask
from .index import Index, chosen_items
from .routes import Route

__all__ = ["FilterStats", "filter_lines"]


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


def _events_wanted(mask: Mask, catalogue: Catalogue) -> frozenset[str] | None:
    """Every `event` spelling the mask can match (None: all of them)."""
    if mask.is_wildcard:
        return None
    names = {i.name for i in mask.items if isinstance(i, EventItem)}
    if any(isinstance(i, AriFilter) for i in mask.items):
        names.add(ARI)
    return catalogue.spellings(names)


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
    catalogue = catalogue or mask.catalogue or Catalogue.default()
    index = Index([Route(mask, _noop, property_id)], catalogue)
    wanted = _events_wanted(mask, catalogue)
    scope = property_id.lower() if property_id else None
    counts = stats if stats is not None else FilterStats()
    resolve = catalogue.resolve
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
            is_ari = resolve(event) == ARI
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
                unusable = input_error(err, source, number)
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
            ((_, choice),) = selection.matches
            chosen = chosen_items(payload, selection, choice)
            counts.items_selected += len(chosen)
            if items:
                prop = doc.get("property_id")
                for item in chosen:
                    yield dumps({"property_id": prop, **item})
            elif len(chosen) == len(payload):
                yield line if isinstance(line, bytes) else line.encode()
            else:
                doc["payload"] = list(chosen)
                yield dumps(doc)
    finally:
        sync()
