"""``eventmask inbox``: bulk retry, replay, rejections, and the usage errors around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventmask import Notification, Router
from eventmask._inbox.values import Refusal, RefusalBatch
from eventmask._json import dumps
from eventmask.inbox import InboxSettings, SQLiteInbox, Worker
from eventmask.testing import revision_attributes

from ..helpers import body, python_output, run_cli, uuid


@pytest.fixture
def db(tmp_path: Path) -> str:
    """An inbox with three dead entries (two messages, one review) and one refusal."""
    path = tmp_path / "inbox.db"
    inbox = SQLiteInbox(path, InboxSettings(max_attempts=1))
    router = Router()

    @router.on("*")
    def broken(n: Notification) -> None:
        raise KeyError("room_type_id")

    for n, event in enumerate(["message", "message", "review"]):
        inbox.put(body(n, event=event))
    Worker(inbox, router).run_once()
    refusal = Refusal(1_000.0, 401, "wrong secret", "missing or wrong secret header", "1.2.3.4:5")
    inbox.record_refusals(RefusalBatch(((960.0, 401, "wrong secret", 1),), (refusal,)))
    inbox.close()
    return str(path)


def test_bulk_retry_by_event_then_by_state(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--event picks the messages; --state dead the rest; each says how many changed."""
    out = run_cli(capsys, "inbox", "retry", "--event", "message", "--db", db)[1]
    assert out == "2 dead entries are pending again\n"
    assert run_cli(capsys, "inbox", "retry", "--state", "dead", "--db", db)[1] == (
        "1 dead entry is pending again\n"
    )
    stats = json.loads(run_cli(capsys, "inbox", "stats", "--json", "--db", db)[1])
    assert (stats["dead"], stats["pending"]) == (0, 3)


def test_bulk_retry_since_a_time(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--since takes an ISO time or an age; entries received before it stay dead."""
    assert run_cli(capsys, "inbox", "retry", "--since", "2099-01-01", "--db", db)[1] == (
        "0 dead entries are pending again\n"
    )
    assert run_cli(capsys, "inbox", "retry", "--since", "1h", "--db", db)[1] == (
        "3 dead entries are pending again\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["retry"], "needs an entry ID, or --state, --since or --event"),
        (["retry", "1", "--state", "dead"], "an entry ID or filters, not both"),
        (["retry", "--state", "done"], "invalid choice: 'done' (choose from 'dead', 'pending')"),
        (["retry", "--since", "last week"], "expected an ISO 8601 time"),
        (["replay"], "the following arguments are required: ID"),
        (["show"], "inbox show needs an entry ID or --revision, not both"),
        (["show", "1", "--revision", "r"], "inbox show needs an entry ID or --revision"),
        (["stats", "--state", "dead"], "unrecognized arguments: --state dead"),
        (["purge", "--limit", "5"], "unrecognized arguments: --limit 5"),
    ],
)
def test_usage_errors(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run_cli(capsys, "inbox", *argv, "--db", db)
    assert (status, out) == (2, "")
    assert message in err


def test_replay_of_a_dead_entry_points_at_retry(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "inbox", "replay", "1", "--db", db)
    assert status == 1
    assert "entry 1 is dead; only done entries are replayed; use retry for a dead entry" in err


def test_refusals_have_a_header_and_iso_times(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "inbox", "refusals", "--db", db)[1]
    assert out.splitlines() == [
        "ID\tAT\tSTATUS\tREMOTE\tREASON",
        "1\t1970-01-01T00:16:40Z\t401\t1.2.3.4:5\tmissing or wrong secret header",
    ]
    (row,) = json.loads(run_cli(capsys, "inbox", "refusals", "--json", "--db", db)[1])
    assert (row["at"], row["status"], row["body"]) == ("1970-01-01T00:16:40Z", 401, None)


def test_list_says_how_to_get_the_next_page(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A full page ends with the --before that continues it; the last page says nothing more."""
    status, out, err = run_cli(capsys, "inbox", "list", "--db", db, "--limit", "2")
    assert status == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["ID", "3", "2"]
    assert err == "eventmask: more with --before 2\n"
    status, out, err = run_cli(capsys, "inbox", "list", "--db", db, "--limit", "2", "--before", "2")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["ID", "1"]
    assert (status, err) == (0, "")


def test_list_shows_the_error_class_and_message_before_the_handler(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """LAST ERROR is the exception, unqualified, with its message, then the route."""
    rows = run_cli(capsys, "inbox", "list", "--db", db)[1].splitlines()
    assert rows[1].split("\t")[-1] == "KeyError: 'room_type_id' (db.<locals>.broken <- *)"


def test_list_of_one_event(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_cli(capsys, "inbox", "list", "--event", "message", "--db", db)[1]
    assert [line.split("\t")[:3] for line in out.splitlines()[1:]] == [
        ["2", "dead", "message"],
        ["1", "dead", "message"],
    ]


def test_show_finds_a_revision_by_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "inbox.db")
    revision = revision_attributes(property_id=uuid(1))
    with SQLiteInbox(db) as inbox:
        inbox.store_revisions([(revision["id"], uuid(1), dumps({"attributes": revision}))])
    status, out, _ = run_cli(capsys, "inbox", "show", "--revision", revision["id"], "--db", db)
    assert (status, out.splitlines()[0]) == (
        0,
        "entry 1: booking_revision, pending after 0 attempts",
    )
    status, _, err = run_cli(capsys, "inbox", "show", "--revision", uuid(9), "--db", db)
    assert (status, err) == (1, f"eventmask: no inbox entry for booking revision {uuid(9)}\n")


def test_each_action_offers_only_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``inbox --help`` names every action; an action's help, only the flags it reads."""
    summary = run_cli(capsys, "inbox", "--help")[1]
    for action in ("migrate", "stats", "list", "show", "retry", "replay", "purge", "refusals"):
        assert f"\n    {action}" in summary, action
    purge = run_cli(capsys, "inbox", "purge", "--help")[1]
    assert "--older-than DAYS" in purge
    assert "(default: 7.0)" in purge
    assert "--limit" not in purge
    assert "--state" not in purge
    listing = run_cli(capsys, "inbox", "list", "--help")[1]
    assert "--limit LIMIT" in listing
    assert "(default: 50)" in listing
    assert "--older-than" not in listing
    assert "--force" not in listing


def test_stats_of_a_file_starts_with_the_standard_library_alone(tmp_path: Path) -> None:
    """``inbox stats`` on an SQLite file (a health check) reads the file without the rest
    of the inbox: no attrs, no JSON library, not even typing, and not what awaiting a
    write needs (asyncio, and the ssl it imports: about 12 ms of its start)."""
    db = tmp_path / "inbox.db"
    SQLiteInbox(db).close()
    code = (
        "import contextlib, io, sys\n"
        "from eventmask._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main(['inbox', 'stats', '--db', {str(db)!r}])\n"
        "print(status, [m for m in ('asyncio', 'ssl', 'json', 'attrs', 'msgspec', 'typing',\n"
        "                           'logging', 'urllib.parse') if m in sys.modules])"
    )
    assert python_output(code) == "0 []"
