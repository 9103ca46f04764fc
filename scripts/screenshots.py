"""Regenerate the screenshots of docs/dashboard.md from a sample inbox, in Chromium.

Run from a checkout: .venv/bin/python scripts/screenshots.py [--out docs/images]

The sample is an hour of deliveries (some handled, some dead letters of two
kinds, a few pending) and refusals of two kinds, in a temporary SQLite
inbox; the dashboard serves it on loopback with actions allowed, and each
page is photographed at 1280 pixels wide.  Nothing here is drawn by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashboard.conftest import failing_router  # noqa: E402
from tests.dashboard.test_browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.helpers import Server, body  # noqa: E402

from eventmask._inbox.values import RefusalBatch  # noqa: E402
from eventmask.dashboard import Dashboard  # noqa: E402
from eventmask.inbox import InboxSettings, SQLiteInbox, Worker  # noqa: E402

PAGES = {
    "overview": "/",
    "entries": "/entries?state=dead&state=pending",
    "entry": "/entries/2",
    "dead": "/dead",
    "retry": "/dead/retry?class=KeyError&handler=failing_router.%3Clocals%3E.save_message"
    "+%3C-+message",
    "refusals": "/refusals",
}


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sample(path: Path) -> SQLiteInbox:
    """An hour of traffic: n = 1, 2, 3 fail (d1, d2 KeyError; d3 ValueError), the rest pass."""
    end = time.time()
    clock = _Clock(end - 3_540)
    inbox = SQLiteInbox(path, InboxSettings(max_attempts=1), clock=clock)
    n = 0
    for minute in range(60):
        clock.now = end - 3_540 + minute * 60
        for _ in range(2 + (minute * 7) % 5):
            n += 1
            inbox.put(body(n, api_token="sk_live_sample", guest="Ana Lima"))
        Worker(inbox, failing_router(), batch=64).run_once()
        if minute % 9 == 0:
            bucket = clock.now // 60 * 60
            inbox.record_refusals(RefusalBatch(((bucket, 401, "wrong secret", 3),
                                                (bucket, 413, "too large", 1)), ()))  # fmt: skip
    clock.now = end
    for _ in range(4):
        n += 1
        inbox.put(body(n))  # pending: no worker has run since
    inbox.flush()
    return inbox


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        inbox = sample(Path(tmp) / "inbox.db")
        try:
            with Server(Dashboard(inbox, actions=True)) as url, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                for name, path in PAGES.items():
                    page.goto(url + path)
                    target = args.out / f"dashboard-{name}.png"
                    page.screenshot(path=str(target), full_page=True)
                    print(target)
                browser.close()
        finally:
            inbox.close()


if __name__ == "__main__":
    main()
