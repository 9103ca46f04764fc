"""Tests of `Router`: registration, compiled matching, dispatch rules, sync and async."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from eventmask import (
    Mask,
    MaskSyntaxError,
    Notification,
    NotificationError,
    Route,
    Router,
    parse,
)
from eventmask._routing.selector import PropertySelector, SelectorRoute

from ..strategies import PROPERTIES, masks, notifications

RT = [f"{i:08x}-aaaa-4000-8000-000000000000" for i in range(3)]
RP = [f"{i:08x}-bbbb-4000-8000-000000000000" for i in range(3)]


def ari(*items: dict[str, Any], prop: str = "p1") -> dict[str, Any]:
    """An ``ari`` notification of `items`, each given a date (as Channex dates every item)."""
    for item in items:
        item.setdefault("date", "2026-05-01")
    return {"event": "ari", "property_id": prop, "payload": list(items)}


def reference(routes: list[Route], doc: Mapping[str, Any]) -> list[tuple[Route, list[Any]]]:
    """What each route should get, by the reference matcher: the oracle."""
    prop = doc.get("property_id")
    prop = prop.lower() if isinstance(prop, str) else None
    out = []
    for route in routes:
        if route.property_id is not None and route.property_id != prop:
            continue
        if route.mask.matches(doc):
            out.append((route, route.mask.select(doc)))
    return out


def compiled(router: Router, doc: Mapping[str, Any]) -> list[tuple[Route, list[Any]]]:
    return [(m.route, list(m.items)) for m in router.match(doc)]


# -- registration ---------------------------------------------------------------------


def test_bad_mask_fails_at_registration() -> None:
    """A text mask is parsed strictly when the route is added."""
    router = Router()
    with pytest.raises(MaskSyntaxError):
        router.add("booking;;", print)
    with pytest.raises(MaskSyntaxError):
        router.on("Booking")
    assert router.routes == ()


def test_add_accepts_mask_objects_and_lenient_masks() -> None:
    """A Mask built leniently can be registered as it is."""
    router = Router()
    route = router.add(parse("Booking", lenient=True), print)
    assert str(route.mask) == "booking"


def test_non_callable_handler_and_bad_scope_are_refused() -> None:
    """Registration checks the handler and the property scope."""
    with pytest.raises(TypeError, match="callable"):
        Router().add("booking", "not a function")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="property_id"):
        Router().add("booking", print, property_id="")


def test_declarative_form_feeds_the_same_registry() -> None:
    """Router([Route(...)]) registers in order, like add."""
    r1, r2 = Route("booking", print), Route("message", print, property_id="P")
    router = Router([r1, r2])
    assert router.routes == (r1, r2)
    assert [m.route for m in router.match({"event": "message", "property_id": "p"})] == [r2]
    with pytest.raises(ValueError, match="already registered"):
        Router([r1, r1])


def test_remove() -> None:
    """A removed route no longer matches; removing it twice is an error."""
    router = Router()
    route = router.add("booking", print)
    assert router.match({"event": "booking"})
    router.remove(route)
    assert router.match({"event": "booking"}) == []
    with pytest.raises(ValueError, match="not registered"):
        router.remove(route)


def test_property_scope_is_case_insensitive() -> None:
    """A scoped route matches its property in any case, and no other property."""
    router = Router()
    route = router.add("booking", print, property_id=PROPERTIES[0].upper())
    assert [m.route for m in router.match({"event": "booking", "property_id": PROPERTIES[0]})] == [
        route
    ]
    assert router.match({"event": "booking", "property_id": PROPERTIES[1]}) == []
    assert router.match({"event": "booking"}) == []


def test_custom_catalogue_for_text_masks() -> None:
    """A router with a catalogue parses text masks with it."""
    from eventmask import Catalogue

    router = Router(catalogue=Catalogue.default().with_events("new_thing"))
    router.add("new_thing", print)
    assert len(router.match({"event": "new_thing"})) == 1


def test_explain_resolves_aliases_with_the_routers_catalogue() -> None:
    """explain reads the event with the router's catalogue, as match does (defect fix).

    Before the fix explain used the default catalogue: match found the
    booking_new route for `booking_created`, and explain said it did not match.
    """
    from eventmask import Catalogue

    router = Router(catalogue=Catalogue.default().with_aliases(booking_created="booking_new"))
    route = router.add("booking_new", print)
    doc = {"event": "booking_created", "property_id": PROPERTIES[0], "payload": {}}
    assert [m.route for m in router.match(doc)] == [route]
    (verdict,) = router.explain(doc)
    assert (verdict.matched, verdict.reason) == (True, "event 'booking_new' is in the mask")


# -- matching ---------------------------------------------------------------------------


def test_match_returns_items_per_route_and_calls_nothing() -> None:
    """match reports each route's own selection without calling any handler."""
    called: list[Any] = []
    router = Router()
    a = router.add("ari:rate:*:*", called.append)
    b = router.add(f"ari:availability:{RT[0]}:*", called.append)
    items = [{"rate": 1}, {"availability": 2, "room_type_id": RT[0]}, {"availability": 3}]
    assert compiled(router, ari(*items)) == [(a, [items[0]]), (b, [items[1]])]
    assert called == []


def test_a_match_names_its_route_among_routes_of_other_events_and_properties() -> None:
    """A property's selector numbers only the ARI routes it sees; each match still names
    the route it came from."""
    router = Router()
    router.add("message", print)
    router.add("ari:rate:*:*", print, property_id="p2")
    c = router.add("ari:rate:*:*", print, property_id="p1")
    router.add("booking", print)
    d = router.add("ari:availability:*:*", print)
    items = [{"rate": 1}, {"availability": 2}]
    assert compiled(router, ari(*items)) == [(c, [items[0]]), (d, [items[1]])]


def test_long_id_lists_are_not_expanded_as_a_cross_product() -> None:
    """500 x 500 ids index on one dimension and verify the other."""
    rooms = [f"{i:08x}-aaaa-4000-8000-000000000000" for i in range(500)]
    rates = [f"{i:08x}-bbbb-4000-8000-000000000000" for i in range(500)]
    route = Route(f"ari:rate:{','.join(rooms)}:{','.join(rates)}", print)
    selector = PropertySelector([SelectorRoute(0, False, tuple(route.mask.items))])
    assert sum(len(v) for v in selector._leaves.values()) == 500
    router = Router([route])
    hit = {"rate": 1, "room_type_id": rooms[7], "rate_plan_id": rates[9]}
    miss = {
        "rate": 1,
        "room_type_id": "ffffffff-aaaa-4000-8000-000000000000",
        "rate_plan_id": rates[9],
    }
    assert compiled(router, ari(hit, miss)) == [(route, [hit])]


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(masks, st.sampled_from([None, *PROPERTIES, PROPERTIES[1].upper()])),
        min_size=1,
        max_size=8,
    ),
    st.lists(notifications(), min_size=1, max_size=4),
)
def test_compiled_router_agrees_with_reference(
    specs: list[tuple[Mask, str | None]], docs: list[dict[str, Any]]
) -> None:
    """For generated routes and notifications, routes and items equal the reference.

    Both forms of the index's answer are held to it: the `Match` objects that
    `match` returns and the (position, items) pairs that dispatch groups.
    """
    router = Router()
    routes = [router.add(mask, print, property_id=prop) for mask, prop in specs]
    index = router.compile()
    for doc in docs:
        expected = reference(routes, doc)
        assert compiled(router, doc) == expected
        assert [(index.routes[p], list(items)) for p, items in index.match(doc)] == expected


class RouterMachine(RuleBasedStateMachine):
    """Interleaved add, remove and match keep agreeing with the reference."""

    def __init__(self) -> None:
        super().__init__()
        self.router = Router()
        self.routes: list[Route] = []

    @rule(mask=masks, prop=st.sampled_from([None, *PROPERTIES]))
    def add(self, mask: Mask, prop: str | None) -> None:
        self.routes.append(self.router.add(mask, print, property_id=prop))

    @precondition(lambda self: bool(self.routes))
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        route = data.draw(st.sampled_from(self.routes))
        self.routes.remove(route)
        self.router.remove(route)

    @rule(doc=notifications())
    def match(self, doc: dict[str, Any]) -> None:
        assert compiled(self.router, doc) == reference(self.routes, doc)

    @invariant()
    def registry(self) -> None:
        assert self.router.routes == tuple(self.routes)


TestRouterMachine = RouterMachine.TestCase
TestRouterMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_dispatch_while_another_thread_adds_and_removes() -> None:
    """Concurrent registration never breaks a dispatch: each sees a whole snapshot."""
    router = Router()
    counted: list[int] = []
    router.add("ari:rate:*:*", lambda n: counted.append(len(n.items)))
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn() -> None:
        try:
            while not stop.is_set():
                extra = [router.add(f"ari:rate:{RT[i % 3]}:*", print) for i in range(20)]
                for route in extra:
                    router.remove(route)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        doc = ari({"rate": 1, "room_type_id": RT[0]}, {"rate": 2})
        for _ in range(2000):
            result = router.dispatch(doc)
            assert result.ok
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert counted == [2] * 2000


# -- dispatch ---------------------------------------------------------------------------


def test_handlers_run_in_registration_order_once_with_union_of_items() -> None:
    """A handler with two matching routes is called once, with both selections merged."""
    calls: list[tuple[str, list[Any]]] = []

    def first(n: Notification) -> None:
        calls.append(("first", [i.raw for i in n.items]))

    def second(n: Notification) -> None:
        calls.append(("second", [i.raw for i in n.items]))

    router = Router()
    router.add("ari:availability:*:*", second)
    router.add("ari:rate:*:*", first)
    router.add(f"ari:booked:{RT[1]}:*", second)
    items = [{"rate": 1}, {"booked": 1, "room_type_id": RT[1]}, {"availability": 1}]
    result = router.dispatch(ari(*items))
    assert calls == [("second", [items[1], items[2]]), ("first", [items[0]])]
    assert [len(d.routes) for d in result.deliveries] == [2, 1]


def test_every_handler_runs_even_when_one_raises() -> None:
    """Errors are isolated and recorded per failing route; raise_for_errors groups them."""
    ran: list[str] = []
    router = Router()

    @router.on("booking")
    def broken(n: Notification) -> None:
        ran.append("broken")
        raise KeyError("boom")

    @router.on("*")
    def fine(n: Notification) -> str:
        ran.append("fine")
        return "ok"

    result = router.dispatch({"event": "booking", "payload": {}})
    assert ran == ["broken", "fine"]
    assert [e.route.mask for e in result.errors if e.route] == [parse("booking")]
    assert [d.result for d in result.deliveries] == [None, "ok"]
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_errors()
    (only,) = info.value.exceptions
    assert isinstance(only, KeyError)


def test_dispatch_refuses_coroutine_handlers_before_running_any() -> None:
    """A matched async handler makes dispatch raise a clear TypeError, calling nothing."""
    ran: list[str] = []
    router = Router()
    router.add("booking", lambda n: ran.append("sync"))

    async def handler(n: Notification) -> None:  # pragma: no cover - never called
        ran.append("async")

    router.add("booking", handler)
    with pytest.raises(TypeError, match="adispatch"):
        router.dispatch({"event": "booking"})
    assert ran == []
    assert router.dispatch({"event": "message"}).deliveries == ()


def test_on_unmatched_receives_unrouted_notifications() -> None:
    """The on_unmatched hook sees what no route matched, and nothing else."""
    seen: list[str] = []
    router = Router(on_unmatched=lambda n: seen.append(n.event))
    router.add("booking", print)
    router.dispatch({"event": "review", "payload": {}})
    router.dispatch({"event": "booking", "payload": {}})
    assert seen == ["review"]


def test_handler_gets_typed_notification(channex_examples: dict[str, Any]) -> None:
    """The handler receives envelope fields, typed payload, typed selected items, raw."""
    got: list[Notification] = []
    router = Router()
    router.add("ari:availability:*:*;booking", got.append)
    router.dispatch(channex_examples["notification-ari"])
    router.dispatch(channex_examples["notification-booking"])
    ari_n, booking_n = got
    assert ari_n.items[0].changes == {"availability": 5, "booked": 7, "stop_sell": False}
    assert ari_n.timestamp is not None
    assert ari_n.raw is channex_examples["notification-ari"]
    assert booking_n.payload.revision_id == "80b3b60c-5e24-35c5-ad1b-da67cd704093"
    assert booking_n.property_id == "90958ec0-9713-1396-873e-4add0d834670"
    assert not booking_n.signal_only


def test_dispatch_rejects_bad_notifications() -> None:
    """Invalid input is a NotificationError before any handler runs."""
    router = Router()
    router.add("*", print)
    with pytest.raises(NotificationError):
        router.dispatch(b"not json")


def test_explain_names_the_failing_part() -> None:
    """explain says per route whether it matched and which part failed."""
    router = Router()
    router.add("booking", print, property_id="p2")
    router.add(f"ari:rate:{RT[0]}:*", print)
    router.add(f"ari:availability:*:{RP[0]}", print)
    router.add("message", print)
    doc = ari({"rate": 1, "room_type_id": RT[1]}, {"availability": 1, "rate_plan_id": RP[1]})
    reasons = [(e.matched, e.reason) for e in router.explain(doc)]
    assert reasons[0] == (False, "property: the notification is for 'p1', the route only for 'p2'")
    assert reasons[1] == (False, "none of 2 ARI items selected")
    assert reasons[3] == (False, "event: 'ari' is not in the mask (message)")
    detail = router.explain(doc)[1].detail
    assert detail is not None
    assert detail.items[0].reasons == (
        f"ari:rate:{RT[0]}:*: room type: {RT[1]!r} is not in the filter",
    )
    assert detail.items[1].reasons[0].endswith("restriction: the item carries none of rate")
    third = router.explain(doc)[2].detail
    assert third is not None
    assert third.items[1].reasons[0].endswith(f"rate plan: {RP[1]!r} is not in the filter")


# -- async --------------------------------------------------------------------------------


def test_adispatch_runs_coroutines_concurrently_and_sync_in_order() -> None:
    """Coroutine handlers overlap in time; sync handlers run in registration order."""
    log: list[str] = []
    router = Router()
    gate = asyncio.Event()

    @router.on("booking")
    async def waits(n: Notification) -> str:
        log.append("waits:start")
        await asyncio.wait_for(gate.wait(), timeout=5)
        log.append("waits:end")
        return "waited"

    @router.on("booking")
    def sync_one(n: Notification) -> str:
        log.append("sync")
        return "sync"

    @router.on("booking")
    async def opens(n: Notification) -> str:
        log.append("opens")
        gate.set()
        return "opened"

    result = asyncio.run(router.adispatch({"event": "booking"}))
    assert [d.result for d in result.deliveries] == ["waited", "sync", "opened"]
    assert log.index("sync") < log.index("opens")
    assert log.index("opens") < log.index("waits:end")  # they really ran concurrently


def test_adispatch_aggregates_errors_from_both_kinds() -> None:
    """Failures of async and sync handlers are collected; the others still complete."""
    router = Router()

    @router.on("*")
    async def async_fail(n: Notification) -> None:
        await asyncio.sleep(0)
        raise ValueError("async")

    @router.on("*")
    def sync_fail(n: Notification) -> None:
        raise RuntimeError("sync")

    @router.on("*")
    async def fine(n: Notification) -> int:
        return 1

    result = asyncio.run(router.adispatch(b'{"event": "message"}'))
    assert [type(e.exception) for e in result.errors] == [ValueError, RuntimeError]
    assert result.deliveries[2].result == 1
    with pytest.raises(ExceptionGroup) as info:
        result.raise_for_errors()
    assert len(info.value.exceptions) == 2


def test_adispatch_async_on_unmatched() -> None:
    """An async on_unmatched hook is awaited by adispatch."""
    seen: list[str] = []

    async def hook(n: Notification) -> None:
        seen.append(n.event)

    router = Router(on_unmatched=hook)
    asyncio.run(router.adispatch({"event": "review"}))
    assert seen == ["review"]


def test_extra_arguments_reach_every_handler_after_the_notification() -> None:
    router = Router()
    seen: list[tuple[str, object, object]] = []

    @router.on("booking_new")
    def first(n: Notification, db: object, *, tenant: str) -> None:
        seen.append(("first", db, tenant))

    @router.on("*")
    async def second(n: Notification, db: object, *, tenant: str) -> None:
        seen.append(("second", db, tenant))

    session = object()
    doc = {"event": "booking_new", "property_id": "p1", "payload": {}}
    assert asyncio.run(router.adispatch(doc, session, tenant="t")).ok
    assert seen == [("first", session, "t"), ("second", session, "t")]
    seen.clear()
    sync = Router()
    sync.add("booking_new", first)
    assert sync.dispatch(doc, session, tenant="u").ok
    assert seen == [("first", session, "u")]


def test_dispatch_in_threads_keeps_the_loop_free_and_the_order() -> None:
    router = Router()
    threads: list[str] = []
    gate = threading.Event()

    @router.on("message")
    def slow(n: Notification) -> None:
        threads.append(threading.current_thread().name)
        assert gate.wait(5), "the event loop was blocked by a sync handler"

    @router.on("message")
    def after(n: Notification) -> None:
        threads.append(threading.current_thread().name)

    async def main() -> bool:
        dispatch = asyncio.ensure_future(router.adispatch_in_threads({"event": "message"}))
        await asyncio.sleep(0.05)
        gate.set()  # runs on the loop while `slow` waits in its thread
        return (await dispatch).ok

    assert asyncio.run(main())
    assert len(threads) == 2
    assert threading.main_thread().name not in threads


def test_include_copies_routes_in_order_and_scopes_the_unscoped() -> None:
    bookings, ari_router = Router(), Router()
    bookings.add("booking_new", lambda n: "new")
    ari_router.add("ari:rate:*:*", lambda n: "rate", property_id="p2")
    app = Router()
    app.add("message", lambda n: "message")
    included = app.include(bookings, property_id="p1") + app.include(ari_router)
    assert [(str(r.mask), r.property_id) for r in app.routes] == [
        ("message", None),
        ("booking_new", "p1"),
        ("ari:rate:*:*", "p2"),
    ]
    assert included == list(app.routes[1:])
    doc = {"event": "booking_new", "property_id": "p1", "payload": {}}
    assert [d.result for d in app.dispatch(doc).deliveries] == ["new"]
    assert app.dispatch({**doc, "property_id": "p3"}).deliveries == ()
    bookings.add("booking_cancellation", print)  # later changes are not seen
    assert len(app.routes) == 3


def test_on_error_sees_every_failed_call_sync_and_async() -> None:
    seen: list[tuple[str, str]] = []

    def hook(call: Any) -> None:
        seen.append((call.routes[0].name if call.routes else "unmatched", repr(call.error)))

    router = Router(on_error=hook, on_unmatched=lambda n: 1 / 0)

    @router.on("message")
    def bad(n: Notification) -> None:
        raise KeyError("x")

    @router.on("message")
    async def fine(n: Notification) -> str:
        return "ok"

    result = asyncio.run(router.adispatch({"event": "message"}))
    assert [d.result for d in result.deliveries] == [None, "ok"]
    assert len(result.errors) == 1
    failed = result.errors[0].route
    assert failed is not None
    assert seen == [(failed.name, "KeyError('x')")]
    seen.clear()
    assert not router.dispatch({"event": "review"}).ok
    assert seen == [("unmatched", "ZeroDivisionError('division by zero')")]


def test_a_failing_error_hook_is_logged_and_hides_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def hook(call: Any) -> None:
        raise RuntimeError("the reporter is down")

    router = Router(on_error=hook)
    router.add("message", lambda n: 1 / 0)
    result = router.dispatch({"event": "message"})
    assert isinstance(result.errors[0].exception, ZeroDivisionError)
    assert "on_error hook failed" in caplog.text
    assert "the reporter is down" in caplog.text
