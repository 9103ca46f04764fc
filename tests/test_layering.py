"""The shape of the house: layers, no import cycles, small rooms.

Each layer imports only the layers below it: errors -> catalogue -> envelope
-> mask language -> Channex client -> routing -> webhook configuration -> inbox -> receiver and
worker -> operator's page -> testing kit -> command line.  Imports are read with `ast`,
including those inside functions, under ``TYPE_CHECKING``, and the lazy exports of
``eventmask/__init__.py``.  Imports of third-party packages do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "src" / "eventmask"

# Bottom first.  A module belongs to the layer of the longest prefix that
# names it; "eventmask" (the public face) names only the package itself.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "errors",
        ("eventmask._errors", "eventmask._deprecated", "eventmask._json", "eventmask._version"),
    ),
    ("catalogue", ("eventmask._catalogue",)),
    ("envelope", ("eventmask._envelope",)),
    ("mask language", ("eventmask._language",)),
    ("Channex client", ("eventmask._channex",)),
    ("routing", ("eventmask._routing",)),
    ("webhook configuration", ("eventmask._webhooks", "eventmask", "eventmask.channex")),
    ("inbox", ("eventmask._inbox",)),
    ("receiver and worker", ("eventmask._service", "eventmask.asgi", "eventmask.inbox")),
    ("operator's page", ("eventmask._dashboard", "eventmask.dashboard")),
    ("testing kit", ("eventmask._testing", "eventmask.testing")),
    ("command line", ("eventmask._cli", "eventmask.__main__")),
]
# The public namespaces: they only re-export, and nothing inside imports them.
FACES = (
    "eventmask",
    "eventmask.asgi",
    "eventmask.channex",
    "eventmask.dashboard",
    "eventmask.inbox",
    "eventmask.testing",
    "eventmask.__main__",
)

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 200
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, *([target] if target else [])])


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """Every eventmask module `source` imports, wherever the import stands."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "eventmask":
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            target = node.module
            if node.level:
                target = _resolve(module, is_package, node.level, node.module)
            if target is None or target.split(".")[0] != "eventmask":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield sub if sub in known else target
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            # The lazy exports of a face: {"name": ".module"} imports that module.
            assert isinstance(node.value, ast.Dict)
            for value in node.value.values:
                assert isinstance(value, ast.Constant)
                yield _resolve(module, is_package, 1, str(value.value).lstrip("."))
        elif isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "_EXPORTS":
            assert isinstance(node.value, ast.Dict)
            for value in node.value.values:
                assert isinstance(value, ast.Constant)
                yield _resolve(module, is_package, 1, str(value.value).lstrip("."))


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    edges: dict[str, set[str]] = {}
    for name, path in found.items():
        targets = set(imports_of(name, path.read_text(), path.name == "__init__.py", known))
        edges[name] = {t for t in targets if t != name}
    return edges


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (
                prefix != "eventmask" and module.startswith(prefix + ".")
            )
            if matches and len(prefix) > best_len:
                best, best_len = rank, len(prefix)
    return best


def layer_violations(edges: Mapping[str, set[str]]) -> list[str]:
    problems = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            if target in FACES and source not in FACES:
                problems.append(f"{source} imports the public face {target}")
            elif layer_of(target) > layer_of(source):
                problems.append(
                    f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} "
                    f"({LAYERS[layer_of(target)][0]}), a higher layer"
                )
    return problems


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Every import cycle found by a depth-first search, as the path around it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    """No module falls outside the layer table (a new room must be placed on purpose)."""
    assert [m for m in modules() if layer_of(m) < 0] == []


def test_the_reader_sees_imports_of_every_kind() -> None:
    """The import reader finds top-level, relative, in-function and lazy-export imports."""
    edges = graph()
    assert "eventmask._language.algebra" in edges["eventmask._language.mask"]  # from . import
    assert "eventmask._routing.index" in edges["eventmask._routing.registry"]  # from .x import
    assert "eventmask._inbox.postgres" in edges["eventmask._inbox.factory"]  # inside a function
    assert "eventmask._routing.router" in edges["eventmask"]  # a lazy export
    assert "eventmask._inbox.postgres" in edges["eventmask.inbox"]  # under TYPE_CHECKING


def test_each_layer_imports_only_layers_below() -> None:
    """No module imports a higher layer, and nothing inside imports a public face."""
    assert layer_violations(graph()) == []


def test_no_import_cycles() -> None:
    """The import graph of src/eventmask has no cycle, not even through function imports."""
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_are_for() -> None:
    """A higher-layer import and a cycle are reported (the checks can fail)."""
    bad = {
        "eventmask._language.mask": {"eventmask._routing.router"},
        "eventmask._routing.router": {"eventmask._routing.index"},
        "eventmask._routing.index": {"eventmask._routing.router", "eventmask"},
    }
    problems = layer_violations(bad)
    assert any("eventmask._language.mask (mask language) imports" in p for p in problems)
    assert any("imports the public face eventmask" in p for p in problems)
    assert cycles(bad) == [
        ["eventmask._routing.router", "eventmask._routing.index", "eventmask._routing.router"]
    ]


def _explained(lines: list[str], lineno: int) -> bool:
    """Whether a `# size:` comment on or just above line `lineno` says why it is large."""
    window = lines[max(0, lineno - 4) : lineno]
    return any("# size:" in line for line in window)


@pytest.mark.parametrize("name", sorted(modules()))
def test_rooms_are_small(name: str) -> None:
    """Modules, classes and functions stay under their sizes, or say why in a comment."""
    path = modules()[name]
    text = path.read_text()
    lines = text.splitlines()
    assert len(lines) <= MAX_MODULE_LINES or _explained(lines, 1), f"{name}: {len(lines)} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            limit = MAX_CLASS_LINES
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            limit = MAX_FUNCTION_LINES
        else:
            continue
        size = (node.end_lineno or node.lineno) - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        assert size <= limit or _explained(lines, first), f"{name}.{node.name}: {size} lines"
