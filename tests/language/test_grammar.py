"""Tests of the grammar file: its terminals, and that it ships in a wheel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import eventmask
from eventmask._language.grammar import PHRASES, grammar_path, grammar_text, parser

from ..conftest import ROOT


def test_every_terminal_has_a_phrase() -> None:
    """Each terminal the grammar declares maps to words for error messages."""
    declared = set(re.findall(r"^([A-Z_]+)(?:\.\d+)?:", grammar_text(), re.M))
    assert declared
    assert declared | {"$END"} == set(PHRASES)
    assert {t.name for t in parser().terminals} <= set(PHRASES)


def test_every_rule_and_terminal_has_a_comment() -> None:
    """The grammar reads on its own: a // comment precedes every definition."""
    lines = grammar_text().splitlines()
    for index, line in enumerate(lines):
        if re.match(r"^\??[A-Za-z_][A-Za-z0-9_.]*:", line):
            above = [x for x in lines[:index] if x.strip()]
            assert above, line
            assert above[-1].startswith("//"), line


def test_editable_checkout_reads_the_repository_grammar() -> None:
    """From a source checkout the grammar's only copy, grammar/mask.lark, is used."""
    if not Path(eventmask.__file__).resolve().is_relative_to(ROOT / "src"):
        pytest.skip("eventmask is not imported from this checkout")
    assert grammar_path() == ROOT / "grammar" / "mask.lark"
    assert not (ROOT / "src" / "eventmask" / "grammar").exists()


@pytest.mark.slow
def test_wheel_built_through_sdist_carries_the_grammar(tmp_path: Path, dist: Path) -> None:
    """sdist -> wheel -> fresh venv: the installed package parses with its own grammar copy."""
    (wheel,) = dist.glob("eventmask-*.whl")
    assert "eventmask/grammar/mask.lark" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import eventmask, eventmask._language.grammar as g;"
        "print(eventmask.parse('booking_new;ari:rate:*:*'));"
        "print(g.grammar_path())"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    done = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    canonical, path = done.stdout.splitlines()
    assert canonical == "ari:rate:*:*;booking_new"
    assert Path(path).is_relative_to(env_dir)
    assert Path(path).read_text(encoding="utf-8") == grammar_text()
