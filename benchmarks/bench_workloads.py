"""The workloads an ARI log really is: narrowing-heavy filtering, scattered routing.

Run: .venv/bin/python -m benchmarks.bench_workloads [--only filter|router|import]

* Filter: 6,000 JSON lines (about 48 MB), 20 properties of 5 room types of 4
  rate plans; 10% `booking_new`, the rest `ari` with 50 items, each a random
  room type and rate plan of its property, a date and 2 random keys.  The
  mask is `ari:rate:*:<one rate plan>`.  `eventmask filter`, jq's best
  hand-written program and a process that decodes and re-encodes every line
  with the JSON library run side by side, best of 7, and their outputs must
  be equal as parsed JSON.
* Router: P properties of 3 room types of 3 rate plans, 10 property-scoped
  routes each (100 to 100,000 routes), built with `Router(routes)` and with
  `router.add(...)`; 200 notifications of 50 scattered items.  ns per item
  of `router.match` against a bare `table.get(item["rate_plan_id"])` loop
  over the same items.
* Import: `python -X importtime -c "import eventmask"`, cumulative, best of 5.

Every ratio compares two measurements taken side by side in one run; the
table and the figures go to benchmarks/results/workloads.json.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from eventmask import Route, Router, parse

from ._common import FLOOR, best_of, import_time_us, timed, uuid, write_result

KEYS = ["rate", "availability", "min_stay_arrival", "stop_sell", "closed_to_arrival",
        "max_stay", "booked"]  # fmt: skip
JQ = (
    'select(.event=="ari") | .payload |= map(select(.rate_plan_id==$rp and has("rate")))'
    " | select(.payload|length>0)"
)


def _value(rng: random.Random, key: str) -> Any:
    if key == "rate":
        return f"{rng.randint(50, 400)}.{rng.randint(0, 99):02d}"
    if key in ("stop_sell", "closed_to_arrival"):
        return rng.random() < 0.5
    return rng.randint(0, 30)


def make_stream(path: Path, lines: int = 6_000, seed: int = 3) -> str:
    """Write the filter workload; return the rate plan id the mask names."""
    rng = random.Random(seed)
    properties = []
    for _ in range(20):
        rooms = {uuid(rng): [uuid(rng) for _ in range(4)] for _ in range(5)}
        properties.append((uuid(rng), rooms))
    chosen = next(iter(properties[0][1].values()))[0]
    encode = msgspec.json.encode
    with path.open("wb") as out:
        for n in range(lines):
            prop, rooms = rng.choice(properties)
            stamp = f"2026-11-{1 + n % 28:02d}T10:{n % 60:02d}:00.000000Z"
            if rng.random() < 0.1:
                payload: Any = {"booking_id": uuid(rng), "revision_id": uuid(rng)}
                doc = {"event": "booking_new", "property_id": prop, "payload": payload}
            else:
                items = []
                for day in range(50):
                    room = rng.choice(list(rooms))
                    item = {
                        "date": f"2027-{1 + day // 28:02d}-{1 + day % 28:02d}",
                        "room_type_id": room,
                        "rate_plan_id": rng.choice(rooms[room]),
                    }
                    for key in rng.sample(KEYS, 2):
                        item[key] = _value(rng, key)
                    items.append(item)
                doc = {"event": "ari", "property_id": prop, "payload": items}
            doc.update({"user_id": None, "timestamp": stamp})
            out.write(encode(doc) + b"\n")
    return chosen


# As an installed package runs: with its bytecode cached (pip compiles it on
# install; a checkout writes it on the warm-up run).
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _timed(command: list[str], source: Path, sink: Path) -> float:
    return timed(command, source, sink, env=_ENV)


def _parsed(path: Path) -> list[Any]:
    return [msgspec.json.decode(line) for line in path.read_bytes().splitlines()]


def filter_workload() -> dict[str, Any]:
    jq = shutil.which("jq")
    if jq is None:
        sys.exit("bench_workloads needs jq (apt-get install jq, or bash scripts/setup.sh)")
    work = Path(tempfile.gettempdir()) / "eventmask-workloads"
    work.mkdir(exist_ok=True)
    stream = work / "ari-log.jsonl"
    rate_plan = make_stream(stream)
    mask = f"ari:rate:*:{rate_plan}"
    eventmask = str(Path(sys.executable).with_name("eventmask"))
    ours, theirs, floor = work / "ours.jsonl", work / "jq.jsonl", work / "floor.jsonl"
    _timed([eventmask, "filter", mask, "-"], stream, ours)  # warm-up: bytecode, page cache
    t_ours, t_jq, t_floor = [], [], []
    for _ in range(7):  # interleaved, so that noise falls on all three alike
        t_ours.append(_timed([eventmask, "filter", mask, "-"], stream, ours))
        t_jq.append(_timed([jq, "-c", "--arg", "rp", rate_plan, JQ], stream, theirs))
        t_floor.append(_timed([sys.executable, "-c", FLOOR], stream, floor))
    assert _parsed(ours) == _parsed(theirs), "eventmask and jq disagree"
    size = stream.stat().st_size
    return {
        "stream_mb": round(size / 1e6, 1),
        "lines": 6_000,
        "mask": mask,
        "eventmask_s": round(min(t_ours), 3),
        "jq_s": round(min(t_jq), 3),
        "floor_s": round(min(t_floor), 3),
        "jq_over_eventmask": round(min(t_jq) / min(t_ours), 2),
        "eventmask_over_floor": round(min(t_ours) / min(t_floor), 2),
        "output_lines": len(ours.read_bytes().splitlines()),
    }


def _router_tenants(
    n_props: int, seed: int = 5, *, by_add: bool = False
) -> tuple[Router, list[dict[str, Any]]]:
    """The routes and notifications; the router built with `Router(routes)`, or with
    one `router.add(mask, handler, property_id=...)` per route (`by_add`)."""
    rng = random.Random(seed)
    routes = []
    shapes = []
    for _ in range(n_props):
        prop = uuid(rng)
        rooms = {uuid(rng): [uuid(rng) for _ in range(3)] for _ in range(3)}
        shapes.append((prop, rooms))
        all_rates = [r for rates in rooms.values() for r in rates]
        masks = []
        for room, rates in rooms.items():
            masks += [f"ari:rate:*:{rates[0]}", f"ari:availability,booked:{room}:*"]
        masks += [
            "ari:stop_sell:*:*",
            f"ari:min_stay_arrival:*:{all_rates[1]},{all_rates[4]}",
            "booking_new;booking_modification",
            "message",
        ]
        routes += [Route(parse(m), _noop, prop) for m in masks]
    docs = []
    for _ in range(200):
        prop, rooms = rng.choice(shapes)
        items = []
        for day in range(50):
            room = rng.choice(list(rooms))
            item: dict[str, Any] = {
                "date": f"2027-01-{1 + day % 28:02d}",
                "room_type_id": room,
                "rate_plan_id": rng.choice(rooms[room]),
            }
            for key in rng.sample(KEYS, 2):
                item[key] = 1
            items.append(item)
        docs.append({"event": "ari", "property_id": prop, "payload": items})
    if not by_add:
        return Router(routes), docs
    router = Router()
    for route in routes:
        router.add(route.mask, route.handler, property_id=route.property_id)
    return router, docs


def _noop(_: object) -> None:
    return None


def _routed(router: Router, docs: list[dict[str, Any]]) -> None:
    match = router.match
    for d in docs:
        match(d)


def _probed(table: dict[str, int], docs: list[dict[str, Any]]) -> None:
    """The floor: a bare `table.get(item["rate_plan_id"])` over the same items."""
    get = table.get
    for d in docs:
        for item in d["payload"]:
            get(item["rate_plan_id"])


def router_workload(rounds: int = 50) -> list[dict[str, Any]]:
    """ns per item of `router.match` and of the bare dict probe, at 100 to 100,000 routes.

    All three sizes are measured in every round, interleaved with their dict
    loops, so that a slow moment of the machine falls on all of them alike:
    the ratio from 100 to 100,000 routes compares figures taken side by side.
    """
    cases = []
    for by_add, n_props in itertools.product((False, True), (10, 1_000, 10_000)):
        router, docs = _router_tenants(n_props, by_add=by_add)
        items = [item for d in docs for item in d["payload"]]
        table = {item["rate_plan_id"]: 1 for item in items}
        for d in docs:  # warm: build the plans and their entries
            router.match(d)
        cases.append((router, docs, table, len(items)))
    t_router = [float("inf")] * len(cases)
    t_dict = [float("inf")] * len(cases)
    for _ in range(rounds):
        for n, (router, docs, table, _count) in enumerate(cases):
            t_router[n] = min(t_router[n], best_of(partial(_routed, router, docs), repeat=1))
            t_dict[n] = min(t_dict[n], best_of(partial(_probed, table, docs), repeat=1))
    rows = []
    for n, (router, _docs, _table, count) in enumerate(cases):
        rows.append(
            {
                "routes": len(router.routes),
                "built": "router.add" if n >= 3 else "Router(routes)",
                "router_ns_per_item": round(t_router[n] / count * 1e9, 1),
                "dict_get_ns_per_item": round(t_dict[n] / count * 1e9, 1),
                "ratio": round(t_router[n] / t_dict[n], 2),
            }
        )
    return rows


def import_time() -> float:
    """Cumulative ms of `import eventmask`, best of 5, with the bytecode cached."""
    return round(import_time_us(_ENV) / 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["filter", "router", "import"])
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    if args.only in (None, "filter"):
        figures["filter"] = filter_workload()
    if args.only in (None, "router"):
        figures["router"] = router_workload()
    if args.only in (None, "import"):
        figures["import_ms"] = import_time()
    print("| measure | figure | goal |")
    print("|---|---|---|")
    if "filter" in figures:
        f = figures["filter"]
        print(f"| jq time / `eventmask filter` time | {f['jq_over_eventmask']}x | >= 4x |")
        print(
            f"| `eventmask filter` time / decode+encode floor | {f['eventmask_over_floor']}x "
            "| <= 1.0x |"
        )
    if "router" in figures:
        rows = figures["router"]
        for row in rows:
            print(
                f"| router per item / `dict.get` per item, {row['routes']:,} routes, "
                f"{row['built']} | {row['ratio']}x | <= 8x |"
            )
        flat = rows[2]["router_ns_per_item"] / rows[0]["router_ns_per_item"]
        figures["router_flat"] = round(flat, 2)
        print(f"| router 100k routes / 100 routes | {figures['router_flat']}x | <= 1.5x |")
    if "import_ms" in figures:
        print(
            f"| `import eventmask` (cumulative, best of 5) | {figures['import_ms']} ms | <= 25 ms |"
        )
    print(figures)
    write_result("workloads", figures, merge=args.only is not None)


if __name__ == "__main__":
    main()
