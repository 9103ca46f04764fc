"""What every command shares: here, the help's width."""

from __future__ import annotations

import shutil

import pytest

from eventmask._cli.common import ArgumentParser, _columns


@pytest.mark.parametrize("columns", [None, "", "abc", "0", "-5", "1", "57", "200"])
def test_the_width_is_the_one_shutil_finds(columns: str | None,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _columns() == shutil.get_terminal_size().columns


def test_help_is_wrapped_to_that_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    parser = ArgumentParser(prog="demo", description="word " * 30)
    _ = parser.add_argument("--port", type=int, default=8000, help="the TCP port " * 5)
    lines = parser.format_help().splitlines()
    assert max(map(len, lines)) <= 38
    assert len(lines) > 10
