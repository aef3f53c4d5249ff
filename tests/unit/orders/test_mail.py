"""What a person reads of an amount in the order e-mails: the currency's own minor digits, the language's marks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orders.events import ORDER_PAID
from orders.mail import display_amount, merchant_mail, state_words
from orders.model import Order, OrderStatus, PaymentMode
from orders.terminals import MAIL_LANGUAGES, MailSettings
from sealing import Money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "shown"),
    [
        ("1062.73", "EUR", "FR", "1\u202f062,73 EUR"),
        ("1062.73", "EUR", "EN", "1,062.73 EUR"),
        ("62", "EUR", "DE", "62,00 EUR"),
        ("123456", "JPY", "FR", "123\u202f456 JPY"),
        ("1000", "JPY", "EN", "1,000 JPY"),
    ],
)
def test_an_amount_shows_its_currencys_minor_digits(amount: str, currency: str, language: str, shown: str) -> None:
    assert display_amount(Money(Decimal(amount), currency), language) == shown


def _order(status: OrderStatus) -> Order:
    return Order(
        reference="A1B2C3D4E5",
        tpe="1234567",
        mode=PaymentMode.IMMEDIATE,
        status=status,
        amount=Money(Decimal("62.73"), "EUR"),
        email="buyer@example.com",
        language="FR",
        created_at=datetime(2026, 12, 6, tzinfo=UTC),
        checkout_token_hash="x",
    )


@pytest.mark.parametrize(
    ("language", "status", "words"),
    [
        ("FR", OrderStatus.PAID, "État de la commande : payée"),
        ("EN", OrderStatus.PAID, "Order status: paid"),
        ("EN", OrderStatus.AWAITING_PAYMENT, "Order status: awaiting payment"),
        ("FR", OrderStatus.AWAITING_PAYMENT, "État de la commande : en attente de paiement"),
        ("DE", OrderStatus.PARTIALLY_REFUNDED, "Status der Bestellung: teilweise erstattet"),
    ],
)
def test_the_merchant_mail_says_the_orders_state_in_words_of_its_language(
    language: str, status: OrderStatus, words: str
) -> None:
    settings = MailSettings(sender="kit@example.com", merchant="shop@example.com", merchant_language=language)
    mail = merchant_mail(_order(status), settings, ORDER_PAID, {})
    assert words in mail.text
    assert words in mail.html


def test_every_state_has_words_in_every_merchant_language() -> None:
    for language in MAIL_LANGUAGES:
        shown = {state_words(status, language) for status in OrderStatus}
        assert len(shown) == len(OrderStatus), language
        assert not {status.value for status in OrderStatus if "_" in status.value} & shown
