"""The import template CloudFormation gets to re-attach a kept orders table is valid CloudFormation (cfn-lint, the
tools environment's), and the command that writes it runs as docs/deploy.md prints it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stacktools.template import ROOT
from tests.support.printed import run_as_printed
from tests.support.readme import printed_commands

CFN_LINT = ROOT / ".tools" / "bin" / "cfn-lint"


def test_the_written_import_template_passes_cfn_lint(tmp_path: Path) -> None:
    (command,) = [c for c in printed_commands() if "-m stacktools.import_table" in c.line]
    written = [ROOT / "import-orders-table.json", ROOT / "resources-to-import.json"]
    try:
        run = run_as_printed(command)  # as printed: from the repository's root, the files written there
        assert (run.returncode, run.stderr) == (0, ""), run.stdout
        for path in written:
            shutil.move(path, tmp_path / path.name)
    finally:
        for path in written:
            path.unlink(missing_ok=True)
    assert CFN_LINT.is_file(), "`make .tools/.stamp` builds the tools environment (cfn-lint)"
    linted = subprocess.run(  # noqa: S603 - the tools environment's cfn-lint
        [str(CFN_LINT), "--regions", "eu-west-3", "--", str(tmp_path / "import-orders-table.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr
