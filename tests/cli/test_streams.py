"""``eventmask filter`` runs with the cycle collector paused: it makes no cycles as it reads."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from ..helpers import ari, dumps, item, run_cli, uuid


def _log(path: Path, lines: int) -> Path:
    """A log of ARI notifications, every third line broken."""
    with path.open("wb") as out:
        for n in range(lines):
            if n % 3 == 2:
                out.write(b'{"event": "ari", "payload": [\n')  # invalid JSON
                continue
            doc = ari(
                {**item(f"2026-06-{n % 28 + 1:02d}", stop_sell=n % 2 == 0), "rate": n},
                item(room=None, rate=None, availability=n % 7),
                property_id=uuid(n % 5),
                timestamp=f"2026-05-01T{n % 24:02d}:00:00Z",
            )
            out.write(dumps(doc) + b"\n")
    return path


COMMANDS = [
    ["ari:rate:*:*", "--skip-invalid"],
    ["ari", "--latest", "--skip-invalid"],
    ["ari:rate:*:*", "--items", "--format", "tsv", "--skip-invalid"],
    ["ari:stop_sell:*:*", "--changes", "--skip-invalid", "--where", "stop_sell=true"],
    ["*", "--skip-invalid", "--count"],
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_run_leaves_garbage_that_does_not_grow_with_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """What the paused collector would have found: the same few objects for 300 lines as
    for 3,000, so that pausing it cannot grow memory with the input."""
    garbage = []
    for lines in (300, 3000):
        log = _log(tmp_path / f"log{lines}.jsonl", lines)
        gc.collect()
        gc.disable()
        try:
            status, _, _ = run_cli(capsys, "filter", command[0], str(log), *command[1:])
            assert status == 0
            assert not gc.isenabled()  # the run leaves the collector as it found it
            garbage.append(gc.collect())
        finally:
            gc.enable()
    assert garbage[1] <= garbage[0] + 50, garbage


def test_the_collector_runs_again_after_a_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gc.isenabled()
    run_cli(capsys, "filter", "ari", str(_log(tmp_path / "log.jsonl", 10)), "--skip-invalid")
    assert gc.isenabled()
