"""The real command line, ``python -m sealing`` in a fresh interpreter: what it prints, its exit codes, its key
from the environment (the same vectors in process: tests/unit/sealing/test_sealing_cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import sealing_vectors as v

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "sealing")}
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sealing", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_subprocess_seal_legacy_request() -> None:
    result = run_cli(
        "seal",
        "--key",
        v.TEST_KEY,
        "--variant",
        "legacy-request",
        stdin=v.legacy_json(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS),
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode().strip().lower() == v.LEGACY_REQUEST_MAC


def test_subprocess_seal_legacy_capture_and_dsp2() -> None:
    capture = run_cli(
        "seal", "--key", v.TEST_KEY, "--variant", "legacy-capture", stdin=json.dumps(v.LEGACY_CAPTURE_FIELDS).encode()
    )
    assert capture.stdout.decode().strip().lower() == v.LEGACY_CAPTURE_MAC
    dsp2 = run_cli("seal", "--key", v.TEST_KEY, stdin=json.dumps(dict(v.sorted_pairs(v.DSP2_REQUEST))).encode())
    assert dsp2.stdout.decode().strip().lower() == v.DSP2_REQUEST_MAC.lower()
    assert capture.returncode == dsp2.returncode == 0


def test_subprocess_verify_dsp2_and_legacy_confirmations() -> None:
    dsp2 = run_cli("verify", "--key", v.TEST_KEY, stdin=v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC))
    assert (dsp2.returncode, dsp2.stdout, dsp2.stderr) == (0, b"valid\n", b"")
    legacy = run_cli(
        "verify",
        "--key",
        v.SHORT_KEY,
        "--variant",
        "legacy-confirmation",
        "--tpe",
        "bar",
        stdin=v.legacy_confirmation_body(v.SHORT_KEY_CONFIRMATION, v.SHORT_KEY_CONFIRMATION_MAC),
    )
    assert (legacy.returncode, legacy.stdout, legacy.stderr) == (0, b"valid\n", b"")


def test_subprocess_verify_mismatch_exits_1() -> None:
    body = v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC).replace(b"brand=VI", b"brand=MC")
    result = run_cli("verify", "--key", v.TEST_KEY, stdin=body)
    tampered = v.DSP2_CONFIRMATION.replace("brand=VI", "brand=MC")
    assert result.returncode == 1
    assert tampered.encode() in result.stdout
    assert v.hmac_hex(v.TEST_KEY_BYTES, tampered).encode() in result.stdout.lower()


def test_subprocess_control() -> None:
    result = run_cli("control", "--key", v.TEST_KEY, "--tpe", "1234567")
    sealed = "CtlHmac3.01234567"
    assert result.stdout.decode() == f"V1.04.sha1.py--[{sealed}]-{v.hmac_hex(v.TEST_KEY_BYTES, sealed)}\n"


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["verify", "--key", v.TEST_KEY], b"\xff\xfe\x00garbage"),
        (["verify", "--key", v.TEST_KEY], b""),
        (["seal", "--key", v.TEST_KEY], b'{"a": "\xff"}'),
        (["seal", "--key", v.TEST_KEY], b'{"a": "\\ud800"}'),
        (["seal", "--key", "not a key"], b"{}"),
        (["seal", "--key", v.TEST_KEY, "--variant", "nope"], b"{}"),
    ],
)
def test_subprocess_bad_input_exits_2_without_traceback(args: list[str], stdin: bytes) -> None:
    result = run_cli(*args, stdin=stdin)
    assert result.returncode == 2, result
    assert result.stdout == b""
    assert b"Traceback" not in result.stderr
    assert result.stderr.count(b"\n") == 1, result.stderr


def test_the_key_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEALING_KEY", v.TEST_KEY)
    result = run_cli("control", "--tpe", "1234567")
    assert result.returncode == 0
    assert result.stdout.startswith(b"V1.04.sha1.py--[CtlHmac3.01234567]-")
    monkeypatch.delenv("SEALING_KEY")
    result = run_cli("control", "--tpe", "1234567")
    assert result.returncode == 2
    assert b"--key" in result.stderr
