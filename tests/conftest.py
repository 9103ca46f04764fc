"""Shared fixtures: the case files in tests/data and the Channex examples."""

from __future__ import annotations

import json
import os
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


def load_cases(name: str) -> Any:
    """A JSON case file from tests/data."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def channex_examples() -> dict[str, dict[str, Any]]:
    """Every documented Channex notification, by file stem."""
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(CHANNEX.glob("notification-*.json"))
    }
