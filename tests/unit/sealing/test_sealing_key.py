"""The merchant key (docs/protocol.md, The key): decoding as the official kits do, and never showing it."""

from __future__ import annotations

import copy
import pickle

import pytest

from sealing import InvalidKeyError, MerchantKey, SealVariant, Terminal
from tests.support import sealing_vectors as v


def mac_of(key: MerchantKey, data: bytes = b"data") -> str:
    return key.mac(data)


def test_the_kits_test_key_decodes_to_1234567890() -> None:
    assert mac_of(MerchantKey(v.TEST_KEY)) == v.hmac_hex(v.TEST_KEY_BYTES, b"data")
    assert MerchantKey(v.TEST_KEY) == MerchantKey("1234567890123456789012345678901234567890")


@pytest.mark.parametrize(
    ("issued", "decoded"),
    [
        # Character 38 between 'G' and '`' is a digit shifted by 23 (G..P are 0..9).
        ("1234567890123456789012345678901234567" + "8G0", "1234567890123456789012345678901234567" + "800"),
        ("1234567890123456789012345678901234567" + "8P5", "1234567890123456789012345678901234567" + "895"),
        ("1234567890123456789012345678901234567" + "8XA", "1234567890123456789012345678901234567" + "8AA"),
        ("1234567890123456789012345678901234567" + "8Z0", "1234567890123456789012345678901234567" + "8C0"),
        # Otherwise an 'M' in position 39 stands for '0'.
        ("1234567890123456789012345678901234567" + "87M", "1234567890123456789012345678901234567" + "870"),
        ("1234567890123456789012345678901234567" + "8FM", "1234567890123456789012345678901234567" + "8F0"),
        # A plain hex key is unchanged, in either letter case.
        ("0123456789abcdefABCDEF0123456789abcdef01", "0123456789abcdefABCDEF0123456789abcdef01"),
    ],
)
def test_the_last_two_characters_rule(issued: str, decoded: str) -> None:
    assert mac_of(MerchantKey(issued)) == v.hmac_hex(bytes.fromhex(decoded), b"data")


def test_the_m_rule_only_applies_when_character_38_is_not_shifted() -> None:
    # 'P' in 38 is decoded and then 'M' in 39 stays an 'M', which is not hex.
    with pytest.raises(InvalidKeyError):
        MerchantKey("1234567890123456789012345678901234567" + "8PM")


def test_a_32_character_key_is_taken_as_given() -> None:
    assert mac_of(MerchantKey(v.SHORT_KEY)) == v.hmac_hex(bytes.fromhex(v.SHORT_KEY), b"data")


def test_surrounding_whitespace_is_ignored() -> None:
    assert MerchantKey(f"  {v.TEST_KEY}\n") == MerchantKey(v.TEST_KEY)


BAD_KEYS = [
    "",
    "1234",
    "12345678901234567890123456789012345678Q0",  # 'Q' - 23 is ':'
    "12345678901234567890123456789012345678p0",  # only upper case is shifted
    "1234567890123456789012345678901234567890a",  # 41 characters
    "123456789012345678901234567890123456789",  # 39 characters
    "g234567890123456789012345678901234567890",  # non-hex in the head
    "12345678901234567890123456789012345678 0",
    "1234567890123456789012345678901234567890".replace("5", "é"),
    "12345678901234567890123456789012345678WM",  # 'W' - 23 is '@'
    "12345678901234567890123456789012345678^0",  # '^' - 23 is 'G'
    "3858F62230AC3C915F300C664312C63",  # 31 characters
    "3858F62230AC3C915F300C664312C63Z",
]


@pytest.mark.parametrize("text", BAD_KEYS)
def test_invalid_keys_are_refused_without_showing_them(text: str) -> None:
    with pytest.raises(InvalidKeyError) as error:
        MerchantKey(text)
    exc = error.value
    shown = f"{exc} {exc!r} {exc.args!r}"
    if len(text) >= 8:
        for start in range(len(text) - 7):
            assert text[start : start + 8] not in shown
    assert exc.__cause__ is None
    assert exc.__context__ is None


@pytest.mark.parametrize("text", [None, b"1234567890123456789012345678901234567890", 12345])
def test_a_key_must_be_text(text: object) -> None:
    with pytest.raises(InvalidKeyError):
        MerchantKey(text)  # type: ignore[arg-type]


def test_the_key_never_shows_in_repr_or_str() -> None:
    key = MerchantKey(v.TEST_KEY)
    terminal = Terminal(tpe="1234567", key=key, societe="monSite1", seal=SealVariant.LEGACY)
    for shown in (repr(key), str(key), f"{key}", repr(terminal), str(terminal)):
        for secret in (v.TEST_KEY, v.TEST_KEY[:16], "1234567890123456", v.TEST_KEY_BYTES.hex()[:16], "\\x124Vx"):
            assert secret not in shown


def test_a_key_cannot_be_pickled_or_copied_into_a_log() -> None:
    key = MerchantKey(v.TEST_KEY)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    with pytest.raises(TypeError):
        copy.copy(key)


def test_keys_compare_by_value_and_hash_consistently() -> None:
    assert MerchantKey("abcdef" * 6 + "0123") == MerchantKey("ABCDEF" * 6 + "0123")
    assert hash(MerchantKey(v.TEST_KEY)) == hash(MerchantKey("1234567890123456789012345678901234567890"))
    assert MerchantKey(v.TEST_KEY) != MerchantKey(v.SHORT_KEY)
    assert MerchantKey(v.TEST_KEY) != v.TEST_KEY


def test_matches_is_case_insensitive_and_refuses_junk() -> None:
    key = MerchantKey(v.TEST_KEY)
    mac = v.hmac_hex(v.TEST_KEY_BYTES, b"data")
    assert key.matches(b"data", mac)
    assert key.matches(b"data", mac.upper())
    assert not key.matches(b"data", mac[:-1])
    assert not key.matches(b"data", "")
    assert not key.matches(b"data", "é" * 40)
    assert not key.matches(b"datA", mac)


@pytest.mark.parametrize(
    "text",
    [
        "12345678901234567890123456789012345678Z!",
        "g234567890123456789012345678901234567890",
        "12345678901234567890123456789012345678 0",
    ],
)
def test_a_40_character_key_is_not_told_it_must_be_40_characters(text: str) -> None:
    with pytest.raises(InvalidKeyError) as error:
        MerchantKey(text)
    message = str(error.value)
    assert "40 characters" in message
    assert "must be 40" not in message
    assert "got 40" not in message
    assert "hexadecimal" in message
