"""Routers the receiver tests serve, importable as ``tests.apps:<name>``."""

from __future__ import annotations

import os
import time

from eventmask import Notification, Router
from eventmask.channex import BookingRevision
from eventmask.inbox import current_delivery

# Records every delivery through the worker's transaction: the exactly-once path.
recording = Router()
EFFECTS_TABLE = (
    "CREATE TABLE IF NOT EXISTS effects "
    "(delivery TEXT NOT NULL, entry BIGINT NOT NULL, pid INTEGER)"
)


@recording.on("*")
def record(n: Notification) -> None:
    ctx = current_delivery()
    ctx.connection.execute(EFFECTS_TABLE)
    payload = n.raw.get("payload") or {}
    mark = "?" if ctx.backend == "sqlite" else "%s"
    ctx.connection.execute(
        f"INSERT INTO effects (delivery, entry, pid) VALUES ({mark}, {mark}, {mark})",
        (payload.get("delivery", "?"), ctx.entry_id, os.getpid()),
    )
    # A little work, so that kills land while handlers run, too.
    time.sleep(float(os.environ.get("EVENTMASK_TEST_HANDLER_SLEEP", "0")))


# Fails on purpose for deliveries that ask for it: the retry and dead-letter path.
flaky = Router()


@flaky.on("*")
def maybe_fail(n: Notification) -> None:
    payload = n.raw.get("payload") or {}
    if payload.get("fail"):
        raise RuntimeError(f"failing on purpose: {payload.get('delivery')}")


# Kills its own worker process, as a handler calling os._exit would.
exiting = Router()


@exiting.on("*")
def exit_process(n: Notification) -> None:
    os._exit(3)


# Saves booking revisions through the worker's transaction (docs/bookings.md).
saving = Router()


@saving.on_revision()
def save_revision(revision: BookingRevision) -> None:
    ctx = current_delivery()
    ctx.connection.execute(
        "CREATE TABLE IF NOT EXISTS saved (revision TEXT NOT NULL, status TEXT NOT NULL)"
    )
    mark = ctx.placeholder
    ctx.connection.execute(
        f"INSERT INTO saved VALUES ({mark}, {mark})", (revision.id, revision.status.value)
    )


# Saves the rates an ari notification carries, sent or read back (docs/ari.md).
rates = Router()


@rates.on("ari:rate:*:*")
def save_rates(n: Notification) -> None:
    ctx = current_delivery()
    ctx.connection.execute("CREATE TABLE IF NOT EXISTS rates (day TEXT, plan TEXT, rate TEXT)")
    mark = ctx.placeholder
    for item in n.items:
        row = (item.date.isoformat(), item.rate_plan_id, str(item.rate))
        ctx.connection.execute(f"INSERT INTO rates VALUES ({mark}, {mark}, {mark})", row)
