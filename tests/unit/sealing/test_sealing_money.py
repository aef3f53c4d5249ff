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


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [("62.73", "EUR", "62.73"), ("0.50", "USD", "0.50"), ("1000", "JPY", "1000"), ("6273.00", "EUR", "6273.00")],
)
def test_a_merchant_amount_has_exactly_the_currencys_minor_digits(text: str, currency: str, amount: str) -> None:
    money = sealing.parse_amount(text, currency)
    assert money == Money(Decimal(amount), currency)
    assert money.wire() == f"{text}{currency}"


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("6273", "EUR", '"6273" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ("62.7", "EUR", '"62.7" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ("62.730", "GBP", '"62.730" is not an amount in GBP like 62.73 (exactly 2 decimals)'),
        ("1.234,50", "EUR", '"1.234,50" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
        ("1000.50", "JPY", '"1000.50" is not an amount in JPY like 6273 (no decimals)'),
        ("1000.", "JPY", '"1000." is not an amount in JPY like 6273 (no decimals)'),
        ("-1.00", "EUR", '"-1.00" is not an amount in EUR like 62.73 (exactly 2 decimals)'),
    ],
)
def test_any_other_spelling_of_a_merchant_amount_is_refused_naming_the_rule(
    text: str, currency: str, message: str
) -> None:
    with pytest.raises(FieldError) as error:
        sealing.parse_amount(text, currency, "instalments[0].amount")
    assert (error.value.field, error.value.reason) == ("instalments[0].amount", message)


@pytest.mark.parametrize(
    ("currency", "reason"),
    [
        ("KWD", "KWD has 3 minor digits (ISO 4217): the bank's amounts have at most 2, the kit cannot seal it"),
        ("TND", "TND has 3 minor digits (ISO 4217): the bank's amounts have at most 2, the kit cannot seal it"),
        ("XYZ", "XYZ is not an ISO 4217 currency the kit knows"),
    ],
)
def test_a_currency_the_kit_cannot_seal_is_refused_naming_currency(currency: str, reason: str) -> None:
    with pytest.raises(FieldError) as error:
        sealing.parse_amount("1.50", currency, "amount")
    assert error.value.field == "currency"
    assert error.value.reason.startswith(reason)
    with pytest.raises(FieldError) as error:
        Money(Decimal("1.50"), currency).wire()  # never sent wrong, whoever made the Money
    assert error.value.field == "currency"


def test_the_minor_units_table_knows_the_currencies_of_the_bank() -> None:
    two = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "MAD")
    assert {code: sealing.MINOR_UNITS[code] for code in (*two, "JPY", "XPF", "KWD", "BHD", "TND")} == {
        **dict.fromkeys(two, 2), "JPY": 0, "XPF": 0, "KWD": 3, "BHD": 3, "TND": 3,
    }  # fmt: skip


@pytest.mark.parametrize(("amount", "wire"), [("1000", "1000JPY"), ("0", "0JPY"), ("1000.00", "1000JPY")])
def test_a_currency_without_minor_units_goes_on_the_wire_without_a_dot(amount: str, wire: str) -> None:
    assert Money(Decimal(amount), "JPY").wire() == wire
    assert str(Money(Decimal(amount), "JPY")) == wire.replace("JPY", " JPY")


def test_a_fraction_of_a_yen_is_never_sealed() -> None:
    with pytest.raises(FieldError) as error:
        Money(Decimal("1000.50"), "JPY").wire()
    assert error.value.field == "amount"
    assert "JPY has no minor unit" in error.value.reason


@pytest.mark.parametrize("text", ["1000JPY", "0.50EUR"])
def test_a_request_amount_in_a_currency_without_minor_units(text: str) -> None:
    assert sealing.parse_request_amount(text).wire() == text


@pytest.mark.parametrize("text", ["1000.00JPY", "1000.50JPY", "1.500KWD", "1.50KWD"])
def test_a_request_amount_is_read_with_its_currencys_minor_digits(text: str) -> None:
    with pytest.raises(FieldError):
        sealing.parse_request_amount(text, "montant")
