"""The README's examples run as printed: the `sealing` command lines and the terminal configuration.
(The curl lines run against the local stack in tests/e2e/test_readme_examples.py.)"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import subprocess
import sys
from typing import Any

import pytest

from orders.exceptions import ConfigurationError
from orders.terminals import PaymentMode, Terminals
from tests.support.readme import ROOT, block_under, commands

TEST_KEY = "12345678901234567890123456789012345678P0"


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


def _documented_configuration() -> dict[str, Any]:
    text = block_under("Configuring a terminal", "json").text
    text = text.replace("<the 40 characters the bank gave you>", TEST_KEY).replace("<site code>", "boutiqueducd")
    return dict(json.loads(text))


def test_the_terminal_configuration_example_is_read_as_documented() -> None:
    documented = _documented_configuration()
    terminal = Terminals.from_mapping(documented).get()
    settings = documented["terminals"][terminal.tpe]
    assert terminal.tpe == documented["default_tpe"]
    assert terminal.mode is PaymentMode(settings["mode"])
    assert terminal.deferral_days == settings["deferral_days"]
    assert list(terminal.terminal.currencies) == settings["currencies"]
    assert list(terminal.terminal.languages) == settings["languages"]
    assert terminal.terminal.timezone == settings["timezone"]
    assert terminal.return_ok_url == settings["return_ok_url"]
    assert terminal.merchant_name == settings["merchant_name"]


@pytest.mark.parametrize("setting", list(_documented_configuration()["terminals"]["0900157"]))
def test_every_documented_setting_is_one_the_code_reads(setting: str) -> None:
    """A setting misspelt in the README would be silently ignored: each one, made unusable, must be refused
    under its own name."""
    documented = _documented_configuration()
    documented["terminals"]["0900157"][setting] = 12345
    with pytest.raises(ConfigurationError, match=rf"^terminals\.0900157\.{setting}: "):
        Terminals.from_mapping(documented)


@pytest.mark.parametrize("name", ["accepted", "refused", "tampered"])
def test_the_bodies_the_readme_verifies_are_those_of_the_sample_events(name: str) -> None:
    event = json.loads((ROOT / "events" / f"confirmation_{name}.json").read_text())
    assert base64.b64decode(event["body"]) == (ROOT / "events" / f"confirmation_{name}.txt").read_bytes()
