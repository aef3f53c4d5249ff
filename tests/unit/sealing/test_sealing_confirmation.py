"""The confirmation (CGI2): parsing the raw body, the seal over exactly what came, the typed view."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote, urlencode

import pytest

from sealing import (
    RECEIVED,
    SEAL_REFUSED,
    Confirmation,
    FieldError,
    MalformedMessageError,
    MerchantKey,
    MissingFieldError,
    Money,
    Outcome,
    ReceivedForm,
    ReturnCode,
    SealMismatchError,
    Variant,
    acknowledgement,
    check_not_a_request,
    parse_form,
    read_confirmation,
    verify_confirmation,
)
from sealing._confirmation import MAX_BODY_BYTES
from tests.support import sealing_vectors as v

KEY = MerchantKey(v.TEST_KEY)


def confirmation_fields(**changes: str) -> list[tuple[str, str]]:
    fields = dict(v.sorted_pairs(v.DSP2_CONFIRMATION))
    fields.update(changes)
    return list(fields.items())


def sealed_body(fields: list[tuple[str, str]], *, key: bytes = v.TEST_KEY_BYTES) -> bytes:
    """A body as the bank would post it, sealed by the independent helper."""
    mac = v.hmac_hex(key, v.dsp2_string(fields))
    return urlencode([*fields, ("MAC", mac)]).encode("utf-8")


def received(body: bytes) -> Confirmation:
    form = parse_form(body)
    verify_confirmation(form, KEY)
    return read_confirmation(form)


@pytest.mark.parametrize(
    ("code", "outcome", "instalment", "accepted"),
    [
        ("paiement", Outcome.ACCEPTED, None, True),
        ("payetest", Outcome.ACCEPTED_TEST, None, True),
        ("Annulation", Outcome.REFUSED, None, False),
        ("paiement_pf2", Outcome.ACCEPTED, 2, True),
        ("paiement_pf3", Outcome.ACCEPTED, 3, True),
        ("paiement_pf4", Outcome.ACCEPTED, 4, True),
        ("Annulation_pf2", Outcome.REFUSED, 2, False),
        ("Annulation_pf4", Outcome.REFUSED, 4, False),
        ("payetest_pf3", Outcome.ACCEPTED_TEST, 3, True),
    ],
)
def test_return_codes(code: str, outcome: Outcome, instalment: int | None, accepted: bool) -> None:
    confirmation = received(sealed_body(confirmation_fields(**{"code-retour": code})))
    assert confirmation.return_code == ReturnCode(outcome, instalment)
    assert str(confirmation.return_code) == code
    assert confirmation.accepted is accepted
    assert confirmation.is_test_payment is (outcome is Outcome.ACCEPTED_TEST)


@pytest.mark.parametrize(
    ("code", "outcome", "instalment"),
    [
        ("annulation", Outcome.REFUSED, None),
        ("ANNULATION", Outcome.REFUSED, None),
        ("Paiement", Outcome.ACCEPTED, None),
        ("PayeTest", Outcome.ACCEPTED_TEST, None),
        ("annulation_pf3", Outcome.REFUSED, 3),
        ("Paiement_PF2", Outcome.ACCEPTED, 2),
    ],
)
def test_return_codes_are_read_whatever_their_letter_case(code: str, outcome: Outcome, instalment: int | None) -> None:
    # Public integrations show both "Annulation" and "annulation"; the seal still covers the exact bytes.
    body = sealed_body(confirmation_fields(**{"code-retour": code}))
    assert received(body).return_code == ReturnCode(outcome, instalment)
    with pytest.raises(SealMismatchError):
        verify_confirmation(parse_form(body.replace(code.encode(), code.swapcase().encode())), KEY)


@pytest.mark.parametrize(
    "code", ["", "paiement_pf1", "paiement_pf5", "Annulation_pf", "ok", "paiement ", "paİement", "ANNULATİON"]
)
def test_unknown_return_codes_are_field_errors(code: str) -> None:
    form = parse_form(sealed_body(confirmation_fields(**{"code-retour": code})))
    verify_confirmation(form, KEY)
    with pytest.raises(FieldError) as error:
        read_confirmation(form)
    assert error.value.field == "code-retour"


@pytest.mark.parametrize(
    ("montant", "amount", "currency"),
    [("62.73EUR", "62.73", "EUR"), ("200EUR", "200", "EUR"), ("0.5USD", "0.5", "USD"), ("1000.00CHF", "1000", "CHF")],
)
def test_amount_and_currency_are_decimal(montant: str, amount: str, currency: str) -> None:
    confirmation = received(sealed_body(confirmation_fields(montant=montant)))
    assert isinstance(confirmation.amount.amount, Decimal)
    assert confirmation.amount == Money(Decimal(amount), currency)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("montant", "62,73EUR"),
        ("montant", "62.73"),
        ("montantech", "1.234,50EUR"),
        ("status3ds", "x"),
        ("status3ds", " 1"),
        ("status3ds", "1_0"),
        ("status3ds", "\u0661"),
        ("status3ds", "9" * 5000),
        ("date", "5/12/06"),
        ("date", "31/02/2006_a_11:55:23"),
        ("date", "05/12/2006_a_25:00:00"),
        ("date", "\u0660\u0665/12/2006_a_11:55:23"),
    ],
)
def test_malformed_values_are_field_errors_naming_the_field(name: str, value: str) -> None:
    form = parse_form(sealed_body(confirmation_fields(**{name: value})))
    verify_confirmation(form, KEY)
    with pytest.raises(FieldError) as error:
        read_confirmation(form)
    assert error.value.field == name


@pytest.mark.parametrize("name", ["montant", "reference", "code-retour", "TPE"])
def test_missing_required_fields(name: str) -> None:
    fields = [pair for pair in confirmation_fields() if pair[0] != name]
    form = parse_form(sealed_body(fields))
    verify_confirmation(form, KEY)
    with pytest.raises(MissingFieldError) as error:
        read_confirmation(form)
    assert error.value.field == name


def test_instalment_and_refusal_fields() -> None:
    fields = confirmation_fields(
        **{
            "code-retour": "Annulation_pf2",
            "montantech": "15.68EUR",
            "motifrefus": "Refus",
            "motifrefusautorisation": "fonds insuffisants",
            "status3ds": "4",
            "cvx": "non",
        }
    )
    confirmation = received(sealed_body(fields))
    assert confirmation.instalment_amount == Money(Decimal("15.68"), "EUR")
    assert confirmation.refusal_reason == "Refus"
    assert confirmation.authorisation_refusal_reason == "fonds insuffisants"
    assert confirmation.three_ds_status == 4
    assert confirmation.cvx_entered is False


@pytest.mark.parametrize(("value", "saved"), [("1", True), ("0", False), ("", None), ("oui", None)])
def test_cbenregistree_says_whether_the_card_was_kept_under_the_alias(value: str, saved: bool | None) -> None:
    assert received(sealed_body(confirmation_fields(cbenregistree=value))).card_saved is saved
    assert received(sealed_body(confirmation_fields())).card_saved is None


def test_unknown_new_fields_are_sealed_too() -> None:
    fields = confirmation_fields(nouveauchamp="42", **{"filtrage_etat": ""})
    body = sealed_body(fields)
    confirmation = received(body)
    assert confirmation.field("nouveauchamp") == "42"
    assert confirmation.field("filtrage_etat") == ""
    # A seal made without the new field (a hard-coded list) does not hold.
    old_mac = v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(confirmation_fields()))
    stale = urlencode([*fields, ("MAC", old_mac)]).encode()
    with pytest.raises(SealMismatchError):
        verify_confirmation(parse_form(stale), KEY)


def test_the_seal_covers_the_exact_bytes_received() -> None:
    # Latin-1 free text as an old page would post it: the seal is over those bytes, not a re-encoding.
    raw_value = "Crème brûlée".encode("latin-1")
    fields = confirmation_fields()
    sealed = v.dsp2_string(fields).replace("texte-libre=ExempleTexteLibre", "texte-libre=").encode()
    sealed = sealed.replace(b"texte-libre=", b"texte-libre=" + raw_value)
    mac = v.hmac_hex(v.TEST_KEY_BYTES, sealed)
    body = (
        "&".join(f"{n}={quote(val, safe='')}" for n, val in fields if n != "texte-libre")
        + "&texte-libre="
        + quote(raw_value, safe="")
        + f"&MAC={mac}"
    ).encode()
    form = parse_form(body)
    assert form.get("texte-libre") == raw_value
    verify_confirmation(form, KEY)
    assert read_confirmation(form).free_text == "Crème brûlée"
    # The same text in UTF-8 is different bytes, so the same MAC does not hold.
    utf8 = body.replace(quote(raw_value, safe="").encode(), quote("Crème brûlée", safe="").encode())
    with pytest.raises(SealMismatchError):
        verify_confirmation(parse_form(utf8), KEY)


def test_plus_and_percent_encodings_decode_to_the_same_bytes() -> None:
    fields = confirmation_fields(**{"texte-libre": "a b+c&d=e*f%"})
    mac = v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(fields))
    plus = urlencode([*fields, ("MAC", mac)]).encode()
    percent = "&".join(f"{n}={quote(val, safe='')}" for n, val in [*fields, ("MAC", mac)]).encode()
    assert plus != percent
    for body in (plus, percent):
        confirmation = received(body)
        assert confirmation.free_text == "a b+c&d=e*f%"


def test_a_tampered_confirmation_is_refused_with_the_details() -> None:
    body = sealed_body(confirmation_fields()).replace(b"montant=62.73EUR", b"montant=6.73EUR")
    with pytest.raises(SealMismatchError) as error:
        verify_confirmation(parse_form(body), KEY)
    expected_string = v.dsp2_string(confirmation_fields(montant="6.73EUR"))
    assert error.value.sealed == expected_string.encode()
    # Never a valid seal for data the sender chose: a caller logging the error would hand one out.
    assert not hasattr(error.value, "expected")
    assert v.hmac_hex(v.TEST_KEY_BYTES, expected_string) not in repr(vars(error.value))
    assert v.TEST_KEY not in str(error.value)


def test_another_key_does_not_verify() -> None:
    body = sealed_body(confirmation_fields())
    with pytest.raises(SealMismatchError):
        verify_confirmation(parse_form(body), MerchantKey(v.SHORT_KEY))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \r\n", id="blank"),
        pytest.param(b"&&&", id="only-separators"),
        pytest.param(b"TPE=1&TPE=1&MAC=x", id="repeated-key"),
        pytest.param(b"TPE=1&T%50E=1&MAC=x", id="repeated-key-encoded"),
        pytest.param(b"TPE=1&montant&MAC=x", id="missing-equals"),
        pytest.param(b"=1&MAC=x", id="empty-name"),
        pytest.param(b"T\xffPE=1&MAC=x", id="non-utf8-name"),
        pytest.param(b"T%FFPE=1&MAC=x", id="encoded-non-ascii-name"),
        pytest.param(b"a*b=1&MAC=x", id="star-in-name"),
        pytest.param(b"a+b=1&MAC=x", id="space-in-name"),
        pytest.param(b"x" * 65 + b"=1&MAC=x", id="long-name"),
        pytest.param(b"a=" + b"x" * MAX_BODY_BYTES, id="huge"),
    ],
)
def test_unreadable_bodies_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessageError):
        parse_form(body)


def test_the_body_must_be_bytes() -> None:
    with pytest.raises(MalformedMessageError):
        parse_form("TPE=1&MAC=x")  # type: ignore[arg-type]


def test_non_utf8_values_are_kept_as_bytes() -> None:
    form = parse_form(b"TPE=1234567&texte-libre=\xe9t\xe9&MAC=x")
    assert form.get("texte-libre") == b"\xe9t\xe9"
    assert form.text("texte-libre") == "été"
    assert form.get("absent") is None


def test_a_missing_mac_is_a_missing_field() -> None:
    form = parse_form(b"TPE=1234567&montant=62.73EUR")
    with pytest.raises(MissingFieldError) as error:
        verify_confirmation(form, KEY)
    assert error.value.field == "MAC"


def test_empty_values_and_fields_are_kept_in_order() -> None:
    form = parse_form(b"b=&a=1&&c=x%3Dy&MAC=z")
    assert form.fields == (("b", b""), ("a", b"1"), ("c", b"x=y"), ("MAC", b"z"))


def test_acknowledgement_bodies_and_headers() -> None:
    assert acknowledgement(True) is RECEIVED
    assert acknowledgement(False) is SEAL_REFUSED
    assert RECEIVED.body == "version=2\ncdr=0\n"
    assert SEAL_REFUSED.body == "version=2\ncdr=1\n"
    for ack in (RECEIVED, SEAL_REFUSED):
        assert ack.headers["Content-Type"] == "text/plain"
        assert ack.headers["Pragma"] == "no-cache"


def test_a_refused_payment_with_a_valid_seal_is_acknowledged_cdr_0() -> None:
    form = parse_form(sealed_body(confirmation_fields(**{"code-retour": "Annulation"})))
    verify_confirmation(form, KEY)
    assert not read_confirmation(form).accepted
    # cdr says "data intact", never "payment accepted".
    assert acknowledgement(True).body == "version=2\ncdr=0\n"


def test_a_hand_built_form_with_a_repeated_name() -> None:
    form = ReceivedForm((("TPE", b"1234567"), ("brand", b"VI"), ("brand", b"MC"), ("MAC", b"0" * 40)))
    assert form.get("brand") == b"VI"
    assert form.text("brand") == "VI"
    with pytest.raises(FieldError) as error:
        verify_confirmation(form, KEY)
    assert error.value.field == "brand"


def test_a_hand_built_form_with_a_name_that_is_not_unicode() -> None:
    form = ReceivedForm((("TPE", b"1234567"), ("br\udcffand", b"VI"), ("MAC", b"0" * 40)))
    with pytest.raises(FieldError):
        verify_confirmation(form, KEY)


def test_a_hand_built_form_verifies_like_a_parsed_one() -> None:
    fields = confirmation_fields()
    mac = v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(fields))
    form = ReceivedForm(tuple((name, value.encode()) for name, value in [*fields, ("MAC", mac)]))
    assert verify_confirmation(form, KEY) is form
    assert read_confirmation(form) == read_confirmation(parse_form(sealed_body(fields)))


@pytest.mark.parametrize("padding", [" ", "\t", "\n", "\r\n", "\xa0", "0", "  " * 1000])
def test_a_padded_mac_is_refused_so_one_seal_has_one_spelling(padding: str) -> None:
    fields = confirmation_fields()
    mac = v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(fields))
    for spelt in (mac + padding, padding + mac):
        body = urlencode([*fields, ("MAC", spelt)]).encode("utf-8")
        with pytest.raises(SealMismatchError):
            verify_confirmation(parse_form(body), KEY)
    # Either letter case is the same seal, as the kits and libraries write it.
    for spelt in (mac.lower(), mac.upper()):
        verify_confirmation(parse_form(urlencode([*fields, ("MAC", spelt)]).encode()), KEY)


def test_a_legacy_confirmation_keeps_only_the_fields_its_seal_covers() -> None:
    body = v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC)
    # Fields outside the legacy fixed order are not sealed: anybody could add or change them in transit.
    body += b"&motifrefusautorisation=forged&montantech=999.00EUR&version=9.9"
    form = verify_confirmation(parse_form(body), KEY, Variant.LEGACY_CONFIRMATION, tpe="1234567")
    names = [name for name, _ in form.fields]
    assert "motifrefusautorisation" not in names
    assert "montantech" not in names
    assert form.get("version") == b"3.0"  # as the merchant's configuration sealed it, not as posted
    assert form.get("TPE") == b"1234567"
    assert form.get("montant") == b"62.73EUR"
    confirmation = read_confirmation(form)
    assert confirmation.authorisation_refusal_reason == ""
    assert confirmation.instalment_amount is None
    forged = verify_confirmation(
        parse_form(body + b"&cbenregistree=1"), KEY, Variant.LEGACY_CONFIRMATION, tpe="1234567"
    )
    assert read_confirmation(forged).card_saved is None  # not covered by the legacy seal


@pytest.mark.parametrize("name", ["mail", "societe", "lgue", "url_retour_ok", "contexte_commande"])
def test_a_payment_requests_field_never_makes_a_confirmation(name: str) -> None:
    # The same key seals the request and the confirmation: a request's fields posted back are refused unread.
    body = sealed_body(confirmation_fields(**{name: "x"}))
    with pytest.raises(MalformedMessageError, match=name):
        check_not_a_request(parse_form(body))
    check_not_a_request(parse_form(sealed_body(confirmation_fields())))  # the bank's own fields pass
