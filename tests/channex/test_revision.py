"""`BookingRevision`: Channex's documented revisions read typed, and bad ones refused."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from eventmask._channex.revision import (
    BookingRevision,
    RevisionStatus,
    mask_card,
    revisions_of,
)
from eventmask._errors import NotificationError, RevisionError

from ..conftest import DATA


def documented(name: str) -> Any:
    return json.loads((DATA / "channex" / name).read_text())


def feed_entry() -> dict[str, Any]:
    entry: dict[str, Any] = documented("booking-revisions-feed-response.json")["data"][0]
    return entry


def test_the_documented_feed_entry_reads_typed() -> None:
    rev = BookingRevision.from_api(feed_entry())
    assert rev.id == "03dd7198-c5b7-493c-a889-74d0c2211de7"
    assert rev.booking_id == "cfa33f3b-bd32-4b90-8ef9-bde2bfe986cd"
    assert (rev.unique_id, rev.system_id) == ("BDC-9996013801", "12331233123")
    assert rev.status is RevisionStatus.NEW
    assert (rev.arrival_date, rev.departure_date) == (dt.date(2019, 4, 26), dt.date(2019, 4, 27))
    assert (rev.amount, rev.currency) == (Decimal("220.00"), "GBP")
    assert rev.inserted_at == dt.datetime(2019, 4, 23, 10, 3, 29, 335485, tzinfo=dt.UTC)
    (room,) = rev.rooms
    assert room.days == {dt.date(2019, 4, 26): Decimal("200.00")}
    assert (room.nights, room.occupancy.adults, room.ota_unique_id) == (1, 2, "49")
    assert rev.guarantee is not None
    assert rev.guarantee.card_number == "411111******1111"
    assert rev.customer["city"] == "Haarlem"
    assert rev.raw["notes"].startswith("You have a booker")


def test_a_booking_reads_as_its_latest_revision() -> None:
    """GET /bookings/:id: ``id`` is the booking, ``revision_id`` the revision to ack."""
    rev = BookingRevision.from_api(documented("booking-response.json")["data"])
    assert rev.id == "2399140e-4673-427a-bb40-0074d917d21f"
    assert rev.booking_id == "3e029821-d446-45e9-8394-42d78a3aa1b1"
    assert rev.ota_commission == Decimal("10.00")
    assert rev.rooms[0].taxes[0]["total_price"] == "7.29"


def test_unmapped_rooms_have_no_ids() -> None:
    entry = feed_entry()
    entry["attributes"]["rooms"][0].update(rate_plan_id=None, room_type_id=None)
    room = BookingRevision.from_api(entry).rooms[0]
    assert (room.rate_plan_id, room.room_type_id) == (None, None)


def test_a_full_card_number_is_masked_everywhere() -> None:
    entry = feed_entry()
    entry["attributes"]["guarantee"].update(card_number="4111111111111111", cvv="123")
    rev = BookingRevision.from_api(entry)
    assert rev.guarantee is not None
    assert rev.guarantee.card_number == "411111******1111"
    assert "4111111111111111" not in repr(rev.raw) + repr(rev)
    assert "123" not in repr(rev.raw["guarantee"])
    assert mask_card("4111 1111 1111 1111") == "411111******1111"


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"status": "pending"}, "$.status", "expected one of new, modified, cancelled"),
        ({"arrival_date": "2019-13-01"}, "$.arrival_date", "not a date (YYYY-MM-DD)"),
        ({"amount": 220.0}, "$.amount", "expected an amount as a string"),
        ({"amount": "lots"}, "$.amount", "expected an amount, got 'lots'"),
        ({"property_id": None}, "$.property_id", "expected a string, got null"),
        ({"rooms": {"a": 1}}, "$.rooms", "expected a list of objects"),
    ],
)
def test_a_bad_field_names_the_revision_and_the_field(
    change: dict[str, Any], path: str, message: str
) -> None:
    entry = feed_entry()
    entry["attributes"].update(change)
    with pytest.raises(RevisionError) as caught:
        BookingRevision.from_api(entry)
    assert caught.value.revision_id == "03dd7198-c5b7-493c-a889-74d0c2211de7"
    assert caught.value.path == path
    assert message in str(caught.value)
    assert isinstance(caught.value, NotificationError)  # a dead letter at once, not retried


def test_a_bad_room_field_has_its_index() -> None:
    entry = feed_entry()
    entry["attributes"]["rooms"][0]["days"] = {"2019-04-26": None}
    with pytest.raises(RevisionError, match=r"\$\.rooms\[0\]\.days\['2019-04-26'\]"):
        BookingRevision.from_api(entry)


def test_a_page_with_a_bad_entry_keeps_the_good_ones() -> None:
    good = feed_entry()
    bad = copy.deepcopy(good)
    bad["id"] = bad["attributes"]["id"] = "r-bad"
    bad["attributes"]["status"] = "lost"
    out = revisions_of([good, bad, 7])
    assert isinstance(out[0], BookingRevision)
    assert isinstance(out[1], RevisionError)
    assert out[1].revision_id == "r-bad"
    assert isinstance(out[2], RevisionError)
    assert out[2].revision_id is None


def test_huge_notes_are_kept_as_they_are() -> None:
    entry = feed_entry()
    entry["attributes"]["notes"] = "n" * 1_000_000
    assert len(BookingRevision.from_api(entry).notes or "") == 1_000_000
