"""The tests' own layout: shared fixtures live in conftest.py files, helpers in helper modules
(``tests/real_data.py``, ``tests/api/network.py``, ...), and no test module imports another:
importing one hides where a fixture comes from, and pytest then collects its tests twice over
nothing or shares fixtures through ``__all__`` tricks."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(source: str, path: Path) -> set[str]:
    """Every module that ``source`` (the file at ``path`` under the repository) imports, as
    dotted names, relative imports resolved; ``from a import b`` counts ``a`` and ``a.b``."""
    package = path.relative_to(TESTS.parent).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def is_test_module(name: str) -> bool:
    return name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")


def test_imported_modules_sees_absolute_relative_and_submodule_imports():
    source = (
        "import tests.api.test_service\n"
        "from tests.api.test_cli import run_cli\n"
        "from . import test_routes\n"
        "from ..test_pairs import MATCH_A\n"
        "from tests.api.network import EXAMINER\n"
        "from api.service import test_mode\n"
    )
    names = imported_modules(source, TESTS / "api" / "web" / "test_example.py")
    assert {name for name in names if is_test_module(name)} == {
        "tests.api.test_service",
        "tests.api.test_cli",
        "tests.api.web.test_routes",
        "tests.api.test_pairs",
    }


def test_no_test_module_imports_another_test_module():
    offenders = {
        str(path.relative_to(TESTS.parent)): sorted(
            name
            for name in imported_modules(path.read_text(encoding="utf-8"), path)
            if is_test_module(name)
        )
        for path in sorted(TESTS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}
