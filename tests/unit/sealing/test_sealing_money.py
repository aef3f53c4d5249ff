"""Money on the wire: Decimal and currency in, ``62.73EUR`` out, and nothing guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sealing
from sealing import FieldError, Money, parse_decimal, parse_wire_amount


@pytest.mark.parametrize("text", ["1.234,50", "1,5", "62.731", "-1", "-0.01", "1e3", " 62.73", "62.73 ", "", "."])
def test_parse_decimal_refuses_what_it_would_have_to_guess(text: str) -> None:
    with pytest.raises(FieldError) as error:
        parse_decimal(text, "montant")
    assert error.value.field == "montant"


@pytest.mark.parametrize(("text", "value"), [("62.73", "62.73"), ("1", "1"), ("0.5", "0.5"), ("1234.50", "1234.50")])
def test_parse_decimal_reads_plain_amounts(text: str, value: str) -> None:
    parsed = parse_decimal(text)
    assert isinstance(parsed, Decimal)
    assert parsed == Decimal(value)


@pytest.mark.parametrize(
    "amount",
    [Decimal("62.731"), Decimal("-1"), Decimal("-0.01"), Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")],
)
def test_money_refuses_bad_decimals(amount: Decimal) -> None:
    with pytest.raises(FieldError) as error:
        Money(amount, "EUR")
    assert error.value.field == "amount"


@pytest.mark.parametrize("amount", [62.73, 62, "62.73", None])
def test_money_refuses_non_decimals(amount: object) -> None:
    with pytest.raises(FieldError) as error:
        Money(amount, "EUR")  # type: ignore[arg-type]
    assert error.value.field == "amount"


@pytest.mark.parametrize("currency", ["eur", "EURO", "EU", "", "€UR", "ÉUR", "E1R", "EU ", None, 978])
def test_money_refuses_bad_currencies(currency: object) -> None:
    with pytest.raises(FieldError) as error:
        Money(Decimal("1"), currency)  # type: ignore[arg-type]
    assert error.value.field == "currency"


@pytest.mark.parametrize(
    ("amount", "wire"),
    [
        ("62.73", "62.73EUR"),
        ("62.7", "62.70EUR"),
        ("62", "62.00EUR"),
        ("0", "0.00EUR"),
        ("-0", "0.00EUR"),
        ("-0.00", "0.00EUR"),
        ("1E+2", "100.00EUR"),
        ("999999999999.99", "999999999999.99EUR"),
    ],
)
def test_wire_always_has_two_decimals_and_a_dot(amount: str, wire: str) -> None:
    assert Money(Decimal(amount), "EUR").wire() == wire


def test_an_amount_too_large_for_the_wire_is_a_field_error() -> None:
    # The bank reads at most 12 digits before the dot; a huge Decimal must not escape as a decimal error.
    with pytest.raises(FieldError) as error:
        Money(Decimal("1E+30"), "EUR")
    assert error.value.field == "amount"
    with pytest.raises(FieldError):
        Money(Decimal("1000000000000"), "EUR")


@given(st.decimals(min_value=0, max_value=Decimal("999999999999.99"), places=2))
def test_wire_round_trips_through_the_banks_format(amount: Decimal) -> None:
    money = Money(amount, "EUR")
    wire = money.wire()
    number, _, decimals = wire.removesuffix("EUR").partition(".")
    assert number.isdigit()
    assert len(decimals) == 2
    assert Decimal(wire.removesuffix("EUR")) == amount
    assert parse_wire_amount(wire) == money


@pytest.mark.parametrize(
    ("wire", "amount"), [("62.73EUR", "62.73"), ("200EUR", "200"), ("0EUR", "0"), ("1.5USD", "1.5")]
)
def test_parse_wire_amount(wire: str, amount: str) -> None:
    money = parse_wire_amount(wire)
    assert isinstance(money.amount, Decimal)
    assert money.amount == Decimal(amount)
    assert money.currency == wire[-3:]


@pytest.mark.parametrize(
    "wire", ["1.234,50EUR", "1,5EUR", "62.731EUR", "-1EUR", "62.73", "62.73eur", "EUR", "62.73 EUR", "\u0661EUR"]
)
def test_parse_wire_amount_refuses_anything_else(wire: str) -> None:
    with pytest.raises(FieldError) as error:
        parse_wire_amount(wire, "montantech")
    assert error.value.field == "montantech"


def test_arithmetic_keeps_the_currency() -> None:
    total = Money(Decimal("62.73"), "EUR")
    part = Money(Decimal("30.00"), "EUR")
    assert total - part == Money(Decimal("32.73"), "EUR")
    assert part + (total - part) == total
    with pytest.raises(FieldError):
        total + Money(Decimal("1"), "USD")
    with pytest.raises(FieldError):
        part - total  # a negative result is refused
    assert str(total) == "62.73 EUR"
    assert Money(Decimal("0"), "EUR").is_zero()


@pytest.mark.parametrize("text", ["62.73EUR", "0.50EUR", "100000.00USD"])
def test_request_amounts_are_read_exactly(text: str) -> None:
    money = sealing.parse_request_amount(text)
    assert money.wire() == text


@pytest.mark.parametrize("text", ["62.7EUR", "62EUR", "0062.73EUR", "1.234,50EUR", "62,73EUR", "62.73eur", " 62.73EUR"])
def test_request_amounts_must_have_two_decimals_and_a_dot(text: str) -> None:
    with pytest.raises(sealing.FieldError) as error:
        sealing.parse_request_amount(text, "montant")
    assert error.value.field == "montant"
