"""The catalogue of event and restriction names that masks may use.

Channex adds events every year, so the names are data: `Catalogue.default()`
holds what Channex documents (SPEC 1.1 and 1.2) and a user extends it at run
time without waiting for a release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType

import attrs

__all__ = ["Catalogue"]

DEFAULT_EVENTS: tuple[str, ...] = (
    "ari",
    "booking",
    "booking_new",
    "booking_modification",
    "booking_cancellation",
    "booking_unmapped_room",
    "booking_unmapped_rate",
    "non_acked_booking",
    "message",
    "sync_error",
    "sync_warning",
    "rate_error",
    "reservation_request",
    "alteration_request",
    "accepted_reservation",
    "declined_reservation",
    "inquiry",
    "review",
    "updated_review",
    "new_channel",
    "updated_channel",
    "disconnect_channel",
    "disconnect_listing",
    "activate_channel",
    "deactivate_channel",
    "channel_removal_warning",
    "property_removal_warning",
    "message_thread_booking_assigned",
)

# Older documented spellings, accepted everywhere and rendered under the
# current name.
DEFAULT_ALIASES: Mapping[str, str] = {"disconnected_channel": "disconnect_channel"}

DEFAULT_RESTRICTIONS: tuple[str, ...] = (
    "availability",
    "availability_offset",
    "booked",
    "closed_to_arrival",
    "closed_to_departure",
    "max_availability",
    "max_stay",
    "min_stay",
    "min_stay_arrival",
    "min_stay_through",
    "rate",
    "stop_sell",
    "stop_sell_manual",
)

# Channex removed `max_sell` in 2022; masks that still name it are accepted
# with a warning because webhooks created before then may carry it.
DEFAULT_LEGACY_RESTRICTIONS: tuple[str, ...] = ("max_sell",)


def _alias_pairs(
    value: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    pairs = dict(value)
    for old, new in pairs.items():
        _names((old, new))
    return tuple(sorted(pairs.items()))


def _names(values: Iterable[str]) -> frozenset[str]:
    out = frozenset(values)
    for name in out:
        if not isinstance(name, str) or not name or name != name.strip() or name != name.lower():
            raise ValueError(f"catalogue names are non-empty lower-case strings, not {name!r}")
        if any(ch in name for ch in ";:,*") or any(ch.isspace() for ch in name):
            raise ValueError(f"catalogue name {name!r} contains a mask separator")
    return out


@attrs.frozen(slots=True)
class Catalogue:
    """The event names, aliases and restriction names a mask may use.

    Immutable and hashable, so it can key parse caches.  Extend it with the
    `with_*` methods, which return a new catalogue:

    >>> cat = Catalogue.default().with_events("new_thing")
    >>> "new_thing" in cat.events
    True
    """

    events: frozenset[str] = attrs.field(converter=_names)
    restrictions: frozenset[str] = attrs.field(converter=_names)
    aliases: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_alias_pairs)
    legacy_restrictions: frozenset[str] = attrs.field(factory=frozenset, converter=_names)

    def __attrs_post_init__(self) -> None:
        for old, new in self.alias_map.items():
            if new not in self.events:
                raise ValueError(f"alias {old!r} points at unknown event {new!r}")

    @classmethod
    def default(cls) -> Catalogue:
        """The names Channex documents.

        >>> "booking_new" in Catalogue.default().events
        True
        """
        return _DEFAULT

    @cached_property
    def alias_map(self) -> Mapping[str, str]:
        """Old spelling -> current event name.

        >>> Catalogue.default().alias_map["disconnected_channel"]
        'disconnect_channel'
        """
        return MappingProxyType(dict(self.aliases))

    def with_events(self, *names: str) -> Catalogue:
        """A copy that also knows the event `names`.

        >>> "new_thing" in Catalogue.default().with_events("new_thing").events
        True
        """
        return attrs.evolve(self, events=self.events | _names(names))

    def with_restrictions(self, *names: str) -> Catalogue:
        """A copy that also knows the restriction `names`.

        >>> "price" in Catalogue.default().with_restrictions("price").restrictions
        True
        """
        return attrs.evolve(self, restrictions=self.restrictions | _names(names))

    def with_aliases(self, **aliases: str) -> Catalogue:
        """A copy with extra old spellings (``old="current"``) of known events.

        >>> Catalogue.default().with_aliases(booking_created="booking_new").canonical_event(
        ...     "booking_created")
        'booking_new'
        """
        return attrs.evolve(self, aliases={**self.alias_map, **aliases})

    def canonical_event(self, name: str) -> str | None:
        """The current name of event `name`, or None when it is unknown.

        >>> Catalogue.default().canonical_event("disconnected_channel")
        'disconnect_channel'
        """
        if name in self.events:
            return name
        return self.alias_map.get(name)

    def is_restriction(self, name: str) -> bool:
        """Whether `name` is a current or legacy restriction.

        >>> Catalogue.default().is_restriction("max_sell")
        True
        """
        return name in self.restrictions or name in self.legacy_restrictions

    @property
    def all_event_spellings(self) -> frozenset[str]:
        """Every accepted event spelling, aliases included."""
        return self.events | frozenset(self.alias_map)

    @property
    def all_restrictions(self) -> frozenset[str]:
        """Current and legacy restriction names."""
        return self.restrictions | self.legacy_restrictions


_DEFAULT = Catalogue(
    events=DEFAULT_EVENTS,
    restrictions=DEFAULT_RESTRICTIONS,
    aliases=DEFAULT_ALIASES,
    legacy_restrictions=DEFAULT_LEGACY_RESTRICTIONS,
)
