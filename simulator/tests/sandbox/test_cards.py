"""The cards the payment page takes: the visual cryptogram is optional ("éventuellement") and a payment without
it is confirmed ``cvx=non``; national CB cards beside Visa and MasterCard; American Express, with
its 4-digit code, only on a terminal whose contract includes it; the expiry date starts blank."""

from __future__ import annotations

import html
import re

import pytest

from chalicelib.cards import ACCEPTED_AMEX, ACCEPTED_CB, read_card
from chalicelib.exceptions import CardError
from chalicelib.payment_record import Status
from simulator.tests.support.sandbox import START, Sandbox, card, post, session_of


def open_page(sandbox: Sandbox, reference: str, tpe: str = "0900157") -> str:
    status, _, page = post(f"{sandbox.url}/paiement.cgi", sandbox.request_fields(reference, tpe=tpe))
    assert status == 200, page
    return page


def test_a_card_without_its_cryptogram_pays_and_is_confirmed_cvx_non(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "NOCVV1")
    assert re.search(r'<input type="password" id="cvv" name="cvv"[^>]*>', page)
    assert "required" not in re.search(r'<input type="password" id="cvv"[^>]*>', page)[0]  # type: ignore[index]
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111", cvv=""))
    assert "Votre carte bancaire a été acceptée" in page
    assert sandbox.merchant.last()["cvx"] == "non"
    payment = sandbox.bank.ledger.get("0900157", "NOCVV1")
    assert payment is not None
    assert (payment.status, payment.attempts[-1].cvv_entered) == (Status.PAID, False)


def test_with_its_cryptogram_the_confirmation_says_cvx_oui(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "CVV1")
    post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111", cvv="123"))
    assert sandbox.merchant.last()["cvx"] == "oui"


def test_a_cb_card_is_confirmed_with_the_cb_brand(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "CB1")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), ACCEPTED_CB))
    assert "Votre carte bancaire a été acceptée" in page
    assert sandbox.merchant.last()["brand"] == "CB"


def test_american_express_is_not_taken_without_its_contract(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "AMEX0")
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), ACCEPTED_AMEX, cvv="1234"))
    assert "Ce commerçant n'accepte pas cette carte" in html.unescape(page)
    assert sandbox.merchant.received == []  # no authorisation asked: no attempt used, no confirmation
    payment = sandbox.bank.ledger.get("0900157", "AMEX0")
    assert payment is not None
    assert (payment.status, payment.attempts) == (Status.OPEN, [])


def test_american_express_with_its_contract_and_a_4_digit_code(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "AMEX1", "0900168")
    assert "American Express : les 4 chiffres imprimés au recto de la carte." in page
    session = session_of(page)
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session, ACCEPTED_AMEX, cvv="123"))
    assert "Le cryptogramme American Express doit comporter 4 chiffres." in page
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), ACCEPTED_AMEX, cvv="1234"))
    assert "Votre carte bancaire a été acceptée" in page
    fields = sandbox.merchant.last()
    assert (fields["brand"], fields["cvx"], fields["cbmasquee"]) == ("AM", "oui", "378282*****0005")


def test_the_american_express_hint_is_only_on_its_terminals(sandbox: Sandbox) -> None:
    assert "American Express" not in open_page(sandbox, "AMEX2")


def test_the_expiry_date_starts_blank_and_must_be_chosen(sandbox: Sandbox) -> None:
    page = open_page(sandbox, "EXP1")
    for name in ("expiry_month", "expiry_year"):
        select = re.search(rf'<select id="{name}"[^>]*required>(.*?)</select>', page)
        assert select, name
        assert re.findall(r"<option[^>]*selected[^>]*>", select[1]) == ['<option value="" selected>']
    years = re.findall(r'<option value="([0-9]{4})">', page)
    assert years[0] == str(START.year)  # nothing already expired is offered as a year
    _, _, page = post(f"{sandbox.url}/paiement.cgi", card(session_of(page), "4111111111111111", month="", year=""))
    assert "La date d'expiration est invalide." in html.unescape(page)
    assert sandbox.merchant.received == []


@pytest.mark.parametrize(
    ("number", "cvv", "amex", "field", "key"),
    [
        ("4111111111111111", "12", False, "cvv", "invalid_cvv"),
        ("4111111111111111", "1234", False, "cvv", "invalid_cvv"),
        (ACCEPTED_AMEX, "123", True, "cvv", "invalid_cid"),
        (ACCEPTED_AMEX, "1234", False, "card_number", "brand_not_accepted"),
    ],
)
def test_card_checks(number: str, cvv: str, amex: bool, field: str, key: str) -> None:
    with pytest.raises(CardError) as caught:
        read_card(number, "12", "2030", cvv, START.date(), american_express=amex)
    assert (caught.value.field, caught.value.message_key) == (field, key)


def test_a_blank_cryptogram_is_no_cryptogram() -> None:
    assert read_card("4111111111111111", "12", "2030", "  ", START.date()).cvv_entered is False
    assert read_card(ACCEPTED_AMEX, "12", "2030", "", START.date(), american_express=True).cvv_entered is False
