"""The documentation's `sealing` and `python -m local invoke` command lines run as printed (tests.support.printed),
with the exit status each states."""

from __future__ import annotations

import re

import pytest

from tests.support.printed import run_as_printed
from tests.support.readme import ROOT, Command, printed_commands

SEALING = [command for command in printed_commands() if "-m sealing " in command.line]


def test_the_documentation_prints_sealing_lines() -> None:
    assert (ROOT / ".venv" / "bin" / "python").is_file(), "make test-fast builds .venv, as the pages say"
    assert any("verify" in command.line for command in SEALING)


@pytest.mark.parametrize("command", SEALING, ids=[command.line[:70] for command in SEALING])
def test_every_sealing_line_works_as_printed(command: Command) -> None:
    expected = 1 if re.search(r"#\s*exit 1\b", command.line) else 0
    answer = run_as_printed(command)
    assert (answer.returncode, answer.stderr) == (expected, ""), str(command)
    if "-m sealing verify" in command.line:
        assert answer.stdout.startswith("valid" if expected == 0 else "sealed: "), str(command)
    if "-m sealing seal" in command.line:
        assert re.fullmatch(r"[0-9a-f]{40}\n", answer.stdout), str(command)


LOCAL_INVOKE = [command for command in printed_commands() if "-m local invoke " in command.line]


@pytest.mark.parametrize("command", LOCAL_INVOKE, ids=[command.line[:70] for command in LOCAL_INVOKE])
def test_every_local_invoke_line_works_as_printed(command: Command) -> None:
    answer = run_as_printed(command)
    assert answer.returncode == 0, answer.stdout + answer.stderr
