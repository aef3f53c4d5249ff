"""``make run``'s wiring over HTTP: the merchant API's checkout form posts to the sandbox, the sandbox confirms
to the API's CGI2, the merchant's back-office calls reach the sandbox's CGIs, and the shop drives it all."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.payment_record import Status
from local.__main__ import banner
from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox import NoRedirect
from simulator.tests.support.sandbox_stack import (
    FORM,
    call,
    card_attempt,
    checkout_and_pay,
    create,
    merchant_order,
    open_tab,
)


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def test_the_banner_prints_every_url(system: FullStack) -> None:
    text = banner(system.stack)
    for url in (system.api, system.sandbox.base_url, f"{system.sandbox.test_url}/gestion/", system.shop.base_url):
        assert url in text


def test_the_sandbox_mirrors_the_local_terminals(system: FullStack) -> None:
    config = system.sandbox.bank.config
    assert sorted(config.terminals) == ["0900157", "0900158", "0900159"]
    assert {t.cgi2_url for t in config.terminals.values()} == {f"{system.api}/confirmation"}
    assert config.terminals["0900158"].deferral_days == 3
    assert config.terminals["0900159"].mode.value == "deferred_authorization"


def test_a_refused_then_accepted_card_pays_the_merchants_order(system: FullStack) -> None:
    order = create(system)
    page = checkout_and_pay(system, order, "4000000000000002")
    assert "Paiement refusé" in page
    assert merchant_order(system, order["reference"])["status"] == "awaiting_payment"
    page = checkout_and_pay(system, order)  # back through the merchant's checkout: the same order, paid
    assert "Votre carte bancaire a été acceptée" in page
    paid = merchant_order(system, order["reference"])
    assert paid["status"] == "paid"
    assert [a["return_code"] for a in paid["attempts"]] == ["Annulation", "payetest"]
    assert system.sandbox.bank.ledger.alerts() == []  # CGI2 acknowledged every confirmation


def test_a_buyer_refused_in_one_tab_who_pays_in_another_pays_once_under_one_reference(system: FullStack) -> None:
    order = create(system)
    first, session, action = open_tab(order)
    assert "Paiement refusé" in card_attempt(action, session, "4000000000000002")
    second, session, _ = open_tab(order)
    assert second == first  # the same reference, date and seal: the bank still takes it
    assert "Votre carte bancaire a été acceptée" in card_attempt(action, session)
    paid = merchant_order(system, order["reference"])
    assert (paid["status"], paid["bank_reference"]) == ("paid", first["reference"])
    assert [s["bank_reference"] for s in paid["sessions"]] == [first["reference"]]
    assert system.sandbox.bank.ledger.get("0900157", order["reference"] + "01") is None
    payment = system.sandbox.bank.ledger.get("0900157", first["reference"])
    assert payment is not None
    assert payment.status is Status.PAID
    assert [a.return_code for a in payment.attempts] == ["Annulation", "payetest"]


def test_an_order_stays_payable_after_the_bank_exhausts_a_reference(system: FullStack) -> None:
    order = create(system)
    fields, session, action = open_tab(order)
    # The bank's four attempts under one reference, all refused (four cards: four different confirmations).
    for number in ("4000000000000002", "4000000000000069", "4012888888881881", "5105105105105100"):
        card_attempt(action, session, number)
    status, _, page = call(action, urlencode(fields).encode(), FORM)
    assert status == 409  # the bank takes that reference no more
    page = checkout_and_pay(system, order)  # back through the merchant's checkout: a new session, a new reference
    assert "Votre carte bancaire a été acceptée" in page
    paid = merchant_order(system, order["reference"])
    assert paid["status"] == "paid"
    assert paid["bank_reference"] == order["reference"] + "01" != fields["reference"]
    assert [a["return_code"] for a in paid["attempts"]] == ["Annulation"] * 4 + ["payetest"]


def test_the_merchants_back_office_calls_reach_the_sandbox(system: FullStack) -> None:
    order = create(system, tpe="0900158")
    checkout_and_pay(system, order)
    reference = order["reference"]
    assert merchant_order(system, reference)["status"] == "authorized"
    status, _, body = call(f"{system.api}/orders/{reference}/capture", b"{}", "application/json")
    assert status == 200, body
    assert json.loads(body)["status"] == "captured"
    bank_reference = merchant_order(system, reference)["bank_reference"]
    payment = system.sandbox.bank.ledger.get("0900158", bank_reference)
    assert payment is not None
    assert payment.status is Status.CAPTURED
    status, _, body = call(f"{system.api}/orders/{reference}/refund", b'{"amount": "10.00"}', "application/json")
    assert status == 200, body
    assert json.loads(body)["status"] == "partially_refunded"
    payment = system.sandbox.bank.ledger.get("0900158", bank_reference)  # read again: the book is in DynamoDB
    assert payment is not None
    assert payment.refunded == 10


def test_the_shop_orders_through_the_merchant_api(system: FullStack) -> None:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    shop = system.shop.base_url
    status, _, page = call(f"{shop}/", opener=browser)
    assert status == 200
    assert "Kind of Blue" in page
    status, _, _ = call(f"{shop}/panier/ajouter", b"cd=kind-of-blue", "application/x-www-form-urlencoded", browser)
    assert status == 303
    status, _, page = call(f"{shop}/panier", opener=browser)
    assert "12,99 €" in page
    status, headers, _ = call(f"{shop}/commander", b"tpe=0900157&lgue=FR", "application/x-www-form-urlencoded", browser)
    assert status == 303
    assert headers["Location"].startswith(f"{system.api}/checkout/")
    [shop_order] = system.shop.shop.state.orders.values()
    order = merchant_order(system, shop_order.reference)
    assert order["amount"] == "12.99"
    status, _, page = call(f"{shop}/commande/{shop_order.id}", opener=browser)
    assert 'data-status="awaiting_payment"' in page


@pytest.mark.parametrize(("outcome", "words"), [("ok", "Paiement accepté"), ("err", "Paiement non abouti")])
def test_the_local_return_pages_look_like_the_shop(system: FullStack, outcome: str, words: str) -> None:
    """Where the local terminals send the buyer back when an order was made without the shop's own URLs."""
    status, headers, page = call(f"{system.api}/_local/return/{outcome}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "header{background:#7a1f3d" in page  # the shop's own style sheet
    assert '<img src="data:image/svg+xml;base64,' in page  # its logo, carried in the page
    assert f'data-outcome="{outcome}">{words}</div>' in page
    assert f'<a href="{system.shop.base_url}/" id="shop-link">Continuer mes achats</a>' in page


def test_the_banks_payment_confirmation_to_the_merchant_shows_on_the_mail_page(system: FullStack) -> None:
    order = create(system)

    def mailed() -> list[str]:  # the bank's references (the order's payment sessions) it mailed the merchant
        return [
            m.reference for m in system.sandbox.bank.ledger.merchant_mails() if m.reference[:-2] == order["reference"]
        ]

    checkout_and_pay(system, order, "4000000000000002")
    assert mailed() == []  # refused: the bank mails nothing
    checkout_and_pay(system, order)
    [reference] = mailed()  # accepted: once
    status, _, page = call(f"{system.api}/_local/mail")
    assert status == 200, page
    subject = f"Paiement accepté : commande {reference},"
    row = rf"<a href='/_local/mail/(bank-\d+)'>[^<]*</a></td>(?:<td>[^<]*</td>){{2}}<td>{subject}"
    listed = re.findall(row, page)
    assert len(listed) == 1
    status, _, shown = call(f"{system.api}/_local/mail/{listed[0]}")
    assert status == 200, shown
    assert f"Paiement accepté : commande {reference}, 62.73 EUR" in shown
    assert "to commandes@boutiqueducd.example" in shown
    for text in (f"Référence de la commande : {reference}", "Montant : 62.73 EUR", "Carte : 411111######1111"):
        assert text in shown
    assert "4111111111111111" not in shown
