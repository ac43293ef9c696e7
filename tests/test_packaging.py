"""The runtime dependencies in pyproject.toml are exactly what the package code imports.

``pip install . && ballistics demo`` must work on a fresh machine: every third-party module that
``ballistics/``, ``indexer/`` or ``api/`` imports (at the top of a module or inside a function)
must come with a runtime dependency, not only with the ``[test]`` extra. And a runtime dependency
nothing imports is dead weight every lab installs.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterable, Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ballistics", "indexer", "api")

#: runtime dependencies that package code rightly never imports by name
USED_INDIRECTLY = {
    # FastAPI imports it itself to read form bodies (uploads, the sign-in form)
    "python-multipart",
    # font data only: ballistics/text.py finds their files through fontpkg.path()
    "fontpkg-noto-sans",
    "fontpkg-noto-sans-arabic",
    # static files only: api/web/docs.py serves the Swagger UI and ReDoc bundles it ships,
    # found by package name through importlib.resources
    "fastapi-offline",
}

#: modules that package code imports only for a feature of an optional extra (and names the
#: extra when it is missing): module -> the extra that installs it
OPTIONAL_IMPORTS = {
    # --cluster (ballistics/cluster.py)
    "distributed": "cluster",
    "dask": "cluster",
}


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports in ``source``, wherever they stand."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def third_party_imports(root: Path = ROOT) -> dict[str, set[str]]:
    """Each third-party top-level module the package code imports -> the files importing it."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for name in imported_modules(path.read_text(encoding="utf-8")):
                if name in sys.stdlib_module_names or name in PACKAGES:
                    continue
                found.setdefault(name, set()).add(str(path.relative_to(root)))
    return found


def runtime_dependencies(pyproject: str) -> set[str]:
    """Canonical names of ``[project] dependencies`` in the text of a pyproject.toml."""
    project = tomllib.loads(pyproject)["project"]
    return {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}


def undeclared_imports(
    imports: Mapping[str, Iterable[str]],
    dependencies: set[str],
    distributions: Mapping[str, list[str]],
) -> list[str]:
    """One line per imported module that no runtime dependency provides."""
    problems = []
    for module, files in sorted(imports.items()):
        where = ", ".join(sorted(files))
        providers = {canonicalize_name(name) for name in distributions.get(module, [])}
        if not providers:
            problems.append(f"{module} (in {where}) is not installed here")
        elif not providers & dependencies:
            problems.append(
                f"{module} (in {where}) comes from {', '.join(sorted(providers))}, which is no"
                " runtime dependency"
            )
    return problems


def unused_dependencies(
    imports: Iterable[str],
    dependencies: set[str],
    distributions: Mapping[str, list[str]],
    used_indirectly: set[str] = USED_INDIRECTLY,
) -> list[str]:
    """One line per runtime dependency that provides no module the package code imports."""
    provided: dict[str, set[str]] = {}
    for module, names in distributions.items():
        for name in names:
            provided.setdefault(canonicalize_name(name), set()).add(module)
    imported = set(imports)
    problems = []
    for dependency in sorted(dependencies - {canonicalize_name(n) for n in used_indirectly}):
        modules = provided.get(dependency)
        if modules is None:
            problems.append(f"{dependency} is not installed here, so its modules are unknown")
        elif not modules & imported:
            problems.append(
                f"{dependency} (modules {', '.join(sorted(modules))}) is never imported"
            )
    return problems


@pytest.fixture(scope="module")
def pyproject() -> str:
    return (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_every_import_is_a_runtime_dependency(pyproject):
    imports = {
        module: files
        for module, files in third_party_imports().items()
        if module not in OPTIONAL_IMPORTS
    }
    problems = undeclared_imports(
        imports, runtime_dependencies(pyproject), packages_distributions()
    )
    assert not problems, "add to [project] dependencies in pyproject.toml:\n" + "\n".join(problems)


def test_every_runtime_dependency_is_imported(pyproject):
    problems = unused_dependencies(
        third_party_imports(), runtime_dependencies(pyproject), packages_distributions()
    )
    assert not problems, (
        "drop from [project] dependencies, or list in USED_INDIRECTLY with the reason:\n"
        + "\n".join(problems)
    )


def test_each_optional_import_comes_with_its_extra(pyproject):
    extras = tomllib.loads(pyproject)["project"]["optional-dependencies"]
    for module, extra in OPTIONAL_IMPORTS.items():
        declared = {canonicalize_name(Requirement(line).name) for line in extras[extra]}
        providers = {canonicalize_name(name) for name in packages_distributions()[module]}
        assert providers & declared, f"{module} is not installed by the [{extra}] extra"


def test_the_indirect_ones_are_runtime_dependencies(pyproject):
    # the allow-list names only what pyproject.toml declares, spelt as pip spells it
    assert {canonicalize_name(name) for name in USED_INDIRECTLY} <= runtime_dependencies(pyproject)


def test_imports_are_found_wherever_they_stand():
    source = (
        "import os, numpy.linalg as la\n"
        "from scipy import ndimage\n"
        "from . import sibling\n"
        "from .child import thing\n"
        "def later():\n"
        "    import uvicorn\n"
        "if TYPE_CHECKING:\n"
        "    from httpx import Client\n"
    )
    assert imported_modules(source) == {"os", "numpy", "scipy", "uvicorn", "httpx"}


# the two ways pyproject.toml of 1 December 2026 was wrong: `ballistics demo` imports httpx, which
# only the [test] extra installed, and scikit-image was installed for nothing
OLD_PYPROJECT = """
[project]
name = "ballistics"
dependencies = ["numpy>=1.26", "scikit-image>=0.22", "python-multipart>=0.0.9"]
[project.optional-dependencies]
test = ["httpx>=0.27"]
"""
DISTRIBUTIONS = {
    "numpy": ["numpy"],
    "skimage": ["scikit-image"],
    "httpx": ["httpx"],
    "multipart": ["python-multipart"],
    "python_multipart": ["python-multipart"],
}


def test_an_import_only_an_extra_installs_is_reported():
    problems = undeclared_imports(
        {"numpy": ["ballistics/a.py"], "httpx": ["api/demo.py"]},
        runtime_dependencies(OLD_PYPROJECT),
        DISTRIBUTIONS,
    )
    assert problems == ["httpx (in api/demo.py) comes from httpx, which is no runtime dependency"]


def test_a_dependency_nothing_imports_is_reported():
    problems = unused_dependencies(
        {"numpy"}, runtime_dependencies(OLD_PYPROJECT), DISTRIBUTIONS, {"python-multipart"}
    )
    assert problems == ["scikit-image (modules skimage) is never imported"]


def test_dependency_names_are_compared_as_pip_compares_them():
    # SQLAlchemy is declared as "SQLAlchemy" and installed as "sqlalchemy"
    pyproject = '[project]\nname = "x"\ndependencies = ["SQLAlchemy>=2.0", "Foo_Bar[extra]>=1"]\n'
    assert runtime_dependencies(pyproject) == {"sqlalchemy", "foo-bar"}
    assert not unused_dependencies(
        {"sqlalchemy", "foo_bar"},
        runtime_dependencies(pyproject),
        {"sqlalchemy": ["SQLAlchemy"], "foo_bar": ["foo_bar"]},
        set(),
    )
