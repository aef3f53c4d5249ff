"""A buyer and a merchant in a real browser: La boutique du CD → the merchant API's checkout → the sandbox
bank's payment page → back to the shop, which shows the order's status from the merchant API; and the
merchant's dashboard at the bank."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from chalicelib.payment_record import Status
from simulator.tests.support.full_stack import FullStack
from simulator.tests.support.shopper import enter_card, screenshot, to_payment_page

pytestmark = pytest.mark.browser


def order_status(page: Page) -> str:
    return page.locator("#status").get_attribute("data-status") or ""


def login(page: Page, system: FullStack, tpe: str) -> None:
    page.goto(f"{system.sandbox.test_url}/gestion/")
    page.fill("#login-tpe", tpe)
    page.fill("#login-password", system.sandbox.password)
    page.click("#login")
    expect(page.locator("h1")).to_have_text("Tableau de bord commerçant")


def test_buy_a_cd_with_an_accepted_card(page: Page, system: FullStack) -> None:
    reference = to_payment_page(page, system)
    expect(page.locator("#amount")).to_have_text("12.99 EUR")
    expect(page.locator("aside .name")).to_have_text("La boutique du CD")
    expect(page.locator("aside img")).to_have_attribute("src", system.shop.logo_url)
    expect(page.locator("#cancel")).to_have_text("Annuler et retourner à la société La boutique du CD")
    screenshot(page, "payment-page")

    enter_card(page, "4111111111111111")
    expect(page.locator("#message")).to_contain_text("Votre carte bancaire a été acceptée")
    expect(page.locator("#receipt-card")).to_have_text("411111######1111")
    expect(page.locator("#receipt-authorisation")).to_have_text(re.compile(r"^[0-9]{6}$"))
    screenshot(page, "receipt")

    page.click("#back")
    # The shop shows the order's own reference; the bank's page showed its payment session's (two more digits).
    expect(page.locator("#reference")).to_have_text(reference[:-2])
    expect(page.locator("#status")).to_have_text("Payée")
    assert order_status(page) == "paid"
    screenshot(page, "shop-order-paid")


def test_a_refused_card_then_an_accepted_one(page: Page, system: FullStack) -> None:
    to_payment_page(page, system, "homework")
    enter_card(page, "4000000000000002")
    expect(page.locator("#message")).to_contain_text("Paiement refusé (refus de la banque de la carte)")
    expect(page.locator("#message")).to_contain_text("tentative 2 sur 4")
    screenshot(page, "payment-refused")
    enter_card(page, "5555555555554444")
    expect(page.locator("#receipt-card")).to_have_text("555555######4444")
    page.click("#back")
    assert order_status(page) == "paid"
    expect(page.locator("main")).to_contain_text("1 tentative(s) de paiement refusée(s)")


def test_cancel_on_the_bank_page(page: Page, system: FullStack) -> None:
    to_payment_page(page, system, "moon-safari")
    page.click("#cancel")
    expect(page).to_have_url(re.compile(re.escape(f"{system.shop.base_url}/commande/")))
    assert order_status(page) == "awaiting_payment"
    expect(page.locator("main")).to_contain_text("votre commande est conservée")
    # The order survived: it can be paid from the shop's page.
    page.click("#pay-again")
    expect(page).to_have_url(f"{system.sandbox.test_url}/paiement.cgi")
    enter_card(page, "4111111111111111")
    page.click("#back")
    assert order_status(page) == "paid"


def test_a_deferred_order_validated_from_the_dashboard(page: Page, system: FullStack) -> None:
    reference = to_payment_page(page, system, "melody-nelson", "0900158")
    enter_card(page, "4111111111111111")
    page.click("#back")
    assert order_status(page) == "authorized"

    login(page, system, "0900158")
    page.click("text=Liste des paiements différés en attente de traitement")
    expect(page.locator("#pending")).to_contain_text(reference)
    page.check(f"#valider-{reference}")
    screenshot(page, "dashboard-deferred")
    page.click("#apply")
    expect(page.locator("#message")).to_have_text(f"{reference} validé")
    payment = system.sandbox.bank.ledger.get("0900158", reference)
    assert payment is not None
    assert payment.status is Status.CAPTURED

    page.goto(f"{system.sandbox.test_url}/gestion/paiements?par=recouvrement")
    page.locator("#days a").first.click()
    expect(page.locator("#payments")).to_contain_text(reference)


def test_a_partial_validation_then_a_refund(page: Page, system: FullStack) -> None:
    reference = to_payment_page(page, system, "ne-me-quitte-pas", "0900159")
    enter_card(page, "4111111111111111")
    page.click("#back")
    assert order_status(page) == "card_registered"

    login(page, system, "0900159")
    page.click("text=Liste des paiements partiels en attente de traitement")
    page.check(f"#vp-{reference}")
    page.fill(f"#montant-{reference}", "6.00")
    page.click("#apply")
    expect(page.locator("#message")).to_have_text(f"{reference} validé pour 6 EUR")
    expect(page.locator("#red-legend")).to_have_count(0)  # no reference is red here
    page.click(f"a[data-reference='{reference}']")
    expect(page.locator("#captures")).to_contain_text("6 EUR")
    page.fill("#refund-amount", "2.50")
    page.click("#refund")
    expect(page.locator("#message")).to_have_text("Re-crédit de 2.50 EUR effectué.")
    expect(page.locator("#refunds")).to_contain_text("2.50 EUR")
    screenshot(page, "dashboard-refund")
    payment = system.sandbox.bank.ledger.get("0900159", reference)
    assert payment is not None
    assert (payment.captured, payment.refunded, payment.open_amount) == (6, 2.5, payment.amount.amount - 6)
