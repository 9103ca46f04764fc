"""Tests of `eventmask filter`, `eventmask explain` and `filter_lines`, with jq as the oracle."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest

from eventmask import AriFilter, EventItem, InputError, Mask, filter_lines, parse

from ..conftest import ROOT
from ..helpers import EVENTMASK, dumps, loads, python_output, run_eventmask


def _make_stream() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_stream", ROOT / "examples" / "make_stream.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated stream of 600 notifications with a few properties."""
    path = tmp_path_factory.mktemp("stream") / "stream.jsonl"
    docs = _make_stream().generate(600, seed=11, properties=4)
    path.write_bytes(b"".join(dumps(d) + b"\n" for d in docs))
    return path


run = run_eventmask


# -- jq as the outside oracle --------------------------------------------------------------


def _jq_ids(field: str, ids: frozenset[str] | None) -> str:
    if ids is None:
        return "true"
    listed = json.dumps(sorted(ids))
    return (
        f'((.{field} | if type == "string" then ascii_downcase else null end) as $v'
        f" | {listed} | any(. == $v))"
    )


def jq_program(mask: Mask, property_id: str | None = None) -> str:
    """The jq filter equivalent to `eventmask filter` for `mask`."""
    whole = []  # conditions under which a notification passes unchanged
    item_conditions = []
    for item in mask.items:
        if isinstance(item, EventItem):
            whole.append(f".event == {json.dumps(item.name)}")
        elif isinstance(item, AriFilter) and item.is_all:
            whole.append('.event == "ari"')
        elif isinstance(item, AriFilter):
            keys = (
                "true"
                if item.restrictions is None
                else "("
                + " or ".join(f"has({json.dumps(k)})" for k in sorted(item.restrictions))
                + ")"
            )
            rooms = _jq_ids("room_type_id", item.room_type_ids)
            rates = _jq_ids("rate_plan_id", item.rate_plan_ids)
            item_conditions.append(f"({keys} and {rooms} and {rates})")
        else:
            whole.append("true")
    program = f"if ({' or '.join(whole) or 'false'}) then ."
    if item_conditions:
        selected = " or ".join(item_conditions)
        program += (
            ' elif .event == "ari" then (if .payload == null then . else'
            f" (.payload |= map(select({selected}))) | select(.payload | length > 0) end)"
        )
    program += " else empty end"
    if property_id is not None:
        scope = json.dumps(property_id.lower())
        program = f"select((.property_id | ascii_downcase) == {scope}) | {program}"
    return program


def _properties(path: Path) -> list[str]:
    return sorted({loads(line)["property_id"] for line in path.read_bytes().splitlines()})


def _ids(path: Path, field: str) -> list[str]:
    found = set()
    for line in path.read_bytes().splitlines():
        doc = loads(line)
        if doc["event"] == "ari":
            found |= {i[field] for i in doc.get("payload") or () if i.get(field)}
    return sorted(found)


@pytest.mark.parametrize(
    "make_mask",
    [
        lambda s: "ari:rate:*:*",
        lambda s: "ari:availability,stop_sell:*:*",
        lambda s: f"ari:*:{_ids(s, 'room_type_id')[0].upper()}:*",
        lambda s: f"booking_new;booking_cancellation;ari:min_stay:*:{_ids(s, 'rate_plan_id')[1]}",
        lambda s: "booking;message",
        lambda s: "ari",
        lambda s: "*",
    ],
)
def test_output_equals_jq(stream: Path, make_mask: Any) -> None:
    """For masks jq can express, eventmask filter prints exactly what jq -c prints."""
    jq = shutil.which("jq")
    assert jq is not None, "jq is required (scripts/setup.sh installs it)"
    text = make_mask(stream)
    mask = parse(text)
    expected = subprocess.run(
        [jq, "-c", jq_program(mask)], stdin=stream.open("rb"), capture_output=True, check=True
    ).stdout
    done = run("filter", text, str(stream))
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
    assert expected  # the stream exercises the mask


def test_property_scope_equals_jq(stream: Path) -> None:
    """--property narrows exactly as a jq property selection does."""
    jq = shutil.which("jq")
    assert jq is not None
    prop = _properties(stream)[1]
    mask = parse("ari:rate:*:*;booking")
    expected = subprocess.run(
        [jq, "-c", jq_program(mask, prop)], stdin=stream.open("rb"), capture_output=True, check=True
    ).stdout
    done = run("filter", str(mask), str(stream), "--property", prop.upper())
    assert done.stdout == expected
    assert expected


# -- options -----------------------------------------------------------------------------


def test_items_mode(stream: Path) -> None:
    """--items prints each selected ARI item on its own line, property_id first."""
    done = run("filter", "ari:rate:*:*", str(stream), "--items")
    lines = [loads(x) for x in done.stdout.splitlines()]
    assert lines
    assert all(next(iter(x)) == "property_id" and "rate" in x for x in lines)
    narrowed = [loads(x) for x in run("filter", "ari:rate:*:*", str(stream)).stdout.splitlines()]
    expected = [
        {"property_id": d["property_id"], **i} for d in narrowed for i in d.get("payload") or ()
    ]
    assert lines == expected


def test_count_and_stats(stream: Path) -> None:
    """--count prints only the number; --stats reports counts and throughput on stderr."""
    done = run("filter", "booking", str(stream), "--count", "--stats")
    expected = sum(1 for x in stream.read_bytes().splitlines() if loads(x)["event"] == "booking")
    assert done.stdout == f"{expected}\n".encode()
    assert b"read 600 lines" in done.stderr
    assert f"matched {expected:,}".encode() in done.stderr
    assert b"lines/s" in done.stderr


def test_lenient_mask(stream: Path) -> None:
    """--lenient accepts a mask strict mode refuses, with the same result as its repair."""
    assert run("filter", "Booking; message", str(stream)).returncode == 2
    lenient = run("filter", "Booking; message", str(stream), "--lenient")
    assert lenient.returncode == 0
    assert lenient.stdout == run("filter", "booking;message", str(stream)).stdout


def test_stdin_multiple_files_gzip_and_arrays(stream: Path, tmp_path: Path) -> None:
    """stdin ('-' or no file), several files, .gz and a JSON array file all read the same."""
    single = run("filter", "ari:rate:*:*", str(stream)).stdout
    assert run("filter", "ari:rate:*:*", stdin=stream.read_bytes()).stdout == single
    assert run("filter", "ari:rate:*:*", "-", stdin=stream.read_bytes()).stdout == single
    packed = tmp_path / "stream.jsonl.gz"
    packed.write_bytes(gzip.compress(stream.read_bytes()))
    assert run("filter", "ari:rate:*:*", str(packed)).stdout == single
    assert run("filter", "ari:rate:*:*", str(stream), str(packed)).stdout == single * 2
    array = tmp_path / "array.json"
    docs = [loads(x) for x in stream.read_bytes().splitlines()]
    array.write_bytes(msgspec.json.format(dumps(docs), indent=2))
    assert run("filter", "ari:rate:*:*", str(array)).stdout == single
    one = tmp_path / "one.json"
    one.write_bytes(msgspec.json.format(dumps(docs[0]), indent=2))
    out = run("filter", "*", str(one)).stdout
    assert [loads(x) for x in out.splitlines()] == [docs[0]]


def test_progress_bar(stream: Path) -> None:
    """--progress draws a bar with bytes and items/s on stderr; output is unchanged."""
    done = run("filter", "ari:rate:*:*", str(stream), "--progress")
    assert done.stdout == run("filter", "ari:rate:*:*", str(stream)).stdout
    assert b"items/s" in done.stderr
    assert b"stream.jsonl" in done.stderr
    assert run("filter", "ari:rate:*:*", str(stream), "--no-progress").stderr == b""


# -- malformed input ---------------------------------------------------------------------


def _lines(*docs: Any) -> bytes:
    return b"".join((d if isinstance(d, bytes) else dumps(d)) + b"\n" for d in docs)


GOOD = {"event": "booking", "property_id": "p", "payload": {"revision_id": "r"}}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b'{"event": "booking", oops}', b"x.jsonl:2:22: invalid JSON: "),
        (b"[1, 2]", b"x.jsonl:2:1: expected a JSON object, got array"),
        (b'{"payload": {}}', b"x.jsonl:2:1: missing required field 'event'"),
        (b'{"event": 7}', b"x.jsonl:2:1: expected a string, got integer (at $.event)"),
        (b'{"event": "ari", "payload": 5}', b"x.jsonl:2:1: expected an array of ARI items"),
        (b"\xff\xfe\x00garbage\x01", b"x.jsonl:2:1: invalid JSON"),
    ],
)
def test_malformed_line_stops_with_position(tmp_path: Path, bad: bytes, message: bytes) -> None:
    """A bad line stops the run: exit 1, file:line:column on stderr, earlier output intact."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(_lines(GOOD, bad, GOOD))
    done = run("filter", "*", str(path))
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stdout == _lines(GOOD)


def test_skip_invalid_reports_and_goes_on(tmp_path: Path) -> None:
    """--skip-invalid reports each bad line, counts it, and keeps going."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(_lines(GOOD, b"{nope", b"", b"   ", b"[]", GOOD))
    done = run("filter", "*", str(path), "--skip-invalid", "--stats")
    assert done.returncode == 0
    assert done.stdout == _lines(GOOD, GOOD)
    reports = [x for x in done.stderr.splitlines() if x.startswith(b"eventmask: skipped ")]
    assert [r.split(b"x.jsonl:")[1][:4] for r in reports] == [b"2:2:", b"5:1:"]
    assert b"skipped 2 blank and 2 invalid lines" in done.stderr


def test_empty_lines_are_ignored(tmp_path: Path) -> None:
    """Blank lines between notifications are not errors."""
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"\n" + _lines(GOOD) + b"\n\n" + _lines(GOOD))
    done = run("filter", "booking", str(path))
    assert (done.returncode, done.stdout) == (0, _lines(GOOD, GOOD))


def test_truncated_gzip(tmp_path: Path, stream: Path) -> None:
    """A truncated .gz ends with exit 1 and a clear message; complete lines already out stay."""
    packed = gzip.compress(stream.read_bytes())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    done = run("filter", "*", str(path))
    assert done.returncode == 1
    assert b"corrupt or truncated gzip stream" in done.stderr
    assert done.stdout.endswith(b"\n")
    for line in done.stdout.splitlines():
        loads(line)


def test_unreadable_file_is_exit_2(tmp_path: Path) -> None:
    """A missing file is unreadable input: exit 2."""
    done = run("filter", "*", str(tmp_path / "missing.jsonl"))
    assert done.returncode == 2
    assert b"cannot read" in done.stderr


def test_fifty_megabyte_lines(tmp_path: Path) -> None:
    """A 50 MB valid line is filtered; a 50 MB garbage line is an error, not a crash."""
    items = [
        {"date": "2026-01-01", "room_type_id": f"{i:08x}", "rate_plan_id": "r", "rate": i}
        if i % 2
        else {"date": "2026-01-01", "booked": i}
        for i in range(860_000)
    ]
    big = dumps({"event": "ari", "property_id": "p", "payload": items})
    assert len(big) > 50_000_000
    path = tmp_path / "big.jsonl"
    path.write_bytes(big + b"\n")
    done = run("filter", "ari:booked:*:*", str(path), "--count", "--items")
    assert (done.returncode, done.stdout) == (0, b"430000\n")
    path.write_bytes(b'{"event": "ari", "payload": [' + b"x" * 50_000_000 + b"\n")
    done = run("filter", "*", str(path))
    assert done.returncode == 1
    assert b"big.jsonl:1:" in done.stderr


@pytest.mark.parametrize("command", ["filter '*' {0} {0} {0}", "explain ari {0}"])
def test_broken_pipe_ends_quietly(stream: Path, command: str) -> None:
    """`eventmask filter ... | head -1` (and explain) stop without a word, status 0."""
    sample = ROOT / "examples" / "sample.jsonl"
    line = command.format(stream if command.startswith("filter") else sample)
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {EVENTMASK} {line} | head -1"],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0  # eventmask's own status, with pipefail
    assert done.stderr == b""
    assert len(done.stdout.splitlines()) == 1


# -- the library form ------------------------------------------------------------------------


def test_filter_lines_library(stream: Path) -> None:
    """filter_lines yields what the command prints, line for line."""
    mask = parse("ari:rate:*:*")
    lines = stream.read_bytes().splitlines()
    assert (
        b"".join(x + b"\n" for x in filter_lines(mask, lines))
        == run("filter", str(mask), str(stream)).stdout
    )


def test_the_general_path_is_built_only_when_a_line_needs_it() -> None:
    """Lines the fast path answers do not load the index; an odd line does."""
    code = """if True:
        import sys
        from eventmask import filter_lines, parse
        mask = parse("ari:rate:*:*")
        fast = [b'{"event":"ari","payload":[{"rate":1},{"booked":2}]}', b'{"event":"message"}']
        out = list(filter_lines(mask, fast))
        before = [m for m in ("eventmask._routing.index",) if m in sys.modules]
        odd = [b'{"event":"ari","payload":[{"rate":"\\u00e9"}]}']  # a backslash: general path
        out += list(filter_lines(mask, odd))
        print(len(out), before, "eventmask._routing.index" in sys.modules)
    """
    assert python_output(code).split() == ["2", "[]", "True"]


def test_filter_lines_raises_input_error() -> None:
    """A bad line raises InputError with its line and column."""
    with pytest.raises(InputError) as info:
        list(filter_lines(parse("*"), [b'{"event":"a"}', b"{x"], source="feed"))
    # The words after "invalid JSON:" are eventmask's (eventmask._json); the position too.
    assert str(info.value).startswith("feed:2:2: invalid JSON: ")
    assert (info.value.source, info.value.line, info.value.column) == ("feed", 2, 2)


# -- explain -------------------------------------------------------------------------------


def test_explain(tmp_path: Path) -> None:
    """explain says per notification and per ARI item what selected or rejected it."""
    path = tmp_path / "n.jsonl"
    path.write_bytes(
        _lines(
            {"event": "ari", "property_id": "p", "payload": [{"rate": 1}, {"booked": 2}]},
            GOOD,
        )
    )
    done = run("explain", "ari:rate:*:*", str(path))
    assert done.returncode == 0
    assert done.stdout.decode().splitlines() == [
        f"{path}:1: ari: matched: 1 of 2 ARI items selected",
        "  item 0: selected by ari:rate:*:*",
        "  item 1: rejected: ari:rate:*:*: restriction: the item carries none of rate",
        f"{path}:2: booking: not matched: event: 'booking' is not in the mask (ari:rate:*:*)",
    ]


def test_explain_bad_line(tmp_path: Path) -> None:
    """explain stops on a bad line with file:line:column."""
    path = tmp_path / "n.jsonl"
    path.write_bytes(_lines(GOOD, b"{bad"))
    done = run("explain", "booking", str(path))
    assert done.returncode == 1
    assert f"{path}:2:2: invalid JSON".encode() in done.stderr
