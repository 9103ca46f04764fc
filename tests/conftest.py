"""Shared fixtures: the case files in tests/data and the Channex examples."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# Channex's documented payloads, corrected to valid JSON (see its README).
CHANNEX = DATA / "channex"

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# Figures the tests measure (crash counts, drain rates), shown after the run.
_REPORTS: list[str] = []


def report(line: str) -> None:
    """Print `line` in the summary at the end of the test run."""
    _REPORTS.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _REPORTS:
        terminalreporter.section("measured")
        for line in _REPORTS:
            terminalreporter.write_line(line)


def load_cases(name: str) -> Any:
    """A JSON case file from tests/data."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it, once per run (``python -m build``)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="session")
def channex_examples() -> dict[str, dict[str, Any]]:
    """Every documented Channex notification, by file stem."""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(CHANNEX.glob("notification-*.json"))
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for this test session.

    A throwaway server (tests/pgserver.py) unless EVENTMASK_TEST_POSTGRES
    names one.  A missing PostgreSQL is an error, not a skip.
    """
    given = os.environ.get("EVENTMASK_TEST_POSTGRES")
    if given:
        yield given
        return
    from .pgserver import ThrowawayPostgres

    with ThrowawayPostgres() as server:
        yield server.url


_schemas = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL whose connections work in a fresh, empty schema of their own."""
    import psycopg

    name = f"eventmask_test_{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in postgres_server else "?"
    return f"{postgres_server}{separator}options=-csearch_path%3D{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty inbox database of each backend: a file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "inbox.db")
    url: str = request.getfixturevalue("postgres_url")
    return url
