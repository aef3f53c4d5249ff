"""``sealing`` as a wheel a shop outside AWS installs on its own (layers/sealing/README.md): `make dist` builds it
once; then each Python the package declares (its pyproject's classifiers, 3.10 to 3.13) installs it into a fresh
venv, offline, and runs the public test vectors, ``python -m sealing`` and the README's snippets as printed, with
``sealing`` imported from that venv, never from the repository."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
import tomllib
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tests.support.readme import ROOT, Block, block_under, blocks, commands

SEALING = ROOT / "layers" / "sealing"
README = SEALING / "README.md"
PROJECT = tomllib.loads((SEALING / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSIONS = [
    classifier.rpartition(" :: ")[2]
    for classifier in PROJECT["classifiers"]
    if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", classifier)
]
# Python 3.13 is the Lambda runtime `make` needs anyway, 3.11 Debian's own python3: a machine that runs these tests
# has both. 3.10 and 3.12 are tested where they are installed.
REQUIRED = {"3.11", "3.13"}
# tests/support/installed_sealing.py's checks, in order.
CHECKS = [
    "installed", "legacy request", "legacy instalments", "legacy confirmation", "legacy capture", "dsp2 request",
    "dsp2 confirmation", "short key confirmation", "payment forms", "confirmations", "capture",
]  # fmt: skip
TIMEOUT = 300


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreters, make and the README's lines
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def interpreter(version: str) -> str | None:
    """``python3.x`` itself: pyenv's installations first (newest release first), then ``PATH``, never pyenv's
    shims (they run whatever ``PYENV_VERSION`` names, or refuse)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    releases = [path for path in pyenv.glob(f"{version}.*") if re.fullmatch(rf"{re.escape(version)}\.\d+", path.name)]
    releases.sort(key=lambda path: int(path.name.rpartition(".")[2]), reverse=True)
    candidates = [path / "bin" / f"python{version}" for path in releases]
    candidates += [
        Path(folder) / f"python{version}" for folder in os.environ.get("PATH", "").split(os.pathsep) if folder
    ]
    for candidate in candidates:
        if candidate.parent.name == "shims" or not os.access(candidate, os.X_OK):
            continue
        answer = run([str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], Path.cwd())
        if answer.returncode == 0 and answer.stdout.strip() == version:
            return str(candidate)
    return None


# Each block of the README, by the heading it stands under, and where this module runs it as printed.
SNIPPETS = {
    ("Install", "sh"): "`make dist` in the dist fixture, the pip line in each fresh venv",
    ("Take a payment", "python"): "in each fresh venv",
    ("Take a payment", "text"): "what the Python block prints",
    ("The command line", "sh"): "in each fresh venv",
}


def test_every_snippet_of_the_readme_is_run_here() -> None:
    assert sorted((block.heading, block.language) for block in blocks(None, README)) == sorted(SNIPPETS)


def install_block() -> list[str]:
    build, install = commands(block_under("Install", "sh", README).text)
    return [build, install]


@pytest.fixture(scope="module")
def dist() -> Path:
    """`make dist`, as the README prints it, from the repository's root: the wheel and the sdist in dist/."""
    build, _ = install_block()
    assert build == "make dist"
    answer = run(["bash", "-c", build], ROOT)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return ROOT / "dist"


def wheel_in(install: str) -> Path:
    (name,) = re.findall(r"dist/\S+\.whl", install)
    return ROOT / name


def test_the_wheel_holds_the_package_typed_and_nothing_else(dist: Path) -> None:
    wheel = wheel_in(install_block()[1])
    assert wheel.name == f"merchant_kit_sealing-{PROJECT['version']}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"merchant_kit_sealing-{PROJECT['version']}.dist-info"
        metadata = HeaderParser().parsestr(archive.read(f"{info}/METADATA").decode("utf-8"))
    package = sorted(name for name in names if not name.startswith(f"{info}/"))
    assert package == sorted(f"sealing/{path.name}" for path in (SEALING / "sealing").glob("*") if path.is_file())
    assert "sealing/py.typed" in package
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc") or "tests/" in name]
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License-File"] == "LICENSE"
    assert f"{info}/licenses/LICENSE" in names
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload() == README.read_text(encoding="utf-8")
    assert [value.rpartition(" :: ")[2] for value in metadata.get_all("Classifier") if "Python :: 3." in value] == [
        "3.10",
        "3.11",
        "3.12",
        "3.13",
    ]


def test_the_sdist_builds_the_same_package(dist: Path) -> None:
    sdist = dist / f"merchant_kit_sealing-{PROJECT['version']}.tar.gz"
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    assert {"pyproject.toml", "README.md", "LICENSE", "requirements.txt", "sealing/py.typed"} <= names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def venv_environ(venv: Path) -> dict[str, str]:
    """The shell of someone who activated ``venv``: its ``python`` first on PATH, nothing of the repository's
    on the import path, and pip offline (the wheel needs nothing else)."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "PYENV_VERSION", "SEALING_KEY"}
    }
    environ.update(
        VIRTUAL_ENV=str(venv),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return environ


def run_command_lines(block: Block, cwd: Path, environ: dict[str, str]) -> None:
    """Each line of a README block in bash, after its ``export`` lines, with the exit status it states."""
    lines = commands(block.text)
    exports = [line for line in lines if line.startswith("export ")]
    for line in (line for line in lines if not line.startswith("export ")):
        expected = 1 if re.search(r"#\s*exit 1\b", line) else 0
        answer = run(["bash", "-c", "\n".join([*exports, line])], cwd, environ)
        assert (answer.returncode, answer.stderr) == (expected, ""), line
        if "--help" in line:
            assert answer.stdout.startswith("usage: python -m sealing"), answer.stdout
            assert "{seal,verify,control}" in answer.stdout
        if "-m sealing verify" in line:
            assert answer.stdout.startswith("valid\n" if expected == 0 else "sealed: "), line
        if "-m sealing seal" in line:
            assert re.fullmatch(r"[0-9a-f]{40}\n", answer.stdout), line
        if "-m sealing control" in line:
            assert answer.stdout.strip(), line


@pytest.mark.parametrize("version", VERSIONS)
def test_the_wheel_installed_in_a_fresh_venv_works(version: str, dist: Path, tmp_path: Path) -> None:
    python = interpreter(version)
    if python is None:
        if version in REQUIRED:
            pytest.fail(f"python{version} not found (pyenv's versions/{version}.*, or python{version} on PATH)")
        pytest.skip(f"python{version} is not installed here: the wheel is not tested on Python {version}")
    venv = tmp_path / "venv"
    created = run([python, "-m", "venv", str(venv)], tmp_path)
    assert created.returncode == 0, created.stderr
    environ = venv_environ(venv)
    _, install = install_block()
    installed = run(["bash", "-c", install], ROOT, environ)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # The vectors, from the repository's root: sealing itself must still come from the venv.
    vectors = run([str(venv / "bin" / "python"), "-m", "tests.support.installed_sealing"], ROOT, environ)
    assert (vectors.returncode, vectors.stderr) == (0, ""), vectors.stdout + vectors.stderr
    assert vectors.stdout.splitlines() == [f"ok {check}" for check in CHECKS]

    example = tmp_path / "example.py"
    example.write_text(block_under("Take a payment", "python", README).text + "\n", encoding="utf-8")
    printed = run([str(venv / "bin" / "python"), str(example)], tmp_path, environ)
    assert (printed.returncode, printed.stderr) == (0, "")
    assert printed.stdout == block_under("Take a payment", "text", README).text + "\n"

    run_command_lines(block_under("The command line", "sh", README), tmp_path, environ)
