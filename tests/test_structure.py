"""The shape of the code: no import cycle, imports down the layers only, short modules, functions.

The import graph is built from the source with :mod:`ast`, so that it holds every import: at the
top of a module, inside a function, and under ``if TYPE_CHECKING:`` (a cycle that only the type
checker follows is still a cycle a reader has to untangle).

Today's violations are listed below, each to be removed by issue 10. The lists are exact: a test
fails when a new violation appears, and also when a listed one is gone, so that whoever removes
one also removes it from its list and the lists only shrink.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("ballistics", "indexer", "api")
#: a released database migration is never edited again, so its length is not held against it
FROZEN = ("api.store.migrations",)
MAX_MODULE_LINES = 650
MAX_FUNCTION_LINES = 90

#: (importer prefix, imported prefix) that must never meet; README, "How it fits together"
FORBIDDEN = (
    ("indexer", "ballistics"),
    ("indexer", "api"),
    ("ballistics", "api"),
    ("ballistics", "indexer"),
    ("api.store", "api.service"),
    ("api.store", "api.web"),
    ("api.service", "api.web"),
)

# Each entry is the set of modules that import one another in a circle
# (a strongly connected component of the import graph).
KNOWN_CYCLES: set[frozenset[str]] = set()

# (importer, imported) module pairs that go against the layers.
KNOWN_LAYER_VIOLATIONS: set[tuple[str, str]] = set()

# Modules longer than MAX_MODULE_LINES.
KNOWN_LONG_MODULES: set[str] = set()

# "module:function" longer than MAX_FUNCTION_LINES.
KNOWN_LONG_FUNCTIONS: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


@cache
def _tree(name: str) -> ast.Module:
    path = _modules()[name]
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports_in(tree: ast.Module, name: str, *, is_package: bool) -> Iterator[tuple[str, ...]]:
    """What module ``name`` imports, wherever in ``tree`` it does: one tuple per imported name.

    Each tuple lists the dotted names the import may mean, the most specific first:
    ``from api.store import marks`` is the module ``api.store.marks`` if there is one, else the
    name ``marks`` of the package ``api.store``.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".")
                if not is_package:
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield from ((f"{base}.{alias.name}", base) for alias in node.names)


def _imported_modules(name: str) -> set[str]:
    """The project's modules that module ``name`` imports."""
    modules = _modules()
    is_package = modules[name].name == "__init__.py"
    found = set()
    for meanings in _imports_in(_tree(name), name, is_package=is_package):
        found.update(next(([m] for m in meanings if m in modules), []))
    return found


@cache
def _import_graph() -> dict[str, frozenset[str]]:
    """Module -> the project's modules it imports."""
    return {name: frozenset(_imported_modules(name)) for name in _modules()}


def _cycles(graph: dict[str, frozenset[str]]) -> set[frozenset[str]]:
    """Strongly connected components with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: set[frozenset[str]] = set()

    # Tarjan's algorithm, iterative so that a deep graph cannot exhaust the recursion limit.
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = lowlink[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        components.add(frozenset(component))
    return components


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _layer_violations() -> set[tuple[str, str]]:
    found = set()
    for name in _modules():
        is_package = _modules()[name].name == "__init__.py"
        for meanings in _imports_in(_tree(name), name, is_package=is_package):
            target = meanings[0]
            for importer, imported in FORBIDDEN:
                if _within(name, importer) and _within(target, imported):
                    found.add((name, target))
    return found


def _frozen(name: str) -> bool:
    return any(_within(name, prefix) for prefix in FROZEN)


def _long_modules() -> set[str]:
    return {
        name
        for name, path in _modules().items()
        if not _frozen(name)
        and len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES
    }


def _long_functions() -> set[str]:
    found = set()
    for name in _modules():
        if _frozen(name):
            continue
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    found.add(f"{name}:{node.name}")
    return found


def _check_exact(found: set, known: set, what: str, list_name: str) -> None:
    new = found - known
    assert not new, f"new {what} (fix it; do not add it to {list_name}): {sorted(map(str, new))}"
    gone = known - found
    assert not gone, f"{what} gone (well done): remove from {list_name}: {sorted(map(str, gone))}"


# --- the checks themselves are checked -------------------------------------------------------


def test_imports_inside_functions_and_under_type_checking_are_found():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import api.store.database\n"
        "if TYPE_CHECKING:\n"
        "    from api.service.core import EvidenceService\n"
        "def step():\n"
        "    from . import jobs\n"
        "    from ..store import marks\n"
    )
    imports = _imports_in(ast.parse(source), "api.service.search", is_package=False)
    found = {meaning for meanings in imports for meaning in meanings}
    assert {
        "api.store.database",
        "api.service.core",
        "api.service.jobs",
        "api.store.marks",
    } <= found
    package = list(_imports_in(ast.parse("from . import core"), "api.service", is_package=True))
    assert package == [("api.service.core", "api.service")]


def test_every_module_of_the_packages_is_in_the_graph():
    graph = _import_graph()
    assert {"ballistics.surface", "indexer", "api.service", "api.web.app"} <= set(graph)
    assert "ballistics.surface" in graph["ballistics.io.x3p"]
    # "from indexer import files" imports the module indexer.files, not the package's __init__
    assert "indexer.files" in graph["indexer.store"]
    assert "indexer" not in graph["indexer.store"]


def test_cycles_are_found_as_whole_components():
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a"}),
        "d": frozenset({"a", "d"}),
        "e": frozenset({"a"}),
    }
    assert _cycles(graph) == {frozenset({"a", "b", "c"}), frozenset({"d"})}


# --- the rules ---------------------------------------------------------------------------------


def test_no_import_cycle():
    _check_exact(_cycles(_import_graph()), KNOWN_CYCLES, "import cycle", "KNOWN_CYCLES")


def test_imports_only_go_down_the_layers():
    _check_exact(
        _layer_violations(),
        KNOWN_LAYER_VIOLATIONS,
        "import across layers",
        "KNOWN_LAYER_VIOLATIONS",
    )


def test_no_module_is_too_long():
    _check_exact(
        _long_modules(),
        KNOWN_LONG_MODULES,
        f"module over {MAX_MODULE_LINES} lines",
        "KNOWN_LONG_MODULES",
    )


def test_no_function_is_too_long():
    _check_exact(
        _long_functions(),
        KNOWN_LONG_FUNCTIONS,
        f"function over {MAX_FUNCTION_LINES} lines",
        "KNOWN_LONG_FUNCTIONS",
    )
