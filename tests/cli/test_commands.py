"""The list of commands: `eventmask --help` from the table alone, each command from its family."""

from __future__ import annotations

import argparse

import pytest

from eventmask._cli import build_parser
from eventmask._cli.commands import COMMANDS, about

from ..helpers import python_output, run_cli


def test_help_lists_every_command_and_imports_no_family() -> None:
    """`eventmask --help` costs what argparse costs: no family, no lark, no JSON library,
    not even typing, datetime, or the shutil that argparse imports to learn the width."""
    heavy = ["lark", "msgspec", "attrs", "eventmask._cli.serve", "eventmask._cli.streams",
             "eventmask._cli.masks", "eventmask._inbox", "eventmask._language.parser",
             "typing", "datetime", "shutil"]  # fmt: skip
    code = (
        "import contextlib, io, sys\n"
        "from eventmask._cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    assert python_output(code) == "[]"


def test_a_command_that_logs_nothing_imports_no_logging() -> None:
    """The exit's check for a stalled stderr does not import the logging for it."""
    code = (
        "import contextlib, io, sys\n"
        "from eventmask._cli import run\n"
        "sys.argv = ['eventmask', 'check', 'booking']\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    run()\n"
        "print([m for m in ('logging', 'eventmask._cli.logs') if m in sys.modules])"
    )
    assert python_output(code) == "[]"


def test_help_shows_each_commands_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    flat = " ".join(out.split())
    for name in COMMANDS:
        assert f"{name} {' '.join(about(name).split())}" in flat, name


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_family_registers_its_command_with_the_tables_line(command: str) -> None:
    """Built for real, each command exists, with the help the table lists for it."""
    parser = build_parser(command)
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert helps[command] == about(command)
    assert {COMMANDS[name][0] for name in helps} == {COMMANDS[command][0]}


def test_an_unknown_command_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "filtre", "*")
    assert status == 2
    assert "invalid choice: 'filtre'" in err
    assert "'filter'" in err
