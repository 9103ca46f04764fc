"""The filter's value predicates and aggregates, side by side with the mask alone and jq.

Run: .venv/bin/python -m benchmarks.bench_questions [--copies 20] [--repeat 3]
(the 10x log: ``--copies 200 --repeat 1 --name questions_10x``)

The log is ``examples/sample.jsonl`` repeated `copies` times.  Each figure
is the best of three runs of the whole command, taken in the same run, and
the equal-result checks run first:

- ``--where`` and ``--dates`` against the same mask without them (the cost
  of a predicate), one item per line (``--items``) and whole notifications;
- ``--count-by rate_plan_id`` (one process and ``--jobs 2``) against
  ``jq -r … | sort | uniq -c``, which gives the counts alone (compared group
  by group), and against a jq ``reduce`` that gives the same table: count,
  min, max and last rate (compared to the cent);
- ``--latest`` against a jq ``reduce`` that keeps, per cell, the value with
  the latest timestamp (fractions of a second padded, so that they compare
  as text; ties to the later line, as eventmask does); the cells and each
  cell's winning timestamp are compared.  Also the peak memory of its process;
- ``--items --format tsv`` and ``csv`` (a table of items) against ``--items``
  alone, and the TSV against a jq ``@tsv`` of the same rows (compared to the cent);
- ``ari --items`` (every item on a line of its own, its notification's
  ``property_id`` in front) against jq's ``{property_id: $p} + .``, compared
  line by line as JSON.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from ._common import ROOT, write_result

EVENTMASK = str(Path(sys.executable).with_name("eventmask"))
JQ_COUNT = (
    'jq -r \'select(.event=="ari") | .payload[]? | select(has("rate")) | '
    '(.rate_plan_id // "")\' {log} | sort | uniq -c'
)
# The same table as `--count-by rate_plan_id` (count, min, max and last rate as a decimal:
# minor units divided by 100), in one jq `reduce` that streams the log.
JQ_COUNT_BY = r"""
def value: if type == "number" then . / 100 elif type == "string" then (tonumber? // null)
  else null end;
reduce (inputs | select(.event == "ari") | .payload[]? | objects | select(has("rate"))
        | [(.rate_plan_id // ""), (.rate | value)]) as [$k, $v]
  ({}; .[$k] |= {n: ((.n // 0) + 1),
                 lo: (if $v == null then .lo elif .lo == null or $v < .lo then $v else .lo end),
                 hi: (if $v == null then .hi elif .hi == null or $v > .hi then $v else .hi end),
                 last: $v})
| to_entries[] | [.key, .value.n, .value.lo, .value.hi, .value.last] | @tsv
"""
# The latest value per cell, in jq: the cell and the winning timestamp (normalised), a line each.
JQ_LATEST = r"""
def stamp: if type == "string" and test("^[^.Z]+(\\.[0-9]+)?Z$")
  then capture("^(?<s>[^.Z]+)(?<f>\\.[0-9]+)?Z$") | .s + (((.f // ".") + "000000")[0:7])
  else "" end;
reduce (inputs | select(.event == "ari" and (.payload | type) == "array") | .property_id as $p
        | (.timestamp | stamp) as $t | .payload[] | objects | . as $i
        | to_entries[] | select(.key | IN("date", "room_type_id", "rate_plan_id") | not)
        | {k: [$p, $i.room_type_id, $i.rate_plan_id, $i.date, .key] | tojson, t: $t, v: .value})
  as $c ({}; if (.[$c.k] == null) or (.[$c.k].t <= $c.t) then .[$c.k] = $c else . end)
| to_entries[] | [(.key | fromjson | map(. // "" | tostring) | join("\t")), .value.t]
| join("\t")
"""


def _stamp(text: str) -> str:
    """A timestamp as the jq program writes it (fractions padded to six digits)."""
    found = re.fullmatch(r"([^.Z]+)(\.[0-9]+)?Z", text)
    return found.group(1) + ((found.group(2) or ".") + "000000")[:7] if found else ""


def cells_of_eventmask(out: bytes) -> set[str]:
    cells = set()
    for line in out.decode().splitlines()[1:]:
        fields = line.split("\t")
        cells.add("\t".join([*fields[:5], _stamp(fields[6])]))
    return cells


REPEAT = [3]  # runs of each command: --repeat

# The rates as a table, one item a row (`--items --format tsv`): the ids, the date and the
# rate, minor units divided by 100 (jq prints a rate sent as "111.00" as it came).
JQ_ITEMS_TSV = (
    'jq -r \'select(.event=="ari") | .property_id as $p | .payload[]? | objects '
    '| select(has("rate")) | [$p, .date, .room_type_id, .rate_plan_id, '
    '(.rate | if type == "number" then . / 100 else . end)] | @tsv\' {log}'
)

# Every ARI item on a line of its own, its notification's property_id in front (`ari --items`).
JQ_ITEMS = (
    'jq -c \'select(.event=="ari" and (.payload | type) == "array") | .property_id as $p '
    "| .payload[] | {{property_id: $p}} + .' {log}"
)


def best(command: list[str] | str) -> tuple[float, bytes]:
    """The fastest of ``--repeat`` runs, and what the command printed."""
    fastest, out = float("inf"), b""
    for _ in range(REPEAT[0]):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, check=True,
                              shell=isinstance(command, str))  # fmt: skip
        fastest = min(fastest, time.perf_counter() - started)
        out = done.stdout
    return fastest, out


def json_lines(out: bytes) -> list[object]:
    """Each line as the JSON value it holds (jq and eventmask may spell a number apart)."""
    return [msgspec.json.decode(line) for line in out.splitlines()]


def counts_of_eventmask(out: bytes) -> dict[str, int]:
    rows = [line.split("\t") for line in out.decode().splitlines()[1:]]
    return {r[0]: int(r[1]) for r in rows}


def table_of(out: bytes, header: bool) -> dict[str, tuple[float, ...]]:
    """Rate plan -> (count, min, max, last) of a tab-separated table, as numbers."""
    rows = [line.split("\t") for line in out.decode().splitlines()[1 if header else 0 :]]
    return {r[0]: tuple(float(v) if v else float("nan") for v in r[1:5]) for r in rows}


def same_tables(ours: dict[str, tuple[float, ...]], theirs: dict[str, tuple[float, ...]]) -> bool:
    """Equal groups and counts, and values equal to the cent (jq's are binary floats)."""
    return ours.keys() == theirs.keys() and all(
        abs(a - b) < 1e-6 or (a != a and b != b)
        for key in ours
        for a, b in zip(ours[key], theirs[key], strict=True)
    )


def rows_of(out: bytes, header: bool) -> list[tuple[str, ...]]:
    """The rows of a table of rates, the rate as a number to the cent (jq's are floats)."""
    rows = [line.split("\t") for line in out.decode().splitlines()[1 if header else 0 :]]
    return [(*r[:-1], f"{float(r[-1]):.2f}" if r[-1] else "") for r in rows]


def counts_of_jq(out: bytes) -> dict[str, int]:
    found = {}
    for line in out.decode().splitlines():
        count, _, key = line.strip().partition(" ")
        found[key] = int(count)
    return found


def peak_rss_kib(command: list[str]) -> int:
    """The peak resident memory of `command`'s process, in KiB (a child of a fresh Python)."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run([sys.executable, "-c", code, *command], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return int(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (the best)")
    parser.add_argument("--name", default="questions", help="the results file's name")
    args = parser.parse_args()
    REPEAT[0] = args.repeat
    if shutil.which("jq") is None:
        sys.exit("bench_questions needs jq (bash scripts/setup.sh installs it)")
    sample = (ROOT / "examples" / "sample.jsonl").read_bytes()
    log = Path(tempfile.gettempdir()) / f"eventmask-questions-{args.copies}.jsonl"
    log.write_bytes(sample * args.copies)
    size_mb = log.stat().st_size / 1e6
    base = [EVENTMASK, "filter"]
    figures: dict[str, float | int | str] = {"log_mb": round(size_mb, 1)}

    closed = [*base, "ari:closed_to_arrival:*:*", str(log), "--items", "--count"]
    alone, _ = best(closed)
    where, _ = best([*closed, "--where", "closed_to_arrival=true"])
    rates = [*base, "ari:rate:*:*", str(log), "--items", "--count"]
    rates_alone, _ = best(rates)
    dates, _ = best([*rates, "--dates", "2026-06-01..2026-06-30"])
    # Whole notifications: the fast path selects, and only its selections are decoded.
    whole = [*base, "ari:rate:*:*", str(log), "--count"]
    whole_alone, _ = best(whole)
    whole_dates, _ = best([*whole, "--dates", "2026-06-01..2026-06-30"])
    whole_where, _ = best([*whole, "--where", "rate>=250"])
    figures.update(whole_mask_s=round(whole_alone, 3),
                   whole_dates_cost=round(whole_dates / whole_alone, 2),
                   whole_where_cost=round(whole_where / whole_alone, 2))  # fmt: skip
    figures.update(mask_s=round(alone, 3), where_s=round(where, 3),
                   where_cost=round(where / alone, 2), rate_mask_s=round(rates_alone, 3),
                   dates_s=round(dates, 3), dates_cost=round(dates / rates_alone, 2))  # fmt: skip

    # A table of items: made from the typed items, against the items written as JSON.
    items = [*base, "ari:rate:*:*", str(log), "--items"]
    items_s, _ = best(items)
    tsv_s, tsv = best([*items, "--format", "tsv"])
    csv_s, _ = best([*items, "--format", "csv"])
    jq_tsv_s, jq_tsv = best(JQ_ITEMS_TSV.format(log=log))
    assert rows_of(tsv, True) == rows_of(jq_tsv, False), "the table of items differs from jq's"
    figures.update(items_s=round(items_s, 3), items_tsv_s=round(tsv_s, 3),
                   items_csv_s=round(csv_s, 3), items_tsv_cost=round(tsv_s / items_s, 2),
                   jq_items_tsv_s=round(jq_tsv_s, 3),
                   items_tsv_vs_jq=round(jq_tsv_s / tsv_s, 2))  # fmt: skip

    every_s, every = best([*base, "ari", str(log), "--items"])
    jq_every_s, jq_every = best(JQ_ITEMS.format(log=log))
    assert json_lines(every) == json_lines(jq_every), "the items differ from jq's"
    figures.update(every_items_s=round(every_s, 3), jq_every_items_s=round(jq_every_s, 3),
                   every_items_vs_jq=round(jq_every_s / every_s, 2))  # fmt: skip

    count_by = [*base, "ari:rate:*:*", str(log), "--count-by", "rate_plan_id"]
    ours, counted = best(count_by)
    ours_2, counted_2 = best([*count_by, "--jobs", "2"])
    assert counted_2 == counted, "--jobs 2 changed the count-by table"
    theirs, jq_counted = best(JQ_COUNT.format(log=log))
    assert counts_of_eventmask(counted) == counts_of_jq(jq_counted), "count-by differs from jq"
    program = Path(tempfile.gettempdir()) / "eventmask-count-by.jq"
    program.write_text(JQ_COUNT_BY)
    same, jq_table = best(["jq", "-n", "-r", "-f", str(program), str(log)])
    assert same_tables(table_of(counted, True), table_of(jq_table, False)), "count-by table"
    figures.update(count_by_s=round(ours, 3), count_by_jobs_2_s=round(ours_2, 3),
                   jq_count_s=round(theirs, 3), count_by_vs_jq=round(theirs / ours, 2),
                   count_by_jobs_2_vs_jq=round(theirs / ours_2, 2),
                   jq_count_table_s=round(same, 3),
                   count_by_vs_jq_table=round(same / ours, 2),
                   count_by_jobs_2_vs_jq_table=round(same / ours_2, 2))  # fmt: skip

    latest = [*base, "ari", str(log), "--latest"]
    latest_s, table = best(latest)
    latest_2_s, table_2 = best([*latest, "--jobs", "2"])
    assert table_2 == table, "--jobs 2 changed the latest state"
    program = Path(tempfile.gettempdir()) / "eventmask-latest.jq"
    program.write_text(JQ_LATEST)
    jq_latest_s, jq_table = best(["jq", "-n", "-r", "-f", str(program), str(log)])
    assert cells_of_eventmask(table) == set(jq_table.decode().splitlines()), "latest differs"
    figures.update(latest_s=round(latest_s, 3), latest_jobs_2_s=round(latest_2_s, 3),
                   latest_jobs_2_vs_jq=round(jq_latest_s / latest_2_s, 2),
                   latest_cells=table.count(b"\n") - 1,
                   jq_latest_s=round(jq_latest_s, 3),
                   latest_vs_jq=round(jq_latest_s / latest_s, 2),
                   latest_peak_rss_kib=peak_rss_kib(latest))  # fmt: skip
    for key, value in figures.items():
        print(f"{key:>22}  {value}")
    write_result(args.name, figures)


if __name__ == "__main__":
    main()
