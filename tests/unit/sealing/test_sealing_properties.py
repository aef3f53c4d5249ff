"""Property tests: the seal holds for any fields and breaks on any change; parsers only raise their own errors."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlencode

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import sealing
from sealing import (
    MalformedMessageError,
    MerchantKey,
    SealingError,
    SealMismatchError,
    Variant,
    parse_form,
    parse_lines_answer,
    parse_status_answer,
    read_confirmation,
    verify_confirmation,
)
from tests.support import sealing_vectors as v

NAME = st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True).filter(lambda name: name != "MAC")
VALUE = st.text(max_size=40)
FIELDS = st.dictionaries(NAME, VALUE, min_size=1, max_size=12)
KEY_BYTES = st.binary(min_size=20, max_size=20)
NAME_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"


def key_of(raw: bytes) -> MerchantKey:
    return MerchantKey(raw.hex())


def is_valid(key: MerchantKey, fields: dict[str, str], mac: str) -> bool:
    try:
        sealing.verify(key, fields, mac)
    except SealMismatchError:
        return False
    return True


@given(raw_key=KEY_BYTES, fields=FIELDS)
def test_seal_then_verify_holds_for_any_fields(raw_key: bytes, fields: dict[str, str]) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    assert mac == v.hmac_hex(raw_key, v.dsp2_string(fields))
    assert is_valid(key, fields, mac)
    assert is_valid(key, dict(reversed(fields.items())), mac)


@given(raw_key=KEY_BYTES, fields=FIELDS)
def test_a_sealed_body_verifies_after_parsing(raw_key: bytes, fields: dict[str, str]) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    form = parse_form(urlencode([*fields.items(), ("MAC", mac)]).encode("ascii"))
    assert verify_confirmation(form, key) is form
    assert {name: form.text(name) for name in fields} == fields


@given(raw_key=KEY_BYTES, fields=FIELDS, data=st.data())
def test_changing_one_character_of_a_value_breaks_the_seal(
    raw_key: bytes, fields: dict[str, str], data: st.DataObject
) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    name = data.draw(st.sampled_from(sorted(fields)))
    value = fields[name]
    assume(value)
    position = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(st.characters(exclude_characters=value[position], exclude_categories=["Cs"]))
    changed = {**fields, name: value[:position] + replacement + value[position + 1 :]}
    assert not is_valid(key, changed, mac)


@given(raw_key=KEY_BYTES, fields=FIELDS, data=st.data())
def test_changing_one_character_of_a_name_breaks_the_seal(
    raw_key: bytes, fields: dict[str, str], data: st.DataObject
) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    name = data.draw(st.sampled_from(sorted(fields)))
    position = data.draw(st.integers(0, len(name) - 1))
    replacement = data.draw(st.sampled_from(NAME_CHARACTERS.replace(name[position], "")))
    new_name = name[:position] + replacement + name[position + 1 :]
    assume(new_name not in fields and new_name != "MAC")
    changed = {(new_name if old == name else old): value for old, value in fields.items()}
    assert not is_valid(key, changed, mac)


@given(raw_key=KEY_BYTES, fields=FIELDS, data=st.data())
def test_dropping_a_field_breaks_the_seal(raw_key: bytes, fields: dict[str, str], data: st.DataObject) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    dropped = data.draw(st.sampled_from(sorted(fields)))
    assert not is_valid(key, {name: value for name, value in fields.items() if name != dropped}, mac)


@given(raw_key=KEY_BYTES, fields=FIELDS, name=NAME, value=VALUE)
@example(raw_key=b"\x01" * 20, fields={"a": "1"}, name="b", value="")  # an empty new field still counts
def test_adding_a_field_breaks_the_seal(raw_key: bytes, fields: dict[str, str], name: str, value: str) -> None:
    assume(name not in fields)
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    assert not is_valid(key, {**fields, name: value}, mac)


@given(raw_key=KEY_BYTES, fields=FIELDS, flips=st.lists(st.booleans(), min_size=40, max_size=40))
def test_the_macs_letter_case_does_not_matter(raw_key: bytes, fields: dict[str, str], flips: list[bool]) -> None:
    key = key_of(raw_key)
    mac = sealing.seal(key, fields)
    mixed = "".join(c.upper() if flip else c.lower() for c, flip in zip(mac, flips, strict=True))
    assert is_valid(key, fields, mixed)
    assert is_valid(key, fields, mac.upper())


@given(
    raw_key=KEY_BYTES,
    values=st.lists(st.text(max_size=12), min_size=len(v.LEGACY_REQUEST_SLOTS), max_size=len(v.LEGACY_REQUEST_SLOTS)),
    data=st.data(),
)
def test_legacy_request_seal_breaks_on_any_changed_slot(raw_key: bytes, values: list[str], data: st.DataObject) -> None:
    key = key_of(raw_key)
    fields = dict(zip(v.LEGACY_REQUEST_SLOTS, values, strict=True))
    mac = sealing.seal(key, fields, Variant.LEGACY_REQUEST)
    assert mac == v.hmac_hex(raw_key, "*".join(values))
    slot = data.draw(st.sampled_from(v.LEGACY_REQUEST_SLOTS))
    changed = {**fields, slot: fields[slot] + data.draw(st.characters(exclude_categories=["Cs"]))}
    try:
        sealing.verify(key, changed, mac, Variant.LEGACY_REQUEST)
    except SealMismatchError:
        return
    raise AssertionError("a changed slot kept its seal")


# --- any bytes into the parsers: only the library's own errors ------------------------------------------

KNOWN_NAMES = [name for name, _ in v.sorted_pairs(v.DSP2_CONFIRMATION)] + ["MAC", "montantech", "status3ds"]


ODD_VALUES = [b"62.73EUR", b"paiement_pf2", b"05/12/2006_a_11:55:23", b"31/02/2006_a_25:61:61", b"-1", b"oui", b""]


@st.composite
def form_like_bodies(draw: st.DrawFn) -> bytes:
    """The vector's confirmation with some values replaced, some fields dropped or added, so the
    fuzzing reaches past the first checks into the typed reading."""
    fields: dict[str, bytes] = {name: value.encode() for name, value in v.sorted_pairs(v.DSP2_CONFIRMATION)}
    fields["MAC"] = v.DSP2_CONFIRMATION_MAC.encode()
    for name in draw(st.lists(st.sampled_from(KNOWN_NAMES), max_size=6)):
        fields[name] = draw(st.binary(max_size=30) | st.sampled_from(ODD_VALUES))
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=2)):
        fields.pop(name, None)
    fields.update(draw(st.dictionaries(NAME, st.binary(max_size=10), max_size=2)))
    return b"&".join(name.encode() + b"=" + quote_from_bytes(value).encode() for name, value in fields.items())


def only_library_errors(body: bytes) -> None:
    key = MerchantKey(v.TEST_KEY)
    try:
        form = parse_form(body)
    except SealingError:
        return
    for attempt in (
        lambda: read_confirmation(form),
        lambda: verify_confirmation(form, key),
        lambda: verify_confirmation(form, key, Variant.LEGACY_CONFIRMATION, tpe="1234567"),
    ):
        with contextlib.suppress(SealingError):
            attempt()


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_into_the_confirmation_parser(body: bytes) -> None:
    only_library_errors(body)


@settings(max_examples=300)
@given(form_like_bodies())
def test_form_like_bytes_into_the_confirmation_parser(body: bytes) -> None:
    only_library_errors(body)


@settings(max_examples=300)
@given(st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_into_the_answer_parsers(body: bytes) -> None:
    for parser in (parse_lines_answer, parse_status_answer):
        with contextlib.suppress(SealingError):
            parser(body)


@st.composite
def xml_like_bodies(draw: st.DrawFn) -> bytes:
    tags = st.sampled_from(["etat", "numauto", "montantrecouvre", "recredits", "r", "x"])
    texts = st.sampled_from(["PA", "AN", "62.73EUR", "1,5EUR", "", "&amp;", "<", "]]>"]) | st.text(max_size=8)
    children = draw(st.lists(st.tuples(tags, texts), max_size=6))
    inner = "".join(f"<{tag}>{text}</{tag}>" for tag, text in children)
    return (
        draw(st.sampled_from(["<r>{}</r>", "{}", "<?xml version='1.0'?><r>{}</r>", "<r>{}"]))
        .format(inner)
        .encode("utf-8", "surrogatepass")
    )


@settings(max_examples=300)
@given(xml_like_bodies() | st.text(max_size=200).map(lambda t: f"cdr={t}".encode("utf-8", "surrogatepass")))
def test_answer_like_bytes_into_the_answer_parsers(body: bytes) -> None:
    for parser in (parse_lines_answer, parse_status_answer):
        with contextlib.suppress(SealingError):
            parser(body)


# --- parse_form against a plain reference reading --------------------------------------------------------

PIECES = [b"a", b"Z", b"0", b"_", b".", b"-", b"MAC", b"TPE", b"=", b"&", b"+", b" ", b"%", b"%2", b"%26", b"%3D"]
PIECES += [b"%3d", b"%41", b"%2B", b"%FF", b"%zz", b"*", b"\xff", b"\xc3\xa9", b"%00", b"\x00"]


def reference_fields(body: bytes) -> tuple[tuple[str, bytes], ...] | None:
    """docs/protocol.md, Confirmation, read field by field with the standard library; None when the body must be
    refused."""
    if not body.strip():
        return None
    fields: list[tuple[str, bytes]] = []
    for part in body.split(b"&"):
        if not part:
            continue
        if b"=" not in part:
            return None
        raw_name, raw_value = part.split(b"=", 1)
        name = unquote_to_bytes(raw_name.replace(b"+", b" "))
        if not re.fullmatch(rb"[A-Za-z0-9_.\-]{1,64}", name) or name.decode() in dict(fields):
            return None
        fields.append((name.decode(), unquote_to_bytes(raw_value.replace(b"+", b" "))))
    return tuple(fields) or None


@settings(max_examples=500)
@given(
    st.lists(st.lists(st.sampled_from(PIECES), max_size=8).map(b"".join), max_size=8).map(b"&".join)
    | st.dictionaries(NAME, st.binary(max_size=12), min_size=1, max_size=6).map(
        lambda fields: urlencode(list(fields.items())).encode("ascii")
    )
)
def test_parse_form_reads_what_a_plain_reading_reads(body: bytes) -> None:
    expected = reference_fields(body)
    try:
        fields = parse_form(body).fields
    except MalformedMessageError:
        assert expected is None
    else:
        assert fields == expected
