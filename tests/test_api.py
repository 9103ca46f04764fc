"""Tests of the public namespaces: what each exports, and what importing one costs."""

from __future__ import annotations

import ast
import importlib
import inspect
import types
from typing import Any

import pytest

import eventmask
import eventmask.asgi
import eventmask.channex
import eventmask.inbox
import eventmask.testing
from eventmask import _errors

from .conftest import ROOT
from .helpers import python_output
from .test_layering import modules

NAMESPACES = [eventmask, eventmask.asgi, eventmask.channex, eventmask.inbox, eventmask.testing]


def _public(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", module.__name__) != "typing"
        and name not in {"annotations", "TYPE_CHECKING", "Any"}
    }


@pytest.mark.parametrize("namespace", NAMESPACES, ids=lambda m: m.__name__)
def test_all_is_sorted_complete_and_resolves(namespace: types.ModuleType) -> None:
    """__all__ is sorted, lists every public name defined there, and each name resolves."""
    assert namespace.__all__ == sorted(namespace.__all__)
    assert _public(namespace) <= set(namespace.__all__)
    for name in namespace.__all__:
        assert getattr(namespace, name) is not None, name


def test_lazy_exports_agree_with_the_type_checking_imports() -> None:
    """eventmask's lazy table, its TYPE_CHECKING imports and __all__ name the same things."""
    tree = ast.parse((ROOT / "src" / "eventmask" / "__init__.py").read_text())
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                imported[alias.name] = f".{node.module}"
    table = eventmask._EXPORTS
    # __version__ is imported at once, from its one source; it is not a lazy name.
    assert imported.pop("__version__") == "._version"
    assert imported == table
    assert sorted(table) == eventmask.__all__


def test_dir_lists_the_public_names_and_nothing_else() -> None:
    """dir(eventmask) is what a user may import: __all__, with __version__."""
    public = [name for name in dir(eventmask) if not name.startswith("_")]
    assert public == eventmask.__all__
    assert "__version__" in dir(eventmask)


def test_postgres_inbox_is_listed_typed_and_lazy() -> None:
    """PostgresInbox is in eventmask.inbox.__all__ and resolves to the real class."""
    from eventmask._inbox.postgres import PostgresInbox

    assert "PostgresInbox" in eventmask.inbox.__all__
    assert eventmask.inbox.PostgresInbox is PostgresInbox
    assert issubclass(PostgresInbox, eventmask.inbox.Inbox)


def _objects(namespace: types.ModuleType) -> list[tuple[str, Any]]:
    return [
        (name, getattr(namespace, name))
        for name in namespace.__all__
        if inspect.isclass(getattr(namespace, name)) or inspect.isfunction(getattr(namespace, name))
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [pair for ns in NAMESPACES for pair in _objects(ns)],
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_public_names_have_a_docstring_with_an_example(name: str, value: Any) -> None:
    """Every public class and function documents itself with an example."""
    doc = inspect.getdoc(value) or ""
    if (
        inspect.isclass(value)
        and issubclass(value, BaseException)
        and value not in (_errors.EventmaskError, _errors.MaskError)
    ):
        assert doc, name  # the error tree in eventmask._errors is their example
        return
    assert ">>>" in doc, f"{name} has no example in its docstring"


def test_every_exception_derives_from_the_root_and_is_drawn() -> None:
    """Each exception class eventmask defines is an EventmaskError and appears in the errors tree.

    Private classes (a leading underscore) are control flow inside one module
    and never reach a caller.
    """
    tree = _errors.__doc__ or ""
    found = []
    for name in modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("eventmask")
                and not value.__name__.startswith("_")
            ):
                found.append(value)
    assert found
    for cls in found:
        assert issubclass(cls, eventmask.EventmaskError), cls
        assert cls.__name__ in tree, f"{cls.__name__} is missing from the tree in _errors"


def test_ships_py_typed() -> None:
    """The package declares its type hints."""
    from importlib import resources

    assert resources.files("eventmask").joinpath("py.typed").is_file()


def test_import_eventmask_loads_only_the_package() -> None:
    """`import eventmask` loads neither lark, the router, the inbox, the algebra nor webhooks."""
    heavy = [
        "lark",
        "eventmask._routing.router",
        "eventmask._routing.index",
        "eventmask._inbox",
        "eventmask._language.algebra",
        "eventmask._webhooks",
    ]
    code = f"import sys, eventmask; print([m for m in {heavy!r} if m in sys.modules])"
    assert python_output(code) == "[]"


def test_a_name_loads_on_first_use() -> None:
    """eventmask.parse loads the parser when first touched, and works."""
    code = (
        "import sys, eventmask; before = 'eventmask._language.parser' in sys.modules; "
        "print(before, str(eventmask.parse('message;booking')))"
    )
    assert python_output(code) == "False booking;message"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = eventmask.nope  # type: ignore[attr-defined]


def test_mask_error_is_the_branch_of_masks_under_the_root() -> None:
    """``except MaskError`` catches what a mask raises, and nothing about storage or Channex."""
    from eventmask import channex, inbox

    assert issubclass(eventmask.MaskSyntaxError, eventmask.MaskError)
    for other in (inbox.InboxError, channex.ChannexError, eventmask.NotificationError,
                  channex.WebhookConfigError, eventmask.InvalidJSON):  # fmt: skip
        assert not issubclass(other, eventmask.MaskError), other
        assert issubclass(other, eventmask.EventmaskError), other
    assert issubclass(channex.WebhookConfigError, eventmask.ConfigError)
    with pytest.raises(eventmask.FieldError) as caught:
        eventmask.AriChange.from_item({"date": "2026-05-01", "rate": "lots"})
    assert caught.value.key == "rate"


@pytest.mark.parametrize(
    ("namespace", "old", "new"),
    [
        ("eventmask", "HandlerError", "HandlerFailure"),
        ("eventmask.channex", "Plan", "WebhookPlan"),
        ("eventmask.channex", "Outcome", "StepOutcome"),
        ("eventmask.inbox", "Outcome", "AttemptOutcome"),
        ("eventmask.channex", "rotate", "rotation_steps"),
    ],
)
def test_a_renamed_name_still_resolves_with_a_deprecation_warning(
    namespace: str, old: str, new: str
) -> None:
    """The old name is the new object, warned about, and no longer among the public names."""
    module = importlib.import_module(namespace)
    with pytest.warns(
        DeprecationWarning, match=f"{namespace}.{old} is deprecated: use {namespace}.{new}"
    ):
        assert getattr(module, old) is getattr(module, new)
    assert old not in module.__all__
    with pytest.raises(AttributeError, match="has no attribute 'Nonesuch'"):
        getattr(module, "Nonesuch")  # noqa: B009 - the name is the point


def test_one_name_per_thing() -> None:
    """No two public classes share a name across the namespaces."""
    seen: dict[str, str] = {}
    for ns in NAMESPACES:
        for name in ns.__all__:
            value = getattr(ns, name)
            if inspect.isclass(value) and seen.setdefault(name, ns.__name__) != ns.__name__:
                assert getattr(importlib.import_module(seen[name]), name) is value, name
