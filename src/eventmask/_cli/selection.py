"""What ``filter`` selects from one run of lines, and where its lines go (docs/filter.md).

One process (`streams`) and each process of ``--jobs`` (`parallel`) filter
lines the same way, through `selected`; `LineOutput` writes the lines in
whole lines and blocks, or only counts them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, TextIO

from .._catalogue import Catalogue
from .._errors import InputError
from .._routing.filter import FilterStats, filter_lines, filter_with

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .._routing.filter_fast import FastLine
    from .._routing.predicates import Predicates
    from .summaries import ChangeRows, ItemRows, Summary

__all__ = ["LineOutput", "binary", "selected"]


def binary(stream: TextIO | IO[bytes]) -> IO[bytes]:
    """The bytes under a text stream (flushed first, so that what it holds comes first);
    a binary stream itself."""
    stream.flush()
    return stream.buffer if hasattr(stream, "buffer") else stream


class LineOutput:
    """Selected lines, written in whole lines and in blocks (or only counted).

    >>> import io
    >>> out = io.TextIOWrapper(io.BytesIO())
    >>> lines = LineOutput(out, count_only=True)
    >>> lines.add(b'{"event":"booking"}'); lines.finish()
    >>> out.buffer.getvalue()
    b'1\\n'
    """

    def __init__(
        self, out: TextIO | IO[bytes], count_only: bool, items_of: Mask | None = None
    ) -> None:
        self.sink = binary(out)
        self.count_only = count_only
        self.count = 0
        self.pending: list[bytes] = []
        self.items_of = items_of  # ``--items``: the mask whose items are written or counted

    def fast_path(
        self, property_id: str | None, catalogue: Catalogue, predicates: Predicates | None
    ) -> FastLine | None:
        """For ``--items``, a fast path that hands the items it selects here: written in a
        block a line (`items_fast`), or counted as a table of no columns (`rows_fast`);
        None for notifications, which the filter writes.

        >>> import io
        >>> from eventmask import parse
        >>> out = LineOutput(io.BytesIO(), count_only=False, items_of=parse("ari"))
        >>> quick = out.fast_path(None, Catalogue.default(), None)
        >>> quick(b'{"event":"ari","property_id":"p","payload":[{"rate":1},{"booked":2}]}')
        (None, 2, 2, True)
        >>> out.finish(); out.sink.getvalue()
        b'{"property_id":"p","rate":1}\\n{"property_id":"p","booked":2}\\n'
        """
        if self.items_of is None:
            return None
        if not self.count_only:
            from .._routing.items_fast import item_path

            return item_path(self.items_of, property_id, catalogue, predicates, self._block)
        from .._routing.rows_fast import row_path

        return row_path(self.items_of, property_id, catalogue, predicates, (), self._counted)

    def _counted(self, rows: list[tuple[()]]) -> None:
        self.count += len(rows)

    def _block(self, block: bytes, count: int) -> None:
        """Take a line's selected items, written: `count` lines, each ending in a newline."""
        if block:
            self.add(block[:-1])  # `flush` puts the newline back

    def add(self, line: bytes) -> None:
        """Take one selected line."""
        if self.count_only:
            self.count += 1
            return
        self.pending.append(line)
        if len(self.pending) >= 512:
            self.flush()

    def add_block(self, block: bytes, count: int) -> None:
        """Take `count` selected lines already joined, each ending in a newline."""
        if self.count_only:
            self.count += count
            return
        self.flush()
        self.sink.write(block)

    def add_range(self, fd: int, start: int, length: int) -> None:
        """Write the selected lines that are `length` bytes of the file `fd` from `start`,
        as they are there: copied by the kernel where it can (`add_block` counts them).

        >>> import io, tempfile
        >>> with tempfile.TemporaryFile() as source:
        ...     _ = source.write(b'{"event":"x"}\\n{"event":"y"}\\n'); source.flush()
        ...     out = LineOutput(io.BytesIO(), count_only=False)
        ...     out.add_range(source.fileno(), 14, 14)
        ...     out.sink.getvalue()
        b'{"event":"y"}\\n'
        """
        self.flush()
        try:
            target = self.sink.fileno()
        except (AttributeError, OSError):  # not a file (io.BytesIO)
            target = -1
        while length > 0:
            sent = _sent(fd, target, start, length)
            if sent <= 0:
                part = os.pread(fd, min(length, 1 << 24), start)
                if not part:
                    raise OSError(f"the input file shrank while it was read (at byte {start})")
                self.sink.write(part)
                self.sink.flush()
                sent = len(part)
            start += sent
            length -= sent

    def flush(self) -> None:
        """Write the lines taken so far."""
        if self.pending:
            self.sink.write(b"\n".join(self.pending) + b"\n")
            self.pending.clear()
        self.sink.flush()

    def finish(self) -> None:
        """The input has ended: write the rest (or the count)."""
        self.flush()
        if self.count_only:
            self.sink.write(f"{self.count}\n".encode())
            self.sink.flush()


def _sent(source: int, target: int, at: int, length: int) -> int:
    """Bytes the kernel copied from `source` at `at` to `target` (0: do it yourself)."""
    if target < 0:
        return 0
    try:
        return os.sendfile(target, source, at, min(length, 1 << 30))
    except OSError:  # a target sendfile cannot write to: copied by hand
        return 0


def selected(
    args: argparse.Namespace,
    mask: Mask,
    lines: Iterable[bytes],
    output: LineOutput | Summary | ItemRows | ChangeRows | None,
    predicates: Predicates | None,
    path: str,
    stats: FilterStats,
    on_invalid: Callable[[InputError], None] | None,
) -> Iterator[bytes]:
    """The filter's selected lines, for `output`; an output that reads the fast path's
    items (a table, or a count of items) takes them there, and gets only the lines the
    fast path declines.

    >>> from eventmask import parse
    >>> args = argparse.Namespace(property=None, items=False)
    >>> list(selected(args, parse("booking"), [b'{"event":"booking"}', b'{"event":"ari"}'],
    ...               None, None, "-", FilterStats(), None))
    [b'{"event":"booking"}']
    """
    if output is not None:
        catalogue = mask.catalogue or Catalogue.default()
        asked = predicates if predicates is not None and not predicates.empty else None
        quick = output.fast_path(args.property, catalogue, asked)
        if quick is not None:
            # The lines it declines come as the output reads them: items for a table of
            # items or their count (`--items`), notifications for a summary or the changes.
            return filter_with(quick, mask, lines, property_id=args.property, items=args.items,
                               source=path, catalogue=catalogue, on_invalid=on_invalid,
                               stats=stats, predicates=asked)  # fmt: skip
    return filter_lines(mask, lines, property_id=args.property, items=args.items, source=path,
                        on_invalid=on_invalid, stats=stats, predicates=predicates)  # fmt: skip
