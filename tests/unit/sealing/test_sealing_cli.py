"""The command line in process (``sealing._cli.main``): every vector, and its exit codes on bad input. The real
``python -m sealing`` in a subprocess: tests/integration/test_sealing_cli.py."""

from __future__ import annotations

import io
import json
import sys

import pytest

from sealing._cli import main
from tests.support import sealing_vectors as v


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


SEAL_CASES = [
    pytest.param(
        ["--variant", "legacy-request"],
        v.legacy_json(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS),
        v.LEGACY_REQUEST_MAC,
        v.TEST_KEY,
        id="legacy-request",
    ),
    pytest.param(
        ["--variant", "legacy-request"],
        v.legacy_json(v.LEGACY_INSTALMENTS, v.LEGACY_REQUEST_SLOTS),
        v.LEGACY_INSTALMENTS_MAC,
        v.TEST_KEY,
        id="legacy-instalments",
    ),
    pytest.param(
        ["--variant", "legacy-confirmation", "--tpe", "1234567"],
        v.legacy_json(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS),
        v.LEGACY_CONFIRMATION_MAC,
        v.TEST_KEY,
        id="legacy-confirmation",
    ),
    pytest.param(
        ["--variant", "legacy-capture"],
        json.dumps(v.LEGACY_CAPTURE_FIELDS).encode(),
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
        v.legacy_json(v.SHORT_KEY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS),
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


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"TPE": "1234567", "montant": "6273EUR"}, '"6273" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ({"montant": "62.73EUR", "montantech1": "31.4EUR"}, "montantech1: '31.4EUR'"),
        ({"montant": "1000.50JPY"}, '"1000.50" is not an amount in JPY like 6273 (no decimals)'),
        ({"montant": "1.500KWD"}, "KWD has 3 minor digits"),
        ({"montant": "62.73EUR", "montant_a_capturer": "10EUR"}, "montant_a_capturer: '10EUR'"),
    ],
)
def test_seal_refuses_a_merchant_amount_the_bank_would_misread(fields: dict[str, str], message: str) -> None:
    code, out, err = run_main("seal", "--key", v.TEST_KEY, stdin=json.dumps(fields).encode())
    assert_bad_input(code, out, err)
    assert message in err


def test_seal_takes_the_banks_own_amounts_in_a_confirmation_and_a_nil_back_office_amount() -> None:
    confirmation = {"TPE": "1234567", "code-retour": "payetest", "montant": "200EUR"}
    assert run_main("seal", "--key", v.TEST_KEY, stdin=json.dumps(confirmation).encode())[0] == 0
    cancel = {"TPE": "1234567", "montant": "62.73EUR", "montant_a_capturer": "0EUR", "montant_restant": "0EUR"}
    assert run_main("seal", "--key", v.TEST_KEY, stdin=json.dumps(cancel).encode())[0] == 0
    assert run_main("seal", "--key", v.TEST_KEY, stdin=json.dumps({"montant": "1000JPY"}).encode())[0] == 0


def test_control_with_an_undecodable_tpe_is_bad_input() -> None:
    assert_bad_input(*run_main("control", "--key", v.TEST_KEY, "--tpe", "12\udcff"))


# --- where the key came from: a newcomer who exported SEALING_KEY must be told about it, not about --key alone ---


def test_no_key_at_all_names_both_ways_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEALING_KEY", raising=False)
    code, out, err = run_main("seal", stdin="{}")
    assert_bad_input(code, out, err)
    assert "--key" in err
    assert "SEALING_KEY" in err


@pytest.mark.parametrize("bad", ["1234", "12345678901234567890123456789012345678Z!"])
def test_a_bad_key_from_the_environment_is_named_sealing_key(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    monkeypatch.setenv("SEALING_KEY", bad)
    code, out, err = run_main("verify", stdin=b"TPE=1&MAC=" + b"0" * 40)
    assert_bad_input(code, out, err)
    assert err.startswith("error: SEALING_KEY: ")
    assert bad not in err


def test_a_bad_key_on_the_command_line_is_named_key_even_with_the_environment_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SEALING_KEY", v.TEST_KEY)
    code, out, err = run_main("control", "--key", "1234", "--tpe", "1234567")
    assert_bad_input(code, out, err)
    assert err.startswith("error: --key: ")


def test_the_environment_key_is_used_when_no_key_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEALING_KEY", v.TEST_KEY)
    sealed = "CtlHmac3.01234567"
    expected = f"V1.04.sha1.py--[{sealed}]-{v.hmac_hex(v.TEST_KEY_BYTES, sealed)}\n"
    assert run_main("control", "--tpe", "1234567") == (0, expected, "")
