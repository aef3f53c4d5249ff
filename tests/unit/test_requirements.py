"""The environments `make` builds and the Lambda layers run on the versions the tests check."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_make_run_and_the_layers_use_the_versions_the_tests_use() -> None:
    """`make run` (requirements/run.txt) and the deployed layers (layers/*/requirements*.txt) run on exactly the
    versions `make test` checks (requirements/dev.txt); pip and setuptools come with chalice and are not in the
    dev freeze."""
    dev = _pins(ROOT / "requirements" / "dev.txt")
    for path in [ROOT / "requirements" / "run.txt", *sorted(ROOT.glob("layers/*/requirements*.txt"))]:
        pins = _pins(path)
        assert {name: version for name, version in pins.items() if name not in {"pip", "setuptools"}} == {
            name: dev.get(name) for name in pins if name not in {"pip", "setuptools"}
        }, path
