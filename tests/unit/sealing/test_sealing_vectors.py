"""Every vector of docs/protocol.md, Test vectors, through the public API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

import sealing
from sealing import (
    Instalment,
    MerchantKey,
    Money,
    PaymentRequest,
    SealVariant,
    Terminal,
    Variant,
    build_payment_form,
    capture_request,
    parse_form,
    read_confirmation,
    sealed_string,
    verify_confirmation,
)
from tests.support import sealing_vectors as v


def eur(text: str) -> Money:
    return Money(Decimal(text), "EUR")


@pytest.fixture
def key() -> MerchantKey:
    return MerchantKey(v.TEST_KEY)


def terminal(key: MerchantKey, seal: SealVariant) -> Terminal:
    return Terminal(tpe="1234567", key=key, societe="monSite1", seal=seal)


def example_request(**changes: object) -> PaymentRequest:
    values: dict[str, object] = {
        "amount": eur("62.73"),
        "reference": "ABERTPY00145",
        "ordered_at": datetime(2006, 12, 5, 11, 55, 23),
        "email": "internaute@sonemail.fr",
        "language": "FR",
        "free_text": "ExempleTexteLibre",
        "return_ok_url": "https://shop.example/ok",
        "return_err_url": "https://shop.example/err",
        "billing": dict(v.DSP2_BILLING),
    }
    values.update(changes)
    return PaymentRequest(**values)  # type: ignore[arg-type]


def test_the_vectors_hold_for_a_plain_hmac() -> None:
    # Guards the test data itself: the vectors, the key decoding and the helpers agree.
    assert v.hmac_hex(v.TEST_KEY_BYTES, v.LEGACY_REQUEST) == v.LEGACY_REQUEST_MAC
    assert v.hmac_hex(v.TEST_KEY_BYTES, v.DSP2_CONFIRMATION) == v.DSP2_CONFIRMATION_MAC.lower()
    assert v.hmac_hex(bytes.fromhex(v.SHORT_KEY), v.SHORT_KEY_CONFIRMATION) == v.SHORT_KEY_CONFIRMATION_MAC


def test_legacy_request(key: MerchantKey) -> None:
    form = build_payment_form(terminal(key, SealVariant.LEGACY), example_request(billing=None))
    assert sealed_string(form.fields, Variant.LEGACY_REQUEST) == v.LEGACY_REQUEST.encode()
    assert form.mac == v.LEGACY_REQUEST_MAC
    assert list(form.as_dict())[-1] == "MAC"
    assert form.action == "https://ssl.paiement.cic-banques.fr/test/paiement.cgi"


def test_legacy_request_with_four_instalments(key: MerchantKey) -> None:
    instalments = (
        Instalment(date(2006, 12, 5), eur("15.69")),
        Instalment(date(2007, 1, 5), eur("15.68")),
        Instalment(date(2007, 2, 5), eur("15.68")),
        Instalment(date(2007, 3, 5), eur("15.68")),
    )
    form = build_payment_form(terminal(key, SealVariant.LEGACY), example_request(billing=None, instalments=instalments))
    fields = form.as_dict()
    assert fields["nbrech"] == "4"
    assert (fields["dateech2"], fields["montantech2"]) == ("05/01/2007", "15.68EUR")
    assert sealed_string(form.fields, Variant.LEGACY_REQUEST) == v.LEGACY_INSTALMENTS.encode()
    assert form.mac == v.LEGACY_INSTALMENTS_MAC


def test_dsp2_request(key: MerchantKey) -> None:
    form = build_payment_form(terminal(key, SealVariant.DSP2), example_request())
    # Exactly the vector's fields, no more and no fewer, and the MAC last.
    assert v.dsp2_string(list(form.fields)) == v.DSP2_REQUEST
    assert sorted(name for name, _ in form.fields) == sorted(["MAC", *(n for n, _ in v.sorted_pairs(v.DSP2_REQUEST))])
    assert form.fields[-1][0] == "MAC"
    assert form.mac.lower() == v.DSP2_REQUEST_MAC.lower()


def test_dsp2_request_from_an_aware_datetime_uses_paris_time(key: MerchantKey) -> None:
    # 10:55:23 UTC is 11:55:23 in Paris in December.
    request = example_request(ordered_at=datetime(2006, 12, 5, 10, 55, 23, tzinfo=UTC))
    form = build_payment_form(terminal(key, SealVariant.DSP2), request)
    assert form.as_dict()["date"] == "05/12/2006:11:55:23"
    assert form.mac.lower() == v.DSP2_REQUEST_MAC.lower()


def test_legacy_confirmation(key: MerchantKey) -> None:
    form = parse_form(v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC))
    covered = verify_confirmation(form, key, Variant.LEGACY_CONFIRMATION, tpe="1234567")
    assert dict(covered.fields) == {**dict(form.fields), "version": b"3.0"}  # version as the merchant sealed it
    confirmation = read_confirmation(form)
    assert confirmation.reference == "ABERTPY00145"
    assert confirmation.amount == eur("62.73")
    assert confirmation.authorisation_number == "010101"
    assert confirmation.three_ds_status == -1
    assert confirmation.is_test_payment


def test_legacy_confirmation_uses_the_configured_tpe_not_the_posted_one(key: MerchantKey) -> None:
    body = v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC)
    form = parse_form(body.replace(b"TPE=1234567", b"TPE=7654321"))
    verify_confirmation(form, key, Variant.LEGACY_CONFIRMATION, tpe="1234567")
    with pytest.raises(sealing.SealMismatchError):
        verify_confirmation(parse_form(body), key, Variant.LEGACY_CONFIRMATION, tpe="7654321")


def test_legacy_confirmation_needs_the_merchant_tpe(key: MerchantKey) -> None:
    form = parse_form(v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC))
    with pytest.raises(sealing.FieldError) as error:
        verify_confirmation(form, key, Variant.LEGACY_CONFIRMATION)
    assert error.value.field == "TPE"


def test_legacy_capture(key: MerchantKey) -> None:
    request = capture_request(
        terminal(key, SealVariant.LEGACY),
        reference="ABERTPY00145",
        ordered_on=date(2006, 12, 5),
        total=eur("62.73"),
        to_capture=eur("30.00"),
        already_captured=eur("0"),
        remaining=eur("32.73"),
        at=datetime(2006, 12, 10, 9, 0, 0),
    )
    fields = request.as_dict()
    assert (fields["montant_a_capturer"], fields["montant_deja_capture"], fields["montant_restant"]) == (
        "30.00EUR",
        "0EUR",
        "32.73EUR",
    )
    assert sealed_string(request.fields, Variant.LEGACY_CAPTURE) == v.LEGACY_CAPTURE.encode()
    assert fields["MAC"] == v.LEGACY_CAPTURE_MAC
    assert request.cgi == sealing.CAPTURE_CGI


def test_dsp2_confirmation(key: MerchantKey) -> None:
    form = parse_form(v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC))
    verify_confirmation(form, key)
    confirmation = read_confirmation(form)
    assert confirmation.tpe == "1234567"
    assert confirmation.reference == "ABERTPY00145"
    assert str(confirmation.return_code) == "payetest"
    assert confirmation.accepted
    assert confirmation.is_test_payment
    assert confirmation.amount.amount == Decimal("62.73")
    assert isinstance(confirmation.amount.amount, Decimal)
    assert confirmation.amount.currency == "EUR"
    assert confirmation.paid_at == datetime(2006, 12, 5, 11, 55, 23)
    assert confirmation.card_brand == "VI"
    assert confirmation.card_expiry == "1208"
    assert confirmation.cvx_entered is True
    assert confirmation.refusal_reason == ""
    assert confirmation.free_text == "ExempleTexteLibre"
    assert confirmation.field("usage") == "credit"
    assert confirmation.field("MAC") == v.DSP2_CONFIRMATION_MAC


def test_dsp2_confirmation_in_any_field_order(key: MerchantKey) -> None:
    body = v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC)
    reordered = b"&".join(reversed(body.split(b"&")))
    verify_confirmation(parse_form(reordered), key)


def test_short_key_confirmation() -> None:
    key = MerchantKey(v.SHORT_KEY)
    form = parse_form(v.legacy_confirmation_body(v.SHORT_KEY_CONFIRMATION, v.SHORT_KEY_CONFIRMATION_MAC))
    verify_confirmation(form, key, Variant.LEGACY_CONFIRMATION, tpe="bar")
    assert sealed_string(form.fields, Variant.LEGACY_CONFIRMATION, tpe="bar") == v.SHORT_KEY_CONFIRMATION.encode()
    assert read_confirmation(form).amount == Money(Decimal("200"), "EUR")


@pytest.mark.parametrize(
    ("sealed", "mac", "variant", "tpe"),
    [
        (v.LEGACY_REQUEST, v.LEGACY_REQUEST_MAC, Variant.LEGACY_REQUEST, None),
        (v.LEGACY_INSTALMENTS, v.LEGACY_INSTALMENTS_MAC, Variant.LEGACY_REQUEST, None),
        (v.LEGACY_CAPTURE, v.LEGACY_CAPTURE_MAC, Variant.LEGACY_CAPTURE, None),
        (v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC, Variant.LEGACY_CONFIRMATION, "1234567"),
        (v.DSP2_REQUEST, v.DSP2_REQUEST_MAC, Variant.DSP2, None),
        (v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC, Variant.DSP2, None),
    ],
)
def test_seal_and_verify_of_each_vector(sealed: str, mac: str, variant: Variant, tpe: str | None) -> None:
    key = MerchantKey(v.TEST_KEY)
    if variant is Variant.DSP2:
        fields = v.sorted_pairs(sealed)
    elif variant is Variant.LEGACY_CAPTURE:
        fields = [
            ("TPE", "1234567"),
            ("date", "10/12/2006:09:00:00"),
            ("montant_a_capturer", "30.00EUR"),
            ("montant_deja_capture", "0EUR"),
            ("montant_restant", "32.73EUR"),
            ("reference", "ABERTPY00145"),
            ("texte-libre", ""),
            ("version", "3.0"),
            ("lgue", "FR"),
            ("societe", "monSite1"),
        ]
    else:
        slots = v.LEGACY_CONFIRMATION_SLOTS if variant is Variant.LEGACY_CONFIRMATION else v.LEGACY_REQUEST_SLOTS
        fields = v.legacy_pairs(sealed, slots)
    assert sealed_string(fields, variant, tpe=tpe) == sealed.encode()
    assert sealing.seal(key, fields, variant, tpe=tpe) == mac.lower()
    sealing.verify(key, fields, mac, variant, tpe=tpe)
    sealing.verify(key, fields, mac.upper(), variant, tpe=tpe)
    sealing.verify(key, dict(fields), mac.lower(), variant, tpe=tpe)
    with pytest.raises(sealing.SealMismatchError) as error:
        sealing.verify(key, fields, "0" * 40, variant, tpe=tpe)
    assert error.value.sealed == sealed.encode()
    assert mac.lower() not in repr(vars(error.value))
    assert error.value.received == "0" * 40
