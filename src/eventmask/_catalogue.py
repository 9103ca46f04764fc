"""The Channex facts eventmask builds on, each in one place.

Event names, their older spellings, restriction names, which events share a
payload shape (families), which events deliver one booking revision twice,
where the revision id lives, and the form of a Channex id.  Channex adds
events every year, so the names are data: `Catalogue.default()` holds what
Channex documents (docs/language.md, "Catalogue") and a user extends it at
run time without waiting for a release.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType
from typing import Final

import attrs

__all__ = [
    "ARI",
    "ARI_ID_KEYS",
    "BOOKING",
    "BOOKING_REVISION_EVENTS",
    "COUNT_RESTRICTIONS",
    "FLAG_RESTRICTIONS",
    "PRICE_RESTRICTIONS",
    "REVISION_ID_KEYS",
    "SECRET_HEADER",
    "UUID_PATTERN",
    "Catalogue",
    "is_uuid",
    "split_secrets",
]

ARI: Final = "ari"
BOOKING: Final = "booking"

# Channex fires `booking` for every booking revision and, for the same
# revision, one of these specific events as well: a webhook subscribed to
# both receives the revision twice (lint EM102, inbox revision deduplication).
BOOKING_REVISION_EVENTS: Final = ("booking_new", "booking_modification", "booking_cancellation")

# Booking-family payloads name the revision `revision_id` or, in other
# events, `booking_revision_id`; the first non-empty one is the revision
# (docs/routing.md, "What a handler receives").
REVISION_ID_KEYS: Final = ("revision_id", "booking_revision_id")

# The header eventmask's receiver reads the shared secret from, by default.
# Channex signs nothing: a custom header with a shared secret is how a
# receiver authenticates it (docs/receiver.md).
SECRET_HEADER: Final = "X-Channex-Webhook-Secret"


def split_secrets(raw: str) -> list[str]:
    """A configured secret list (``EVENTMASK_SECRET``): comma-separated, the newest last.

    Several are valid at once while a secret rotates (docs/receiver.md,
    "Rotating the secret"): the receiver accepts them all, and what sends a
    secret (a webhook's header, ``eventmask send``) sends the last.

    >>> split_secrets(" old-secret , new-secret ,")
    ['old-secret', 'new-secret']
    """
    return [s.strip() for s in raw.split(",") if s.strip()]


# An HTTP header name (RFC 9110 token): what a secret's header may be called.
_TOKEN: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def header_name(name: str) -> str:
    """`name` when it can name an HTTP header, else a ValueError that says so.

    >>> header_name("X-Channex-Webhook-Secret")
    'X-Channex-Webhook-Secret'
    >>> header_name("")
    Traceback (most recent call last):
    ...
    ValueError: header must be an HTTP header name, not ''
    """
    if not _TOKEN.fullmatch(name):
        raise ValueError(f"header must be an HTTP header name, not {name[:100]!r}")
    return name


def secret_bytes(secret: str) -> bytes:
    """A secret as the bytes of its header value (UTF-8), or a ValueError.

    A value read from the environment holds bytes that are not UTF-8 as
    surrogates; those cannot go into a header.

    >>> secret_bytes("a-long-shared-secret")
    b'a-long-shared-secret'
    """
    try:
        return secret.encode()
    except UnicodeEncodeError:
        raise ValueError("a secret must be valid UTF-8 text") from None


# Keys of an ARI item that are not restrictions.
ARI_ID_KEYS: Final = frozenset({"date", "room_type_id", "rate_plan_id"})

# A Channex id: 8-4-4-4-12 hexadecimal digits, either case.
UUID_PATTERN: Final = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_UUID: Final = re.compile(UUID_PATTERN)


def is_uuid(value: object) -> bool:
    """Whether `value` is a string holding exactly one Channex id (either case).

    >>> is_uuid("96A44E07-2158-43e4-8baa-8f6f56922ba8"), is_uuid("96a44e07-2158")
    (True, False)
    """
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


# Older documented spellings, accepted everywhere and rendered under the
# current name.
DEFAULT_ALIASES: Mapping[str, str] = {"disconnected_channel": "disconnect_channel"}

# Which events carry the same payload shape; the typed payload models are
# chosen by family (docs/routing.md, "What a handler receives").
DEFAULT_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "ari": ("ari",),
    "booking": (
        "booking",
        "booking_new",
        "booking_modification",
        "booking_cancellation",
        "booking_unmapped_room",
        "booking_unmapped_rate",
        "non_acked_booking",
        "message_thread_booking_assigned",
    ),
    "message": ("message",),
    "sync_error": ("sync_error", "sync_warning", "rate_error"),
    "reservation": (
        "reservation_request",
        "alteration_request",
        "accepted_reservation",
        "declined_reservation",
        "inquiry",
    ),
    "review": ("review", "updated_review"),
    "channel": (
        "new_channel",
        "updated_channel",
        "disconnect_channel",
        "disconnect_listing",
        "activate_channel",
        "deactivate_channel",
        "channel_removal_warning",
        "property_removal_warning",
    ),
}

# Every event Channex documents: each is in exactly one family, so the list of
# events is read from the families (one source for both).
DEFAULT_EVENTS: tuple[str, ...] = tuple(e for events in DEFAULT_FAMILIES.values() for e in events)

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

# The value kind of each restriction: Channex sends flags as booleans, the
# rate as a price (docs/routing.md), and every other restriction as a count.
FLAG_RESTRICTIONS: tuple[str, ...] = (
    "closed_to_arrival",
    "closed_to_departure",
    "stop_sell",
    "stop_sell_manual",
)
PRICE_RESTRICTIONS: tuple[str, ...] = ("rate",)
COUNT_RESTRICTIONS: tuple[str, ...] = tuple(
    n for n in DEFAULT_RESTRICTIONS if n not in FLAG_RESTRICTIONS + PRICE_RESTRICTIONS
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


def _family_pairs(
    value: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    pairs = dict(value)
    _names(pairs)
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
    """The event names, aliases, families and restriction names a mask may use.

    Immutable and hashable, so it can key parse caches.  Extend it with the
    `with_*` methods, which return a new catalogue:

    >>> cat = Catalogue.default().with_events("new_thing")
    >>> "new_thing" in cat.events
    True
    >>> cat.with_events("booking_note", family="booking").family("booking_note")
    'booking'
    """

    events: frozenset[str] = attrs.field(converter=_names)
    restrictions: frozenset[str] = attrs.field(converter=_names)
    aliases: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_alias_pairs)
    legacy_restrictions: frozenset[str] = attrs.field(factory=frozenset, converter=_names)
    # event -> family, for the events whose payload shape eventmask knows.
    families: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_family_pairs)

    def __attrs_post_init__(self) -> None:
        for old, new in self.alias_map.items():
            if new not in self.events:
                raise ValueError(f"alias {old!r} points at unknown event {new!r}")
            if old in self.events:
                raise ValueError(f"alias {old!r} is also a current event name")
        for event in self.family_map:
            if event not in self.events:
                raise ValueError(f"family given for unknown event {event!r}")

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

    @cached_property
    def family_map(self) -> Mapping[str, str]:
        """Current event name -> its payload family.

        >>> Catalogue.default().family_map["booking_new"]
        'booking'
        """
        return MappingProxyType(dict(self.families))

    def with_events(self, *names: str, family: str | None = None) -> Catalogue:
        """A copy that also knows the event `names` (of payload `family`, if given).

        >>> "new_thing" in Catalogue.default().with_events("new_thing").events
        True
        """
        added = _names(names)
        families = dict(self.families)
        if family is not None:
            families.update(dict.fromkeys(added, family))
        return attrs.evolve(self, events=self.events | added, families=families)

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

    def resolve(self, name: str) -> str:
        """The name a notification's `event` is matched under: aliases resolved.

        This is eventmask's one alias resolution: parsing, matching, the
        router's index, ``explain`` and the stream filter all call it with the
        catalogue in use.  Unknown names are returned unchanged.

        >>> Catalogue.default().resolve("disconnected_channel"), Catalogue.default().resolve("x")
        ('disconnect_channel', 'x')
        """
        return self.alias_map.get(name, name)

    def spellings(self, names: Iterable[str]) -> frozenset[str]:
        """Every `event` spelling that resolves to one of `names` (aliases included).

        >>> sorted(Catalogue.default().spellings(["disconnect_channel"]))
        ['disconnect_channel', 'disconnected_channel']
        """
        wanted = frozenset(names)
        return wanted | {old for old, new in self.alias_map.items() if new in wanted}

    def family(self, event: str) -> str | None:
        """The payload family of `event` (aliases resolved), or None for an unknown shape.

        >>> Catalogue.default().family("disconnected_channel")
        'channel'
        """
        return self.family_map.get(self.resolve(event))

    def is_restriction(self, name: str) -> bool:
        """Whether `name` is a current or legacy restriction.

        >>> Catalogue.default().is_restriction("max_sell")
        True
        """
        return name in self.restrictions or name in self.legacy_restrictions

    @property
    def all_event_spellings(self) -> frozenset[str]:
        """Every accepted event spelling, aliases included.

        >>> "disconnected_channel" in Catalogue.default().all_event_spellings
        True
        """
        return self.events | frozenset(self.alias_map)

    @property
    def all_restrictions(self) -> frozenset[str]:
        """Current and legacy restriction names.

        >>> "max_sell" in Catalogue.default().all_restrictions
        True
        """
        return self.restrictions | self.legacy_restrictions


_DEFAULT = Catalogue(
    events=DEFAULT_EVENTS,
    restrictions=DEFAULT_RESTRICTIONS,
    aliases=DEFAULT_ALIASES,
    legacy_restrictions=DEFAULT_LEGACY_RESTRICTIONS,
    families={event: family for family, events in DEFAULT_FAMILIES.items() for event in events},
)
