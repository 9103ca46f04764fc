"""User code written the way the README shows passes mypy and pyright, strict; misuse does not."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mypy import api

from .conftest import ROOT
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

WRONG_REVISION_FIELD = """
from eventmask import Router
from eventmask.channex import BookingRevision

router = Router()

@router.on_revision(status="new")
def save(revision: BookingRevision) -> None:
    print(revision.arrival)  # a typo: the field is arrival_date
"""

TYPOS = """
from eventmask import Routr
from eventmask.inbox import current_delivry
"""

PYRIGHT = shutil.which("pyright", path=str(Path(sys.executable).parent))


def _write(tmp_path: Path, sources: dict[str, str]) -> list[str]:
    for name, code in sources.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    return [str(tmp_path / n) for n in sources]


def _mypy(tmp_path: Path, sources: dict[str, str]) -> tuple[int, str]:
    files = _write(tmp_path, sources)
    cache = ["--cache-dir", str(tmp_path / ".mypy")]
    out, err, status = api.run(["--strict", "--no-incremental", *cache, *files])
    return status, out + err


def _pyright(tmp_path: Path, sources: dict[str, str]) -> tuple[int, str]:
    assert PYRIGHT is not None, "pyright is installed by scripts/setup.sh (the dev extra)"
    files = _write(tmp_path, sources)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    done = subprocess.run(
        [PYRIGHT, "--pythonpath", sys.executable, *files],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


CHECKERS = {"mypy": _mypy, "pyright": _pyright}


# Pages that promise each block is a whole module: checked one block at a time.
WHOLE_BLOCKS = {"embedding"}


def _doc_modules() -> dict[str, str]:
    """Each page of docs/ with Python examples, its blocks joined as one module, in order."""
    modules = {}
    for page in sorted((ROOT / "docs").glob("*.md")):
        blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)
        if page.stem in WHOLE_BLOCKS:
            modules.update((f"docs_{page.stem}_{n}.py", code) for n, code in enumerate(blocks))
        elif blocks:
            modules[f"docs_{page.stem}.py"] = "\n".join(blocks)
    return modules


@pytest.mark.parametrize("checker", CHECKERS)
def test_the_readme_and_docs_examples_type_check_strictly(tmp_path: Path, checker: str) -> None:
    blocks = {f"readme_{n}.py": code for n, code in enumerate(_blocks("python"))}
    assert blocks
    docs = _doc_modules()
    assert "docs_embedding_1.py" in docs
    blocks.update(docs)
    status, out = CHECKERS[checker](tmp_path, blocks)
    assert status == 0, out


@pytest.mark.parametrize("checker", CHECKERS)
def test_misused_handlers_and_fields_are_type_errors(tmp_path: Path, checker: str) -> None:
    status, out = CHECKERS[checker](tmp_path, {"wrong_handler.py": WRONG_HANDLER})
    assert status == 1, out
    assert "wrong_handler.py:6" in out, out
    status, out = CHECKERS[checker](tmp_path, {"wrong_field.py": WRONG_FIELD})
    assert status == 1, out
    assert "wrong_field.py:5" in out, out
    status, out = CHECKERS[checker](tmp_path, {"wrong_revision.py": WRONG_REVISION_FIELD})
    assert status == 1, out
    assert "wrong_revision.py:9" in out, out


@pytest.mark.parametrize("checker", CHECKERS)
def test_misspelt_lazy_names_are_type_errors(tmp_path: Path, checker: str) -> None:
    """The names loaded on first use are visible to type checkers, and a typo is an error."""
    status, out = CHECKERS[checker](tmp_path, {"typos.py": TYPOS})
    assert status == 1, out
    for line, name in [(2, "Routr"), (3, "current_delivry")]:
        assert re.search(rf"typos.py:{line}:.*{name}", out), out
