"""User code written the way the README shows passes ``mypy --strict``; misuse does not."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

from .test_readme import _blocks

pytestmark = pytest.mark.slow

WRONG_HANDLER = """
from eventmask import Router

router = Router()

@router.on("booking_new")
def on_booking(booking_id: str) -> None:  # the first argument must be a Notification
    print(booking_id)
"""

WRONG_FIELD = """
from eventmask import Notification

def on_booking(n: Notification) -> int:
    return n.booking.revision_id  # a str | None, not an int
"""


def _strict(tmp_path: Path, sources: dict[str, str]) -> tuple[int, str]:
    for name, code in sources.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    out, err, status = api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy"),
            *(str(tmp_path / n) for n in sources),
        ]
    )
    return status, out + err


def test_the_readme_examples_pass_mypy_strict(tmp_path: Path) -> None:
    blocks = {f"readme_{n}.py": code for n, code in enumerate(_blocks("python"))}
    assert blocks
    status, out = _strict(tmp_path, blocks)
    assert status == 0, out


def test_misused_handlers_and_fields_are_type_errors(tmp_path: Path) -> None:
    status, out = _strict(tmp_path, {"wrong_handler.py": WRONG_HANDLER})
    assert status == 1, out
    assert "wrong_handler.py:6" in out, out
    status, out = _strict(tmp_path, {"wrong_field.py": WRONG_FIELD})
    assert status == 1, out
    assert 'Incompatible return value type (got "str | None"' in out, out
