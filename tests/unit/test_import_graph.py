"""No import cycle among the project's own modules and packages; the kit never imports the simulator, the sandbox
bank never imports the local stack, and the dev HTTP server depends on none of them.

The graph is read from the source with ``ast``: every import counts, at module level, inside functions (a
function-level import is a cycle deferred, not removed) and under ``if TYPE_CHECKING:`` (a cycle a type checker
follows is still two modules that cannot be read apart). An import names the most specific first-party module it
reaches: ``from pkg import mod`` is an edge to ``pkg.mod`` when that is a module, and ``import pkg.mod`` does not
add an edge to ``pkg``, because a package whose ``__init__`` re-exports its modules is not a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Import roots (as on sys.path) and the first-party code under each; tests are left out: they import everything.
SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("layers/sealing", ("sealing",)),
    ("layers/orders", ("orders",)),
    ("layers/console", ("console",)),
    (".", ("stacktools", "functions", "benchmarks")),
    ("simulator/sandbox", ("chalicelib", "app.py", "serve.py")),
    ("simulator", ("local", "shop", "devhttp")),
)
KIT = {"sealing", "orders", "console", "stacktools", "functions", "benchmarks"}  # what deploys, and the kit's own tools
SIMULATOR = {"local", "shop", "devhttp", "chalicelib", "app", "serve"}  # what `make run` serves
SANDBOX = {"chalicelib", "app", "serve"}  # the sandbox bank: deployable on its own with `chalice deploy`
STANDALONE = "devhttp"  # the dev HTTP server: local, the shop and the sandbox use it; it uses none of them


def module_files() -> dict[str, Path]:
    """Every first-party module by dotted name (a package by its own name, for its ``__init__``)."""
    modules: dict[str, Path] = {}
    for root, entries in SOURCES:
        base = ROOT / root
        for entry in entries:
            paths = [base / entry] if entry.endswith(".py") else sorted((base / entry).rglob("*.py"))
            for path in paths:
                parts = list(path.relative_to(base).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, typing_too: bool = True) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under ``node`` (functions and classes included); under TYPE_CHECKING only if
    ``typing_too``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        elif isinstance(child, ast.If) and _is_type_checking(child.test) and not typing_too:
            for other in child.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
        else:
            yield from _imports(child, typing_too)


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a first-party module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path], typing_too: bool = True) -> set[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for statement in _imports(ast.parse(path.read_text(), str(path)), typing_too):
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        else:
            base = statement.module or ""
            if statement.level:
                anchor = package.split(".")[: len(package.split(".")) - statement.level + 1] if package else []
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" if base else alias.name for alias in statement.names]
        found.update(target for name in names if (target := _resolve(name, modules)) is not None)
    found.discard(module)
    return found


def import_graph(typing_too: bool = True) -> dict[str, set[str]]:
    modules = module_files()
    return {module: imports_of(module, path, modules, typing_too) for module, path in modules.items()}


def unit_of(module: str) -> str:
    """What a module belongs to at the package level: its top-level package (a function: its directory)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "functions" else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = packages.setdefault(unit_of(module), set())
        edges.update(unit_of(target) for target in targets if unit_of(target) != unit_of(module))
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle for each strongly connected component of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_graph_sees_the_project() -> None:
    graph = import_graph()
    # Known edges of each kind: module level, function level, relative, and a package's __init__.
    assert "local.stack" in graph["local.__main__"]
    assert "local.sandbox" in graph["local.__main__"]  # imported inside services()
    assert "devhttp" in {unit_of(target) for target in graph["shop.app"]}
    assert "orders.payment" in graph["functions.cgi1.app"]


@pytest.mark.parametrize("kind", ["modules", "packages"])
def test_no_import_cycle_even_through_type_only_imports(kind: str) -> None:
    graph = import_graph()
    found = cycles(graph if kind == "modules" else package_graph(graph))
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(cycle) for cycle in found)


def test_every_package_root_is_read() -> None:
    modules = module_files()
    for root, entries in SOURCES:
        for entry in entries:
            assert (ROOT / root / entry).exists(), f"{root}/{entry}: a package root that is not there"
    assert {"sealing", "orders", "functions.cgi2.app", "local", "devhttp", "shop.app", "chalicelib"} <= set(modules)


def package_of(unit: str) -> str:
    return unit.partition(".")[0]


def test_the_kit_never_imports_the_simulator() -> None:
    graph = package_graph(import_graph(typing_too=True))
    found = sorted(f"{unit} -> {target}" for unit, targets in graph.items() if package_of(unit) in KIT
                   for target in targets if package_of(target) in SIMULATOR)  # fmt: skip
    assert found == [], "the kit imports the simulator: " + "; ".join(found)


def test_the_sandbox_bank_never_imports_the_local_stack() -> None:
    graph = package_graph(import_graph(typing_too=True))
    assert {package_of(unit) for unit in graph} >= SANDBOX
    found = sorted(f"{unit} -> {target}" for unit, targets in graph.items() if package_of(unit) in SANDBOX
                   for target in targets if package_of(target) == "local")  # fmt: skip
    assert found == [], "the sandbox bank imports the local stack: " + "; ".join(found)


def test_the_dev_http_server_imports_no_other_first_party_package() -> None:
    graph = package_graph(import_graph())
    assert STANDALONE in graph
    assert graph[STANDALONE] == set()


def test_type_checking_imports_and_deferred_imports_are_told_apart(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from local.stack import LocalStack\n"
        "else:\n    from local import config\n"
        "def later():\n    from shop import pages\n"
        "from . import sibling\n"
    )
    modules = {name: Path() for name in ("local", "local.stack", "local.config", "shop", "shop.pages", "pkg.sibling")}
    run = imports_of("pkg.mod", source, modules, typing_too=False)
    assert run == {"local.config", "shop.pages", "pkg.sibling"}
    assert imports_of("pkg.mod", source, modules) == run | {"local.stack"}


def test_a_cycle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_kits_tests_never_import_the_simulator() -> None:
    """`make test-kit` runs tests/ with no simulator on the path: its tests, fixtures and helpers import none of it."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for statement in _imports(ast.parse(path.read_text(), str(path)), typing_too=True):
            names = [a.name for a in statement.names] if isinstance(statement, ast.Import) else [statement.module or ""]
            found += [
                f"{path.relative_to(ROOT)}:{statement.lineno}: {name}"
                for name in names
                if package_of(name) in SIMULATOR | {"simulator"} and not getattr(statement, "level", 0)
            ]
    assert found == [], "the kit's tests import the simulator:\n" + "\n".join(found)
