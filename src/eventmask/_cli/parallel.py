"""``filter --jobs N``: one file filtered by N processes, its output in the file's order.

The file is cut at line boundaries into pieces; each process filters whole
pieces the way one process filters the file (`selection.selected`) and
hands back what it selected, its counts and the lines it skipped, and the
parent writes the pieces in the file's order.  So the output is byte for
byte that of one process, every invalid line is still found, and each is
reported with its own number in the file: a piece numbers its lines from 1,
and the parent adds the lines of the pieces before it.  A table
(``--count-by``, ``--latest``) is summed per piece and the pieces' tables
merged in order, which is exact (`Counter.merge`, `Latest.merge`).

Only what can be cut is cut (`plan`): a regular JSON Lines file of at least
`SPLIT_AT` bytes, on Linux (the processes are forked, so they start in
milliseconds with the mask already parsed).  Anything else is read by one
process, as is ``--changes``, which needs each cell's value before a change.
docs/filter.md, "Several cores".
"""

from __future__ import annotations

import argparse
import io
import itertools
import operator
import os
import stat
import sys
from collections import deque
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from .._errors import InputError
from .._routing.filter import FilterStats
from .._routing.inputs import GZIP_MAGIC, may_be_one_document
from .selection import LineOutput, selected

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .._routing.predicates import Predicates
    from .summaries import ChangeRows, ItemRows, Summary, Tables

__all__ = ["SPLIT_AT", "Job", "plan", "run"]

# Below this a file is read by one process.  Measured on the project's 2-core
# machine, --jobs 2 costs about 35 ms (multiprocessing's imports and the forks),
# so it was slower than one process below about 9 MB for a broad mask and 18 MB
# for `*` or an event mask, and gained or broke even from 18 MB on every mask
# measured (docs/filter.md, "Several cores").
SPLIT_AT: Final = 16 << 20
# A piece is at most 16 MiB (`_piece`): the pieces in flight (three per process,
# `Forked.limit`) bound the parent's memory, whatever the file's size.
_SMALLEST: Final = 64 << 10
_LARGEST: Final = 16 << 20
# How far the first line is looked at to tell JSON Lines from one document.
_HEAD: Final = 1 << 20


@attrs.frozen
class Job:
    """What every process of one ``filter --jobs`` run filters with (forked to them)."""

    args: argparse.Namespace
    mask: Mask
    predicates: Predicates | None
    summary: Summary | ItemRows | ChangeRows | None  # never ChangeRows: `plan` declines it
    path: str
    fd: int


@attrs.frozen
class _Piece:
    """What one process gives back for one piece of the file."""

    block: bytes  # the selected lines (or rows) in order, each ending in a newline
    selected: int  # with --count: how many lines were selected
    lines: int  # the piece's lines, which number the next piece's
    skipped: list[InputError]  # the invalid lines skipped, numbered in the piece
    failure: InputError | None  # the invalid line that stopped the piece
    stats: FilterStats  # the piece's counts
    tables: Tables | None  # the summary's tables, to merge
    # When the selected lines are the piece's bytes exactly (`*` on a clean log),
    # `block` is empty and this is their length: the parent copies them from the
    # file.  Sending them through the pipe cost more than filtering them: on a
    # 401 MB log `*` took 1.67 s with --jobs 2 against 1.40 s in one process.
    as_read: int = 0
    # Otherwise the selected lines follow in a file in memory (`Forked`), and this
    # is their length: the parent copies them to its output unread.  Unpickling
    # and writing them was the parent's work (0.3 s of CPU for 122 MB selected
    # from 401 MB), done while both cores filter (docs/filter.md).
    handed: int = 0
    rows: bool = False  # `block` holds --items rows, which the parent writes as text


def plan(raw: IO[bytes], jobs: int, summary: Summary | ItemRows | ChangeRows | None) -> list[int]:
    """Where to cut the file `raw` for `jobs` processes: the offsets where pieces start,
    then its size; an empty list when it is read by one process.

    >>> plan(io.BytesIO(b'{"event":"x"}\\n'), 2, None)
    []
    """
    if jobs < 2 or not sys.platform.startswith("linux"):
        return []
    from .summaries import ChangeRows  # only a run of several processes pays for it

    if isinstance(summary, ChangeRows):
        return []
    try:
        fd = raw.fileno()
        info = os.fstat(fd)
    except (OSError, io.UnsupportedOperation):
        return []
    size = info.st_size
    if not stat.S_ISREG(info.st_mode) or size < SPLIT_AT or not _json_lines(fd):
        return []
    return _cuts(fd, size, jobs)


def _json_lines(fd: int) -> bool:
    """Whether the file reads as JSON Lines, and is not gzip (`inputs.read_notifications`'
    rule, on the first non-blank line)."""
    head = os.pread(fd, _HEAD, 0)
    if head[:2] == GZIP_MAGIC:
        return False
    for line in io.BytesIO(head):
        if line.strip():
            # A first line longer than the look is read by one process too.
            return line.endswith(b"\n") and not may_be_one_document(line)
    return False


def _cuts(fd: int, size: int, jobs: int) -> list[int]:
    """Offsets of line starts, from 0, then `size`: pieces of `_piece` bytes."""
    cuts = [0]
    at = 0
    while True:
        at += _piece(size, size - at, jobs)
        if at >= size:
            break
        start = _next_line(fd, at, size)
        if start >= size:
            break
        cuts.append(start)
        at = start
    cuts.append(size)
    return cuts


def _piece(size: int, left: int, jobs: int) -> int:
    """The size of the next piece of a file of `size` bytes, `left` of them still to cut.

    A quarter of a process's share of what is left, so that the pieces shrink
    towards the end and the processes finish together (of equal pieces, the
    last process to finish waited on half a piece on average), but at least
    1/32 of a share and `_SMALLEST`, since every piece costs a hand-over, and
    at most `_LARGEST`.

    >>> [_piece(400 << 20, left << 20, 2) >> 10 for left in (400, 64, 1)]  # KiB
    [16384, 8192, 6400]
    """
    return min(_LARGEST, max(_SMALLEST, size // (jobs * 32), left // (jobs * 4)))


def _next_line(fd: int, at: int, size: int) -> int:
    """The first offset at or after `at` where a line starts (`size`: none does)."""
    probe = at - 1  # `at` starts a line when the byte before it ends one
    while probe < size:
        block = os.pread(fd, 1 << 16, probe)
        if not block:
            return size
        newline = block.find(b"\n")
        if newline >= 0:
            return probe + newline + 1
        probe += len(block)
    return size


# The job of this process: set by the parent before it forks its processes.
_job: Job | None = None


def _filter_piece(spans: tuple[tuple[int, int], ...]) -> _Piece:
    """Filter the byte ranges `spans` of the job's file, one after the other (in a process
    of the pool): the lines are numbered from the first range's first line."""
    job = _job
    assert job is not None, "a piece is filtered only in a process forked with a job"
    from .summaries import ItemRows, Summary

    text, block = io.StringIO(), io.BytesIO()
    summary: Summary | ItemRows | None = None
    if isinstance(job.summary, ItemRows):
        summary = job.summary.twin(text)
    elif isinstance(job.summary, Summary):
        summary = job.summary.twin()
    items_of = job.mask if job.args.items else None
    sink = LineOutput(block, job.args.count, items_of) if summary is None else summary
    stats = FilterStats()
    skipped: list[InputError] = []
    failure: InputError | None = None
    numbered = 0  # the lines of the ranges before this one

    def skip(problem: InputError) -> None:
        problem.line += numbered
        skipped.append(problem)

    for start, end in spans:
        # The lines as a file gives them (ending at b"\n" only), counted as they pass.
        counted = itertools.count()
        reader = io.BufferedReader(_Span(job.fd, start, end), _BLOCK)
        lines = map(_first, zip(reader, counted, strict=False))  # `counted` never ends
        try:
            for line in selected(job.args, job.mask, lines, sink, job.predicates, job.path,
                                 stats, skip if job.args.skip_invalid else None):  # fmt: skip
                sink.add(line)
        except InputError as exc:
            exc.line += numbered
            failure = exc
            break
        # zip asks `counted` only after the reader gave a line: this is their number.
        numbered += next(counted)
    if isinstance(sink, LineOutput):
        sink.flush()  # not `finish`: the parent writes the count of every piece
        out = block.getvalue()
        start, end = spans[0]
        if out and len(spans) == 1 and len(out) == end - start and _same(job.fd, start, out):
            return _Piece(b"", sink.count, numbered, skipped, failure, stats, None, len(out))
        return _Piece(out, sink.count, numbered, skipped, failure, stats, None)
    if isinstance(sink, ItemRows):
        sink.finish()
        rows = text.getvalue().encode()
        return _Piece(rows, 0, numbered, skipped, failure, stats, None, rows=True)
    return _Piece(b"", 0, numbered, skipped, failure, stats, sink.tables())


def _handed_over(piece: _Piece) -> tuple[_Piece, bytes]:
    """In a process: the piece without its selected lines, which `Forked` hands over in
    a file in memory (rows, which the parent writes as text, stay in it)."""
    if piece.rows or not piece.block:
        return piece, b""
    return attrs.evolve(piece, block=b"", handed=len(piece.block)), piece.block


def _tasks(cuts: list[int], jobs: int, tables: bool) -> deque[tuple[tuple[int, int], ...]]:
    """The ranges each task of the pool filters, in the file's order.

    Lines and rows are handed back piece by piece, so that the parent writes
    them as they come and holds only the pieces in flight.  A table hands
    back one record per group whatever it read, and merging costs as much
    as summing (20,480 cells of `--latest` per task on the benchmark's log),
    so its pieces go in one run per process, a process's share of the bytes
    each (the pieces shrink towards the end: `_piece`), as many merges as
    processes.

    >>> runs = _tasks([0, 50, 60, 70, 80, 90, 100], 2, True)
    >>> [[end - start for start, end in run] for run in runs]
    [[50], [10, 10, 10, 10, 10]]
    """
    spans = list(itertools.pairwise(cuts))
    if not tables:
        return deque((span,) for span in spans)
    runs: list[list[tuple[int, int]]] = [[] for _ in range(jobs)]
    for start, end in spans:
        runs[min(jobs - 1, start * jobs // cuts[-1])].append((start, end))
    return deque(tuple(run) for run in runs if run)


# A piece is read through a buffer of this size, used again for every block.  Read
# whole into a fresh bytes object, a 16 MiB piece cost its pages faulted in anew:
# 0.15-0.19 s of each process's 0.6 s on `ari:rate:*:*` over 401 MB.
_BLOCK: Final = 1 << 20
_first = operator.itemgetter(0)


class _Span(io.RawIOBase):
    """Bytes `start` to `end` of `fd` as a file, read with `pread` (the forked processes
    share the descriptor's offset, so none of them moves it)."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        super().__init__()
        self._fd, self._at, self._end = fd, start, end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Read into `buffer` (0 at the span's end, or where the file has since shrunk)."""
        wanted = min(len(buffer), self._end - self._at)
        if wanted <= 0:
            return 0
        got = os.preadv(self._fd, [memoryview(buffer)[:wanted]], self._at)
        self._at += got
        return got


def _same(fd: int, start: int, data: bytes) -> bool:
    """Whether `data` is what `fd` holds from `start`, compared a block at a time (a whole
    piece read at once would cost its pages faulted in again)."""
    at = 0
    while at < len(data):
        block = os.pread(fd, min(_BLOCK, len(data) - at), start + at)
        if not block or not data.startswith(block, at):
            return False
        at += len(block)
    return True


def run(
    job: Job,
    cuts: list[int],
    jobs: int,
    output: LineOutput | Summary | ItemRows | ChangeRows,
    stats: FilterStats,
    invalid: Callable[[InputError], None],
    progress: Callable[[], Callable[[int], None] | None],
) -> None:
    """Filter the pieces between `cuts` in `jobs` processes into `output`, in order.

    `invalid` hears each skipped line, numbered in the file; an invalid line
    that stops the run is raised as `InputError` after the output before it
    is written, as one process would.  A process that dies is `ProcessDied`
    (an `OSError`).  `progress` is called once the processes have started
    and may return a callable that hears the bytes done so far.
    """
    from .forked import Forked
    from .summaries import ItemRows, Summary

    global _job
    _job = job  # read by the processes, which are forked with it
    try:
        with Forked(_filter_piece, jobs, split=_handed_over) as pool:
            tasks = _tasks(cuts, jobs, isinstance(output, Summary))
            ends: deque[tuple[int, int]] = deque()  # where each piece in flight starts, ends

            def refill() -> None:
                while tasks and pool.room:
                    task = tasks.popleft()
                    pool.submit(task)
                    ends.append((task[0][0], task[-1][1]))

            refill()
            tick = progress()
            if isinstance(output, ItemRows):
                output.flush()  # the header, once, before the pieces' rows
            numbered = 0  # lines before the piece being written
            while ends:
                piece = pool.next(refill)
                start, end = ends.popleft()
                refill()
                if piece.as_read and isinstance(output, LineOutput):
                    output.add_range(job.fd, start, piece.as_read)  # then `_write` counts
                if piece.handed and isinstance(output, LineOutput):
                    if isinstance(pool.bulk, bytes):
                        output.add_block(pool.bulk, 0)
                    else:
                        output.add_range(pool.bulk, 0, piece.handed)
                _write(piece, numbered, output, stats, invalid)
                numbered += piece.lines
                if tick is not None:
                    tick(end)
    finally:
        _job = None


def _write(
    piece: _Piece,
    numbered: int,
    output: LineOutput | Summary | ItemRows | ChangeRows,
    stats: FilterStats,
    invalid: Callable[[InputError], None],
) -> None:
    """Write one piece, the `numbered` lines before it written already."""
    from .summaries import ItemRows, Summary

    for problem in piece.skipped:
        problem.line += numbered
        invalid(problem)
    stats.add(piece.stats)
    if isinstance(output, Summary):
        if piece.tables is not None:
            output.merge(piece.tables)
    elif isinstance(output, ItemRows):
        output.out.write(piece.block.decode())
    elif isinstance(output, LineOutput):
        output.add_block(piece.block, piece.selected)
    if piece.failure is not None:
        piece.failure.line += numbered
        raise piece.failure
