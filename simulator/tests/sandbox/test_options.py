"""The sandbox reads the request's options as the kit sends them (each its own field on DSP2, packed in
``options`` on 3.0), and keeps a returning buyer's card under their alias (``aliascb``)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealing import THREE_DS_CHALLENGES, MerchantKey, Variant, parse_form, read_confirmation, seal
from simulator.tests.support.sandbox import KEY_TEXT, Sandbox, card, pay, post, resealed, session_of


def confirmation(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.merchant.last()


def open_page(sandbox: Sandbox, reference: str, **kw: Any) -> str:
    status, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields(reference, **kw))
    assert status == 200, page
    return page


def saved(session: str, cvv: str = "123") -> dict[str, str]:
    return {"session": session, "saved_card": "1", "cvv": cvv}


# --- the options --------------------------------------------------------------------------------------------


OPTIONS = {
    "3dsdebrayable": "0",
    "forcesaisiecb": "0",
    "libelleMonetique": "La boutique du CD",
    "libelleMonetiqueLocalite": "Paris\\75002\\FRA",
    "desactivemoyenpaiement": "paypal,lyfpay",
    "mode_affichage": "iframe",
}


@pytest.mark.parametrize("tpe", ["0900157", "0900161"])  # DSP2, legacy 3.0
def test_every_option_the_kit_sends_is_read(sandbox: Sandbox, tpe: str) -> None:
    open_page(sandbox, "OPT1", tpe=tpe, card_alias="client7", options=OPTIONS)
    payment = sandbox.bank.ledger.get(tpe, "OPT1")
    assert payment is not None
    assert (payment.card_alias, payment.force_card_entry) == ("client7", False)


@pytest.mark.parametrize("challenge", THREE_DS_CHALLENGES)
def test_every_3ds_preference_and_japanese_are_taken(sandbox: Sandbox, challenge: str) -> None:
    open_page(sandbox, "TDS1", three_ds_challenge=challenge, language="JA")


def _refused(sandbox: Sandbox, fields: list[tuple[str, str]], field: str) -> None:
    status, _, page = post(f"{sandbox.url}/paiement.cgi", resealed(fields))
    assert status == 400, page
    assert f"<code>{field}</code>" in page


@pytest.mark.parametrize(
    ("name", "value"),
    [("aliascb", "client-7"), ("forcesaisiecb", "oui"), ("mode_affichage", "popup"), ("3dsdebrayable", "")],
)
def test_a_bad_option_is_refused_naming_it(sandbox: Sandbox, name: str, value: str) -> None:
    _refused(sandbox, [*sandbox.request_fields("BAD1"), (name, value)], name)


def test_dsp2_options_are_their_own_fields_not_packed(sandbox: Sandbox) -> None:
    _refused(sandbox, [*sandbox.request_fields("PACK1"), ("options", "aliascb=client7")], "options")


def legacy_sealed(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    fields = [(name, value) for name, value in fields if name != "MAC"]
    return [*fields, ("MAC", seal(MerchantKey(KEY_TEXT), fields, Variant.LEGACY_REQUEST))]


def test_a_legacy_option_outside_the_packed_field_is_not_sealed(sandbox: Sandbox) -> None:
    # The 3.0 seal covers a fixed list of slots: a field of its own would travel unsealed.
    fields = legacy_sealed([*sandbox.request_fields("LEG1", tpe="0900161"), ("aliascb", "client7")])
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert (status, "<code>aliascb</code>" in page) == (400, True)


def test_a_bad_packed_option_on_a_legacy_terminal_is_named(sandbox: Sandbox) -> None:
    fields = legacy_sealed([*sandbox.request_fields("LEG2", tpe="0900161"), ("options", "aliascb=client7&nouveau=1")])
    status, _, page = post(f"{sandbox.url}/paiement.cgi", fields)
    assert (status, "<code>options.nouveau</code>" in page) == (400, True)


# --- a card on file -----------------------------------------------------------------------------------------


def test_a_returning_buyer_pays_with_the_card_on_file_typing_only_the_cvv(sandbox: Sandbox) -> None:
    pay(sandbox, "ALIAS1", card_alias="client7")
    assert confirmation(sandbox)["cbenregistree"] == "1"  # kept under the alias
    page = open_page(sandbox, "ALIAS2", card_alias="client7")
    assert 'id="saved_card">411111######1111</strong> (12/2030)' in page
    assert 'name="saved_card" value="1"' in page
    _, _, page = post(f"{sandbox.url}/paiement.cgi", saved(session_of(page)))
    fields = confirmation(sandbox)
    assert (fields["reference"], fields["code-retour"], fields["bincb"]) == ("ALIAS2", "payetest", "411111")
    assert (fields["cbmasquee"], fields["vld"], fields["cvx"]) == ("411111******1111", "1230", "oui")
    assert fields["cbenregistree"] == "0"  # the same card: nothing new kept
    assert read_confirmation(parse_form(sandbox.merchant.raw[-1])).card_saved is False
    assert "411111######1111" in page  # the receipt


def test_the_cvv_is_still_asked_for_a_card_on_file(sandbox: Sandbox) -> None:
    pay(sandbox, "CVV1", card_alias="client8")
    sent = len(sandbox.merchant.raw)
    page = open_page(sandbox, "CVV2", card_alias="client8")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", saved(session_of(page), cvv=""))
    assert "Le cryptogramme visuel doit comporter 3 chiffres." in page
    assert len(sandbox.merchant.raw) == sent  # no attempt made, no confirmation


def test_no_card_is_offered_to_another_alias_terminal_or_a_forced_entry(sandbox: Sandbox) -> None:
    pay(sandbox, "KEEP1", card_alias="client9")
    for reference, kw in [
        ("OTHER1", {"card_alias": "client10"}),
        ("OTHER2", {"card_alias": "client9", "tpe": "0900158"}),
        ("OTHER3", {"card_alias": "client9", "options": {"forcesaisiecb": "1"}}),
        ("OTHER4", {}),
    ]:
        page = open_page(sandbox, reference, **kw)
        assert 'name="saved_card"' not in page, reference
        _, _, page = post(f"{sandbox.url}/paiement.cgi", saved(session_of(page)))
        assert "Aucune carte n'est enregistrée pour vous" in unescape(page), reference


def test_a_refused_card_is_not_kept_and_a_new_card_replaces_the_old(sandbox: Sandbox) -> None:
    pay(sandbox, "NEW1", number="4000000000000002", card_alias="client11")
    assert confirmation(sandbox)["cbenregistree"] == "0"
    assert 'name="saved_card"' not in open_page(sandbox, "NEW2", card_alias="client11")
    pay(sandbox, "NEW3", card_alias="client11")
    pay(sandbox, "NEW4", number="5555555555554444", card_alias="client11")
    assert confirmation(sandbox)["cbenregistree"] == "1"
    assert "555555######4444" in open_page(sandbox, "NEW5", card_alias="client11")


def test_a_legacy_terminal_keeps_the_card_of_a_packed_alias(sandbox: Sandbox) -> None:
    pay(sandbox, "LEGA1", tpe="0900161", card_alias="client12")
    page = open_page(sandbox, "LEGA2", tpe="0900161", card_alias="client12")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "", cvv="123") | {"saved_card": "1"})
    assert confirmation(sandbox)["reference"] == "LEGA2"
    assert confirmation(sandbox)["code-retour"] == "payetest"


def test_a_card_kept_without_a_cryptogram_is_paid_without_one(sandbox: Sandbox) -> None:
    # The cryptogram is optional on this bank's form: a card kept without one is not asked for one later.
    page = open_page(sandbox, "NOCVX1", card_alias="client13")
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111", cvv=""))
    assert confirmation(sandbox)["cbenregistree"] == "1"
    page = open_page(sandbox, "NOCVX2", card_alias="client13")
    assert re.search(r'id="saved_cvv"[^>]*maxlength="3">', page), page  # not required
    post(f"{sandbox.url}/paiement.cgi", saved(session_of(page), cvv=""))
    fields = confirmation(sandbox)
    assert (fields["reference"], fields["code-retour"], fields["cvx"]) == ("NOCVX2", "payetest", "non")


def test_a_card_that_cannot_be_kept_still_confirms_the_payment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_: object) -> bool:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "PutItem")

    monkeypatch.setattr(sandbox.bank.ledger, "keep_card", unavailable)
    page = pay(sandbox, "DOWN1", card_alias="client14")
    assert "Votre carte bancaire a été acceptée" in page
    fields = confirmation(sandbox)
    assert (fields["reference"], fields["code-retour"], fields["cbenregistree"]) == ("DOWN1", "payetest", "0")
