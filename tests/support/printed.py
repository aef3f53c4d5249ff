"""A command the documentation prints, run as printed: in bash, from the repository's root, after the exports
printed above it, `.venv/bin/python` as it is and nothing added to the environment (no PYTHONPATH: the layers are
installed in .venv). Only the placeholders a reader fills in are replaced."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping

from tests.support.readme import ROOT, Command

# What a reader's shell would not hold: the test runner's own Python settings, and AWS settings that would send
# a printed command elsewhere than the test says.
_NOT_A_READERS = ("PYTHON", "SEALING_", "AWS_")


def as_printed(
    command: Command, replace: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """The bash command line and the environment that run ``command`` as printed: each key of ``replace`` (a
    placeholder) replaced by its value, the caller's variables but the runner's Python and AWS ones, plus
    ``environ``."""
    assert (ROOT / ".venv" / "bin" / "python").is_file(), "make test-fast builds .venv, as the pages say"
    script = "\n".join([*command.exports, command.line])
    for placeholder, value in (replace or {}).items():
        assert placeholder in script, f"{command}: no {placeholder} to replace"
        script = script.replace(placeholder, value)
    shell = {name: value for name, value in os.environ.items() if not name.startswith(_NOT_A_READERS)}
    return ["bash", "-c", script], {**shell, **(environ or {})}


def run_as_printed(
    command: Command, replace: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end (``as_printed``), from the repository's root."""
    arguments, env = as_printed(command, replace, environ)
    return subprocess.run(  # noqa: S603 - the documentation's own lines
        arguments, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
