"""The import template CloudFormation gets to re-attach a kept orders table is valid CloudFormation (cfn-lint, the
tools environment's), and the command that writes it runs as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stacktools.template import ROOT

CFN_LINT = ROOT / ".tools" / "bin" / "cfn-lint"


def test_the_written_import_template_passes_cfn_lint(tmp_path: Path) -> None:
    written = subprocess.run(  # noqa: S603 - our own module, with this interpreter
        [sys.executable, "-m", "stacktools.import_table", "merchant-kit-OrdersTable-1A2B3C4D", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    assert CFN_LINT.is_file(), "`make .tools/.stamp` builds the tools environment (cfn-lint)"
    linted = subprocess.run(  # noqa: S603 - the tools environment's cfn-lint
        [str(CFN_LINT), "--regions", "eu-west-3", "--", str(tmp_path / "import-orders-table.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
