"""The test tiers keep their shape: the unit tier stays fast and in process (`make test-fast`), integration tests
live in tests/integration. Read from the test files' imports, so that a new test is held to it the day it lands."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SIMULATOR_TESTS = ROOT / "simulator" / "tests"
# What starts a process or a server, opens a connection, or stands for one: an integration test's tools.
OUT_OF_PROCESS_MODULES = {
    "subprocess", "socket", "socketserver", "http.server", "http.client", "urllib.request",
    "simulator.tests.support.backlog", "simulator.tests.support.full_stack", "simulator.tests.support.local_api",
}  # fmt: skip
OUT_OF_PROCESS_NAMES = {"ThreadedMotoServer", "MotoServer", "LocalStack", "LocalHttpServer", "Popen"}


def imports(path: Path) -> Iterator[tuple[int, str, str, int]]:
    """Each import of ``path``, anywhere in it: (line, module, imported name or "", relative level)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, "", 0
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.lineno, node.module or "", alias.name, node.level


def out_of_process(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for line, module, name, _ in sorted(imports(path)):
        dotted = f"{module}.{name}" if name else module
        if module in OUT_OF_PROCESS_MODULES or dotted in OUT_OF_PROCESS_MODULES or name in OUT_OF_PROCESS_NAMES:
            found.append(f"{path.relative_to(root)}:{line}: {dotted}")
    return found


def test_the_unit_tier_starts_no_process_no_server_and_opens_no_connection() -> None:
    unit = sorted([*(TESTS / "unit").rglob("*.py"), *(SIMULATOR_TESTS / "unit").rglob("*.py")])
    assert unit
    found = [problem for path in unit for problem in out_of_process(path)]
    assert found == [], "move these tests to the integration tier:\n" + "\n".join(found)


def test_the_check_sees_each_way_out_of_process(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import subprocess\nfrom socket import create_connection\nimport urllib.request\n"
        "from urllib import request\nfrom local import LocalStack\n"
        "def test_x():\n    from moto.server import ThreadedMotoServer\n"
        "import json\nfrom urllib.parse import urlencode\n"
    )
    found = [problem.rpartition(": ")[2] for problem in out_of_process(sample, tmp_path)]
    assert found == [
        "subprocess", "socket.create_connection", "urllib.request", "urllib.request", "local.LocalStack",
        "moto.server.ThreadedMotoServer",
    ]  # fmt: skip


def imported_test_modules(path: Path, root: Path = ROOT) -> list[str]:
    """The test modules and conftests ``path`` imports, as ``file:line: module``."""
    found = []
    package = path.parent.relative_to(root).parts
    for line, module, name, level in sorted(imports(path)):
        base = package[: len(package) - level + 1] if level else ()
        dotted = (*base, *(module.split(".") if module else ()))
        for candidate in (dotted, (*dotted, name) if name else dotted):
            file = root.joinpath(*candidate).with_suffix(".py")
            problem = f"{path.relative_to(root)}:{line}: {'.'.join(candidate)}"
            if (file.name.startswith("test_") or file.name == "conftest.py") and file.is_file():
                if problem not in found:  # one line per import statement, whatever it takes from the module
                    found.append(problem)
                break
    return found


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    """Helpers and fixtures shared between test modules live in tests/support: importing a test module runs its
    tests' module-level set-up and, under xdist, ties files together that --dist loadfile keeps apart."""
    files = sorted([*TESTS.rglob("*.py"), *SIMULATOR_TESTS.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])
    found = [problem for path in files for problem in imported_test_modules(path)]
    assert found == [], "move what these share to tests/support:\n" + "\n".join(found)


def test_the_check_sees_each_spelling_of_a_test_module_import(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "area"
    package.mkdir(parents=True)
    for name in ("conftest.py", "test_other.py", "helpers.py"):
        (package / name).write_text("")
    (tmp_path / "tests" / "support.py").write_text("")
    sample = package / "test_sample.py"
    sample.write_text(
        "from .conftest import fixture\nfrom .test_other import helper\nfrom . import test_other\n"
        "import tests.area.test_other\nfrom tests.area.conftest import fixture\n"
        "def test_x():\n    from .test_other import late\n"
        "from .helpers import fine\nfrom tests.support import test_data\nfrom tests.area import helpers\n"
    )
    found = [problem.partition(": ")[2] for problem in imported_test_modules(sample, tmp_path)]
    assert found == [
        "tests.area.conftest", "tests.area.test_other", "tests.area.test_other", "tests.area.test_other",
        "tests.area.conftest", "tests.area.test_other",
    ]  # fmt: skip
    sample.write_text("from .test_other import a, b, c\n")
    assert imported_test_modules(sample, tmp_path) == ["tests/area/test_sample.py:1: tests.area.test_other"]
