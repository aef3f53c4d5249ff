"""The files an open-source repository has: the licence (Apache-2.0, the standard text), the changelog, how to
contribute and how to report a vulnerability, each reachable from the README, and the licence declared in every
package's metadata."""

from __future__ import annotations

import hashlib
import re
import tomllib

import pytest

from tests.support.readme import PENDING_MAKE_TARGETS, README, ROOT

# sha256 of the Apache License 2.0 as the Apache Software Foundation publishes it
# (https://www.apache.org/licenses/LICENSE-2.0.txt), byte for byte.
APACHE_2_0_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
COPYRIGHT = re.compile(r"Copyright 2026 The [\w-]+ contributors")
PROJECT_FILES = ["LICENSE", "CHANGELOG.md", "CONTRIBUTING.md", "SECURITY.md"]
LINKED_FROM_README = ["CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md", "LICENSE"]
PYPROJECTS = [
    "pyproject.toml",
    "layers/sealing/pyproject.toml",
    "layers/orders/pyproject.toml",
    "layers/console/pyproject.toml",
    "simulator/pyproject.toml",
]
REPOSITORY_PATH = re.compile(r"`((?:layers|tests|functions|stacktools|simulator|docs|requirements)/[\w./-]*)`")


@pytest.mark.parametrize("name", PROJECT_FILES)
def test_the_project_file_exists_and_says_something(name: str) -> None:
    path = ROOT / name
    assert path.is_file(), f"{name} is missing at the repository's root"
    assert len(path.read_text(encoding="utf-8").split()) > 50, f"{name} is a stub"


def test_the_licence_is_the_standard_apache_2_0_text_under_the_contributors_copyright() -> None:
    first, _, body = (ROOT / "LICENSE").read_text(encoding="utf-8").partition("\n")
    assert COPYRIGHT.fullmatch(first), f"LICENSE's first line names the contributors and the year: {first!r}"
    assert hashlib.sha256(body.encode()).hexdigest() == APACHE_2_0_SHA256, (
        "LICENSE after its copyright line is not the Apache License 2.0 as apache.org publishes it"
    )


@pytest.mark.parametrize("pyproject", PYPROJECTS)
def test_every_declared_package_says_it_is_apache_2_0(pyproject: str) -> None:
    project = tomllib.loads((ROOT / pyproject).read_text(encoding="utf-8"))["project"]
    assert project.get("license") == "Apache-2.0", f'{pyproject}: [project] license = "Apache-2.0"'


def test_every_pyproject_with_a_project_is_checked() -> None:
    declared = {
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("pyproject.toml")
        if not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
        and "project" in tomllib.loads(path.read_text(encoding="utf-8"))
    }
    assert declared == set(PYPROJECTS), "a package declared but not checked for its licence"


def test_the_readme_links_contributing_security_changelog_and_licence() -> None:
    links = set(re.findall(r"\]\(([^)#\s]+)\)", README.read_text(encoding="utf-8")))
    for name in LINKED_FROM_README:
        assert name in links, f"the README has no link to {name}"


def test_every_make_target_contributing_names_exists() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([\w-]+)", (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")))
    assert named, "CONTRIBUTING.md names no make target"
    # a target still to land is checked, strictly, by simulator/tests/unit/test_docs_commands.py
    assert sorted(named - targets - PENDING_MAKE_TARGETS) == [], (
        "make targets CONTRIBUTING.md names that the Makefile lacks"
    )


def test_every_path_contributing_names_exists() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    paths = set(REPOSITORY_PATH.findall(text))
    assert paths, "CONTRIBUTING.md names no path"
    assert sorted(path for path in paths if not (ROOT / path).exists()) == []


def test_security_gives_a_private_channel_that_exists_not_a_placeholder() -> None:
    text = (ROOT / "SECURITY.md").read_text(encoding="utf-8")
    assert "Report a vulnerability" in text, "SECURITY.md: GitHub's private vulnerability reporting, by its button"
    assert not re.search(r"TODO|TBD|<[^>]*@[^>]*>|\[[^\]]*email[^\]]*\]|@example\.", text, flags=re.IGNORECASE), (
        "SECURITY.md holds a placeholder contact"
    )
    for concern in ("seal", "cdr", "IAM", "log"):
        assert concern in text, f"SECURITY.md's scope does not name {concern}"


def test_the_sealing_wheel_declares_every_python_from_its_floor_to_the_lambda_runtime() -> None:
    """`sealing` is a wheel of its own (layers/sealing/README.md): the versions it declares, which
    tests/integration/test_sealing_wheel.py installs it on, run from its requires-python to the runtime the
    kit itself requires."""
    sealing = tomllib.loads((ROOT / "layers/sealing/pyproject.toml").read_text(encoding="utf-8"))["project"]
    kit = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (floor,) = re.findall(r"^>=3\.(\d+)$", sealing["requires-python"])
    (runtime,) = re.findall(r"^>=3\.(\d+)$", kit["requires-python"])
    declared = [
        value.rpartition(" :: ")[2]
        for value in sealing["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", value)
    ]
    assert (floor, runtime) == ("10", "13")
    assert declared == [f"3.{minor}" for minor in range(int(floor), int(runtime) + 1)]
    assert "Typing :: Typed" in sealing["classifiers"]
    assert (ROOT / "layers/sealing/sealing/py.typed").is_file()


def test_the_sealing_wheel_ships_its_readme_and_the_repository_licence() -> None:
    sealing = tomllib.loads((ROOT / "layers/sealing/pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (ROOT / "layers/sealing" / sealing["readme"]).is_file()
    assert sealing["license-files"] == ["LICENSE"]
    assert (ROOT / "layers/sealing/LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes(), (
        "layers/sealing/LICENSE (the wheel's, which cannot reach outside its folder) is the repository's LICENSE"
    )


def test_lint_and_types_hold_sealing_to_python_3_10() -> None:
    """The quick checks see what the wheel test (tests/integration/test_sealing_wheel.py) would find later: ruff
    reads the package as 3.10 code (its own config, extending the repository's), `make typecheck` runs mypy as 3.10."""
    ruff = tomllib.loads((ROOT / "layers/sealing/pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]
    assert ruff == {"extend": "../../pyproject.toml", "target-version": "py310"}
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    typecheck = makefile.split("\ntypecheck:", 1)[1].split("\n\n", 1)[0]
    assert "mypy --python-version 3.10 layers/sealing/sealing" in typecheck
