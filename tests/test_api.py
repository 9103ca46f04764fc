"""Tests of the public surface: __all__, typing marker, import cost."""

from __future__ import annotations

import subprocess
import sys
import types

import eventmask


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and lists every public name the package exports."""
    assert eventmask.__all__ == sorted(eventmask.__all__)
    public = {
        name
        for name, value in vars(eventmask).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(eventmask.__all__)
    for name in eventmask.__all__:
        assert hasattr(eventmask, name), name


def test_ships_py_typed() -> None:
    """The package declares its type hints."""
    from importlib import resources

    assert resources.files("eventmask").joinpath("py.typed").is_file()


def test_import_does_not_build_the_parser() -> None:
    """`import eventmask` leaves lark unimported; the parser is built on first use."""
    code = "import sys, eventmask; print('lark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
