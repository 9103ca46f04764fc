"""The filter's tables: what it selects summed up, or printed as rows, instead of as lines.

``--count-by`` and ``--latest`` (`Summary`) keep one record per group
(docs/filter.md, "Counting and the latest state"); ``--changes``
(`ChangeRows`) and ``--items --format`` (`ItemRows`) stream their rows
(docs/filter.md, "Tables").  Each takes the lines the filter selects (the
`_Output` interface: ``add``, ``flush``, ``finish``) and, where the mask
fits, the fast path's typed items directly (``fast_path``), so that a
selected line is not written and read again.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from .._catalogue import DEFAULT_RESTRICTIONS
from .._json import dumps_lines, loads
from .._routing.aggregate import (
    CELL,
    CHANGED,
    LATEST,
    Changes,
    Counter,
    Latest,
    asked_restrictions,
    changes,
    fields_of,
)
from .cells import ITEM_IDS, row_objects, row_texts
from .tables import write_cells, write_records, write_rows

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .._catalogue import Catalogue
    from .._language.mask import Mask
    from .._routing.aggregate import Change
    from .._routing.aggregate_fast import SummingLine
    from .._routing.predicates import Predicates
    from .._routing.rows_fast import RowLine

__all__ = ["ChangeRows", "ItemRows", "Summary", "Tables", "item_columns"]

# What a summary holds: the counter's groups and the latest cells (None: not asked).
Tables: TypeAlias = "tuple[dict[tuple[Any, ...], Any] | None, dict[tuple[Any, ...], Change] | None]"

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
        self.mask = mask
        self.asked = (count_by, latest)
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
        pending, self.pending = self.pending, []
        self.take(list(changes(pending, self.wanted, valued=self.counter is not None)))

    def take(self, found: list[Change]) -> None:
        """Sum up changes the fast path read, after the lines taken before them (the
        log's order breaks ties)."""
        if self.pending:
            self.flush()
        if self.counter is not None:
            self.counter.add_all(found)
        if self.latest is not None:
            self.latest.add_all(found)

    def fast_path(
        self, property_id: str | None, catalogue: Catalogue, predicates: Predicates | None
    ) -> SummingLine | None:
        """A fast path that sums what it selects into this summary, or None where the
        mask does not fit one.  Where the order of an item's keys could show (a group of
        several restrictions, whose ``last`` is the item's last key; every restriction),
        it reads the keys in their order."""
        from .._routing.aggregate_fast import summing_path

        wanted = self.wanted
        in_order = wanted is None or (
            self.counter is not None and len(wanted) > 1 and "restriction" not in self.fields
        )
        return summing_path(self.mask, property_id, catalogue, predicates, self.take,
                            valued=self.counter is not None, in_order=in_order)  # fmt: skip

    def twin(self) -> Summary:
        """An empty summary asked the same: one per piece of ``--jobs``.

        >>> from eventmask import parse
        >>> Summary(parse("ari:rate:*:*"), "date", False, "csv").twin().fields
        ('date',)
        """
        return Summary(self.mask, *self.asked, self.fmt)

    def tables(self) -> Tables:
        """What this summary holds, to be merged into another (`merge`)."""
        self.flush()
        return (None if self.counter is None else self.counter.groups,
                None if self.latest is None else self.latest.cells)  # fmt: skip

    def merge(self, later: Tables) -> None:
        """Add what a twin summed from the lines after this one's (`tables`).

        >>> from eventmask import parse
        >>> first = Summary(parse("ari:rate:*:*"), "restriction", False, "tsv")
        >>> second = first.twin()
        >>> second.add(b'{"event":"ari","payload":[{"date":"2026-06-01","rate":"1.50"}]}')
        >>> first.merge(second.tables()); first.counter.rows()[0]["count"]
        1
        """
        self.flush()
        groups, cells = later
        if self.counter is not None and groups is not None:
            self.counter.merge(groups)
        if self.latest is not None and cells is not None:
            self.latest.merge(cells)

    def finish(self) -> None:
        """The input has ended."""
        self.flush()

    def write(self, out: TextIO) -> None:
        """Print the table(s): the counts, then the latest state when both were asked."""
        if self.counter is not None:
            columns = [*self.fields, "count", "min", "max", "last"]
            write_rows(self.counter.rows(), columns, self.fmt, out)
        if self.latest is not None:
            write_records(self.latest.records(), LATEST, self.fmt, out)


def item_columns(mask: Mask, fields: str | None) -> tuple[str, ...]:
    """The columns of ``--items --format``: `fields`, else the ids and the mask's restrictions.

    >>> from eventmask import parse
    >>> item_columns(parse("ari:rate,stop_sell:*:*"), None)
    ('property_id', 'date', 'room_type_id', 'rate_plan_id', 'rate', 'stop_sell')
    """
    if fields is None:
        wanted = asked_restrictions(mask)
        names = [r for r in DEFAULT_RESTRICTIONS if wanted is None or r in wanted]
        return (*ITEM_IDS, *names)
    return fields_of(fields, (*ITEM_IDS, *DEFAULT_RESTRICTIONS))


class _Streamed(abc.ABC):
    """A table written in blocks as the filter's lines come: the header once, then rows.

    The filter calls ``add`` per line, ``flush`` before it reports an error,
    ``finish`` at the end; a subclass says what a block is (`flush`).
    """

    columns: tuple[str, ...]

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.fmt = fmt
        self.out = out
        self.header = True

    @abc.abstractmethod
    def add(self, line: bytes) -> None:
        """Take one selected line."""

    @abc.abstractmethod
    def flush(self) -> None:
        """Write the rows of the lines taken so far."""

    def finish(self) -> None:
        """The input has ended."""
        self.flush()

    def write(self, out: TextIO) -> None:
        """Nothing more: the rows were written as they came."""
        del out


class ItemRows(_Streamed):
    """``--items --format``: each selected item as a row of `columns`, values as Channex
    means them (a rate a decimal whichever form it came in), written in blocks.

    >>> import io
    >>> from eventmask import parse
    >>> out = io.StringIO()
    >>> rows = ItemRows(parse("ari:rate:*:*"), ("date", "rate"), "csv", out)
    >>> rows.add(b'{"property_id":"p","date":"2026-06-01","rate":24833}'); rows.finish()
    >>> out.getvalue()
    'date,rate\\r\\n2026-06-01,248.33\\r\\n'
    """

    def __init__(self, mask: Mask, columns: tuple[str, ...], fmt: str, out: TextIO) -> None:
        super().__init__(fmt, out)
        self.mask = mask
        self.columns = columns
        self.values: list[tuple[Any, ...]] = []  # each item's values, in the columns' order
        self.objects = row_objects(columns) if fmt == "jsonl" else None
        self.texts = row_texts(columns) if fmt != "jsonl" else None

    def twin(self, out: TextIO) -> ItemRows:
        """Rows asked the same, written to `out` without a header: one per piece of
        ``--jobs``, whose rows follow this one's header."""
        twin = ItemRows(self.mask, self.columns, self.fmt, out)
        twin.header = False
        return twin

    def fast_path(
        self, property_id: str | None, catalogue: Catalogue, predicates: Predicates | None
    ) -> RowLine | None:
        """A fast path that hands the rows of the items it selects to this table (`take`),
        or None where the mask does not fit one."""
        from .._routing.rows_fast import row_path

        return row_path(self.mask, property_id, catalogue, predicates, self.columns, self.take)

    def add(self, line: bytes) -> None:
        """Take one selected item (JSON, with its notification's ``property_id``)."""
        item = loads(line)
        self.values.append(tuple([item.get(column) for column in self.columns]))
        if len(self.values) >= _BATCH:
            self.flush()

    def take(self, values: list[tuple[Any, ...]]) -> None:
        """Take the rows of values the fast path read, after the items taken before them."""
        self.values += values
        if len(self.values) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the rows taken so far."""
        values, self.values = self.values, []
        if values or self.header:
            if self.objects is not None:
                self.out.write(dumps_lines(self.objects(values)))
            elif self.texts is not None:
                write_cells(self.texts(values), self.columns, self.fmt, self.out,
                            header=self.header)  # fmt: skip
            self.header = False
        self.out.flush()


class ChangeRows(_Streamed):
    """``filter --changes``: each change of a cell's value as a row, streamed as it is found.

    >>> import io
    >>> from eventmask import parse
    >>> out = io.StringIO()
    >>> rows = ChangeRows(parse("ari:booked:*:*"), (), "tsv", out)
    >>> rows.add(b'{"event":"ari","payload":[{"date":"2026-06-01","booked":1}]}'); rows.finish()
    >>> out.getvalue().splitlines()[1]
    '\\t\\t\\t2026-06-01\\tbooked\\t\\t1\\t\\t'
    """

    columns = CHANGED

    def __init__(self, mask: Mask, ignore_users: tuple[str, ...], fmt: str, out: TextIO) -> None:
        super().__init__(fmt, out)
        self.mask = mask
        self.wanted = asked_restrictions(mask)
        self.seen = Changes(ignore_users)
        self.pending: list[bytes] = []  # notifications not read yet
        self.rows: list[tuple[Any, ...]] = []  # rows not written yet (`CHANGED`)

    def fast_path(
        self, property_id: str | None, catalogue: Catalogue, predicates: Predicates | None
    ) -> SummingLine | None:
        """A fast path that hands the changes of the items it selects to this table
        (`take`), or None where the mask does not fit one.  The rows of an item's
        changes come in its keys' order: of several restrictions (or every one), the
        fast path reads them in it."""
        from .._routing.aggregate_fast import summing_path

        in_order = self.wanted is None or len(self.wanted) > 1
        return summing_path(self.mask, property_id, catalogue, predicates, self.take,
                            in_order=in_order)  # fmt: skip

    def add(self, line: bytes) -> None:
        """Take one selected notification."""
        self.pending.append(line)
        if len(self.pending) >= _BATCH:
            self.flush()

    def take(self, found: list[Change]) -> None:
        """Take the changes the fast path read, after the notifications taken before them."""
        self._read()
        self._rows_of(found)
        if len(self.rows) >= _BATCH:
            self.flush()

    def _read(self) -> None:
        if self.pending:
            lines, self.pending = self.pending, []
            self._rows_of(changes(lines, self.wanted))

    def _rows_of(self, found: Iterable[Change]) -> None:
        add = self.seen.add
        self.rows += [row for c in found for row in add(c)]

    def flush(self) -> None:
        """Write the changes the notifications taken so far make, in order."""
        self._read()
        rows, self.rows = self.rows, []
        if rows or self.header:
            write_records(rows, self.columns, self.fmt, self.out, header=self.header)
            self.header = False
        self.out.flush()
