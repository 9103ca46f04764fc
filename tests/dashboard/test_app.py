"""The operator's page over HTTP on a real server: what it shows, who may see it, what it does.

The browser tests (test_browser.py) drive the same pages in Chromium; these
check every rule one request at a time, on both backends.
"""

from __future__ import annotations

import html
import json
import os
import re
from typing import Any

import httpx
import pytest

from eventmask.dashboard import Dashboard
from eventmask.inbox import SQLiteInbox

from ..helpers import Server, run_cli
from .conftest import SECRET, fill

TOKEN = "a-dashboard-token-of-some-length"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no action form"
    return found[1]


def post(url: str, path: str, data: dict[str, str], **headers: str) -> httpx.Response:
    return httpx.post(url + path, data=data, headers=headers, follow_redirects=False)


def test_every_page_answers_and_shows_no_secret(served: str) -> None:
    """Each page is whole HTML; the credential in a body is masked; markup is text."""
    for path in ("/", "/?range=day", "/?range=week", "/entries", "/entries/1", "/entries/4",
                 "/dead", "/refusals", "/dead/retry?class=KeyError"):  # fmt: skip
        page = httpx.get(served + path)
        assert page.status_code == 200, (path, page.text)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert SECRET not in page.text
        assert SECRET[-6:] not in page.text
        assert "<script>" not in page.text
    assert "&lt;script&gt;alert(" in httpx.get(served + "/entries/4").text


def test_the_overview_figures_are_those_of_inbox_stats(
    served: str, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(capsys, "inbox", "stats", "--db", db_url, "--json")
    assert status == 0
    stats = json.loads(out)
    page = httpx.get(served + "/").text
    shown = dict(re.findall(r'<dd data-figure="(\w+)"[^>]*>([^<]*)</dd>', page))
    for key in ("pending", "claimed", "done", "dead", "refused_last_24h"):
        assert shown[key] == str(stats[key]), key
    assert (stats["dead"], stats["done"], stats["refused_last_24h"]) == (3, 4, 7)
    assert 'Deliveries received, by state now <span class="muted">(total 8)' in page


def test_filters_are_in_the_url_and_combine(served: str) -> None:
    page = httpx.get(served + "/entries?state=dead&state=pending&error=KeyError").text
    assert re.findall(r'<a href="/entries/(\d+)">', page) == ["2", "1"]
    page = httpx.get(served + "/entries?q=d3").text
    assert re.findall(r'<a href="/entries/(\d+)">', page) == ["3"]
    page = httpx.get(served + "/entries?order=oldest&event=message").text
    assert re.findall(r'<a href="/entries/(\d+)">', page) == [str(n) for n in range(1, 8)]


def test_pages_go_by_key(inbox: Any) -> None:
    """60 entries, 50 a page: the next page link carries the cursor and the filters."""
    from ..helpers import body

    for n in range(100, 152):
        inbox.put(body(n))
    with Server(Dashboard(inbox)) as url:
        first = httpx.get(url + "/entries?event=message").text
        ids = re.findall(r'<a href="/entries/(\d+)">', first)
        assert len(ids) == 50
        following = re.search(r'<a href="/entries\?([^"]+)" rel="next">', first)
        assert following is not None
        link = following[1].replace("&amp;", "&")
        assert "event=message" in link
        assert f"after={ids[-1]}" in link
        second = httpx.get(url + "/entries?" + link).text
        rest = re.findall(r'<a href="/entries/(\d+)">', second)
        assert len(rest) == 9
        assert int(rest[0]) < int(ids[-1])
        assert 'rel="next"' not in second


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("state=gone", "state: unknown state 'gone'"),
        ("after=99999999999999999999999", "after: expected an entry id"),
        ("after=-1", "after: expected an entry id"),
        ("since=yesterday", "since: expected a date"),
        ("since=2026-05-02&until=2026-05-01", "since: must be before until"),
        ("order=sideways", "order: expected newest or oldest"),
        ("q=" + "x" * 500, "q: at most 200 characters"),
        ("event=a&event=b", "event: give it once"),
        ("&".join(f"f{i}=1" for i in range(100)), "too many fields"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(served: str, query: str, field: str) -> None:
    page = httpx.get(served + "/entries?" + query)
    assert page.status_code == 400
    assert field in html.unescape(page.text)
    assert "Traceback" not in page.text


def test_unknown_pages_and_entries_are_404_and_other_methods_405(served: str) -> None:
    assert httpx.get(served + "/entries/99999").status_code == 404
    assert "no inbox entry 99999" in httpx.get(served + "/entries/99999").text
    assert httpx.get(served + "/nothing-here").status_code == 404
    assert httpx.get(served + "/?range=year").status_code == 400
    assert httpx.put(served + "/entries").status_code == 405


def test_actions_retry_replay_and_retry_a_group(served: str, inbox: Any) -> None:
    """Each action changes the inbox as `eventmask inbox` would, then shows the result."""
    csrf = csrf_of(httpx.get(served + "/entries/3").text)
    answer = post(served, "/entries/3/retry", {"csrf": csrf})
    assert (answer.status_code, answer.headers["location"]) == (303, "/entries/3?notice=retried")
    assert inbox.get(3).state == "pending"
    answer = post(served, "/entries/4/replay", {"csrf": csrf})
    new = int(answer.headers["location"].split("/")[2].split("?")[0])
    assert inbox.get(new).body == inbox.get(4).body
    assert inbox.get(new).state == "pending"
    confirm = httpx.get(served + "/dead/retry?class=KeyError&handler="
                        "failing_router.%3Clocals%3E.save_message+%3C-+message").text  # fmt: skip
    assert re.search(r"<strong data-count>2</strong>", confirm)
    hidden = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', confirm)
    form = {name: html.unescape(value) for name, value in hidden}
    answer = post(served, "/dead/retry", form)
    assert answer.status_code == 303
    assert inbox.stats()["dead"] == 0
    assert post(served, "/entries/4/retry", {"csrf": csrf}).status_code == 409  # done


def test_a_read_only_dashboard_refuses_every_action(read_only: str, inbox: Any) -> None:
    page = httpx.get(read_only + "/entries/1").text
    assert "Retry now" not in page
    assert "read-only" in page
    answer = post(read_only, "/entries/1/retry", {"csrf": "0" * 64})
    assert answer.status_code == 403
    assert "read-only" in answer.text
    assert inbox.get(1).state == "dead"


def test_a_cross_site_action_is_refused(served: str, inbox: Any) -> None:
    """No CSRF value, a wrong one, another origin or a cross-site fetch: 403, nothing done."""
    csrf = csrf_of(httpx.get(served + "/entries/1").text)
    assert post(served, "/entries/1/retry", {}).status_code == 403
    assert post(served, "/entries/1/retry", {"csrf": "f" * 64}).status_code == 403
    evil = {"Origin": "http://evil.example"}
    assert post(served, "/entries/1/retry", {"csrf": csrf}, **evil).status_code == 403
    site = {"Sec-Fetch-Site": "cross-site"}
    assert post(served, "/entries/1/retry", {"csrf": csrf}, **site).status_code == 403
    assert inbox.get(1).state == "dead"
    huge = post(served, "/entries/1/retry", {"csrf": csrf, "pad": "x" * 20_000})
    assert huge.status_code == 413
    assert inbox.get(1).state == "dead"


def test_without_a_token_only_loopback_is_served(inbox: Any) -> None:
    """A proxied request is not loopback, even from 127.0.0.1."""
    with Server(Dashboard(inbox)) as url:
        assert httpx.get(url + "/").status_code == 200
        proxied = httpx.get(url + "/", headers={"X-Forwarded-For": "203.0.113.7"})
        assert proxied.status_code == 403
        assert "only on loopback" in proxied.text


def test_with_a_token_every_request_needs_it(inbox: Any) -> None:
    """Bearer, or the cookie that signing in sets; never the token itself in the cookie."""
    with Server(Dashboard(inbox, token=TOKEN, actions=True)) as url:
        refused = httpx.get(url + "/entries")
        assert refused.status_code == 401
        assert 'href="/login"' in refused.text
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(url + "/entries", headers=bearer).status_code == 200
        wrong = httpx.post(url + "/login", data={"token": "not-the-token-at-all"})
        assert wrong.status_code == 401
        signed = httpx.post(url + "/login", data={"token": TOKEN})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert TOKEN not in cookie
        with httpx.Client(base_url=url, cookies=signed.cookies) as browser:
            assert browser.get("/entries").status_code == 200
    with pytest.raises(ValueError, match="at least 16 characters"):
        Dashboard(inbox, token="short")


def test_an_inbox_that_goes_away_is_a_503_page(tmp_path: Any) -> None:
    path = tmp_path / "gone.db"
    inbox = SQLiteInbox(path)
    fill(inbox)
    try:
        with Server(Dashboard(inbox)) as url:
            assert httpx.get(url + "/entries").status_code == 200
            os.unlink(path)
            for page in ("/", "/entries", "/entries/1", "/dead"):
                answer = httpx.get(url + page)
                assert answer.status_code == 503, page
                assert "Traceback" not in answer.text
    finally:
        inbox.close()


def test_the_command_refuses_a_public_address_without_a_token(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTMASK_DASHBOARD_TOKEN", raising=False)
    monkeypatch.delenv("EVENTMASK_DB", raising=False)
    db = str(tmp_path / "i.db")
    SQLiteInbox(db).close()
    status, _, err = run_cli(capsys, "dashboard", "--db", db, "--host", "0.0.0.0")
    assert status == 2
    assert "EVENTMASK_DASHBOARD_TOKEN" in err
    status, _, err = run_cli(capsys, "dashboard")
    assert status == 2
    assert "needs --db" in err
    monkeypatch.setenv("EVENTMASK_DASHBOARD_TOKEN", "short")
    status, _, err = run_cli(capsys, "dashboard", "--db", db)
    assert status == 2
    assert "at least 16" in err


def test_an_exact_id_goes_straight_to_its_entry(served: str) -> None:
    """An entry id, or a booking revision's id, is looked up by its index, not searched."""
    answer = httpx.get(served + "/entries?q=3", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/entries/3")
    missing = httpx.get(served + "/entries?q=99999", follow_redirects=False)
    assert missing.status_code == 200  # no such entry: then it is searched for in bodies
    assert "No entries" in missing.text


def test_a_revision_id_opens_its_entry_with_its_ack(inbox: Any) -> None:
    from eventmask._json import dumps
    from eventmask.testing import revision_attributes

    from ..helpers import uuid

    revision = revision_attributes(property_id=uuid(1))
    row = (revision["id"], uuid(1), dumps({"id": revision["id"], "attributes": revision}))
    assert inbox.store_revisions([row]) == 1
    with Server(Dashboard(inbox)) as url:
        answer = httpx.get(url + "/entries", params={"q": revision["id"].upper()},
                           follow_redirects=True)  # fmt: skip
        assert answer.url.path.startswith("/entries/")
        assert "Booking revision" in answer.text
        assert "no ack owed yet" in answer.text


def test_the_mounted_example_of_the_docs_serves_under_its_path(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/dashboard.md's block runs; its links follow the mount point."""
    from ..conftest import ROOT

    page = (ROOT / "docs" / "dashboard.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"^```python\n(.*?)^```", page, re.M | re.S)
    monkeypatch.setenv("EVENTMASK_SECRET", "a-dashboard-example-secret")
    monkeypatch.setenv("EVENTMASK_DB", str(tmp_path / "inbox.db"))
    monkeypatch.delenv("EVENTMASK_DASHBOARD_TOKEN", raising=False)
    scope: dict[str, Any] = {"__name__": "docs_dashboard"}
    exec(compile(code, "docs/dashboard.md", "exec"), scope)
    try:
        with Server(scope["app"]) as url:
            overview = httpx.get(url + "/ops/")
            assert overview.status_code == 200
            assert 'href="/ops/entries"' in overview.text
            assert 'href="/ops/static/dashboard.css"' in overview.text
            assert httpx.get(url + "/ops/static/dashboard.css").status_code == 200
            assert httpx.get(url + "/ops/entries?state=dead").status_code == 200
            assert httpx.get(url + "/channex/health").json() == {"status": "ok"}
    finally:
        scope["inbox"].close()


def test_every_action_is_logged_with_who_and_what(
    served: str, caplog: pytest.LogCaptureFixture
) -> None:
    csrf = csrf_of(httpx.get(served + "/entries/1").text)
    with caplog.at_level("INFO", logger="eventmask.dashboard"):
        assert post(served, "/entries/1/retry", {"csrf": csrf}).status_code == 303
    (record,) = [r for r in caplog.records if r.name == "eventmask.dashboard"]
    fields = record.fields  # type: ignore[attr-defined]
    assert fields["action"] == "retry"
    assert fields["entry"] == 1
    assert fields["who"] == "127.0.0.1 (loopback)"


def test_the_stylesheet_is_served_as_css_once(served: str) -> None:
    answer = httpx.get(served + "/static/dashboard.css")
    assert answer.headers.get_list("content-type") == ["text/css; charset=utf-8"]
    assert ":focus-visible" in answer.text
