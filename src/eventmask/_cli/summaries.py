"""``filter --count-by`` and ``--latest``: the filter's output summed up instead of printed.

It takes the narrowed lines the filter selects (the `_Output` interface:
``add``, ``flush``, ``finish``) and keeps one record per group
(docs/filter.md, "Counting and the latest state").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from .._routing.aggregate import CELL, Counter, Latest, asked_restrictions, changes, fields_of
from .tables import write_rows

if TYPE_CHECKING:
    from .._language.mask import Mask

__all__ = ["Summary"]

# A flush point: lines are decoded in batches of this many.
_BATCH = 512


class Summary:
    """Counts per group (`count_by`) or the latest value per cell (`latest`), written once.

    >>> import io
    >>> from eventmask import parse
    >>> s = Summary(parse("ari:rate:*:*"), "restriction", False, "tsv")
    >>> s.add(b'{"event":"ari","payload":[{"date":"2026-06-01","rate":"1.50"}]}')
    >>> out = io.StringIO(); s.finish(); s.write(out); print(out.getvalue(), end="")
    restriction	count	min	max	last
    rate	1	1.50	1.50	1.50
    """

    def __init__(self, mask: Mask, count_by: str | None, latest: bool, fmt: str) -> None:
        self.wanted = asked_restrictions(mask)
        self.fields = fields_of(count_by) if count_by is not None else CELL
        self.counter = Counter(self.fields) if count_by is not None else None
        self.latest = Latest() if latest or count_by is None else None
        self.fmt = fmt
        self.pending: list[bytes] = []

    def add(self, line: bytes) -> None:
        """Take one selected notification."""
        self.pending.append(line)
        if len(self.pending) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Sum up the lines taken so far."""
        for change in changes(self.pending, self.wanted):
            if self.counter is not None:
                self.counter.add(change)
            if self.latest is not None:
                self.latest.add(change)
        self.pending.clear()

    def finish(self) -> None:
        """The input has ended."""
        self.flush()

    def write(self, out: TextIO) -> None:
        """Print the table(s): the counts, then the latest state when both were asked."""
        if self.counter is not None:
            columns = [*self.fields, "count", "min", "max", "last"]
            write_rows(self.counter.rows(), columns, self.fmt, out)
        if self.latest is not None:
            write_rows(self.latest.rows(), [*CELL, "value", "timestamp", "user_id"], self.fmt, out)
