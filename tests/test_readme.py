"""The README's examples and commands are executed, so they stay true."""

from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT
from .helpers import dumps

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.M | re.S)


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.mark.parametrize("code", _blocks("python"))
def test_python_examples_run(code: str) -> None:
    """Every ```python block executes without error (its asserts are the checks)."""
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_setup_and_test_commands() -> None:
    """The README's test command is the one .ci/run runs; both commands set up first."""
    main_job, tests = _blocks("sh")[:2]
    assert main_job.startswith("bash scripts/setup.sh && ")
    assert tests.strip() == "bash scripts/setup.sh && .venv/bin/python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/setup.sh" in ci
    assert "\n.venv/bin/python -m pytest\n" in ci


def test_main_job_runs_on_the_sample_data() -> None:
    """The main-job command (after set-up) succeeds on the bundled data."""
    command = _blocks("sh")[0].split("&&", 1)[1].strip()
    command = command.replace(".venv/bin/", str(Path(sys.executable).parent) + "/")
    done = subprocess.run(
        command, shell=True, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    shown = re.search(r"It prints (\d+) lines such as\n\n```\n(.*?)\n```", README, re.S)
    assert shown is not None
    lines = done.stdout.splitlines()
    assert len(lines) == int(shown.group(1))
    assert shown.group(2) in lines
    assert "selected 33 of" in done.stderr


@pytest.mark.parametrize("page", ["README.md", "docs/filter.md"])
def test_console_examples_print_what_the_page_shows(page: str) -> None:
    """Each `$ eventmask ...` line in a console block prints the lines shown under it."""
    env = {**os.environ, "COLUMNS": "200"}
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = re.findall(r"^```console\n(.*?)^```", text, re.M | re.S)
    assert blocks, page
    for block in blocks:
        for command, shown in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", block, re.M):
            argv = shlex.split(command)
            assert argv[0] == "eventmask"
            done = subprocess.run([_bin("eventmask"), *argv[1:]], capture_output=True,
                                  text=True, env=env, check=False, cwd=ROOT)  # fmt: skip
            assert (done.stdout + done.stderr).splitlines() == shown.splitlines(), command


def test_the_testing_page_examples_run() -> None:
    """Every ```python block of docs/testing.md runs, in order (its asserts are the checks)."""
    page = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)
    assert len(blocks) == 5
    for n, code in enumerate(blocks):
        exec(compile(code, f"docs/testing.md[{n}]", "exec"), {"__name__": "docs_testing"})


def test_the_bookings_page_example_saves_a_revision(tmp_path: Path) -> None:
    """docs/bookings.md's handlers, run by a real worker over a real inbox."""
    from eventmask.inbox import SQLiteInbox, Worker
    from eventmask.testing import revision_attributes

    page = (ROOT / "docs" / "bookings.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)
    scope: dict[str, Any] = {"__name__": "docs_bookings"}
    exec(compile(code, "docs/bookings.md", "exec"), scope)
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    try:
        doc = revision_attributes(property_id="716305c4-561a-4561-a187-7f5b8aeb5920")
        inbox.store_revisions([(doc["id"], doc["property_id"], dumps({"attributes": doc}))])
        assert Worker(inbox, scope["router"]).run_once() == 1
        conn = sqlite3.connect(tmp_path / "inbox.db")
        rows = conn.execute("SELECT revision, booking, arrival FROM stays").fetchall()
        conn.close()
        assert rows == [(doc["id"], doc["booking_id"], doc["arrival_date"])]
    finally:
        inbox.close()


def _embedding_blocks() -> list[str]:
    page = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)


@pytest.mark.parametrize("n", range(len(_embedding_blocks())))
def test_each_embedding_example_is_a_whole_module_that_serves(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each block of docs/embedding.md runs alone; an app it builds serves under uvicorn:
    the receiver's health says ok (its lifespan ran), /metrics answers without a redirect."""
    import httpx

    from .helpers import Server

    monkeypatch.setenv("EVENTMASK_SECRET", "an-embedding-example-secret")
    monkeypatch.setenv("EVENTMASK_DB", str(tmp_path / "inbox.db"))
    scope: dict[str, Any] = {"__name__": f"docs_embedding_{n}"}
    exec(compile(_embedding_blocks()[n], f"docs/embedding.md[{n}]", "exec"), scope)
    app = scope.get("app")
    if app is None:
        return
    receiver = scope.get("receiver")
    with Server(app) as url:
        if receiver is not None:
            health = httpx.get(f"{url}/channex/health", timeout=5)
            assert (health.status_code, health.json()) == (200, {"status": "ok"})
            assert receiver.started
        else:
            scraped = httpx.get(f"{url}/metrics", timeout=5, follow_redirects=False)
            assert scraped.status_code == 200
            assert "python_info" in scraped.text or "# HELP" in scraped.text
    if receiver is not None:
        receiver.inbox.close()
