"""What the sdist and the wheel carry: the license, the links, the examples, the classifiers."""

from __future__ import annotations

import email
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _metadata(dist: Path) -> email.message.Message:
    (wheel,) = dist.glob("eventmask-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def test_the_wheel_names_its_license_urls_and_pythons(dist: Path) -> None:
    meta = _metadata(dist)
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert {"Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    pythons = {c for c in meta.get_all("Classifier") or [] if re.search(r":: 3\.\d+$", c)}
    assert pythons == {f"Programming Language :: Python :: 3.{n}" for n in (11, 12, 13)}
    requires = meta.get_all("Requires-Dist") or []
    assert sum("psycopg-pool" in r for r in requires) == 0  # psycopg[pool] brings it, once
    assert not [r for r in requires if re.match(r"(ruff|mypy|build)\b.*extra == 'test'", r)]


def test_the_wheel_registers_the_pytest_plugin_and_the_client_extra(dist: Path) -> None:
    """Installing the wheel is enough for pytest to find eventmask's fixtures."""
    (wheel,) = dist.glob("eventmask-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert "[pytest11]\neventmask = eventmask._testing.plugin" in entry_points
    meta = _metadata(dist)
    assert "client" in (meta.get_all("Provides-Extra") or [])
    assert any(r.startswith("httpx") and "extra == 'client'" in r
               for r in meta.get_all("Requires-Dist") or [])  # fmt: skip


def test_the_wheel_carries_the_dashboard_templates_and_its_extra(dist: Path) -> None:
    """The operator's page renders from an installed wheel: templates, stylesheet, Jinja2."""
    (wheel,) = dist.glob("eventmask-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    pages = ("base", "overview", "entries", "entry", "dead", "retry_group", "refusals", "error")
    for page in pages:
        assert f"eventmask/_dashboard/templates/{page}.html" in names
    assert "eventmask/_dashboard/static/dashboard.css" in names
    requires = _metadata(dist).get_all("Requires-Dist") or []
    assert any(r.startswith("jinja2") and "extra == 'dashboard'" in r for r in requires)


def test_the_description_has_no_link_a_package_index_cannot_follow(dist: Path) -> None:
    body = _metadata(dist).get_payload()
    assert isinstance(body, str)
    targets = re.findall(r"\]\(([^)]+)\)", body)
    assert targets, "the README has links and an image"
    assert [t for t in targets if not t.startswith(("https://", "#"))] == []
    assert any(t.endswith("router_scaling.png") and "raw." in t for t in targets)


def test_the_example_receiver_tests_pass_from_the_sdist(dist: Path, tmp_path: Path) -> None:
    (sdist,) = dist.glob("eventmask-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.glob("eventmask-*")
    assert (root / "LICENSE").is_file()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_example_receiver.py"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
