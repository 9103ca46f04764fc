"""A receiver mounted in a real FastAPI app, under a real uvicorn: paths, lifespan, failures."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT
from ..helpers import dumps
from ..procs import SECRET, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def pms(tmp_path: Path) -> tuple[str, Path, subprocess.Popen[bytes], Path]:
    db = tmp_path / "inbox.db"
    log = tmp_path / "uvicorn.log"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.fastapi_app:create_app",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "EVENTMASK_DB": str(db), "EVENTMASK_SECRET": SECRET},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/rooms", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the FastAPI app did not start"
        time.sleep(0.05)
    yield url, db, proc, log
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


def _post(url: str, path: str, delivery: str, message: str = "hello") -> httpx.Response:
    doc = {
        "event": "message",
        "property_id": "p",
        "payload": {"message": message, "delivery": delivery},
    }
    return httpx.post(
        f"{url}{path}", content=dumps(doc), headers={"X-Channex-Webhook-Secret": SECRET},
        follow_redirects=False, timeout=5,
    )  # fmt: skip


def _effects(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [d for (d,) in conn.execute("SELECT delivery FROM effects ORDER BY delivery")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def _wait(predicate: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_the_mount_point_takes_deliveries_with_and_without_the_slash(
    pms: tuple[str, Path, subprocess.Popen[bytes], Path],
) -> None:
    url, db, _, _ = pms
    bare, slashed = _post(url, "/channex", "a"), _post(url, "/channex/", "b")
    assert (bare.status_code, slashed.status_code) == (200, 200), (bare.text, slashed.text)
    assert bare.json()["status"] == "accepted"
    # The worker started by the lifespan handles both, in the app's own process.
    _wait(lambda: _effects(db) == ["a", "b"])
    assert httpx.get(f"{url}/rooms").json() == {"rooms": 12}  # the app's own routes
    scraped = httpx.get(f"{url}/channex/metrics", headers={"Authorization": f"Bearer {SECRET}"})
    assert 'eventmask_deliveries_total{outcome="accepted",status="200"} 2.0' in scraped.text
    assert 'eventmask_attempts_total{outcome="done"} 2.0' in scraped.text  # worker threads


def test_health_under_the_mount_is_no_refusal(
    pms: tuple[str, Path, subprocess.Popen[bytes], Path],
) -> None:
    url, db, proc, log = pms
    for _ in range(3):
        assert httpx.get(f"{url}/channex/health").json() == {"status": "ok"}
    assert _post(url, "/elsewhere", "x").status_code == 404  # FastAPI's, not ours
    proc.send_signal(signal.SIGTERM)
    # uvicorn re-raises the signal once it has shut down cleanly.
    assert proc.wait(30) in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in log.read_text()
    conn = sqlite3.connect(db)
    try:
        refused = conn.execute("SELECT count(*) FROM eventmask_refusal_counts").fetchone()[0]
    finally:
        conn.close()
    assert refused == 0


def test_a_handler_bug_shows_in_uvicorns_output_with_its_traceback(
    pms: tuple[str, Path, subprocess.Popen[bytes], Path],
) -> None:
    url, _, _, log = pms
    assert _post(url, "/channex", "boom", message="break").status_code == 200
    _wait(lambda: "dead letter" in log.read_text())
    text = log.read_text()
    assert "Traceback (most recent call last)" in text
    assert "KeyError: 'missing'" in text
    assert "handler failed" in text


@pytest.mark.parametrize("given", [False, True])
def test_a_mounted_receiver_without_a_lifespan_says_so_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, given: bool
) -> None:
    """Forgetting ``lifespan`` stores deliveries nobody handles: /health is degraded and the
    log warns, once; ``lifespan(receiver, workers=0)`` (workers elsewhere) is deliberate."""
    from fastapi import FastAPI

    from eventmask import Router
    from eventmask.asgi import Receiver, lifespan, mount
    from eventmask.inbox import SQLiteInbox

    from ..helpers import Server

    inbox = SQLiteInbox(tmp_path / "inbox.db")
    receiver = Receiver(Router(), secrets=[SECRET], inbox=inbox)
    app = FastAPI(lifespan=lifespan(receiver, workers=0)) if given else FastAPI()
    mount(app, "/channex", receiver)
    headers = {"x-channex-webhook-secret": SECRET}
    with caplog.at_level("WARNING", logger="eventmask.receiver"), Server(app) as url:
        for n in range(3):
            assert _post(url, "/channex", f"d{n}").status_code == 200
        doc = httpx.get(f"{url}/channex/health", headers=headers).json()
    inbox.close()
    warned = [r for r in caplog.records if "no lifespan started this receiver" in r.message]
    if given:
        assert (doc["status"], "problems" in doc, warned) == ("ok", False, [])
    else:
        assert doc["status"] == "degraded"
        assert any("lifespan=lifespan(receiver)" in p for p in doc["problems"])
        assert len(warned) == 1
