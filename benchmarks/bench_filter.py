"""Filter throughput against jq 1.6 and against a bare msgspec decode/encode loop.

Run: .venv/bin/python -m benchmarks.bench_filter [--items 1000000]
All three tools read the same generated file in the same run, writing to a
file that is then compared: eventmask's output must equal jq's byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
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
    write_result("filter", figures)


if __name__ == "__main__":
    main()
