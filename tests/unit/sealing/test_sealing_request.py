"""The payment request (CGI1): strict validation naming the field, and the sealed form."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealing import (
    MAX_FREE_TEXT,
    Bank,
    Environment,
    FieldError,
    Instalment,
    MerchantKey,
    Money,
    PaymentRequest,
    SealVariant,
    Terminal,
    build_payment_form,
    check_email,
    check_free_text,
    decode_free_text,
    encode_free_text,
    form_body,
    order_context,
)
from tests.support import sealing_vectors as v

KEY = MerchantKey(v.TEST_KEY)
ORDERED_AT = datetime(2006, 12, 5, 11, 55, 23)


def eur(text: str) -> Money:
    return Money(Decimal(text), "EUR")


def dsp2_terminal(**changes: Any) -> Terminal:
    return Terminal(tpe="1234567", key=KEY, societe="monSite1", **changes)


def request(**changes: Any) -> PaymentRequest:
    base = PaymentRequest(
        amount=eur("62.73"),
        reference="ABERTPY00145",
        ordered_at=ORDERED_AT,
        email="internaute@sonemail.fr",
        free_text="ExempleTexteLibre",
        return_ok_url="https://shop.example/ok",
        return_err_url="https://shop.example/err",
        billing=dict(v.DSP2_BILLING),
    )
    return replace(base, **changes)


def instalments(*parts: tuple[date, str]) -> tuple[Instalment, ...]:
    return tuple(Instalment(day, eur(amount)) for day, amount in parts)


def field_error(terminal: Terminal, bad: PaymentRequest) -> str:
    with pytest.raises(FieldError) as error:
        build_payment_form(terminal, bad)
    return error.value.field


def test_a_valid_request_is_sealed_over_exactly_its_fields() -> None:
    form = build_payment_form(dsp2_terminal(), request())
    assert form.mac == v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(list(form.fields)))
    assert len({name for name, _ in form.fields}) == len(form.fields)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reference": ""}, "reference"),
        ({"reference": "ABC-123"}, "reference"),
        ({"reference": "A" * 13}, "reference"),
        ({"reference": "ABCé"}, "reference"),
        ({"reference": "ABC 12"}, "reference"),
        ({"amount": eur("0")}, "amount"),
        ({"amount": Money(Decimal("10"), "JPY")}, "currency"),
        ({"language": "XX"}, "language"),
        ({"language": "fr"}, "language"),
        ({"language": ""}, "language"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b"}, "email"),
        ({"email": "a b@example.com"}, "email"),
        ({"email": "andré@example.com"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a@b@example.com"}, "email"),
        ({"free_text": "x" * (MAX_FREE_TEXT + 1)}, "free_text"),
        ({"free_text": "Commande n°12"}, "free_text"),
        ({"free_text": "line\nbreak"}, "free_text"),
        ({"free_text": "tab\there"}, "free_text"),
        # the request's own names, never the wire's (url_retour_ok, contexte_commande)
        ({"return_ok_url": "ftp://shop.example/ok"}, "return_ok_url"),
        ({"return_ok_url": "javascript:alert(1)"}, "return_ok_url"),
        ({"return_err_url": "https://shop.example/a b"}, "return_err_url"),
        ({"return_err_url": "https://boutique.example/échec"}, "return_err_url"),
        ({"billing": None}, "billing"),
        ({"billing": {"city": "Paris", "postalCode": "75002", "country": "FR"}}, "billing.addressLine1"),
        ({"billing": {**v.DSP2_BILLING, "city": "  "}}, "billing.city"),
        ({"three_ds_challenge": "please"}, "three_ds_challenge"),
        ({"options": {"aliascb": "a&b"}}, "options.aliascb"),
        ({"options": {"force=": "1"}}, "options.force="),
    ],
)
def test_each_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert field_error(dsp2_terminal(), request(**changes)) == field


def test_free_text_of_exactly_3200_characters_is_accepted() -> None:
    form = build_payment_form(dsp2_terminal(), request(free_text="x" * MAX_FREE_TEXT))
    assert form.as_dict()["texte-libre"] == "x" * MAX_FREE_TEXT


def test_currency_must_be_one_the_terminal_takes() -> None:
    # Other currencies need a currency contract: a terminal that lists none takes euros only.
    for currency in ("USD", "GBP", "CHF"):
        assert field_error(dsp2_terminal(), request(amount=Money(Decimal("62.73"), currency))) == "currency"
    dollars = dsp2_terminal(currencies=("EUR", "USD"))
    assert (
        build_payment_form(dollars, request(amount=Money(Decimal("62.73"), "USD"))).as_dict()["montant"] == "62.73USD"
    )


def test_language_must_be_one_the_terminal_offers() -> None:
    terminal = dsp2_terminal(languages=("FR", "EN"))
    assert field_error(terminal, request(language="DE")) == "language"
    assert build_payment_form(terminal, request(language="EN")).as_dict()["lgue"] == "EN"


@pytest.mark.parametrize(
    ("parts", "field"),
    [
        # do not add up
        (((date(2006, 12, 5), "31.00"), (date(2007, 1, 5), "31.00")), "instalments"),
        (((date(2006, 12, 5), "31.37"), (date(2007, 1, 5), "31.37")), "instalments"),
        # the first is not on the order date
        (((date(2006, 12, 6), "31.36"), (date(2007, 1, 5), "31.37")), "instalments[0].due"),
        # one, or five
        (((date(2006, 12, 5), "62.73"),), "instalments"),
        (
            (
                (date(2006, 12, 5), "12.53"),
                (date(2007, 1, 5), "12.55"),
                (date(2007, 2, 5), "12.55"),
                (date(2007, 3, 5), "12.55"),
                (date(2007, 4, 5), "12.55"),
            ),
            "instalments",
        ),
        # dates that do not increase
        (((date(2006, 12, 5), "31.36"), (date(2006, 12, 5), "31.37")), "instalments[1].due"),
        # a zero instalment
        (((date(2006, 12, 5), "62.73"), (date(2007, 1, 5), "0")), "instalments[1].amount"),
    ],
)
def test_instalments_are_checked(parts: tuple[tuple[date, str], ...], field: str) -> None:
    assert field_error(dsp2_terminal(), request(instalments=instalments(*parts))) == field


def test_instalments_in_another_currency_are_refused() -> None:
    split = (Instalment(date(2006, 12, 5), eur("31.36")), Instalment(date(2007, 1, 5), Money(Decimal("31.37"), "USD")))
    assert field_error(dsp2_terminal(), request(instalments=split)).startswith("instalments[1]")


def test_instalments_on_the_wire() -> None:
    split = instalments((date(2006, 12, 5), "31.36"), (date(2007, 1, 5), "31.37"))
    fields = build_payment_form(dsp2_terminal(), request(instalments=split)).as_dict()
    assert (fields["nbrech"], fields["dateech1"], fields["montantech1"]) == ("2", "05/12/2006", "31.36EUR")
    assert (fields["dateech2"], fields["montantech2"]) == ("05/01/2007", "31.37EUR")
    assert "dateech3" not in fields


def test_dsp2_context_is_base64_json_without_an_empty_shipping() -> None:
    fields = build_payment_form(dsp2_terminal(), request(shipping={})).as_dict()
    context = json.loads(base64.b64decode(fields["contexte_commande"]))
    assert context == {"billing": v.DSP2_BILLING}
    shipped = build_payment_form(dsp2_terminal(), request(shipping={"city": "Lyon"})).as_dict()
    assert json.loads(base64.b64decode(shipped["contexte_commande"]))["shipping"] == {"city": "Lyon"}
    accented = order_context({**v.DSP2_BILLING, "city": "Besançon"})
    assert accented.isascii()
    assert json.loads(base64.b64decode(accented))["billing"]["city"] == "Besançon"


def billing(**changes: Any) -> dict[str, Any]:
    return {**v.DSP2_BILLING, **changes}


SHIPPING = {"addressLine1": "2 rue de Rivoli", "city": "Paris", "postalCode": "75004", "country": "FR"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"billing": billing(addressLine1="x" * 51)}, "billing.addressLine1"),
        ({"billing": billing(addressLine2="x" * 51)}, "billing.addressLine2"),
        ({"billing": billing(city="x" * 51)}, "billing.city"),
        ({"billing": billing(postalCode="75002-12345")}, "billing.postalCode"),
        ({"billing": billing(postalCode=75002)}, "billing.postalCode"),
        ({"billing": billing(country="FRA")}, "billing.country"),
        ({"billing": billing(country="fr")}, "billing.country"),
        ({"billing": billing(stateOrProvince="US-CA")}, "billing.stateOrProvince"),
        ({"billing": billing(countrySubdivision="75")}, "billing.countrySubdivision"),
        ({"billing": billing(firstName="x" * 46)}, "billing.firstName"),
        ({"billing": billing(lastName="x" * 46)}, "billing.lastName"),
        ({"billing": billing(civility="M.")}, "billing.civility"),
        ({"billing": billing(email="x" * 250 + "@b.fr")}, "billing.email"),
        ({"billing": billing(email="nobody")}, "billing.email"),
        ({"billing": billing(phone="06 12 34 56 78")}, "billing.phone"),
        ({"billing": billing(mobilePhone="+33-612345678901234")}, "billing.mobilePhone"),
        ({"billing": billing(street="1 rue de la Paix")}, "billing.street"),
        ({"billing": ["1 rue de la Paix"]}, "billing"),
        ({"shipping": {**SHIPPING, "city": "x" * 51}}, "shipping.city"),
        ({"shipping": {**SHIPPING, "shipIndicator": "drone"}}, "shipping.shipIndicator"),
        ({"shipping": {**SHIPPING, "firstUseDate": "2026-02-30"}}, "shipping.firstUseDate"),
        ({"shipping": {**SHIPPING, "mobilePhone": "+33-612345678"}}, "shipping.mobilePhone"),
    ],
)
def test_billing_and_shipping_beyond_the_banks_limits_are_named(changes: dict[str, Any], field: str) -> None:
    assert field_error(dsp2_terminal(), request(**changes)) == field
    assert field_error(dsp2_terminal(seal=SealVariant.LEGACY), request(**changes)) == field


def test_billing_and_shipping_at_the_banks_limits_are_sent() -> None:
    full = billing(
        civility="Mme",
        firstName="x" * 45,
        lastName="y" * 45,
        addressLine1="a" * 50,
        addressLine2="b" * 50,
        addressLine3="c" * 50,
        city="Saint-Rémy-de-Provence" + "z" * 28,
        postalCode="1234567890",
        country="US",
        stateOrProvince="CA",
        countrySubdivision="US-CA",
        email="buyer@example.com",
        phone="+1-4155550100",
        mobilePhone="+33-612345678",
    )
    shipping = {**SHIPPING, "shipIndicator": "pick-up", "deliveryTimeframe": "two_day", "firstUseDate": "2026-11-27"}
    form = build_payment_form(dsp2_terminal(), request(billing=full, shipping=shipping))
    assert json.loads(base64.b64decode(form.as_dict()["contexte_commande"])) == {"billing": full, "shipping": shipping}


def test_legacy_terminals_need_no_billing_and_send_url_retour() -> None:
    fields = build_payment_form(dsp2_terminal(seal=SealVariant.LEGACY), request(billing=None)).as_dict()
    assert "contexte_commande" not in fields
    assert fields["url_retour"] == "https://shop.example/ok"


def test_blank_values_are_left_out_of_the_order_context() -> None:
    # The bank refuses an empty string in contexte_commande: what a form left empty is not sent at all.
    sent = billing(addressLine2="", addressLine3="   ", phone="")
    shipping = {"addressLine1": "", "city": " "}
    fields = build_payment_form(dsp2_terminal(), request(billing=sent, shipping=shipping)).as_dict()
    assert json.loads(base64.b64decode(fields["contexte_commande"])) == {"billing": v.DSP2_BILLING}
    assert field_error(dsp2_terminal(), request(billing=billing(postalCode=""))) == "billing.postalCode"


def test_three_ds_challenge_is_sent_and_sealed() -> None:
    form = build_payment_form(dsp2_terminal(), request(three_ds_challenge="challenge_preferred"))
    assert form.as_dict()["ThreeDSecureChallenge"] == "challenge_preferred"
    assert form.mac == v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(list(form.fields)))


@pytest.mark.parametrize(
    "challenge",
    [
        "no_challenge_requested_strong_authentication",
        "no_challenge_requested_trusted_third_party",
        "no_challenge_requested_risk_analysis",
    ],
)
def test_every_3ds_preference_of_the_dsp2_documentation_is_taken(challenge: str) -> None:
    assert (
        build_payment_form(dsp2_terminal(), request(three_ds_challenge=challenge)).as_dict()["ThreeDSecureChallenge"]
        == challenge
    )


def test_the_payment_page_speaks_japanese() -> None:
    assert build_payment_form(dsp2_terminal(), request(language="JA")).as_dict()["lgue"] == "JA"


OPTIONS = {
    "3dsdebrayable": "0",
    "aliascb": "client7",
    "forcesaisiecb": "1",
    "libelleMonetique": "La boutique du CD",
    "libelleMonetiqueLocalite": "Strasbourg\\67000\\FRA",
    "desactivemoyenpaiement": "paypal,4xcb",
    "mode_affichage": "iframe",
}


def test_dsp2_terminals_post_each_option_as_its_own_sealed_field() -> None:
    form = build_payment_form(dsp2_terminal(), request(options=OPTIONS))
    fields = form.as_dict()
    assert "options" not in fields
    assert {name: fields[name] for name in OPTIONS} == OPTIONS
    assert form.mac == v.hmac_hex(v.TEST_KEY_BYTES, v.dsp2_string(list(form.fields)))


def test_legacy_terminals_pack_the_options_into_the_last_slot_of_their_seal() -> None:
    form = build_payment_form(dsp2_terminal(seal=SealVariant.LEGACY), request(options=OPTIONS))
    fields = form.as_dict()
    assert not set(OPTIONS) & set(fields)
    packed = "&".join(f"{name}={value}" for name, value in OPTIONS.items())
    assert fields["options"] == packed
    slots = [fields.get(name, "") for name in v.LEGACY_REQUEST_SLOTS]
    assert slots[-1] == packed
    assert form.mac == v.hmac_hex(v.TEST_KEY_BYTES, "*".join(slots))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"x": "1"}, "options.x"),
        ({"ALIASCB": "client7"}, "options.ALIASCB"),
        ({"3dsdebrayable": "yes"}, "options.3dsdebrayable"),
        ({"forcesaisiecb": ""}, "options.forcesaisiecb"),
        ({"aliascb": "client-7"}, "options.aliascb"),
        ({"aliascb": "c" * 65}, "options.aliascb"),
        ({"libelleMonetique": "Café du coin"}, "options.libelleMonetique"),
        ({"libelleMonetique": "x" * 33}, "options.libelleMonetique"),
        ({"libelleMonetiqueLocalite": "Strasbourg"}, "options.libelleMonetiqueLocalite"),
        ({"libelleMonetiqueLocalite": "Strasbourg\\67000\\FR"}, "options.libelleMonetiqueLocalite"),
        ({"libelleMonetiqueLocalite": "S" * 24 + "\\67000\\FRA"}, "options.libelleMonetiqueLocalite"),
        ({"desactivemoyenpaiement": "bitcoin"}, "options.desactivemoyenpaiement"),
        ({"desactivemoyenpaiement": "paypal,"}, "options.desactivemoyenpaiement"),
        ({"desactivemoyenpaiement": "paypal,paypal"}, "options.desactivemoyenpaiement"),
        ({"mode_affichage": "popup"}, "options.mode_affichage"),
        ({"aliascb": "a&b"}, "options.aliascb"),
    ],
)
def test_each_option_is_checked_and_named(options: dict[str, str], field: str) -> None:
    assert field_error(dsp2_terminal(), request(options=options)) == field
    assert field_error(dsp2_terminal(seal=SealVariant.LEGACY), request(options=options)) == field


def test_the_card_alias_is_the_aliascb_option() -> None:
    fields = build_payment_form(dsp2_terminal(), request(card_alias="client7")).as_dict()
    assert fields["aliascb"] == "client7"
    legacy = build_payment_form(dsp2_terminal(seal=SealVariant.LEGACY), request(card_alias="client7")).as_dict()
    assert legacy["options"] == "aliascb=client7"
    assert field_error(dsp2_terminal(), request(card_alias="client 7")) == "card_alias"
    twice = request(card_alias="client7", options={"aliascb": "client8"})
    assert field_error(dsp2_terminal(), twice) == "options.aliascb"


@pytest.mark.parametrize(
    ("bank", "environment", "action"),
    [
        (Bank.CREDIT_MUTUEL, Environment.PRODUCTION, "https://paiement.creditmutuel.fr/paiement.cgi"),
        (Bank.CIC, Environment.TEST, "https://ssl.paiement.cic-banques.fr/test/paiement.cgi"),
        (Bank.OBC, Environment.PRODUCTION, "https://ssl.paiement.banque-obc.fr/paiement.cgi"),
        (Bank.MONETICO, Environment.TEST, "https://p.monetico-services.com/test/paiement.cgi"),
    ],
)
def test_the_form_posts_to_the_banks_payment_page(bank: Bank, environment: Environment, action: str) -> None:
    assert build_payment_form(dsp2_terminal(bank=bank, environment=environment), request()).action == action


def test_the_payment_url_can_be_overridden() -> None:
    terminal = dsp2_terminal(payment_base_url="http://localhost:8001/bank/")
    assert build_payment_form(terminal, request()).action == "http://localhost:8001/bank/paiement.cgi"


def test_form_body_is_what_a_browser_posts() -> None:
    form = build_payment_form(dsp2_terminal(), request(free_text="a&b=c%d+e"))
    assert parse_qsl(form_body(form).decode("ascii"), keep_blank_values=True, strict_parsing=True) == list(form.fields)


@pytest.mark.parametrize(
    "changes",
    [
        {"email": "x*code-retour=paiement*d=@example.com"},
        {"free_text": "basket*code-retour=paiement"},
        {"return_ok_url": "https://shop.example/ok?a=1*code-retour=paiement"},
    ],
)
def test_no_value_may_hold_the_seals_separator(changes: dict[str, Any]) -> None:
    # "name=value" pairs are joined by "*": a value with one could be read as other fields under the same seal.
    with pytest.raises(FieldError, match=r"must not contain '\*'") as error:
        build_payment_form(dsp2_terminal(), request(**changes))
    assert error.value.field == next(iter(changes))


@pytest.mark.parametrize(
    "changes",
    [{"tpe": ""}, {"tpe": "12 34"}, {"societe": ""}, {"societe": "a*b"}, {"languages": ("XX",)}, {"timezone": "Mars"}],
)
def test_bad_terminal_configuration_is_a_field_error(changes: dict[str, Any]) -> None:
    with pytest.raises(FieldError):
        Terminal(**{"tpe": "1234567", "key": KEY, "societe": "monSite1", **changes})


# --- structured free text ------------------------------------------------------------------------------

json_values = st.recursive(
    # small enough to always fit in the 3200 characters of texte-libre
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(json_values)
def test_free_text_round_trips_and_is_always_sendable(value: object) -> None:
    text = encode_free_text(value)
    assert check_free_text(text) == text
    assert decode_free_text(text) == value


def test_structured_free_text_too_long_for_the_bank_is_refused() -> None:
    with pytest.raises(FieldError) as error:
        encode_free_text({"notes": "x" * 2400})
    assert error.value.field == "free_text"


def test_accented_structured_free_text_round_trips() -> None:
    data = {"commande": "n°12", "client": "Hélène Müller", "panier": [1, 2.5, None]}
    text = encode_free_text(data)
    assert text.isascii()
    assert "*" not in text
    assert "&" not in text
    assert decode_free_text(text) == data
    build_payment_form(dsp2_terminal(), request(free_text=text))


def test_decode_free_text_accepts_padding_or_not() -> None:
    assert decode_free_text("e30") == {}
    assert decode_free_text("e30=") == {}


@pytest.mark.parametrize(
    "text",
    [
        "!!!",
        "////",
        "",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[" * 3000).decode(),
        base64.urlsafe_b64encode(b"[" * 200_000).decode(),  # nested deeper than the interpreter allows
    ],
)
def test_decode_free_text_refuses_what_encode_did_not_make(text: str) -> None:
    with pytest.raises(FieldError) as error:
        decode_free_text(text)
    assert error.value.field == "texte-libre"


def test_a_value_too_long_for_a_coded_field_also_says_what_the_code_looks_like() -> None:
    # "France" for the country: the length alone does not tell the merchant that an ISO code is wanted.
    with pytest.raises(FieldError) as error:
        build_payment_form(dsp2_terminal(), request(billing=billing(country="France")))
    assert error.value.field == "billing.country"
    assert 'an ISO 3166-1 alpha-2 code like "FR"' in str(error.value)


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("x;y@example.com", "is not an e-mail address like buyer@example.com"),
        ("x@example.com>", "must be the address alone, like buyer@example.com: no name, no <>, no spaces"),
        ("Name <x@example.com>", "must be the address alone, like buyer@example.com: no name, no <>, no spaces"),
        ("<x@example.com>", "must be the address alone, like buyer@example.com: no name, no <>, no spaces"),
        ('"x y"@example.com', "must be the address alone, like buyer@example.com: no name, no <>, no spaces"),
        ("x..y@example.com", "is not an e-mail address like buyer@example.com"),
        (".x@example.com", "is not an e-mail address like buyer@example.com"),
        ("x@-example.com", "is not an e-mail address like buyer@example.com"),
        ("x@example..com", "is not an e-mail address like buyer@example.com"),
        ("x@example.c0m", "is not an e-mail address like buyer@example.com"),
        ("x@[127.0.0.1]", "is not an e-mail address like buyer@example.com"),
        ("andré@example.com", "must be ASCII (SES does not take SMTPUTF8; a domain in Punycode, xn--)"),
        ("x@exämple.com", "must be ASCII (SES does not take SMTPUTF8; a domain in Punycode, xn--)"),
        ("l" * 65 + "@example.com", "has 65 characters before the @, at most 64"),
        ("x@" + "d" * 64 + ".com", "is not an e-mail address like buyer@example.com"),
        ("x*y@example.com", "must not contain '*'"),
    ],
)
def test_an_address_is_read_as_ses_reads_one(email: str, reason: str) -> None:
    with pytest.raises(FieldError) as error:
        check_email(email)
    assert error.value.field == "email"
    assert reason in error.value.reason


def test_an_address_longer_than_the_banks_mail_field_is_refused() -> None:
    email = "xx@" + ".".join(["d" * 60] * 4) + ".com"  # 250: a domain of at most 255, but 254 in all
    assert len(email) == 250
    check_email(email)
    with pytest.raises(FieldError, match="is 255 characters long, at most 254"):
        check_email("xxxxxxx@" + ".".join(["d" * 60] * 4) + ".com")


@pytest.mark.parametrize(
    "email",
    [
        "buyer@example.com",
        "o'brien+orders@mail.example.co.uk",
        "a.b-c_d@sub-domain.example.fr",
        "x@xn--exmple-cua.com",
        "l" * 64 + "@example.com",
        "x@example.xn--p1ai",
        "#!$%&'/=?^_`{|}~-@example.com",
    ],
)
def test_an_address_ses_takes_is_taken(email: str) -> None:
    assert check_email(email) == email
