"""Start-up: each command against `python -c pass`, interleaved, median of N rounds.

Run: .venv/bin/python -m benchmarks.bench_startup [--rounds 40]

The commands are `eventmask --help`, `eventmask filter MASK` on an empty file,
`eventmask inbox stats` on an empty SQLite inbox (the goal of each is at most
3 times `python -c pass`), and `python -c 'import attrs'` and `import msgspec`
for scale.  Every round runs each command once, in turn, so that a slow moment
of the machine falls on all of them alike; the ratio is of the medians.  The
bytecode is compiled first: a user's installed package has it.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eventmask.inbox import SQLiteInbox

from ._common import ROOT, write_result

EVENTMASK = shutil.which("eventmask", path=str(Path(sys.executable).parent)) or "eventmask"


def commands(folder: Path) -> dict[str, list[str]]:
    """What is timed, by name; the first is the baseline."""
    empty, db = folder / "empty.jsonl", folder / "inbox.db"
    empty.write_bytes(b"")
    SQLiteInbox(db).close()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "eventmask --help": [EVENTMASK, "--help"],
        "eventmask filter on an empty file": [EVENTMASK, "filter", "ari:rate:*:*", str(empty)],
        "eventmask inbox stats": [EVENTMASK, "inbox", "stats", "--db", str(db)],
        "python -c 'import attrs'": [sys.executable, "-c", "import attrs"],
        "python -c 'import msgspec'": [sys.executable, "-c", "import msgspec"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        timed = commands(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.rounds):
            for name, command in timed.items():
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env)
                times[name].append(time.perf_counter() - started)
    base = statistics.median(times["python -c pass"])
    result = {
        name: {
            "median_ms": round(statistics.median(t) * 1000, 1),
            "over_python": round(statistics.median(t) / base, 2),
        }
        for name, t in times.items()
    }
    print("| command | median | against `python -c pass` |")
    print("|---|---|---|")
    for name, figures in result.items():
        print(f"| `{name}` | {figures['median_ms']} ms | {figures['over_python']}x |")
    print("written to", write_result("startup", {"rounds": args.rounds, "commands": result}))


if __name__ == "__main__":
    main()
