"""The checkout page a buyer sees between the merchant's site and the bank: in the order's language, the merchant
by name, one button that presses itself (the page's only script, allowed by its hash), and an order that takes
no payment any more said in words, with the way back."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from orders.model import Order, OrderStatus
from orders.terminals import PaymentMode
from orders.web.http import html_response
from orders.web.pages import LANGUAGES, PAY_BUTTON, SUBMIT_SCRIPT, TEXTS, checkout_page, not_payable_page
from sealing import Instalment, Money, PaymentForm

FORM = PaymentForm("https://bank.example/test/paiement.cgi", (("TPE", "0900157"), ("MAC", "ab" * 20)))


def order(language: str = "FR", amount: str = "12.99", status: OrderStatus = OrderStatus.AWAITING_PAYMENT) -> Order:
    return Order(
        reference="ABC123",
        tpe="0900157",
        mode=PaymentMode.IMMEDIATE,
        status=status,
        amount=Money(Decimal(amount), "EUR"),
        email="buyer@example.com",
        language=language,
        created_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
        checkout_token_hash="x",
        return_ok_url="https://shop.example/ok",
        return_err_url="https://shop.example/err",
    )


def visible_words(page: str) -> str:
    body = re.sub(r"<script>.*?</script>|<style>.*?</style>|<[^>]+>", " ", page, flags=re.S)
    return html.unescape(body)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_is_in_the_orders_language(language: str) -> None:
    page = checkout_page(order(language), FORM, "La boutique du CD")
    words = visible_words(page)
    for key in ("title", "reference", "amount", "redirect"):
        assert TEXTS[language][key] in words, key
    assert PAY_BUTTON[language] in words
    others = [
        TEXTS[other][key]
        for other in LANGUAGES
        if other != language
        for key in ("title", "reference", "amount")
        if TEXTS[other][key] != TEXTS[language][key]
        and re.search(rf"(?<!\w){re.escape(TEXTS[other][key])}(?!\w)", words)
    ]
    assert others == []
    assert f'<html lang="{language.lower()}">' in page


def test_a_german_checkout_has_no_french_label() -> None:
    words = visible_words(checkout_page(order("DE"), FORM, "La boutique du CD"))
    assert "Ihre Bestellung" in words
    assert "Référence" not in words
    assert "Montant" not in words


def test_the_merchant_is_shown_by_name_not_as_a_label_of_the_tpe() -> None:
    page = checkout_page(order(), FORM, "La boutique du CD")
    assert '<h1 id="merchant">La boutique du CD</h1>' in page
    assert "<dt>La boutique du CD</dt>" not in page
    assert "<dd>0900157</dd>" not in page


@pytest.mark.parametrize(("amount", "shown"), [("1.00", "1 EUR"), ("14.50", "14.50 EUR"), ("12.99", "12.99 EUR")])
def test_the_amount_is_written_as_the_bank_writes_it(amount: str, shown: str) -> None:
    assert f'<dd id="amount">{shown}</dd>' in checkout_page(order(amount=amount), FORM, "La boutique du CD")


def test_the_form_submits_itself_and_keeps_its_one_button() -> None:
    page = checkout_page(order(), FORM, "La boutique du CD")
    assert re.findall(r"<button[^>]*>([^<]*)</button>", page) == ["Paiement par carte bancaire"]
    assert '<form method="post" action="https://bank.example/test/paiement.cgi"' in page
    assert f"<script>{SUBMIT_SCRIPT}</script>" in page
    assert re.findall(r"<script>(.*?)</script>", page) == [SUBMIT_SCRIPT]  # nothing else runs
    assert "getElementById('checkout')" in SUBMIT_SCRIPT
    assert 'id="checkout"' in page


def test_the_pages_policy_runs_that_script_and_no_other() -> None:
    policy = html_response(200, "")["headers"]["Content-Security-Policy"]
    digest = base64.b64encode(hashlib.sha256(SUBMIT_SCRIPT.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "default-src 'none'" in policy


@pytest.mark.parametrize(
    ("status", "language", "words", "back"),
    [
        (OrderStatus.PAID, "FR", "Cette commande a déjà été payée", "https://shop.example/ok"),
        (OrderStatus.CAPTURED, "DE", "Diese Bestellung wurde bereits bezahlt", "https://shop.example/ok"),
        (OrderStatus.CANCELLED, "ES", "Este pedido ha sido cancelado", "https://shop.example/err"),
        (OrderStatus.REFUNDED, "IT", "Questo ordine è già stato pagato", "https://shop.example/ok"),
        # Awaiting payment, and every payment session used: nothing was paid, the merchant can help.
        (OrderStatus.AWAITING_PAYMENT, "FR", "ne peut plus être payée en ligne", "https://shop.example/err"),
        (OrderStatus.AWAITING_PAYMENT, "EN", "contact the merchant", "https://shop.example/err"),
    ],
)
def test_an_order_no_longer_payable_says_so_in_words_with_a_link_back(
    status: OrderStatus, language: str, words: str, back: str
) -> None:
    page = not_payable_page(order(language, status=status))
    assert words in visible_words(page)
    assert status.value not in visible_words(page)  # no state code in place of words
    assert re.findall(r'<a id="back" href="([^"]*)">', page) == [back]


# What an attacker would put in a value the page shows: quotes to leave an attribute, tags, an entity.
ATTACK = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;"


def test_what_the_merchant_and_the_order_say_is_shown_as_text_never_as_markup() -> None:
    action = f"https://bank.example/?{ATTACK}"
    form = PaymentForm(action, (("texte-libre", ATTACK), ("MAC", "ab" * 20)))
    page = checkout_page(replace(order(), reference=ATTACK), form, f"Shop {ATTACK}")
    assert re.findall(r"<script>(.*?)</script>", page) == [SUBMIT_SCRIPT]  # still the one script
    assert "<img" not in page
    assert f"Shop {ATTACK}" in visible_words(page)
    assert html.unescape(re.findall(r'<dd id="reference">([^<]*)</dd>', page)[0]) == ATTACK
    # Each attribute stays one quoted value, which the browser reads (and posts) exactly as given.
    assert [html.unescape(v) for v in re.findall(r'action="([^"]*)"', page)] == [action]
    assert [html.unescape(v) for v in re.findall(r'name="texte-libre" value="([^"]*)"', page)] == [ATTACK]


def test_an_order_no_longer_payable_shows_its_reference_and_link_as_text() -> None:
    page = not_payable_page(replace(order(status=OrderStatus.PAID), reference=ATTACK, return_ok_url=ATTACK))
    assert "<script" not in page
    assert "<img" not in page
    assert ATTACK in visible_words(page)
    assert [html.unescape(href) for href in re.findall(r'<a id="back" href="([^"]*)">', page)] == [ATTACK]


@pytest.mark.parametrize(
    ("language", "title", "last"),
    [
        ("FR", "Paiement en 3 fois", "26 janvier 2027 : 4,33 EUR"),
        ("EN", "Payment in 3 instalments", "26 January 2027: 4.33 EUR"),
        ("DE", "Zahlung in 3 Raten", "26. Januar 2027: 4,33 EUR"),
        ("IT", "Pagamento in 3 rate", "26 gennaio 2027: 4,33 EUR"),
        ("ES", "Pago en 3 plazos", "26 de enero de 2027: 4,33 EUR"),
        ("NL", "Betaling in 3 termijnen", "26 januari 2027: 4.33 EUR"),
    ],
)
def test_a_split_payment_shows_its_schedule_in_the_buyers_language(language: str, title: str, last: str) -> None:
    days = (date(2026, 11, 26), date(2026, 12, 26), date(2027, 1, 26))
    amounts = ("4.33", "4.33", "4.33")
    schedule = tuple(Instalment(d, Money(Decimal(a), "EUR")) for d, a in zip(days, amounts, strict=True))
    page = checkout_page(replace(order(language), instalments=schedule), FORM, "La boutique du CD")
    assert f'<p id="schedule-title">{title}</p>' in page
    assert re.findall(r"<li>([^<]*)</li>", page)[-1] == last
    assert "schedule" not in checkout_page(order(language), FORM, "La boutique du CD")
