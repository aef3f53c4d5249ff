"""What a person reads of an amount in the order e-mails: the currency's own minor digits, the language's marks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.mail import display_amount
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
