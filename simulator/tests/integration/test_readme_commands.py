"""The README's `sealing` command lines run as printed, each in bash, with the exit status it states."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from tests.support.readme import ROOT, block_under, commands


def _run(script: str) -> subprocess.CompletedProcess[str]:
    # What the editable install of layers/sealing gives .venv, for whichever interpreter runs the tests.
    environ = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "sealing")}
    environ.pop("SEALING_KEY", None)
    return subprocess.run(  # noqa: S603 - the README's own lines
        ["bash", "-c", script],  # noqa: S607 - bash on PATH
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_sealing_command_lines_work_as_printed() -> None:
    lines = commands(block_under("The `sealing` command line", "sh").text)
    exports = [line for line in lines if line.startswith("export ")]
    runs = [line for line in lines if not line.startswith("export ")]
    assert any("verify" in line for line in runs)
    for line in runs:
        expected = 1 if re.search(r"#\s*exit 1\b", line) else 0
        script = "\n".join([*exports, line.replace(".venv/bin/python", shlex.quote(sys.executable))])
        answer = _run(script)
        assert (answer.returncode, answer.stderr) == (expected, ""), line
        if "-m sealing verify" in line:
            assert answer.stdout.startswith("valid" if expected == 0 else "sealed: "), line
        if "-m sealing seal" in line:
            assert re.fullmatch(r"[0-9a-f]{40}\n", answer.stdout), line
