"""``eventmask filter --jobs N``: the same output as one process, byte for byte.

One process is the oracle: every option set is run both ways on a log whose
bad and blank lines fall in many pieces, and the outputs, the reports of
skipped lines and the exit statuses must be equal.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventmask import parse
from eventmask._cli import build_parser, parallel
from eventmask._cli.parallel import SPLIT_AT, plan

from .. import helpers
from ..conftest import ROOT
from ..helpers import EVENTMASK, python_output
from ..procs import children_of

SAMPLE = ROOT / "examples" / "sample.jsonl"
PROPERTY = "76cc0573-08ec-479a-a025-33dc0a68013d"
BAD = (b'{"event": "ari", "payload": [', b'{"event": 7}', b"[1, 2]", b"not json at all")


# The threshold itself (SPLIT_AT, 16 MiB) is tested on `plan`; the runs below cut
# files from 1 MiB, so that their logs stay small and are cut into many pieces.
CUT_FROM = 1 << 20
_UNCUT = "import sys; sys.argv[0] = 'eventmask'; from eventmask._cli import run; run()"
_CUTTING = f"import eventmask._cli.parallel as p; p.SPLIT_AT = {CUT_FROM}; {_UNCUT}"


def run_eventmask(
    *argv: str, stdin: bytes | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``eventmask ARGV`` in a process of its own, cutting files from `CUT_FROM` bytes."""
    return helpers.run_eventmask(*argv, stdin=stdin, timeout=timeout,
                                 command=(sys.executable, "-c", _CUTTING))  # fmt: skip


@pytest.fixture
def cut_from_a_megabyte(monkeypatch: pytest.MonkeyPatch) -> None:
    """`plan` in this process cuts from `CUT_FROM`, as the runs of `run_eventmask` do."""
    monkeypatch.setattr(parallel, "SPLIT_AT", CUT_FROM)


def _numbers_of(stderr: bytes) -> list[int]:
    return [int(n) for n in re.findall(rb"log\.jsonl:(\d+):", stderr)]


def _counts_of(stderr: bytes) -> bytes:
    """The counts of ``--stats`` (lines, matched, items, skipped), without the speeds."""
    found = re.search(rb"read .* invalid lines", stderr)
    assert found is not None, stderr
    return found.group()


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """The sample twice, with blank lines and bad lines scattered: the path, and the
    numbers of the bad lines."""
    rng = random.Random(7)
    lines = SAMPLE.read_bytes().splitlines() * 2
    bad_numbers = []
    out = []
    for line in lines:
        if rng.random() < 0.02:
            out.append(b"   ")
        if rng.random() < 0.03:
            out.append(rng.choice(BAD))
            bad_numbers.append(len(out))
        out.append(line)
    path = tmp_path_factory.mktemp("parallel") / "log.jsonl"
    path.write_bytes(b"\n".join(out))  # no newline after the last line
    assert CUT_FROM < path.stat().st_size < SPLIT_AT
    assert len(bad_numbers) > 20
    return path, bad_numbers


def test_the_runs_here_are_cut_into_several_processes(log: tuple[Path, list[int]]) -> None:
    """Not vacuous: with the threshold lowered, ``--jobs 2`` on the log forks two
    processes, and without it the same log is read by one."""
    counted = (
        "import atexit, os, sys; forks = []; fork = os.fork\n"
        "def counted(): pid = fork(); forks.append(pid); return pid\n"
        "os.fork = counted\n"
        "atexit.register(lambda: sys.stderr.write(f'forks: {len(forks)}'))\n"
    )
    argv = ["filter", "ari", str(log[0]), "--skip-invalid", "--count", "--jobs", "2"]
    for code, forks in ((counted + _CUTTING, b"forks: 2"), (counted + _UNCUT, b"forks: 0")):
        done = helpers.run_eventmask(*argv, command=(sys.executable, "-c", code))
        assert done.stderr.endswith(forks), done.stderr


OPTION_SETS = [
    ("*",),
    ("ari:rate:*:*",),
    ("ari:rate:*:*", "--items"),
    ("ari:stop_sell,closed_to_arrival:*:*", "--property", PROPERTY),
    ("booking_new;booking_cancellation", "--count"),
    ("ari:rate:*:*", "--where", "rate>=250", "--dates", "2026-06-01..2026-06-30"),
    ("ari:rate:*:*", "--count-by", "rate_plan_id,date"),
    ("ari", "--count-by", "property_id,restriction"),
    ("ari:availability:*:*", "--latest", "--format", "csv"),
    ("ari", "--latest", "--until", "2026-03-02T00:00:00Z"),
    ("ari:rate,min_stay_arrival:*:*", "--items", "--format", "csv"),
    ("ari:booked:*:*", "--items", "--format", "tsv", "--fields", "date,booked"),
    ("ari", "--items", "--format", "jsonl", "--fields", "property_id,date,rate"),
    ("ari:rate:*:*", "--items", "--count", "--where", "rate>=250"),
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: " ".join(o))
def test_several_processes_print_what_one_does(
    log: tuple[Path, list[int]], options: tuple[str, ...]
) -> None:
    path, bad = log
    mask, *rest = options
    one = run_eventmask("filter", mask, str(path), "--skip-invalid", *rest)
    assert one.returncode == 0, one.stderr
    assert one.stdout.strip(), "the option set selects something"
    assert _numbers_of(one.stderr) == bad[:20]
    for jobs in ("2", "3"):
        many = run_eventmask("filter", mask, str(path), "--skip-invalid", "--jobs", jobs, *rest)
        assert (many.returncode, many.stderr) == (0, one.stderr)
        assert many.stdout == one.stdout


def test_each_skipped_line_is_numbered_in_the_file(log: tuple[Path, list[int]]) -> None:
    """Every bad line is found, and named by its number in the whole file."""
    path, bad = log
    done = run_eventmask("filter", "*", str(path), "--skip-invalid", "--jobs", "3", "--stats")
    assert done.returncode == 0
    assert _numbers_of(done.stderr) == bad[:20]
    assert f"skipped {len(bad) - 20} more invalid lines".encode() in done.stderr
    assert f"{len(bad)} invalid lines".encode() in done.stderr
    one = run_eventmask("filter", "*", str(path), "--skip-invalid", "--stats")
    assert _counts_of(done.stderr) == _counts_of(one.stderr)


@pytest.mark.parametrize("options", [(), ("--count-by", "restriction"), ("--items",)])
def test_a_bad_line_stops_where_one_process_stops(
    log: tuple[Path, list[int]], options: tuple[str, ...]
) -> None:
    """Without --skip-invalid: what came before the first bad line, then its message."""
    path, bad = log
    one = run_eventmask("filter", "ari:rate:*:*", str(path), *options)
    many = run_eventmask("filter", "ari:rate:*:*", str(path), "--jobs", "2", *options)
    assert one.returncode == many.returncode == 1
    assert many.stderr == one.stderr
    assert _numbers_of(many.stderr) == [bad[0]]
    assert many.stdout == one.stdout


@pytest.mark.parametrize("options", [(), ("--latest",)])
def test_a_bad_line_deep_in_a_process_share_has_its_own_number(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    """A table's process reads many pieces in a row; a bad line in its last ones is
    still named by its number in the file."""
    lines = SAMPLE.read_bytes().splitlines() * 2
    lines.insert(1899, b'{"event": "ari", "payload": [')
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for jobs in ("1", "2"):
        done = run_eventmask("filter", "ari", str(path), "--jobs", jobs, *options)
        assert done.returncode == 1
        assert _numbers_of(done.stderr) == [1900]


def test_stopping_early_never_hangs_or_leaves_a_traceback(log: tuple[Path, list[int]]) -> None:
    """A run stopped by a bad line, again and again: a race between the parent stopping
    the processes and their answers would show as a hang or a traceback in some runs."""
    path, bad = log
    expected = f"eventmask: {path}:{bad[0]}:1: ".encode()
    for attempt in range(24):
        options = ("--latest",) if attempt % 3 == 2 else ()
        mask = "ari" if options else "ari:rate:*:*"
        done = run_eventmask("filter", mask, str(path), "--jobs", "2", *options, timeout=30)
        assert done.returncode == 1
        assert done.stderr.startswith(expected)
        assert done.stderr.count(b"\n") == 1, done.stderr


@pytest.mark.parametrize("into", ["a pipe", "a file", "a file opened to append"])
@pytest.mark.parametrize("mask", ["*", "ari:rate:*:*"])
def test_the_pieces_reach_every_kind_of_output(tmp_path: Path, into: str, mask: str) -> None:
    """`*` on a clean log keeps each piece as it is in the file, which the parent copies
    from there; a narrowing mask's lines come in a memory file from each process.  Both
    are copied by the kernel into a pipe or a file, and by hand where it cannot (a file
    opened to append)."""
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(SAMPLE.read_bytes() * 2)
    if mask == "*":
        expected = clean.read_bytes()
    else:
        expected = run_eventmask("filter", mask, str(clean)).stdout
    assert expected.count(b"\n") > 100
    if into == "a pipe":
        done = run_eventmask("filter", mask, str(clean), "--jobs", "2")
        assert (done.returncode, done.stdout) == (0, expected)
        return
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"before\n" if into == "a file opened to append" else b"")
    with target.open("ab" if into == "a file opened to append" else "wb") as out:
        code = subprocess.run([sys.executable, "-c", _CUTTING, "filter", mask, str(clean),
                               "--jobs", "2"], stdout=out, check=False).returncode  # fmt: skip
    assert code == 0
    before = b"before\n" if into == "a file opened to append" else b""
    assert target.read_bytes() == before + expected


def test_pieces_come_back_in_their_answers_where_no_memory_file_can_be_made(
    log: tuple[Path, list[int]],
) -> None:
    """A kernel or a sandbox without memfd_create: the same output, through the pipe."""
    path, _ = log
    one = run_eventmask("filter", "ari:rate:*:*", str(path), "--skip-invalid")
    refuse = "def _no(*a, **k):\n    raise OSError(38, 'Function not implemented')\n"
    command = (sys.executable, "-c", f"import os\n{refuse}os.memfd_create = _no\n{_CUTTING}")
    several = helpers.run_eventmask("filter", "ari:rate:*:*", str(path), "--skip-invalid",
                                    "--jobs", "2", command=command)  # fmt: skip
    assert (several.returncode, several.stdout, several.stderr) == (
        one.returncode, one.stdout, one.stderr)  # fmt: skip
    assert one.stdout.count(b"\n") > 100


@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_a_clean_piece_is_handed_back_as_its_length_not_its_bytes(tmp_path: Path) -> None:
    """Not vacuous: the piece of a clean log under `*` comes back empty, with its length;
    a piece whose lines change (a blank line dropped) comes back with its bytes."""
    data = b'{"event":"booking"}\n' * 100
    path = tmp_path / "clean.jsonl"
    path.write_bytes(data + b"\n" + data)
    args = build_parser("filter").parse_args(["filter", "*", str(path)])
    with path.open("rb") as raw:
        parallel._job = parallel.Job(args, parse("*"), None, None, str(path), raw.fileno())
        try:
            clean = parallel._filter_piece(((0, len(data)),))
            blank = parallel._filter_piece(((0, len(data) + 1),))
        finally:
            parallel._job = None
    assert (clean.block, clean.as_read) == (b"", len(data))
    assert (blank.block, blank.as_read) == (data, 0)
    # A changed piece's lines leave its answer, to be handed over in memory.
    sent, bulk = parallel._handed_over(blank)
    assert (sent.block, sent.handed, bulk) == (b"", len(data), data)
    assert parallel._handed_over(clean) == (clean, b"")


def test_several_files_come_out_in_their_order(log: tuple[Path, list[int]], tmp_path: Path) -> None:
    """Each file is cut on its own; a small one between two large ones is read whole."""
    path, bad = log
    small = tmp_path / "small.jsonl"
    small.write_bytes(b"\n".join(SAMPLE.read_bytes().splitlines()[:100]) + b"\n")
    files = [str(path), str(small), str(path)]
    one = run_eventmask("filter", "ari:rate:*:*", *files, "--skip-invalid", "--stats")
    many = run_eventmask("filter", "ari:rate:*:*", *files, "--skip-invalid", "--stats",
                         "--jobs", "2")  # fmt: skip
    assert (many.returncode, many.stdout) == (0, one.stdout)
    assert _counts_of(many.stderr) == _counts_of(one.stderr)
    assert f"{2 * len(bad)} invalid lines".encode() in many.stderr


def test_what_cannot_be_cut_is_read_by_one_process(tmp_path: Path) -> None:
    """gzip, one JSON array and standard input give the same output with --jobs."""
    lines = SAMPLE.read_bytes()
    expected = run_eventmask("filter", "ari:rate:*:*", str(SAMPLE)).stdout
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(lines))
    array = tmp_path / "log.json"
    array.write_bytes(b"[" + b",".join(lines.splitlines()) + b"]")
    for source in (str(packed), "-"):
        done = run_eventmask("filter", "ari:rate:*:*", source, "--jobs", "2", stdin=lines)
        assert (done.returncode, done.stdout) == (0, expected)
    done = run_eventmask("filter", "ari:rate:*:*", str(array), "--jobs", "2")
    assert done.returncode == 0
    assert done.stdout.splitlines() == expected.splitlines()
    changes = run_eventmask("filter", "ari:booked:*:*", str(SAMPLE), "--changes")
    many = run_eventmask("filter", "ari:booked:*:*", str(SAMPLE), "--changes", "--jobs", "2")
    assert (many.returncode, many.stdout) == (0, changes.stdout)


def test_the_progress_bar_follows_the_pieces_written(log: tuple[Path, list[int]]) -> None:
    path, _ = log
    done = run_eventmask("filter", "*", str(path), "--skip-invalid", "--jobs", "2", "--progress")
    assert done.returncode == 0
    last = done.stderr.replace(b"\r", b"\n").split(b"log.jsonl: ")[-1]
    assert last.startswith(b"100%")
    assert b"items/s" in last


def test_one_process_imports_nothing_of_several(tmp_path: Path) -> None:
    """A filter of one process starts as before: the pool and the tables stay unloaded."""
    code = (
        "import sys\n"
        "from eventmask._cli import main\n"
        f"main(['filter', 'ari:rate:*:*', {str(SAMPLE)!r}, '--count'])\n"
        "print(sorted(m for m in ('eventmask._cli.forked', 'eventmask._cli.summaries',"
        " 'multiprocessing') if m in sys.modules))"
    )
    assert python_output(code).splitlines()[-1] == "[]"


def test_a_bad_jobs_value_is_a_usage_error() -> None:
    done = run_eventmask("filter", "*", str(SAMPLE), "--jobs", "many")
    assert done.returncode == 2
    assert b"--jobs: expected a number of processes, got 'many'" in done.stderr


def test_jobs_zero_is_one_per_core() -> None:
    one = run_eventmask("filter", "ari:booked:*:*", str(SAMPLE))
    every = run_eventmask("filter", "ari:booked:*:*", str(SAMPLE), "--jobs", "0")
    assert (every.returncode, every.stdout) == (0, one.stdout)


def test_a_closed_pipe_or_ctrl_c_ends_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(SAMPLE.read_bytes() * 40)  # 90 MB: several seconds of work
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {EVENTMASK} filter '*' {big} "
                            "--jobs 2 | head -1"], capture_output=True, timeout=60)  # fmt: skip
    assert (piped.returncode, piped.stderr) == (0, b"")
    assert piped.stdout.count(b"\n") == 1
    started, children = _started_with_its_processes(big)
    started.send_signal(signal.SIGINT)  # as a terminal's Ctrl-C: to the group
    for child in children:
        os.kill(child, signal.SIGINT)
    _, err = started.communicate(timeout=10)
    assert started.returncode == 130
    assert b"Traceback" not in err


def _started_with_its_processes(big: Path) -> tuple[subprocess.Popen[bytes], set[int]]:
    """A ``--jobs 2`` filter of `big` that has forked its processes (seconds of work)."""
    started = subprocess.Popen([EVENTMASK, "filter", "ari", str(big), "--latest", "--jobs", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 20
    while not (children := children_of(started.pid, b"filter")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert children, "the filter forks its processes"
    return started, children


def test_a_process_that_dies_ends_the_run_with_a_message(tmp_path: Path) -> None:
    """A process killed mid-run (by the kernel for memory, say) is status 2, never a hang."""
    big = tmp_path / "big.jsonl"
    big.write_bytes(SAMPLE.read_bytes() * 40)
    started, children = _started_with_its_processes(big)
    os.kill(min(children), signal.SIGKILL)
    _, err = started.communicate(timeout=30)
    assert started.returncode == 2
    assert b"a filter process stopped unexpectedly" in err
    assert b"Traceback" not in err


# -- where the file is cut ---------------------------------------------------------------


@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_cuts_fall_on_line_starts_and_cover_the_file(log: tuple[Path, list[int]]) -> None:
    path, _ = log
    data = path.read_bytes()
    with path.open("rb") as raw:
        cuts = plan(raw, 3, None)
    assert cuts[0] == 0
    assert cuts[-1] == len(data)
    assert cuts == sorted(set(cuts))
    assert len(cuts) > 10
    assert all(data[cut - 1 : cut] == b"\n" for cut in cuts[1:-1])


@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_pieces_shrink_towards_the_end(log: tuple[Path, list[int]]) -> None:
    """Of equal pieces, the last process to finish waited on half a piece on average."""
    path, _ = log
    with path.open("rb") as raw:
        cuts = plan(raw, 2, None)
    sizes = [b - a for a, b in itertools.pairwise(cuts)]
    assert sizes[-2] < sizes[0] / 2
    size = 400 << 20
    wanted = [parallel._piece(size, left << 20, 2) for left in range(400, 0, -1)]
    assert wanted == sorted(wanted, reverse=True)
    assert (wanted[0], wanted[-1]) == (16 << 20, size // 64)


def test_a_piece_reads_as_a_file_of_its_bytes(tmp_path: Path) -> None:
    """Through a small buffer used again for each block, not one read of the piece."""
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"a\nbb\nccc\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        assert list(io.BufferedReader(parallel._Span(fd, 2, 9), 2)) == [b"bb\n", b"ccc\n"]
        # A file that has shrunk since it was cut ends the piece where it ends.
        assert list(io.BufferedReader(parallel._Span(fd, 5, 100), 2)) == [b"ccc\n"]
    finally:
        os.close(fd)


def test_a_piece_kept_whole_is_compared_with_the_file_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "_BLOCK", 3)
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"event":"x"}\n' * 3)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert parallel._same(fd, 14, b'{"event":"x"}\n' * 2)
        assert not parallel._same(fd, 14, b'{"event":"y"}\n' + b'{"event":"x"}\n')
        assert not parallel._same(fd, 14, b'{"event":"x"}\n' * 2 + b"more")  # past the end
    finally:
        os.close(fd)


@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_a_line_longer_than_a_piece_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_line = b'{"event":"ari","payload":[' + b'{"booked":1},' * 300_000 + b'{"booked":2}]}'
    path.write_bytes(b'{"event":"booking"}\n' + long_line + b"\n" + b'{"event":"booking"}\n' * 10)
    with path.open("rb") as raw:
        cuts = plan(raw, 2, None)
    assert cuts[:2] == [0, len(b'{"event":"booking"}\n') + len(long_line) + 1][: len(cuts[:2])]
    done = run_eventmask("filter", "ari:booked:*:*", str(path), "--count", "--items", "--jobs", "2")
    assert (done.returncode, done.stdout) == (0, b"300001\n")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"event":"x"}\n' * 10, "small"),
        (gzip.compress(b'{"event":"x"}\n' * 200_000), "gzip"),
        (b"[" + b'{"event":"x"},' * 200_000 + b'{"event":"x"}]', "array"),
        (b'{\n  "event": "x",\n  "payload": "' + b"y" * CUT_FROM + b'"\n}\n', "one object"),
    ],
)
@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_only_json_lines_files_over_the_threshold_are_cut(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / why
    path.write_bytes(content)
    with path.open("rb") as raw:
        assert plan(raw, 2, None) == []
    with path.open("rb") as raw:
        assert plan(raw, 1, None) == []
        assert plan(io.BytesIO(content), 2, None) == []


@pytest.mark.usefixtures("cut_from_a_megabyte")
def test_a_large_json_lines_file_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"\n\n" + b'{"event":"x"}\n' * 200_000)
    with path.open("rb") as raw:
        cuts = plan(raw, 2, None)
    assert len(cuts) > 2
    assert cuts[-1] == os.path.getsize(path)


def test_files_are_cut_from_sixteen_mebibytes(tmp_path: Path) -> None:
    """Below SPLIT_AT, forking costs more than a second core gives (docs/filter.md)."""
    assert SPLIT_AT == 16 << 20
    line = b'{"event":"x"}\n'
    path = tmp_path / "lines.jsonl"
    path.write_bytes(line * (SPLIT_AT // len(line)))  # one line short of SPLIT_AT
    with path.open("rb") as raw:
        assert plan(raw, 2, None) == []
    with path.open("ab") as out:
        out.write(line)
    with path.open("rb") as raw:
        assert len(plan(raw, 2, None)) > 2
