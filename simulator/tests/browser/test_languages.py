"""The buyer's pages in each of the bank's five languages, in a real browser: the merchant API's checkout page (as a
browser without JavaScript shows it; with JavaScript it goes on to the bank by itself) and the bank's payment
page, its refusal and its receipt. Screenshots of each go to ``test-artifacts/``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from chalicelib.texts import REFUSAL_REASONS
from chalicelib.texts import TEXTS as BANK_TEXTS
from orders.web.pages import PAY_BUTTON
from orders.web.pages import TEXTS as CHECKOUT_TEXTS
from simulator.tests.support.full_stack import FullStack
from simulator.tests.support.shopper import enter_card, screenshot, to_basket, to_payment_page

pytestmark = pytest.mark.browser
LANGUAGES = ["FR", "EN", "DE", "IT", "ES"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_checkout_page_speaks_the_orders_language(browser: Browser, system: FullStack, language: str) -> None:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, java_script_enabled=False)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        to_basket(page, system, "la-mauvaise-reputation", "0900157", language)
        page.click("#pay")
        expect(page).to_have_url(re.compile(re.escape(f"{system.api}/checkout/")))
        words = CHECKOUT_TEXTS[language]
        expect(page.locator("html")).to_have_attribute("lang", language.lower())
        expect(page.locator("#merchant")).to_have_text("La boutique du CD")
        expect(page.locator("p.lead")).to_have_text(words["title"])
        expect(page.locator("dt")).to_have_text([words["reference"], words["amount"]])
        expect(page.locator("#amount")).to_have_text("9.90 EUR")
        expect(page.locator("#redirecting")).to_have_text(words["redirect"])
        expect(page.locator("button")).to_have_text([PAY_BUTTON[language]])
        screenshot(page, f"checkout-{language.lower()}")
        page.get_by_role("button", name=PAY_BUTTON[language]).click()  # no script: the buyer's own press
        expect(page).to_have_url(f"{system.sandbox.test_url}/paiement.cgi")
        expect(page.locator("h1")).to_have_text(BANK_TEXTS[language]["title"])
    finally:
        context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_payment_page_its_refusal_and_its_receipt_speak_the_buyers_language(
    page: Page, system: FullStack, language: str
) -> None:
    words = BANK_TEXTS[language]
    to_payment_page(page, system, "melody-nelson", language=language)
    expect(page.locator("html")).to_have_attribute("lang", language.lower())
    expect(page.locator("#brand")).to_have_text("P@iement CIC")
    expect(page.locator("#badge")).to_have_text(words["badge"])
    expect(page.locator("h1")).to_have_text(words["title"])
    expect(page.locator("label[for=card_number]")).to_have_text(words["card_number"])
    expect(page.locator("label[for=cvv]")).to_have_text(words["cvv"])
    expect(page.locator("#validate")).to_have_text(words["validate"])
    expect(page.locator("#cancel")).to_have_text(words["cancel"].format(merchant="La boutique du CD"))
    expect(page.locator("#amount")).to_have_text("14.50 EUR")
    screenshot(page, f"payment-page-{language.lower()}")

    enter_card(page, "4000000000000002")
    reason = REFUSAL_REASONS[language]["Refus"]
    expect(page.locator("#message")).to_have_text(words["refused"].format(reason=reason, n=2, max=4))
    screenshot(page, f"payment-refused-{language.lower()}")

    enter_card(page, "4111111111111111")
    expect(page.locator("h1")).to_have_text(words["receipt"])
    expect(page.locator("#authorising")).to_have_count(0)  # the receipt says how the request ended, not that it runs
    expect(page.locator("#message")).to_have_text(words["accepted"].format(merchant="La boutique du CD"))
    expect(page.locator("#back")).to_have_text(words["back"].format(merchant="La boutique du CD"))
    screenshot(page, f"receipt-{language.lower()}")
