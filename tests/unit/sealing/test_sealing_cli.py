"""The command line: every vector through ``python -m sealing``, and its exit codes on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealing._cli import main
from tests.unit.sealing import sealing_vectors as v

ROOT = Path(__file__).resolve().parents[3]
LEGACY_CAPTURE_FIELDS = {
    "TPE": "1234567",
    "date": "10/12/2006:09:00:00",
    "montant_a_capturer": "30.00EUR",
    "montant_deja_capture": "0EUR",
    "montant_restant": "32.73EUR",
    "reference": "ABERTPY00145",
    "texte-libre": "",
    "version": "3.0",
    "lgue": "FR",
    "societe": "monSite1",
}


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


def run_main(*args: str, stdin: str | bytes = "") -> tuple[int, str, str]:
    """Call ``main`` in-process; bytes go through a real text wrapper so ``stdin.buffer`` exists."""
    out, err = io.StringIO(), io.StringIO()
    stream = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8") if isinstance(stdin, bytes) else io.StringIO(stdin)
    saved = sys.stderr
    sys.stderr = err
    try:
        try:
            code = main(list(args), stream, out)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    finally:
        sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def legacy_json(sealed: str, slots: tuple[str, ...]) -> bytes:
    return json.dumps(dict(v.legacy_pairs(sealed, slots))).encode()


SEAL_CASES = [
    pytest.param(
        ["--variant", "legacy-request"],
        legacy_json(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS),
        v.LEGACY_REQUEST_MAC,
        v.TEST_KEY,
        id="legacy-request",
    ),
    pytest.param(
        ["--variant", "legacy-request"],
        legacy_json(v.LEGACY_INSTALMENTS, v.LEGACY_REQUEST_SLOTS),
        v.LEGACY_INSTALMENTS_MAC,
        v.TEST_KEY,
        id="legacy-instalments",
    ),
    pytest.param(
        ["--variant", "legacy-confirmation", "--tpe", "1234567"],
        legacy_json(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS),
        v.LEGACY_CONFIRMATION_MAC,
        v.TEST_KEY,
        id="legacy-confirmation",
    ),
    pytest.param(
        ["--variant", "legacy-capture"],
        json.dumps(LEGACY_CAPTURE_FIELDS).encode(),
        v.LEGACY_CAPTURE_MAC,
        v.TEST_KEY,
        id="legacy-capture",
    ),
    pytest.param(
        [], json.dumps(dict(v.sorted_pairs(v.DSP2_REQUEST))).encode(), v.DSP2_REQUEST_MAC, v.TEST_KEY, id="dsp2-request"
    ),
    pytest.param(
        ["--variant", "dsp2"],
        json.dumps(dict(reversed(v.sorted_pairs(v.DSP2_CONFIRMATION)))).encode(),
        v.DSP2_CONFIRMATION_MAC,
        v.TEST_KEY,
        id="dsp2-confirmation",
    ),
    pytest.param(
        ["--variant", "legacy-confirmation", "--tpe", "bar"],
        legacy_json(v.SHORT_KEY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS),
        v.SHORT_KEY_CONFIRMATION_MAC,
        v.SHORT_KEY,
        id="short-key",
    ),
]


@pytest.mark.parametrize(("options", "stdin", "mac", "key"), SEAL_CASES)
def test_seal_prints_the_vector_mac(options: list[str], stdin: bytes, mac: str, key: str) -> None:
    code, out, err = run_main("seal", "--key", key, *options, stdin=stdin.decode())
    assert (code, err) == (0, "")
    assert out.endswith("\n")
    assert out.count("\n") == 1
    assert out.strip().lower() == mac.lower()


VERIFY_CASES = [
    pytest.param([], v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC), v.TEST_KEY, id="dsp2"),
    pytest.param(
        [], v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC.lower()), v.TEST_KEY, id="dsp2-lower-case"
    ),
    pytest.param([], v.dsp2_body(v.DSP2_REQUEST, v.DSP2_REQUEST_MAC), v.TEST_KEY, id="dsp2-request"),
    pytest.param(
        ["--variant", "legacy-confirmation", "--tpe", "1234567"],
        v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC),
        v.TEST_KEY,
        id="legacy-confirmation",
    ),
    pytest.param(
        ["--variant", "legacy-confirmation", "--tpe", "bar"],
        v.legacy_confirmation_body(v.SHORT_KEY_CONFIRMATION, v.SHORT_KEY_CONFIRMATION_MAC),
        v.SHORT_KEY,
        id="short-key",
    ),
    pytest.param(
        ["--variant", "legacy-request"],
        (
            "&".join(f"{n}={val}" for n, val in v.legacy_pairs(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS) if val)
            + f"&MAC={v.LEGACY_REQUEST_MAC}"
        ).encode(),
        v.TEST_KEY,
        id="legacy-request",
    ),
]


@pytest.mark.parametrize(("options", "body", "key"), VERIFY_CASES)
def test_verify_says_valid(options: list[str], body: bytes, key: str) -> None:
    assert run_main("verify", "--key", key, *options, stdin=body) == (0, "valid\n", "")


def test_verify_reads_a_text_stream_without_buffer() -> None:
    body = v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC).decode()
    assert run_main("verify", "--key", v.TEST_KEY, stdin=body) == (0, "valid\n", "")


def test_verify_shows_the_sealed_string_and_the_expected_mac_on_a_mismatch() -> None:
    body = v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC).replace(b"montant=62.73EUR", b"montant=62.74EUR")
    code, out, err = run_main("verify", "--key", v.TEST_KEY, stdin=body)
    tampered = v.DSP2_CONFIRMATION.replace("montant=62.73EUR", "montant=62.74EUR")
    assert code == 1
    assert err == ""
    assert tampered in out
    assert v.hmac_hex(v.TEST_KEY_BYTES, tampered) in out.lower()
    assert "valid\n" not in out


def test_verify_legacy_mismatch_shows_the_fixed_order_string() -> None:
    body = v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC)
    code, out, _ = run_main(
        "verify", "--key", v.TEST_KEY, "--variant", "legacy-confirmation", "--tpe", "7654321", stdin=body
    )
    expected_string = "7654321" + v.LEGACY_CONFIRMATION.removeprefix("1234567")
    assert code == 1
    assert expected_string in out
    assert v.hmac_hex(v.TEST_KEY_BYTES, expected_string) in out.lower()


@pytest.mark.parametrize("tpe", ["1234567", "0900157", "bar"])
def test_control_string(tpe: str) -> None:
    sealed = f"CtlHmac3.0{tpe}"
    expected = f"V1.04.sha1.py--[{sealed}]-{v.hmac_hex(v.TEST_KEY_BYTES, sealed)}\n"
    assert run_main("control", "--key", v.TEST_KEY, "--tpe", tpe) == (0, expected, "")


# --- bad input: exit 2, one line on stderr, never a traceback ------------------------------------------


def assert_bad_input(code: int, out: str, err: str) -> None:
    assert code == 2, (out, err)
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert v.TEST_KEY not in err
    assert v.TEST_KEY[:20] not in err


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        pytest.param(["seal", "--key", v.TEST_KEY], b"not json", id="not-json"),
        pytest.param(["seal", "--key", v.TEST_KEY], b"", id="empty-json"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'["TPE", "1234567"]', id="json-array"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"montant": 62.73}', id="json-float"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"TPE": null}', id="json-null"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"TPE": true}', id="json-bool"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"T\\nPE": [1]}', id="name-with-newline"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"TPE": "\\ud800"}', id="lone-surrogate-value"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"\\udfff": "x"}', id="lone-surrogate-name"),
        pytest.param(["seal", "--key", v.TEST_KEY], b'{"TPE": "\xff"}', id="not-utf8"),
        pytest.param(["seal", "--key", v.TEST_KEY], b"[" * 100_000 + b"]" * 100_000, id="deep-json"),
        pytest.param(["seal", "--key", v.TEST_KEY, "--variant", "legacy-confirmation"], b"{}", id="legacy-no-tpe"),
        pytest.param(["seal", "--key", v.TEST_KEY[:-1] + "Z"], b"{}", id="bad-key"),
        pytest.param(["seal", "--key", "x" * 40], b"{}", id="non-hex-key"),
        pytest.param(["seal", "--key", v.TEST_KEY, "--variant", "sha256"], b"{}", id="unknown-variant"),
        pytest.param(["seal"], b"{}", id="no-key"),
        pytest.param([], b"", id="no-command"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"", id="verify-empty"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"TPE=1234567&montant=62.73EUR", id="verify-no-mac"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"TPE=1&TPE=2&MAC=" + b"0" * 40, id="verify-repeated"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"TPE&MAC=" + b"0" * 40, id="verify-missing-equals"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"T\xffPE=1&MAC=" + b"0" * 40, id="verify-bad-name"),
        pytest.param(["verify", "--key", v.TEST_KEY], b"a=b&" * 20_000 + b"MAC=0", id="verify-huge"),
        pytest.param(["verify", "--key", "0" * 39], b"TPE=1&MAC=" + b"0" * 40, id="verify-bad-key"),
        pytest.param(
            ["verify", "--key", v.TEST_KEY, "--variant", "legacy-confirmation"],
            b"TPE=1&MAC=" + b"0" * 40,
            id="verify-legacy-no-tpe",
        ),
        pytest.param(["control", "--key", v.TEST_KEY], b"", id="control-no-tpe"),
        pytest.param(["control", "--key", "1234", "--tpe", "1234567"], b"", id="control-bad-key"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], stdin: bytes) -> None:
    assert_bad_input(*run_main(*args, stdin=stdin))


def test_control_with_an_undecodable_tpe_is_bad_input() -> None:
    assert_bad_input(*run_main("control", "--key", v.TEST_KEY, "--tpe", "12\udcff"))


# --- the real command line, in a subprocess -------------------------------------------------------------


def test_subprocess_seal_legacy_request() -> None:
    result = run_cli(
        "seal",
        "--key",
        v.TEST_KEY,
        "--variant",
        "legacy-request",
        stdin=legacy_json(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS),
    )
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.decode().strip().lower() == v.LEGACY_REQUEST_MAC


def test_subprocess_seal_legacy_capture_and_dsp2() -> None:
    capture = run_cli(
        "seal", "--key", v.TEST_KEY, "--variant", "legacy-capture", stdin=json.dumps(LEGACY_CAPTURE_FIELDS).encode()
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
