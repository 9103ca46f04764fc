"""Helpers shared by the benchmarks: timing, corpora, result files."""

from __future__ import annotations

import gc
import json
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from eventmask._catalogue import DEFAULT_EVENTS, DEFAULT_RESTRICTIONS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


# The floor of the filter benchmarks: a process that decodes and re-encodes every
# line with the JSON library, the least a filter that reads the JSON can do.
FLOOR = """
import sys, msgspec
decode, encode = msgspec.json.decode, msgspec.json.encode
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    out.write(encode(decode(line)) + b"\\n")
"""


def timed(
    command: list[str], source: Path, sink: Path, env: Mapping[str, str] | None = None
) -> float:
    """Seconds `command` takes as a whole process, reading `source` and writing `sink`."""
    with source.open("rb") as stdin, sink.open("wb") as stdout:
        started = time.perf_counter()
        subprocess.run(command, stdin=stdin, stdout=stdout, check=True, env=env)
        return time.perf_counter() - started


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of `repeat` runs of `fn`, in seconds (least disturbed by noise).

    The garbage collector is paused while timing, as `timeit` does, so that a
    collection triggered by a large live heap does not land in one side only.
    """
    best = float("inf")
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
    finally:
        if enabled:
            gc.enable()
    return best


def import_time_us(env: Mapping[str, str] | None = None) -> int:
    """Cumulative microseconds of `import eventmask`, from -X importtime (best of 5).

    `env` is the child's environment (None: this one's).
    """
    best = None
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import eventmask"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        line = [x for x in done.stderr.splitlines() if x.rstrip().endswith("| eventmask")][-1]
        cumulative = int(line.split("|")[1])
        best = cumulative if best is None else min(best, cumulative)
    assert best is not None
    return best


def uuid(rng: random.Random) -> str:
    """A random lower-case UUID-shaped id."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def mask_corpus(n: int, seed: int = 7) -> list[str]:
    """`n` distinct, strictly valid masks of the forms people register."""
    rng = random.Random(seed)
    events = [e for e in DEFAULT_EVENTS if e != "ari"]
    cases = json.loads((ROOT / "tests" / "data" / "mask_cases.json").read_text())
    out: dict[str, None] = dict.fromkeys(text for text, _ in cases["valid"])
    while len(out) < n:
        items: list[str] = rng.sample(events, rng.randint(0, 3))
        for _ in range(rng.randint(0 if items else 1, 2)):
            restrictions = (
                "*" if rng.random() < 0.3 else ",".join(rng.sample(DEFAULT_RESTRICTIONS, 2))
            )
            rooms = "*" if rng.random() < 0.5 else ",".join(uuid(rng) for _ in range(2))
            rates = "*" if rng.random() < 0.5 else uuid(rng)
            items.append(f"ari:{restrictions}:{rooms}:{rates}")
        out[";".join(items)] = None
    return list(out)[:n]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {"python": platform.python_version(), "machine": platform.machine()}


def write_result(name: str, payload: dict[str, Any], *, merge: bool = False) -> Path:
    """Save a benchmark's figures as JSON under benchmarks/results/.

    ``merge`` keeps the figures of the parts this run did not measure (a
    run with ``--only``) from the file already there.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    kept: dict[str, Any] = {}
    if merge and path.exists():
        kept = json.loads(path.read_text())
    path.write_text(json.dumps({**kept, **payload, "machine": machine()}, indent=2) + "\n")
    return path


def pyplot() -> Any:
    """matplotlib's pyplot drawing to files, or None (with a line saying so) when the
    ``bench`` extra is not installed: the figures are written either way."""
    try:
        import matplotlib
    except ImportError:
        print("no chart drawn: matplotlib is missing (pip install -e '.[bench]')")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
