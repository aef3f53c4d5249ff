"""The pip-audit report reader: a vulnerability fails, a package left unaudited is named, never passed over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.pip_audit_report import main

REPORT = {
    "dependencies": [
        {"name": "boto3", "version": "1.44.8", "vulns": []},
        {"name": "jinja2", "version": "2.0", "vulns": [{"id": "PYSEC-2019-217"}]},
        {"name": "ruff", "skip_reason": "Dependency not found on PyPI and could not be audited: ruff (0.17.6)"},
    ]
}


def test_a_vulnerability_fails_and_an_unaudited_package_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(REPORT))
    assert main([str(path)]) == 1
    out, err = capsys.readouterr()
    assert "2 pinned packages audited, 1 with known vulnerabilities" in out
    assert "VULNERABLE jinja2 2.0: PYSEC-2019-217" in out
    assert "could not audit 1 pinned packages" in err
    assert "unaudited ruff" in err


def test_nothing_vulnerable_passes_but_still_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "audit.json"
    path.write_text(json.dumps({"dependencies": [REPORT["dependencies"][0], REPORT["dependencies"][2]]}))
    assert main([str(path)]) == 0
    assert "WARNING" in capsys.readouterr().err
