"""What `sam build` ships (the Makefile's build-<LogicalId> targets), and what a cold start imports.

Lambda's code directories are read-only: a module without its ``.pyc`` is compiled again on every cold start.
The build targets compile everything, hash-based and unchecked; the handlers leave what only some requests
need (Powertools Parameters and its AppConfig provider) to those requests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stacktools.template import ROOT, Template

# A hash-based .pyc whose source is never checked (PEP 552): flags 0b01 in the header's second word.
UNCHECKED_HASH = 0b01


def build(logical_id: str, tmp_path: Path) -> Path:
    """Run the target as `sam build` does: from a scratch copy of the code, ARTIFACTS_DIR set."""
    template = Template.load()
    resource = template.resources[logical_id]["Properties"]
    source = ROOT / (resource.get("CodeUri") or resource["ContentUri"])
    scratch, artifacts = tmp_path / "scratch", tmp_path / "artifacts"
    shutil.copytree(source, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    answer = subprocess.run(  # noqa: S603 - make, with our own Makefile
        ["make", "--no-print-directory", "--makefile", str(ROOT / "Makefile"), f"build-{logical_id}"],  # noqa: S607
        cwd=scratch,
        env={**os.environ, "ARTIFACTS_DIR": str(artifacts)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return artifacts


def assert_compiled(directory: Path) -> None:
    sources = list(directory.rglob("*.py"))
    assert sources
    for source in sources:
        (compiled,) = (source.parent / "__pycache__").glob(f"{source.stem}.cpython-313*.pyc")
        flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
        assert flags == UNCHECKED_HASH, f"{compiled}: flags {flags:#b}"


@pytest.mark.parametrize(
    ("logical_id", "package"),
    [("SealingLayer", "sealing"), ("ConsoleLayer", "console"), ("Cgi2Function", None), ("ConsoleFunction", None)],
)
def test_the_build_ships_unchecked_hash_bytecode(logical_id: str, package: str | None, tmp_path: Path) -> None:
    artifacts = build(logical_id, tmp_path)
    root = artifacts / "python" if package else artifacts
    if package:
        assert (root / package / "__init__.py").is_file()
    else:
        assert sorted(p.name for p in root.iterdir()) == ["__pycache__", "app.py"]
    assert_compiled(root)


def test_the_console_layer_ships_its_templates_texts_and_stylesheet(tmp_path: Path) -> None:
    console = build("ConsoleLayer", tmp_path) / "python" / "console"
    source = ROOT / "layers" / "console" / "console"
    for kind in ("templates", "locales", "static"):
        shipped = sorted(p.name for p in (console / kind).iterdir())
        assert shipped == sorted(p.name for p in (source / kind).iterdir()), kind
    assert "sign_in.html" in [p.name for p in (console / "templates").iterdir()]


@pytest.fixture(scope="module")
def orders_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The orders layer as `sam build` makes it (once: it installs the layer's dependencies)."""
    return build("OrdersLayer", tmp_path_factory.mktemp("orders-layer")) / "python"


def test_the_orders_layer_carries_its_dependencies_compiled(orders_layer: Path) -> None:
    root = orders_layer
    for package in ("orders", "aws_lambda_powertools", "tzdata"):
        assert (root / package).is_dir(), package
    assert not (root / "boto3").exists(), "boto3 comes from the Lambda runtime"
    assert not (root / "holidays").exists(), "sealing computes the French holidays itself"
    assert_compiled(root / "orders")
    assert_compiled(root / "aws_lambda_powertools")
    shipped = sorted(path.name for path in (root / "orders" / "web" / "templates").glob("*.html"))
    assert shipped == sorted(path.name for path in (ROOT / "layers/orders/orders/web/templates").glob("*.html"))
    assert shipped


def test_the_built_orders_layer_renders_the_checkout_pages_from_its_own_templates(
    orders_layer: Path, tmp_path: Path
) -> None:
    code = (
        "import sys; sys.path[:0] = %r; from orders.web import pages; "
        "assert pages.__file__.startswith(sys.path[0]), pages.__file__; print(pages.not_found_page())"
    ) % [str(orders_layer), str(ROOT / "layers" / "sealing")]
    answer = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert answer.returncode == 0, answer.stderr
    assert "<p>Commande introuvable / Order not found.</p>" in answer.stdout


def test_a_cold_start_imports_neither_the_calendars_nor_parameters_nor_the_xray_sdk() -> None:
    """Nor does building the dependencies of an invocation Lambda did not sample: the X-Ray SDK comes with the first
    sampled one (orders.tracing)."""
    layers = [str(ROOT / "layers" / "sealing"), str(ROOT / "layers" / "orders")]
    for function in Template.load().functions():
        code = (
            "import sys; sys.path[:0] = %r; import app; from orders.dependencies import Dependencies; "
            "Dependencies.from_environment({'ORDERS_TABLE': 'orders'}).traces.recorder(); "
            "print(sorted(m for m in sys.modules if m in ('holidays', 'aws_xray_sdk') "
            "or m.endswith('utilities.parameters')))"
        ) % [str(function.code_uri), *layers]
        answer = subprocess.run(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-B", "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
        )
        assert answer.returncode == 0, answer.stderr
        assert answer.stdout.strip() == "[]", f"{function.logical_id} imports {answer.stdout.strip()}"
