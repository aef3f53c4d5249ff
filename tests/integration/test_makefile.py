"""The Makefile finds python3.13 whatever the caller's pyenv state, and says what is missing when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make(environ: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        ["make", "--no-print-directory", "-C", str(ROOT), *arguments],  # noqa: S607 - make on PATH
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _make_python(environ: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return _make(environ, "-s", "python", *arguments)


def _fake_command(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_a_pyenv_shim_that_refuses_python313_does_not_stop_make(tmp_path: Path) -> None:
    """As under any pyenv-launched process with PYENV_VERSION set: `python3.13` on PATH is a shim that answers
    "command not found"; the Makefile goes on to pyenv's own 3.13 installation."""
    shims = tmp_path / "shims"
    _fake_command(shims, "python3.13", 'echo "pyenv: python3.13: command not found" >&2; exit 127')
    pyenv_root = tmp_path / "pyenv"
    installed = pyenv_root / "versions" / "3.13.1" / "bin"
    installed.mkdir(parents=True)
    (installed / "python3.13").symlink_to(sys.executable)
    environ = {
        "PATH": f"{shims}:/usr/bin:/bin",
        "PYENV_ROOT": str(pyenv_root),
        "PYENV_VERSION": "3.11.7",
        "HOME": str(tmp_path),
    }
    answer = _make_python(environ)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == f"python: {installed / 'python3.13'}"


def test_without_python313_make_says_what_is_missing_and_how_to_name_it(tmp_path: Path) -> None:
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")}
    answer = _make_python(environ, "PYTHON=")
    assert answer.returncode != 0
    assert "python3.13 not found" in answer.stderr
    assert "PYTHON=/path/to/python3.13" in answer.stderr


def test_python_names_the_interpreter(tmp_path: Path) -> None:
    answer = _make_python({**os.environ, "HOME": str(tmp_path)}, f"PYTHON={sys.executable}")
    assert (answer.returncode, answer.stdout.strip()) == (0, f"python: {sys.executable}")


# -- deploy, publish and the template's checks: which AWS credentials the SAM CLI gets -----------------------------

FAKE_KEY = "testing"


def _fake_tools(tmp_path: Path) -> tuple[list[str], Path]:
    """make's arguments that put a fake SAM CLI and cfn-lint in place of .tools (each records its arguments, the
    AWS settings it was given, and its PATH), and the file they write to."""
    calls = tmp_path / "calls"
    tools = tmp_path / "tools"
    record = 'echo "$(basename "$0") $* | key=${AWS_ACCESS_KEY_ID-unset} profile=${AWS_PROFILE-unset} '
    record += f'region=${{AWS_DEFAULT_REGION-unset}} path=$PATH" >> {calls}'
    for name in ("sam", "cfn-lint"):
        _fake_command(tools / "bin", name, record)
    (tools / ".stamp").touch()  # newer than requirements/tools.txt: the tools environment is not built
    uv = _fake_command(tmp_path / "uv", "uv", "exit 0")
    return [f"TOOLS={tools}", f"UV_BIN={uv}", f"PYTHON={sys.executable}"], calls


def _calls(calls: Path) -> list[tuple[str, dict[str, str]]]:
    """Each call: its command line, and its settings (key, profile, region, path)."""
    recorded = []
    for line in calls.read_text(encoding="utf-8").splitlines():
        command, _, settings = line.partition(" | ")
        fields = dict(item.split("=", 1) for item in settings.split(" ", 3))
        recorded.append((command, fields))
    return recorded


def test_make_deploy_builds_then_deploys_the_test_stack_with_the_caller_s_own_credentials(tmp_path: Path) -> None:
    """A caller whose credentials come from a profile (none in the environment): the SAM CLI gets the profile,
    never the fake key `sam validate` is given. The shell's own $ENV (its startup file) does not name the stack."""
    arguments, calls = _fake_tools(tmp_path)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "merchant", "ENV": "/etc/shrc"}
    answer = _make(environ, "deploy", *arguments)
    assert answer.returncode == 0, answer.stderr
    (build, at_build), (deploy, at_deploy) = _calls(calls)
    assert build == "sam build --cached --parallel"
    first_on_path = [Path(directory) for directory in at_build["path"].split(":")[:2]]
    assert first_on_path == [tmp_path / "tools" / "bin", Path(sys.executable).parent], "python3.13 for sam build"
    assert deploy == "sam deploy --config-env test"
    assert (at_deploy["key"], at_deploy["profile"], at_deploy["region"]) == ("unset", "merchant", "unset")


def test_make_deploy_passes_the_caller_s_keys_and_region_unchanged(tmp_path: Path) -> None:
    arguments, calls = _fake_tools(tmp_path)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAREALKEY"}
    answer = _make({**environ, "AWS_DEFAULT_REGION": "eu-central-1"}, "deploy", "ENV=prod", "GUIDED=1", *arguments)
    assert answer.returncode == 0, answer.stderr
    deploy, at_deploy = _calls(calls)[-1]
    assert deploy == "sam deploy --config-env prod --guided"
    assert (at_deploy["key"], at_deploy["region"]) == ("AKIAREALKEY", "eu-central-1")


def test_make_deploy_names_the_environments_when_given_another(tmp_path: Path) -> None:
    arguments, calls = _fake_tools(tmp_path)
    answer = _make({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, "deploy", "ENV=production", *arguments)
    assert answer.returncode != 0
    assert "ENV=production: samconfig.toml deploys ENV=test or ENV=prod" in answer.stderr
    assert not calls.exists(), "nothing built nor deployed"


def test_make_n_deploy_shows_the_sam_cli_of_make_test_and_no_fake_credentials(tmp_path: Path) -> None:
    answer = _make({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, "-n", "deploy", f"PYTHON={sys.executable}")
    assert answer.returncode == 0, answer.stderr
    assert ".tools/bin/sam deploy --config-env test" in answer.stdout
    assert FAKE_KEY not in answer.stdout


def test_make_publish_packages_into_the_bucket_then_publishes_with_the_caller_s_credentials(tmp_path: Path) -> None:
    arguments, calls = _fake_tools(tmp_path)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_PROFILE": "publisher"}
    answer = _make(environ, "publish", "BUCKET=merchant-artifacts", *arguments)
    assert answer.returncode == 0, answer.stderr
    (build, _), (package, at_package), (publish, at_publish) = _calls(calls)
    assert build == "sam build --cached --parallel"
    assert package == (
        "sam package --s3-bucket merchant-artifacts --s3-prefix monetico-merchant-kit "
        "--output-template-file .aws-sam/packaged.yaml"
    )
    assert publish == "sam publish --template .aws-sam/packaged.yaml"
    for settings in (at_package, at_publish):
        assert (settings["key"], settings["profile"]) == ("unset", "publisher")


def test_make_publish_without_a_bucket_says_how_to_name_one(tmp_path: Path) -> None:
    arguments, calls = _fake_tools(tmp_path)
    answer = _make({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, "publish", *arguments)
    assert answer.returncode != 0
    assert "make publish BUCKET=<bucket>" in answer.stderr
    assert not calls.exists()


def test_make_template_validates_with_fake_credentials_whatever_the_caller_has(tmp_path: Path) -> None:
    arguments, calls = _fake_tools(tmp_path)
    environ = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "AKIAREALKEY"}
    answer = _make(environ, "template", *arguments)
    assert answer.returncode == 0, answer.stderr
    recorded = dict(_calls(calls))
    for command in ("cfn-lint template.yaml", "sam validate --lint", "sam validate --region eu-west-3"):
        assert (recorded[command]["key"], recorded[command]["region"]) == (FAKE_KEY, "eu-west-3"), command
    assert "sam build --cached --parallel" in recorded
