"""Booking revisions from Channex's feed to an ack after commit, against the stand-in.

A real inbox (SQLite and PostgreSQL), a real worker and the Channex stand-in
on loopback; the handler writes through the inbox, so "handled once" is
counted in the database.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventmask import Router
from eventmask._channex.client import ChannexClient
from eventmask._channex.revision import BookingRevision
from eventmask._errors import ChannexError
from eventmask._service.revisions import RevisionFlow
from eventmask.inbox import InboxSettings, Worker, current_delivery, open_inbox
from eventmask.testing import revision_attributes, revision_chain

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import envelope, query, url_of, uuid

PROPERTY = uuid(1)
SAVED = "CREATE TABLE IF NOT EXISTS saved (revision TEXT NOT NULL, status TEXT NOT NULL, n INTEGER)"


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as running:
        yield running


@pytest.fixture
def inbox(db_url: str) -> Iterator[Any]:
    box = open_inbox(db_url, InboxSettings(max_attempts=2, backoff=0.01), migrate=True)
    yield box
    box.close()


def saving_router(fail: set[str] | None = None) -> Router:
    """A PMS: saves each revision through the inbox's transaction (exactly once)."""
    router = Router()
    order = itertools.count()

    @router.on_revision()
    def save(revision: BookingRevision) -> None:
        if fail and revision.id in fail:
            raise RuntimeError(f"cannot save {revision.id}")
        ctx = current_delivery()
        ctx.connection.execute(SAVED)
        mark = ctx.placeholder
        ctx.connection.execute(
            f"INSERT INTO saved VALUES ({mark}, {mark}, {mark})",
            (revision.id, revision.status.value, next(order)),
        )

    return router


def _stored(attributes: dict[str, Any]) -> tuple[Any, ...]:
    """What the flow stores for a revision (its order key included)."""
    from eventmask._service.revisions import _stored_form

    return _stored_form({"type": "booking_revision", "id": attributes["id"],
                         "attributes": attributes})  # fmt: skip


def saved(inbox: Any) -> list[tuple[Any, ...]]:
    try:
        return query(url_of(inbox), "SELECT revision, status FROM saved ORDER BY revision")
    except Exception:
        return []


def drain(worker: Worker, seconds: float = 10.0) -> None:
    """Run the worker until nothing is pending or claimed (a backoff waited out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if worker.run_once():
            continue
        stats = worker.inbox.stats(done=False)
        if stats["pending"] == 0 and stats["claimed"] == 0:
            return
        time.sleep(0.02)


def booking_delivery(revision_id: str, event: str = "booking_new") -> Any:
    payload = {"booking_id": uuid(50), "revision_id": revision_id}
    return envelope({"event": event, "property_id": PROPERTY, "payload": payload})


def test_a_webhook_fetches_its_revision_which_is_saved_then_acked(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    (new,) = revision_chain(property_id=PROPERTY, statuses=("new",))
    standin.revisions.add(new)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        worker = Worker(inbox, saving_router(), revisions=flow)
        inbox.put(booking_delivery(new["id"]))
        drain(worker)
        assert saved(inbox) == [(new["id"], "new")]
        assert standin.revisions.acks == {}  # handled and committed; the ack comes next
        assert flow.ack_due() == 1
        assert flow.ack_due() == 0
    assert standin.revisions.acks == {new["id"]: 1}
    status = inbox.revision_status()[PROPERTY]
    assert (status["acked"], status["unacked"], status["handled_not_acked"]) == (1, 0, 0)


def test_a_revision_found_by_webhook_and_by_poll_is_handled_once(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    chain = revision_chain(property_id=PROPERTY)
    standin.revisions.add(*chain)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        worker = Worker(inbox, saving_router(), revisions=flow)
        inbox.put(booking_delivery(chain[1]["id"], "booking_modification"))
        inbox.put(booking_delivery(chain[1]["id"], "booking"))  # the same revision, twice
        drain(worker)  # the two webhooks fetch chain[1]: stored once
        assert flow.pull(PROPERTY) == 2  # the poll finds the other two; chain[1] is known
        drain(worker)
        assert flow.pull(PROPERTY) == 0  # nothing new (all still in the feed, unacked)
        flow.ack_due()
    # chain[1] was handled first (nothing older was known); chain[0], found later and
    # older, is acknowledged without being handled: it would roll the booking back.
    assert sorted(saved(inbox)) == sorted((r["id"], r["status"]) for r in chain[1:])
    assert standin.revisions.acks == {r["id"]: 1 for r in chain}


def test_a_booking_s_revisions_reach_the_handler_oldest_first(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    """Stored newest first, a modification waits for its booking's new, then follows it."""
    url, _ = api
    new, modified = revision_chain(property_id=PROPERTY, statuses=("new", "modified"))
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        for one in (modified, new):  # the later one first, as a webhook can bring it
            inbox.store_revisions([_stored(one)])
        drain(Worker(inbox, saving_router(), revisions=flow))  # waits out the short retry
    rows = query(url_of(inbox), "SELECT revision FROM saved ORDER BY n")
    assert [r[0] for r in rows] == [new["id"], modified["id"]]


def test_a_failed_handler_is_never_acked_and_ends_a_dead_letter(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    good, bad = (revision_attributes(property_id=PROPERTY) for _ in range(2))
    standin.revisions.add(good, bad)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        worker = Worker(inbox, saving_router(fail={bad["id"]}), revisions=flow)
        flow.pull()
        drain(worker)
        inbox.clock = lambda: 10**10  # past the backoff: the second attempt fails too
        drain(worker)
        flow.ack_due()
    assert saved(inbox) == [(good["id"], "new")]
    assert standin.revisions.acks == {good["id"]: 1}
    dead = inbox.entries("dead")
    assert len(dead) == 1
    assert f"cannot save {bad['id']}" in (dead[0].last_error or "")
    assert inbox.revision_status()[PROPERTY]["dead"] == 1


def test_a_crash_between_commit_and_ack_acks_on_restart_and_handles_nothing_again(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    (new,) = revision_chain(property_id=PROPERTY, statuses=("new",))
    standin.revisions.add(new)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull()
        drain(Worker(inbox, saving_router(), revisions=flow))
        # The process dies here: committed, never acked.  A new one starts.
        restarted = RevisionFlow(inbox, client)
        drain(Worker(inbox, saving_router(), revisions=restarted))
        assert restarted.ack_due() == 1
    assert saved(inbox) == [(new["id"], "new")]
    assert standin.revisions.acks == {new["id"]: 1}


def test_a_404_on_ack_is_final(api: tuple[str, ChannexStandIn], inbox: Any) -> None:
    url, standin = api
    (new,) = revision_chain(property_id=PROPERTY, statuses=("new",))
    standin.revisions.add(new)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull()
        drain(Worker(inbox, saving_router(), revisions=flow))
        del standin.revisions.revisions[new["id"]]  # acknowledged and gone elsewhere
        assert flow.ack_due() == 0
        assert flow.ack_due() == 0
    status = inbox.revision_status()[PROPERTY]
    assert (status["gone"], status["handled_not_acked"]) == (1, 0)
    assert [m for m, p in standin.requests if p.endswith("/ack")] == ["POST"]


def test_a_429_pauses_that_property_and_the_others_go_on(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    one = revision_attributes(property_id=PROPERTY)
    other = revision_attributes(property_id=uuid(2))
    standin.revisions.add(one, other)
    with ChannexClient(url, API_KEY, attempts=1) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull()
        drain(Worker(inbox, saving_router(), revisions=flow))
        standin.faults = [429]
        standin.fault_on = f"POST /api/v1/booking_revisions/{one['id']}/ack"
        flow.ack_due()
        assert flow.ack_due() == 0  # paused for a minute
    assert set(standin.revisions.acks) == {other["id"]}
    assert inbox.revision_status()[PROPERTY]["handled_not_acked"] == 1


def test_a_malformed_revision_is_a_dead_letter_that_names_it(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    broken = revision_attributes(property_id=PROPERTY, arrival_date="2026-02-30")
    standin.revisions.add(broken)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull()
        drain(Worker(inbox, saving_router(), revisions=flow))
        flow.ack_due()
    (dead,) = inbox.entries("dead")
    assert f"revision {broken['id']} @ $.arrival_date" in (dead.last_error or "")
    assert dead.attempts == 1  # final at once: no retry can fix it
    assert standin.revisions.acks == {}


def test_non_acked_booking_pulls_the_property_feed(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    waiting = [revision_attributes(property_id=PROPERTY) for _ in range(3)]
    standin.revisions.add(*waiting, revision_attributes(property_id=uuid(2)))
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        worker = Worker(inbox, saving_router(), revisions=flow)
        inbox.put(envelope({"event": "non_acked_booking", "property_id": PROPERTY,
                            "payload": {"booking_id": uuid(9)}}))  # fmt: skip
        drain(worker)
        flow.ack_due()
    assert sorted(r for r, _ in saved(inbox)) == sorted(r["id"] for r in waiting)


def test_a_flow_without_a_revision_handler_is_refused(inbox: Any) -> None:
    """Acking revisions nobody saved is the bug this flow exists to prevent."""
    with ChannexClient("http://127.0.0.1:9/api/v1", API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        with pytest.raises(ValueError, match="needs a handler to save revisions"):
            Worker(inbox, Router(), revisions=flow)


def test_the_metrics_show_what_is_not_acked(api: tuple[str, ChannexStandIn], inbox: Any) -> None:
    """The gauge to alert on before Channex's 30-minute email (docs/deployment.md)."""
    from eventmask._service.metrics import exposition

    url, standin = api
    standin.revisions.add(*revision_chain(property_id=PROPERTY, statuses=("new", "modified")))
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull()
        later = time.time() + 600.0
        inbox.clock = lambda: later  # ten minutes on, nothing handled yet
        text = exposition(inbox)[0].decode()
    assert 'eventmask_revisions_unacked{state="pending"} 2.0' in text
    age = next(line for line in text.splitlines()
               if line.startswith("eventmask_revisions_oldest_unacked_seconds "))  # fmt: skip
    assert 599 < float(age.split()[1]) < 700


def test_each_poll_is_recorded_and_a_failed_one_says_why(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    """`eventmask revisions status` shows the last poll of each feed, and its failure."""
    url, standin = api
    standin.revisions.add(revision_attributes(property_id=PROPERTY))
    with ChannexClient(url, API_KEY, attempts=1) as client:
        flow = RevisionFlow(inbox, client)
        flow.pull(PROPERTY)
        polled = inbox.revision_status()[PROPERTY]
        assert polled["last_poll_age_s"] < 5
        assert polled["last_poll_error"] is None
        assert polled["last_good_poll_age_s"] == polled["last_poll_age_s"]
        time.sleep(0.05)
        standin.faults, standin.fault_on = [503], "GET"
        with pytest.raises(ChannexError):
            flow.pull(PROPERTY)
    failed = inbox.revision_status()[PROPERTY]
    assert "503" in failed["last_poll_error"]
    assert failed["last_good_poll_age_s"] > failed["last_poll_age_s"]  # the earlier read
    assert failed["pending"] == 1  # what the good poll stored stays


def test_the_account_feed_counts_as_a_poll_of_every_property(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    standin.revisions.add(revision_attributes(property_id=PROPERTY))
    with ChannexClient(url, API_KEY) as client:
        RevisionFlow(inbox, client).pull()
    status = inbox.revision_status()
    assert set(status) == {PROPERTY, ""}  # "": the account's feed itself
    assert status[PROPERTY]["last_poll_age_s"] is not None


def test_a_failing_feed_does_not_stop_the_polls_of_the_others(
    api: tuple[str, ChannexStandIn], inbox: Any
) -> None:
    url, standin = api
    other = uuid(2)
    standin.revisions.add(revision_attributes(property_id=other))
    standin.faults = [500] * 100  # PROPERTY's feed fails every time

    def of_property(request: Any) -> bool:
        return bool(request.query_params.get("filter[property_id]") == PROPERTY)

    standin.fault_on = of_property
    with ChannexClient(url, API_KEY, attempts=1) as client:
        flow = RevisionFlow(inbox, client, properties=[PROPERTY, other])
        stop = threading.Event()
        runner = threading.Thread(target=flow.run, args=(stop,))
        runner.start()
        try:
            deadline = time.monotonic() + 10
            while inbox.revision_status().get(other, {}).get("pending") != 1:
                assert time.monotonic() < deadline, inbox.revision_status()
                time.sleep(0.02)
        finally:
            stop.set()
            runner.join(10)
    assert "500" in inbox.revision_status()[PROPERTY]["last_poll_error"]


def test_a_webhook_naming_a_revision_channex_does_not_have_is_let_go(
    api: tuple[str, ChannexStandIn], inbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 is final: no retry brings the revision back, and the feed polls are the net."""
    url, standin = api
    waiting = revision_attributes(property_id=PROPERTY)
    standin.revisions.add(waiting)
    unknown = uuid(77)
    with ChannexClient(url, API_KEY) as client:
        flow = RevisionFlow(inbox, client)
        inbox.put(envelope({"event": "non_acked_booking", "property_id": PROPERTY,
                            "payload": {"booking_revision_id": unknown}}))  # fmt: skip
        drain(Worker(inbox, saving_router(), revisions=flow))
    assert inbox.entries("dead") == []
    assert [r for r, _ in saved(inbox)] == [waiting["id"]]  # the feed was pulled all the same
    assert f"revision {unknown} named by entry" in caplog.text
