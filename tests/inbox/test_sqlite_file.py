"""`sqlite_file`: what is an inbox file, its URI, and its stats read without an `SQLiteInbox`."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import Router
from eventmask._errors import InboxError, InboxUnavailable, NotAnInbox
from eventmask._inbox.sqlite_file import SCHEMA_VERSION, file_uri, read_stats
from eventmask._inbox.values import RefusalBatch
from eventmask.inbox import InboxSettings, SQLiteInbox, Worker

from ..helpers import Holder, body
from .conftest import Clock


@given(st.text(min_size=1).filter(lambda p: "\x00" not in p))
def test_the_uri_quotes_a_path_as_urllib_does(path: str) -> None:
    """The oracle is `urllib.parse.quote`, which the module no longer imports."""
    quoted = urllib.parse.quote(os.path.abspath(path))
    assert file_uri(path, "ro") == f"file:{quoted}?mode=ro"


def test_a_file_name_with_uri_characters_opens(tmp_path: Path) -> None:
    path = tmp_path / "in ?box#%1.db"
    SQLiteInbox(path).close()
    assert read_stats(str(path), 0.0)["pending"] == 0


def _fill(inbox: SQLiteInbox, clock: Clock, puts: int, claimed: int, dead: int, done: int) -> None:
    """`puts` pending deliveries, then some claimed, dead and done among them."""
    for n in range(puts):
        inbox.put(body(n, "message" if n % 2 else "booking"))
        clock.now += 1.5
    router = Router()
    router.add("message", lambda n: None)
    router.add("booking", _fail)
    for _ in range(dead + done):
        Worker(inbox, router).run_once()
    inbox.claim("elsewhere", claimed)


def _fail(_: object) -> None:
    raise RuntimeError("no")


refusals = st.lists(
    st.tuples(
        st.floats(0, 2 * 86_400),
        st.sampled_from([401, 413, 400]),
        st.sampled_from(["wrong secret", "too large"]),
        st.integers(1, 50),
    ),
    max_size=5,
)


@settings(max_examples=25, deadline=None)
@given(
    puts=st.integers(0, 12),
    worked=st.integers(0, 4),
    claimed=st.integers(0, 4),
    spooled=st.integers(0, 2),
    refused=refusals,
)
def test_file_stats_equal_the_inboxs_own(
    puts: int,
    worked: int,
    claimed: int,
    spooled: int,
    refused: list[tuple[float, int, str, int]],
) -> None:
    """Counts, the oldest pending age with spooled deliveries, refusals of the last day."""
    clock = Clock()
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "inbox.db")
    inbox = SQLiteInbox(path, InboxSettings(max_attempts=1, spill_after=0.05), clock=clock)
    try:
        _fill(inbox, clock, puts, claimed, dead=worked, done=worked)
        counts = tuple((clock.now - age, status, kind, n) for age, status, kind, n in refused)
        inbox.record_refusals(RefusalBatch(counts, ()))
        inbox.flush()
        holder = Holder(path)
        try:
            for n in range(spooled):
                inbox.put(body(100 + n))
                clock.now += 1
        finally:
            holder.release()
        clock.now += 7.25
        expected = inbox.stats()
        assert read_stats(path, clock.now) == expected
    finally:
        inbox.close()


def test_a_missing_file_or_another_database_is_not_an_inbox(tmp_path: Path) -> None:
    with pytest.raises(NotAnInbox, match="no inbox at"):
        read_stats(str(tmp_path / "none.db"), 0.0)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NotAnInbox, match="no eventmask_schema table"):
        read_stats(str(other), 0.0)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(NotAnInbox, match="is not an eventmask inbox"):
        read_stats(str(garbage), 0.0)
    assert not (tmp_path / "none.db").exists()  # nothing was created


def test_another_schema_version_names_what_to_run(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    SQLiteInbox(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE eventmask_schema SET version = ?", (SCHEMA_VERSION - 1,))
    conn.commit()
    conn.close()
    with pytest.raises(InboxError, match="eventmask inbox migrate"):
        read_stats(str(path), 0.0)


def test_an_unreadable_spool_is_unavailable_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    SQLiteInbox(path).close()
    Path(f"{path}-intake").write_bytes(b"no spool" * 100)
    with pytest.raises(InboxUnavailable, match="cannot read the inbox"):
        read_stats(str(path), 0.0)


def test_the_schema_version_is_the_number_of_migrations() -> None:
    assert len(SQLiteInbox.MIGRATIONS) == SCHEMA_VERSION
