"""The package as a whole: its public names and its standard-library-only imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import sealing

ROOT = Path(__file__).resolve().parents[3]


def test_every_public_name_exists_and_is_listed_once() -> None:
    assert len(sealing.__all__) == len(set(sealing.__all__))
    for name in sealing.__all__:
        assert hasattr(sealing, name), name


def test_every_error_is_a_sealing_error_and_a_value_error() -> None:
    for error in (
        sealing.InvalidKeyError,
        sealing.FieldError,
        sealing.MissingFieldError,
        sealing.MalformedMessageError,
        sealing.SealMismatchError,
        sealing.BankAnswerError,
    ):
        assert issubclass(error, sealing.SealingError)
    assert issubclass(sealing.SealingError, ValueError)


def test_the_package_imports_only_the_standard_library() -> None:
    layer = str(ROOT / "layers" / "sealing")
    script = f"""
import json, sys, sysconfig
sys.path.insert(0, {layer!r})
before = set(sys.modules)
import sealing, sealing._cli
allowed = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"], {layer!r})
outside = []
for name in sorted(set(sys.modules) - before):
    where = getattr(sys.modules[name], "__file__", None)
    if where and not where.startswith(allowed):
        outside.append(name)
print(json.dumps(outside))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-I", "-c", script], capture_output=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
