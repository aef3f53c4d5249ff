"""A buyer's steps in a real browser (Playwright) through the demo shop and the sandbox bank, and the screenshots
the README shows (``test-artifacts/``, copied by ``make screenshots``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from simulator.tests.support.full_stack import FullStack

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def to_basket(page: Page, system: FullStack, cd: str, tpe: str, language: str = "FR") -> None:
    page.goto(system.shop.base_url)
    page.click(f"#add-{cd}")
    page.click("#basket-link")
    page.check(f"#tpe-{tpe}")
    page.select_option("#lgue", language)


def to_payment_page(
    page: Page, system: FullStack, cd: str = "kind-of-blue", tpe: str = "0900157", language: str = "FR"
) -> str:
    """Shop → basket → "Paiement par carte bancaire", the one press → the merchant's checkout, which goes on by
    itself → the bank: the reference."""
    to_basket(page, system, cd, tpe, language)
    page.click("#pay")
    expect(page).to_have_url(f"{system.sandbox.test_url}/paiement.cgi")
    expect(page.locator("#tpe")).to_have_text(tpe)
    return page.locator("#reference").inner_text()


def enter_card(page: Page, number: str) -> None:
    page.fill("#card_number", number)
    expect(page.locator("#expiry_month")).to_have_value("")  # nothing chosen for the buyer, nothing expired
    page.select_option("#expiry_month", "12")
    page.select_option("#expiry_year", str(date.today().year + 2))  # the page offers this year and the next ten
    page.fill("#cvv", "123")
    page.click("#validate")
