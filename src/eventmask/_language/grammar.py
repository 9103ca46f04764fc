"""Finding and loading the Lark grammar of masks.

The grammar's only copy is ``grammar/mask.lark`` at the top of the
repository.  A wheel carries it as ``eventmask/grammar/mask.lark`` (hatch
force-includes it); an editable checkout reads it from the repository.  The
Lark parser is built on first use, not at import, to keep ``import
eventmask`` cheap.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from lark import Lark

__all__ = ["PHRASES", "grammar_path", "grammar_text", "parser"]

_FILE: Final = "mask.lark"

# Every terminal of the grammar, in words fit for an error message.  A test
# checks that this covers every terminal the grammar declares.
PHRASES: Final[dict[str, str]] = {
    "SEMI": "';'",
    "COLON": "':'",
    "COMMA": "','",
    "STAR": "'*'",
    "NAME": "a name",
    "$END": "the end of the mask",
}

_lock = threading.Lock()


def grammar_path() -> Path:
    """Where the grammar file is: inside the installed package, else the checkout.

    >>> grammar_path().name
    'mask.lark'
    """
    from importlib import resources

    packaged = resources.files("eventmask").joinpath("grammar", _FILE)
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "grammar" / _FILE
    if checkout.is_file():
        return checkout
    raise FileNotFoundError(
        f"eventmask cannot find its grammar: neither {packaged} nor {checkout} exists"
    )


@cache
def grammar_text() -> str:
    """The grammar's source text.

    >>> "mask: item (SEMI item)*" in grammar_text()
    True
    """
    return grammar_path().read_text(encoding="utf-8")


@cache
def _build() -> Lark:
    from lark import Lark

    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        start=["mask", "item"],
        maybe_placeholders=False,
    )


_parser: Lark | None = None


def parser() -> Lark:
    """The LALR parser, built once (thread-safe) on first use.

    >>> str(parser().parse("booking", start="mask").data)
    'mask'
    """
    global _parser
    if _parser is None:
        with _lock:
            _parser = _build()
    return _parser
