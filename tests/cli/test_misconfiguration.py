"""A tired operator's mistakes: each is one line on stderr and exit 2, and changes nothing."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from eventmask import Router
from eventmask._cli import main
from eventmask.asgi import Receiver
from eventmask.inbox import InboxSettings, Worker

from ..conftest import ROOT
from ..procs import EVENTMASK, SECRET, kill_leftovers


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> object:
    yield
    kill_leftovers()


def run(*argv: str, env: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if k != "EVENTMASK_DB"}
    done = subprocess.run(
        [EVENTMASK, *argv],
        capture_output=True,
        text=True,
        env={**clean, "EVENTMASK_SECRET": SECRET, **(env or {})},
        timeout=timeout,
    )
    return done.returncode, done.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def another_apps_database(tmp_path: Path) -> Path:
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.commit()
    conn.close()
    return path


def test_a_plain_string_secret_is_a_type_error() -> None:
    """secrets="s3cret" would make every character a valid secret: refused at once."""
    with pytest.raises(TypeError, match="not one str"):
        Receiver(Router(), secrets="s3cret-but-a-long-one")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Receiver(Router(), secrets=b"bytes-are-not-secrets")  # type: ignore[arg-type]


def test_secrets_too_short_to_be_secrets_are_refused() -> None:
    """Under 16 characters is refused, and so are the letters of iter("s3cret")."""
    for secrets in (["short"], iter("s3cret"), set("s3cret")):
        with pytest.raises(ValueError, match="at least 16 characters"):
            Receiver(Router(), secrets=secrets)


def test_a_secret_that_is_not_utf8_is_refused() -> None:
    """What os.environ gives for bytes that are not UTF-8 is a clear error, not a traceback."""
    with pytest.raises(ValueError, match="valid UTF-8"):
        Receiver(Router(), secrets=["long-enough-secret-\udcff"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"header": ""}, "an HTTP header name"),
        ({"header": "x-secret\u00e9"}, "an HTTP header name"),
        ({"path": "/health"}, "where /health or /metrics answer"),
        ({"path": "/metrics/"}, "where /health or /metrics answer"),
        ({"body_timeout": 0}, "body_timeout must be"),
        ({"body_timeout": -5}, "body_timeout must be"),
        ({"body_timeout": float("inf")}, "body_timeout must be"),
    ],
)
def test_receiver_options_that_break_every_delivery_are_refused(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Receiver(Router(), secrets=["a-long-shared-secret"], **options)


def test_settings_and_worker_refuse_values_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="lease must be a finite number"):
        InboxSettings(lease=float("inf"))
    with pytest.raises(TypeError, match="max_attempts must be a whole number"):
        InboxSettings(max_attempts=1.5)  # type: ignore[arg-type]
    for batch in (0, -1):
        with pytest.raises(ValueError, match="batch must be"):
            Worker(None, Router(), batch=batch)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "argv",
    [
        ["worker", "tests.apps:recording", "--workers", "100000"],
        ["serve", "tests.apps:recording", "--workers", "100000"],
        ["serve", "tests.apps:recording", "--max-connections", "99999999999"],
    ],
)
def test_option_values_past_their_bounds_are_usage_errors(argv: list[str]) -> None:
    status, err = run(*argv, "--db", "inbox.db")
    assert status == 2
    assert "must be at most" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--header", ""], "an HTTP header name"),
        (["--path", "/health"], "where /health or /metrics answer"),
    ],
)
def test_serve_refuses_options_that_break_every_delivery(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    done = subprocess.run(
        [EVENTMASK, "serve", "tests.apps:recording", "--db", str(tmp_path / "i.db"), *extra],
        cwd=ROOT,
        env={**os.environ, "EVENTMASK_SECRET": "a-long-shared-secret"},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert message in err
    assert "Traceback" not in err


def test_serve_refuses_a_secret_that_is_not_utf8(tmp_path: Path) -> None:
    env = {**os.environb, b"EVENTMASK_SECRET": b"a-long-shared-secret-\xff"}
    done = subprocess.run(
        [EVENTMASK, "serve", "tests.apps:recording", "--db", str(tmp_path / "i.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"valid UTF-8" in done.stderr
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["stats", "list", "refusals", "rejections"])
def test_read_only_commands_create_nothing(tmp_path: Path, command: str) -> None:
    """A mistyped path is an error, not a new empty inbox."""
    for db in (str(tmp_path / "mistyped.db"), f"sqlite:///{tmp_path / 'mistyped.db'}"):
        status, err = run("inbox", command, "--db", db)
        assert status == 2
        assert err.startswith("eventmask: no inbox at ")
        assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_read_only_commands_leave_another_database_alone(tmp_path: Path) -> None:
    """inbox stats on another application's SQLite file: refused, the file unchanged."""
    crm = another_apps_database(tmp_path)
    before = digest(crm)
    for argv in (["inbox", "stats"], ["inbox", "show", "1"], ["worker", "tests.apps:recording"]):
        status, err = run(*argv, "--db", str(crm))
        assert status == 2, argv
        assert "is not an eventmask inbox" in err
        assert "Traceback" not in err
    assert digest(crm) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]


def test_a_directory_and_a_non_database_file(tmp_path: Path) -> None:
    """A directory, or a file that is no database at all: one line, exit 2."""
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "notes.db").write_text("not a database, just notes\n" * 100)
    for path in ("dir.db", "notes.db"):
        status, err = run("inbox", "stats", "--db", str(tmp_path / path))
        assert status == 2
        assert err.count("\n") == 1
        assert "Traceback" not in err
    assert (tmp_path / "notes.db").read_text().startswith("not a database")


def test_serve_refuses_a_file_that_is_not_an_inbox(tmp_path: Path) -> None:
    """serve creates an inbox only where nothing is; another app's database is refused."""
    crm = another_apps_database(tmp_path)
    before = digest(crm)
    status, err = run("serve", "tests.apps:recording", "--db", str(crm), "--port", "0")
    assert status == 2
    assert "is not an eventmask inbox" in err
    assert digest(crm) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-body", "0"),
        ("--max-body", "1023"),
        ("--workers", "-1"),
        ("--lease", "0"),
        ("--lease", "nan"),
        ("--max-attempts", "0"),
        ("--port", "99999"),
        ("--port", "eighty"),
        ("--log-level", "verbose"),
        ("--header-timeout", "-1"),
        ("--max-connections", "0"),
    ],
)
def test_serve_option_ranges_are_checked_at_start(tmp_path: Path, option: str, value: str) -> None:
    """A value out of range is a usage error, exit 2, before anything starts."""
    status, err = run(
        "serve", "tests.apps:recording", "--db", str(tmp_path / "i.db"), option, value
    )
    assert status == 2
    assert f"argument {option}" in err
    assert "Traceback" not in err
    assert not (tmp_path / "i.db").exists()


def test_purge_inside_the_dedup_window_needs_force(tmp_path: Path) -> None:
    """--older-than must be finite, not negative, and at least the deduplication window."""
    db = str(tmp_path / "inbox.db")
    assert run("inbox", "migrate", "--db", db)[0] == 0
    for value in ("-1", "nan", "inf"):
        status, err = run("inbox", "purge", "--db", db, "--older-than", value)
        assert (status, "Traceback" in err) == (2, False), value
    status, err = run("inbox", "purge", "--db", db, "--older-than", "0.5")
    assert status == 2
    assert "inside the deduplication window" in err
    assert run("inbox", "purge", "--db", db, "--older-than", "0.5", "--force")[0] == 0
    assert run("inbox", "purge", "--db", db, "--older-than", "2")[0] == 0


def test_bad_entry_ids_are_one_line(tmp_path: Path) -> None:
    """An entry id too large for the database, or not a number: exit 2, no traceback."""
    db = str(tmp_path / "inbox.db")
    assert run("inbox", "migrate", "--db", db)[0] == 0
    for value in ("99999999999999999999999", "abc", "0"):
        status, err = run("inbox", "show", value, "--db", db)
        assert status == 2, value
        assert "Traceback" not in err


def test_version_and_db_help(capsys: pytest.CaptureFixture[str]) -> None:
    import eventmask

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"eventmask {eventmask.__version__}\n"
    with pytest.raises(SystemExit):
        main(["inbox", "stats", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "[--db URL]" in help_text
    assert "default: $EVENTMASK_DB" in help_text
