"""Filter throughput against jq 1.6 and against a bare msgspec decode/encode loop.

Run: .venv/bin/python -m benchmarks.bench_filter [--items 1000000] [--jobs-mb 400]
All three tools read the same generated file in the same run, writing to a
file that is then compared: eventmask's output must equal jq's byte for byte.
Then ``--jobs 2`` is timed against one process on a file of ``--jobs-mb``
megabytes, with byte-identical output.
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

from eventmask import parse

from ._common import write_result

FLOOR = """
import sys, msgspec
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    out.write(msgspec.json.encode(msgspec.json.decode(line)) + b"\\n")
"""


def timed(command: list[str], source: Path, sink: Path) -> float:
    with source.open("rb") as stdin, sink.open("wb") as stdout:
        started = time.perf_counter()
        subprocess.run(command, stdin=stdin, stdout=stdout, check=True)
        return time.perf_counter() - started


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--jobs-mb", type=int, default=400,
                        help="the size of the --jobs file (0: skip those runs)")  # fmt: skip
    args = parser.parse_args()
    jq = shutil.which("jq")
    if jq is None:
        sys.exit("bench_filter needs jq (apt-get install jq, or bash scripts/setup.sh)")
    from tests.routing.test_filter import jq_program

    root = Path(__file__).resolve().parents[1]
    work = Path(tempfile.gettempdir()) / "eventmask-bench"
    work.mkdir(exist_ok=True)
    stream = work / f"stream-{args.items}.jsonl"
    if not stream.exists():
        subprocess.run(
            [
                sys.executable,
                str(root / "examples" / "make_stream.py"),
                "--ari-items",
                str(args.items),
                "--seed",
                "1",
                "--out",
                str(stream),
            ],
            check=True,
        )
    size = stream.stat().st_size
    eventmask = str(Path(sys.executable).with_name("eventmask"))
    figures: dict[str, object] = {"stream_mb": round(size / 1e6, 1), "ari_items": args.items}
    rows = []
    for text in ("ari:rate:*:*", "booking_new;booking_modification;booking_cancellation"):
        mask = parse(text)
        ours, theirs, floor = work / "ours.jsonl", work / "jq.jsonl", work / "floor.jsonl"
        t_ours = min(timed([eventmask, "filter", text, "-"], stream, ours) for _ in range(3))
        t_jq = timed([jq, "-c", jq_program(mask)], stream, theirs)
        t_floor = min(timed([sys.executable, "-c", FLOOR], stream, floor) for _ in range(3))
        assert digest(ours) == digest(theirs), f"eventmask and jq disagree on {text}"
        row = {
            "mask": text,
            "eventmask_mb_s": round(size / 1e6 / t_ours, 1),
            "jq_mb_s": round(size / 1e6 / t_jq, 1),
            "floor_mb_s": round(size / 1e6 / t_floor, 1),
            "speedup_vs_jq": round(t_jq / t_ours, 1),
            "eventmask_vs_floor": round(t_ours / t_floor, 2),
            "output_mb": round(ours.stat().st_size / 1e6, 1),
        }
        rows.append(row)
        print(row)
    figures["runs"] = rows
    if args.jobs_mb:
        figures["jobs"] = jobs_runs(eventmask, work, args.jobs_mb)
    write_result("filter", figures)


# Masks for --jobs: broad (most lines narrowed and written), everything, and selective.
JOBS_MASKS = ("ari:rate:*:*", "*", "ari:stop_sell,closed_to_arrival:*:*",
              "booking_new;booking_cancellation")  # fmt: skip


def jobs_runs(eventmask: str, work: Path, megabytes: int) -> list[dict[str, object]]:
    """``--jobs 2`` against one process on a file of `megabytes` (the sample repeated),
    output compared byte for byte; best of two runs each, side by side."""
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
        t_one = min(timed(command, Path(os.devnull), one) for _ in range(2))
        t_two = min(timed([*command, "--jobs", "2"], Path(os.devnull), two) for _ in range(2))
        assert digest(one) == digest(two), f"--jobs 2 changed the output of {text}"
        row = {"mask": text, "log_mb": round(size_mb, 1), "one_process_s": round(t_one, 2),
               "jobs_2_s": round(t_two, 2), "speedup": round(t_one / t_two, 2)}  # fmt: skip
        rows.append(row)
        print(row)
    return rows


if __name__ == "__main__":
    main()
