"""The operator's page driven in a real browser: Debian's Chromium under Playwright.

Playwright cannot download its own browser here, so the tests launch the
system's (scripts/setup.sh installs it).  They filter, open an entry, retry
dead letters, then look in the inbox itself; they check that no page shows
a secret, that a read-only dashboard refuses an action, and that each page
passes axe-core's accessibility rules and can be used from the keyboard.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from eventmask.dashboard import Dashboard

from ..helpers import Server
from .conftest import SECRET

# The flags of a headless Chromium on a machine with no network beyond loopback.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: scripts/setup.sh installs Debian's chromium"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """SQLite only here: the HTTP tests run every rule on both backends."""
    return str(tmp_path / "inbox.db")


def test_filter_open_an_entry_and_retry_it(page: Page, served: str, inbox: Any) -> None:
    page.goto(served + "/entries")
    page.get_by_label("dead").check()
    page.get_by_label("Error class").fill("KeyError")
    page.get_by_role("button", name="Filter").click()
    assert "state=dead" in page.url
    assert "error=KeyError" in page.url
    links = page.locator("table.entries tbody a")
    expect(links).to_have_text(["2", "1"])
    links.last.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Entry 1")
    expect(page.locator("pre.body")).to_contain_text('"api_token": "****"')
    assert SECRET not in page.content()
    page.get_by_role("button", name="Retry now").click()
    expect(page.get_by_role("status")).to_contain_text("Retried")
    assert inbox.get(1).state == "pending"
    assert inbox.get(1).attempts == 0


def test_retry_a_group_of_dead_letters_after_confirming(
    page: Page, served: str, inbox: Any
) -> None:
    page.goto(served + "/dead")
    row = page.get_by_role("row").filter(has_text="KeyError")
    expect(row.locator("[data-count]")).to_have_text("2")
    row.get_by_role("link", name="Retry 2…").click()
    expect(page.locator("strong[data-count]")).to_have_text("2")
    assert inbox.stats()["dead"] == 3  # nothing is touched before the confirmation
    page.get_by_role("button", name="Retry 2 dead letters").click()
    expect(page.get_by_role("status").first).to_contain_text("Retried the group")
    assert inbox.stats()["dead"] == 1
    assert {inbox.get(1).state, inbox.get(2).state} == {"pending"}


def test_a_read_only_dashboard_offers_and_takes_no_action(page: Page, inbox: Any) -> None:
    with Server(Dashboard(inbox)) as url:
        page.goto(url + "/entries/1")
        expect(page.get_by_role("button", name="Retry now")).to_have_count(0)
        expect(page.locator("nav .mode")).to_have_text("read-only")
        answer = page.request.post(url + "/entries/1/retry", form={"csrf": "0" * 64})
        assert answer.status == 403
        assert "read-only" in answer.text()
    assert inbox.get(1).state == "dead"


def test_every_page_passes_axe_and_shows_no_secret(browser: Browser, served: str) -> None:
    """axe-core's rules (labels, headings, contrast, landmarks...) on every page."""
    context = browser.new_context(bypass_csp=True)  # axe runs as a script in the page
    page = context.new_page()
    axe = Axe()
    try:
        for path in ("/", "/?range=week", "/entries", "/entries?state=dead", "/entries/1",
                     "/entries/4", "/dead", "/dead/retry?class=ValueError&handler=x",
                     "/refusals", "/entries/99999", "/entries?state=nope"):  # fmt: skip
            page.goto(served + path)
            assert SECRET not in page.content()
            results = axe.run(page)
            assert results.violations_count == 0, (path, results.generate_snapshot())
    finally:
        context.close()


def test_the_keyboard_reaches_the_content_and_focus_shows(page: Page, served: str) -> None:
    page.goto(served + "/entries")
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to content")
    assert focused.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    page.keyboard.press("Enter")  # past the navigation: the next stop is the first filter
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("value", "pending")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")  # the form submits from the keyboard
    expect(page).to_have_url(re.compile(r"/entries\?state=pending&"))
    expect(page.locator("table.entries tbody a")).to_have_text(["8"])
