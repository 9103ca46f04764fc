"""Prometheus metrics: scraped from a real `eventmask serve`, with workers in other processes."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from eventmask._service.metrics import (
    ACK_BUCKETS,
    FLUSH_EVERY,
    DeliveryTally,
    Metrics,
    metrics,
)

from ..helpers import dumps
from ..procs import SECRET, Proc, free_port, kill_leftovers, wait_drained

AUTH = {"X-Channex-Webhook-Secret": SECRET}


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    yield
    kill_leftovers()


def scrape(
    url: str, headers: dict[str, str]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def post(url: str, doc: dict[str, object], headers: dict[str, str] = AUTH) -> int:
    return httpx.post(f"{url}/channex", content=dumps(doc), headers=headers).status_code


def test_the_numbers_move_across_the_server_and_its_worker_processes(tmp_path: Path) -> None:
    served = Proc(tmp_path, "tests.apps:flaky", "--workers", "2", "--max-attempts", "1")
    served.start()
    url = served.url
    before = scrape(url, {"Authorization": f"Bearer {SECRET}"})
    assert before[("eventmask_inbox_entries", (("state", "pending"),))] == 0
    docs = [{"event": "message", "property_id": "p", "payload": {"delivery": f"d{n}"}}
            for n in range(5)]  # fmt: skip
    assert [post(url, d) for d in docs] == [200] * 5
    assert post(url, docs[0]) == 200  # Channex's retry of the same body: a duplicate
    assert post(url, {"event": "message", "payload": {"delivery": "x", "fail": True}}) == 200
    assert [post(url, docs[1], {"X-Channex-Webhook-Secret": "wrong"}) for _ in range(3)] == [
        401
    ] * 3
    wait_drained(served.db)
    time.sleep(0.5)  # the workers' last counters reach their files
    after = scrape(url, AUTH)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("eventmask_deliveries_total", outcome="accepted", status="200") == 6
    assert moved("eventmask_deliveries_total", outcome="duplicate", status="200") == 1
    assert moved("eventmask_deliveries_total", outcome="refused", status="401") == 3
    assert moved("eventmask_refusals_total", kind="wrong secret") == 3
    assert moved("eventmask_ack_seconds_count") == 7
    # Counted by the worker processes, added up by the server's scrape.
    assert moved("eventmask_attempts_total", outcome="done") == 5
    assert moved("eventmask_attempts_total", outcome="dead") == 1
    assert moved("eventmask_dead_letters_total") == 1
    assert moved("eventmask_handler_seconds_count", handler="maybe_fail") == 6
    # Read from the inbox at scrape time.
    assert after[("eventmask_inbox_entries", (("state", "dead"),))] == 1
    assert after[("eventmask_inbox_up", ())] == 1
    assert served.stop() == 0


def test_metrics_need_the_secret_and_can_be_turned_off(tmp_path: Path) -> None:
    served = Proc(tmp_path, "tests.apps:recording", "--workers", "0")
    served.start()
    assert httpx.get(f"{served.url}/metrics").status_code == 404
    wrong = httpx.get(f"{served.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    assert httpx.post(f"{served.url}/metrics", headers=AUTH).status_code == 404
    assert served.stop() == 0
    quiet = Proc(tmp_path, "tests.apps:recording", "--workers", "0", "--no-metrics")
    quiet.start()
    assert httpx.get(f"{quiet.url}/metrics", headers=AUTH).status_code == 404
    assert quiet.stop() == 0


def test_a_standalone_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    served = Proc(tmp_path, "tests.apps:recording", "--workers", "0")
    served.start()
    port = free_port()
    worker = Proc(tmp_path, "tests.apps:recording", "--metrics-port", str(port),
                  command="worker", name="worker")  # fmt: skip
    worker.start()
    assert post(served.url, {"event": "message", "payload": {"delivery": "w"}}) == 200
    wait_drained(served.db)
    deadline = time.monotonic() + 10
    while True:
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            if 'eventmask_attempts_total{outcome="done"} 1.0' in text:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the worker's metrics did not show the attempt"
        time.sleep(0.1)
    assert worker.stop() == 0
    assert served.stop() == 0
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def _fresh_metrics() -> Metrics:
    """A `Metrics` whose delivery series live in a registry of their own."""
    registry = CollectorRegistry()
    fresh = Metrics.__new__(Metrics)
    fresh.deliveries = Counter("eventmask_deliveries", "d", ["outcome", "status"],
                               registry=registry)  # fmt: skip
    fresh.ack_seconds = Histogram("eventmask_ack_seconds", "a", buckets=ACK_BUCKETS,
                                  registry=registry)  # fmt: skip
    fresh.refusals = Counter("eventmask_refusals", "r", ["kind"], registry=registry)
    return fresh


def _samples(m: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in (*m.deliveries.collect(), *m.ack_seconds.collect(), *m.refusals.collect())
        for s in family.samples
        if not s.name.endswith("_created")
    }


answers = st.tuples(
    st.sampled_from(["accepted", "duplicate", "refused", "unavailable"]),
    st.sampled_from([200, 400, 401, 413, 503]),
    st.one_of(st.none(), st.sampled_from(ACK_BUCKETS), st.floats(0, 100)),
    st.sampled_from([None, "wrong secret", "too large"]),  # the refusal's kind, if any
)
Answer = tuple[str, int, float | None, str | None]


@given(st.lists(st.lists(answers, max_size=30), max_size=4))
def test_a_tally_adds_up_to_what_counting_each_answer_gives(rounds: list[list[Answer]]) -> None:
    """Counted in a tally and flushed (several times), the series equal direct counting."""
    tallied, direct = _fresh_metrics(), _fresh_metrics()
    tally = DeliveryTally(tallied)

    async def count(answers: list[Answer]) -> None:
        for outcome, status, seconds, kind in answers:
            tally.count(outcome, status, seconds)
            if kind is not None:
                tally.refused(kind)

    for answers_of_round in rounds:
        asyncio.run(count(answers_of_round))
        tally.flush()
        for outcome, status, seconds, kind in answers_of_round:
            direct.deliveries.labels(outcome, str(status)).inc()
            if seconds is not None:
                direct.ack_seconds.observe(seconds)
            if kind is not None:
                direct.refusals.labels(kind).inc()
    assert _samples(tallied) == pytest.approx(_samples(direct))


def test_a_tally_flushes_itself_within_a_second_on_each_loop() -> None:
    tallied = _fresh_metrics()
    tally = DeliveryTally(tallied)

    async def count_and_wait(wait: float) -> None:
        tally.count("accepted", 200, 0.004)
        await asyncio.sleep(wait)

    accepted = ("eventmask_deliveries_total", (("outcome", "accepted"), ("status", "200")))
    asyncio.run(count_and_wait(0))  # this loop ends before its flush comes
    assert _samples(tallied).get(accepted, 0) == 0
    asyncio.run(count_and_wait(FLUSH_EVERY + 0.5))  # a new loop flushes both
    assert _samples(tallied)[accepted] == 2
    assert _samples(tallied)[("eventmask_ack_seconds_count", ())] == 2


def test_a_scrape_of_the_default_registry_flushes_the_tallies_first() -> None:
    """`metrics_app()` reads the default registry: it sees a count made just before."""
    shared = metrics()
    assert shared is not None
    tally = DeliveryTally(shared)
    labels = {"outcome": "duplicate", "status": "299"}
    before = REGISTRY.get_sample_value("eventmask_deliveries_total", labels) or 0.0

    async def count() -> None:
        tally.count("duplicate", 299, None)

    asyncio.run(count())
    assert "eventmask_deliveries_total" in generate_latest(REGISTRY).decode()
    assert REGISTRY.get_sample_value("eventmask_deliveries_total", labels) == before + 1


def test_a_flush_from_another_thread_loses_no_count() -> None:
    """A scrape flushes from its thread while the event loop counts: every count arrives."""
    tallied = _fresh_metrics()
    tally = DeliveryTally(tallied)
    done = threading.Event()

    def scrape_often() -> None:
        while not done.is_set():
            tally.flush()

    async def count(n: int) -> None:
        for _ in range(n):
            tally.count("accepted", 200, 0.004)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    scraper = threading.Thread(target=scrape_often)
    scraper.start()
    try:
        asyncio.run(count(100_000))
    finally:
        done.set()
        scraper.join()
        sys.setswitchinterval(interval)
    tally.flush()
    samples = _samples(tallied)
    assert (
        samples[("eventmask_deliveries_total", (("outcome", "accepted"), ("status", "200")))]
        == 100_000
    )
    assert samples[("eventmask_ack_seconds_count", ())] == 100_000
