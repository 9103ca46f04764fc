"""`AriChange`: one typed field per restriction, None when not sent."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventmask import AriChange, FieldError, Notification, NotificationError
from eventmask._catalogue import (
    COUNT_RESTRICTIONS,
    DEFAULT_RESTRICTIONS,
    FLAG_RESTRICTIONS,
    PRICE_RESTRICTIONS,
)

from ..helpers import item


def change_of(**changes: object) -> AriChange:
    """The typed view of an item carrying `changes` (``rate`` is the price here)."""
    return AriChange.from_item({**item(), **changes})


def test_every_restriction_of_the_catalogue_is_a_typed_field() -> None:
    fields = {f.name for f in attrs.fields(AriChange)}
    assert set(DEFAULT_RESTRICTIONS) <= fields
    assert set(COUNT_RESTRICTIONS + FLAG_RESTRICTIONS + PRICE_RESTRICTIONS) == set(
        DEFAULT_RESTRICTIONS
    )


@given(
    st.dictionaries(
        st.sampled_from(DEFAULT_RESTRICTIONS),
        st.integers(min_value=0, max_value=10_000),
        max_size=len(DEFAULT_RESTRICTIONS),
    )
)
def test_fields_are_none_exactly_when_the_key_was_not_sent(changes: dict[str, int]) -> None:
    sent = {n: (bool(v % 2) if n in FLAG_RESTRICTIONS else v) for n, v in changes.items()}
    change = change_of(**sent)
    for name in DEFAULT_RESTRICTIONS:
        assert (getattr(change, name) is None) == (name not in sent), name
        assert (name in change) == (name in sent)
    assert dict(change.changes) == sent


def test_flags_also_read_the_0_and_1_of_older_feeds() -> None:
    assert change_of(stop_sell=1).stop_sell is True
    assert change_of(closed_to_arrival=0).closed_to_arrival is False


def test_counts_and_flags_keep_their_types() -> None:
    change = change_of(min_stay_arrival=2, stop_sell=True, rate="120.5")
    assert change.min_stay_arrival == 2
    assert change.stop_sell is True
    assert change.rate == Decimal("120.5")
    assert change.closed_to_arrival is None


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"min_stay": "2"}, "min_stay"),
        ({"availability": True}, "availability"),
        ({"stop_sell": 2}, "stop_sell"),
        ({"rate": "cheap"}, "rate"),
        ({"closed_to_departure": "false"}, "closed_to_departure"),
    ],
)
def test_a_value_of_the_wrong_kind_names_its_key(changes: dict[str, object], where: str) -> None:
    with pytest.raises(NotificationError) as caught:
        change_of(**changes)
    assert where in str(caught.value)


@pytest.mark.parametrize("item", [{"rate": "1.00"}, {"date": None, "rate": "1.00"}])
def test_an_item_without_a_date_is_a_field_error(item: dict[str, object]) -> None:
    """Every item has a date, so `date` is typed `dt.date`; an item without one is malformed."""
    with pytest.raises(FieldError, match="an ARI item needs a date") as caught:
        AriChange.from_item(item)
    assert caught.value.key == "date"


def test_a_notification_names_the_item_without_a_date() -> None:
    payload = [item(), {"rate": 1}]
    n = Notification({"event": "ari", "payload": payload}, tuple(payload))
    with pytest.raises(NotificationError, match="an ARI item needs a date") as caught:
        n.items  # noqa: B018 - typing the items is the check
    assert caught.value.path == "$.payload[1].date"
