"""Generate a realistic, deterministic stream of Channex notifications (JSON Lines).

    python examples/make_stream.py --notifications 2000 --seed 7 > examples/sample.jsonl
    python examples/make_stream.py --ari-items 1000000 --out /tmp/big.jsonl

The stream mixes what a PMS receives from Channex: ARI changes for many
properties, room types and rate plans (both the multi-key items of the 2021
format and the single-key items of 2022, with rates as decimal strings or
integer minor units), bookings whose every revision fires both ``booking``
and its specific event, unmapped bookings (``booking_revision_id``),
messages, reviews, sync errors and signal-only notifications.  The same seed
always gives the same bytes.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from typing import Any

import msgspec

RESTRICTIONS = [
    "availability",
    "booked",
    "closed_to_arrival",
    "closed_to_departure",
    "max_stay",
    "min_stay",
    "min_stay_arrival",
    "rate",
    "stop_sell",
]


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


class _Property:
    def __init__(self, rng: random.Random) -> None:
        self.id = _uuid(rng)
        self.rooms = {
            _uuid(rng): [_uuid(rng) for _ in range(rng.randint(1, 3))]
            for _ in range(rng.randint(2, 4))
        }


def _stamp(rng: random.Random, second: int) -> str:
    digits = rng.randint(0, 6)
    day, hour = 1 + second // 86400 % 28, second // 3600 % 24
    base = f"2026-03-{day:02d}T{hour:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    fraction = f".{rng.randrange(10**digits):0{digits}d}" if digits else ""
    return base + fraction + "Z"


def _ari_items(rng: random.Random, prop: _Property, count: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while len(items) < count:
        room = rng.choice(list(prop.rooms))
        rate_plan = rng.choice(prop.rooms[room])
        run = min(count - len(items), rng.randint(1, 30))
        start = rng.randrange(300)
        if rng.random() < 0.5:  # 2022 format: one changed restriction, rate in minor units
            key = rng.choice(["rate", "rate", "availability", "stop_sell", "min_stay"])
            for day in range(run):
                item: dict[str, Any] = {
                    "date": _date(start + day),
                    "rate_plan_id": rate_plan,
                    "room_type_id": room,
                }
                item[key] = rng.randrange(5000, 40000) if key == "rate" else rng.randint(0, 9)
                items.append(item)
        else:  # 2021 format: several keys at once, rate as a decimal string
            keys = rng.sample(RESTRICTIONS, rng.randint(1, 3))
            level = rng.random() < 0.2  # room-level changes carry no rate plan
            for day in range(run):
                item = {"date": _date(start + day), "room_type_id": room}
                if not level:
                    item["rate_plan_id"] = rate_plan
                for key in keys:
                    if key == "rate":
                        item[key] = f"{rng.randrange(50, 400)}.{rng.randrange(100):02d}"
                    elif key.startswith(("closed", "stop")):
                        item[key] = rng.random() < 0.3
                    else:
                        item[key] = rng.randint(0, 9)
                items.append(item)
    return items


def _date(day: int) -> str:
    month, dom = divmod(day, 28)
    return f"{2026 + month // 12}-{1 + month % 12:02d}-{1 + dom:02d}"


def generate(
    notifications: int | None = None,
    *,
    seed: int = 7,
    ari_items: int | None = None,
    properties: int = 40,
) -> Iterator[dict[str, Any]]:
    """Yield notifications until `notifications` are out, or `ari_items` ARI items."""
    rng = random.Random(seed)
    props = [_Property(rng) for _ in range(properties)]
    made = items_made = 0
    second = 0
    while (notifications is None or made < notifications) and (
        ari_items is None or items_made < ari_items
    ):
        prop = rng.choice(props)
        second += rng.randint(1, 90)
        envelope: dict[str, Any] = {
            "event": "",
            "property_id": prop.id,
            "user_id": _uuid(rng) if rng.random() < 0.3 else None,
            "timestamp": _stamp(rng, second),
        }
        roll = rng.random()
        batch: list[dict[str, Any]] = []
        if roll < 0.55 or (ari_items is not None and roll < 0.8):
            count = rng.choice([1, 2, 5, 10, 25, 50, 50, 100])
            if ari_items is not None:
                count = min(count, ari_items - items_made)
            items_made += count
            batch.append({**envelope, "event": "ari", "payload": _ari_items(rng, prop, count)})
        elif roll < 0.75:
            booking, revision = _uuid(rng), _uuid(rng)
            kind = rng.choice(
                ["booking_new", "booking_new", "booking_modification", "booking_cancellation"]
            )
            payload = {"booking_id": booking, "property_id": prop.id, "revision_id": revision}
            # One revision fires both the generic and the specific event.
            batch.append({**envelope, "event": "booking", "payload": payload})
            batch.append({**envelope, "event": kind, "payload": payload})
        elif roll < 0.80:
            kind = rng.choice(
                ["booking_unmapped_room", "booking_unmapped_rate", "non_acked_booking"]
            )
            payload = {"booking_id": _uuid(rng), "booking_revision_id": _uuid(rng)}
            batch.append({**envelope, "event": kind, "payload": payload})
        elif roll < 0.88:
            payload = {
                "booking_id": _uuid(rng),
                "have_attachment": False,
                "attachments": [],
                "id": _uuid(rng),
                "message": rng.choice(
                    ["Late check-in please", "Zimmer für 2 Personen?", "Parking?"]
                ),
                "message_thread_id": _uuid(rng),
                "ota_message_id": _uuid(rng),
            }
            batch.append({**envelope, "event": "message", "payload": payload})
        elif roll < 0.91:
            score = rng.choice([6.5, 7.5, 8.5, 9.5])
            payload = {
                "id": _uuid(rng),
                "ota": "BookingCom",
                "overall_score": score,
                "content": None,
            }
            batch.append(
                {**envelope, "event": rng.choice(["review", "updated_review"]), "payload": payload}
            )
        elif roll < 0.94:
            payload = {
                "channel": "Agoda",
                "channel_event_id": _uuid(rng),
                "channel_id": _uuid(rng),
                "channel_name": "Agoda",
                "error_type": "general_error",
                "property_name": "Hotel Name",
            }
            batch.append({**envelope, "event": "sync_error", "payload": payload})
        else:  # signal-only: a webhook with send_data false
            batch.append({**envelope, "event": rng.choice(["ari", "booking_new", "booking"])})
        for doc in batch:
            if notifications is not None and made >= notifications:
                return
            made += 1
            yield doc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notifications", type=int, help="stop after this many notifications")
    parser.add_argument("--ari-items", type=int, help="stop after this many ARI items")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--properties", type=int, default=40)
    parser.add_argument("--out", help="output file (default: stdout)")
    args = parser.parse_args(argv)
    if args.notifications is None and args.ari_items is None:
        parser.error("give --notifications or --ari-items")
    out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115
    try:
        for doc in generate(
            args.notifications, seed=args.seed, ari_items=args.ari_items, properties=args.properties
        ):
            out.write(msgspec.json.encode(doc) + b"\n")
    finally:
        if args.out:
            out.close()


if __name__ == "__main__":
    main()
