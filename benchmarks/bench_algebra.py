"""Algebra speed: covers and overlaps on small random pairs and on long id lists.

Run: .venv/bin/python -m benchmarks.bench_algebra
The answers are checked against the brute-force oracle of the tests on the
small pairs, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import random
import time

from eventmask import AriFilter, EventItem, Mask

from ._common import best_of, uuid, write_result

ROOMS = [f"{i:08x}-0000-4000-8000-00000000000{i}" for i in range(1, 4)]
RATES = [f"{i:08x}-1111-4000-8000-00000000000{i}" for i in range(1, 4)]
NAMES = ["availability", "booked", "rate", "stop_sell"]
EVENTS = ["booking", "booking_new", "message", "review"]


def _dim(rng: random.Random, pool: list[str]) -> frozenset[str] | None:
    return None if rng.random() < 0.4 else frozenset(rng.sample(pool, rng.randint(1, len(pool))))


def random_mask(rng: random.Random) -> Mask:
    """A mask like the differential test's: a few events and filters over small pools."""
    items: list[EventItem | AriFilter] = []
    for _ in range(rng.randint(1, 4)):
        if rng.random() < 0.3:
            items.append(EventItem(rng.choice(EVENTS)))
        else:
            items.append(AriFilter(_dim(rng, NAMES), _dim(rng, ROOMS), _dim(rng, RATES)))
    return Mask(tuple(items))


def long_masks(n: int, rng: random.Random) -> tuple[Mask, Mask]:
    """Two masks over n ids per segment, sharing half of them."""
    rooms = [uuid(rng) for _ in range(n * 3 // 2)]
    rates = [uuid(rng) for _ in range(n * 3 // 2)]
    a = Mask(
        (
            AriFilter({"rate", "availability"}, rooms[:n], rates[:n]),
            AriFilter({"stop_sell"}, rooms[: n // 2], None),
        )
    )
    b = Mask(
        (
            AriFilter({"rate"}, rooms[n // 2 :], rates[n // 2 :]),
            *(AriFilter({"availability"}, {r}, rates[:n]) for r in rooms[:10]),
        )
    )
    return a, b


def main() -> None:
    rng = random.Random(3)
    pairs = [(random_mask(rng), random_mask(rng)) for _ in range(2000)]
    from tests.language.test_algebra import brute_covers, brute_overlaps, universe

    for a, b in pairs[:200]:
        docs = universe(a, b)
        assert a.covers(b) == brute_covers(a, b, docs)
        assert a.overlaps(b) == brute_overlaps(a, b, docs)

    t_covers = best_of(lambda: [a.covers(b) for a, b in pairs]) / len(pairs)
    t_overlaps = best_of(lambda: [a.overlaps(b) for a, b in pairs]) / len(pairs)
    figures = {
        "small_pairs_covers_us": round(t_covers * 1e6, 1),
        "small_pairs_overlaps_us": round(t_overlaps * 1e6, 1),
        "long_lists": [],
    }
    print(f"small pairs: covers {t_covers * 1e6:.1f} us, overlaps {t_overlaps * 1e6:.1f} us")
    for n in (100, 500, 2000):
        a, b = long_masks(n, rng)
        started = time.perf_counter()
        answers = (a.covers(b), b.covers(a), a.overlaps(b))
        elapsed = time.perf_counter() - started
        assert answers == (False, False, True), answers
        row = {"ids_per_segment": n, "covers_both_ways_and_overlaps_ms": round(elapsed * 1e3, 2)}
        figures["long_lists"].append(row)  # type: ignore[attr-defined]
        print(row)
    write_result("algebra", figures)


if __name__ == "__main__":
    main()
