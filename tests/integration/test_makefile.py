"""The Makefile finds python3.13 whatever the caller's pyenv state, and says what is missing when it cannot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _make_python(environ: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        ["make", "--no-print-directory", "-s", "-C", str(ROOT), "python", *arguments],  # noqa: S607 - make on PATH
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


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
