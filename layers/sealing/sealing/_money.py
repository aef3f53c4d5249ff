"""Money on the wire: ``Decimal`` with its currency, turned into ``62.73EUR`` in exactly one place."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from .exceptions import FieldError

# The bank takes other currencies (USD, GBP, CHF, ...) only under a currency contract: a terminal lists them.
DEFAULT_CURRENCIES: tuple[str, ...] = ("EUR",)
_ZERO = Decimal(0)
_LIMIT = Decimal(10**12)  # the bank reads at most 12 digits before the dot
# What the bank sends: digits, optionally a dot and one or two decimals, then the ISO-4217 code.
# Never a comma, never a thousands separator (the ``1.234,50EUR`` trap of docs/protocol.md, Payment request).
_WIRE_AMOUNT = re.compile(r"(?P<number>[0-9]{1,12}(?:\.[0-9]{1,2})?)(?P<currency>[A-Z]{3})")
# What a merchant must send (docs/protocol.md, Payment request): a number, then the code; no leading zeros.
_REQUEST_AMOUNT = re.compile(r"(?P<number>(?:0|[1-9][0-9]{0,11})(?:\.[0-9]+)?)(?P<currency>[A-Z]{3})")
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")

# ISO 4217's minor units ("E"): how many decimals an amount in each currency has. Every active currency but the
# funds and metals codes. The bank's ``montant`` is an integer with an optional dot and two decimals: a currency
# of 0 digits goes on the wire as the integer alone (``1000JPY``), one of 2 with its two decimals (``62.73EUR``);
# one of 3 or 4 digits cannot be written at all, and is refused rather than sent wrong.
MINOR_UNITS = MappingProxyType(
    {
        **dict.fromkeys(
            (
                "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
                "XAF", "XOF", "XPF",
            ),
            0,
        ),
        **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
        **dict.fromkeys(("CLF", "UYW"), 4),
        **dict.fromkeys(
            (
                "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD",
                "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP", "CRC",
                "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
                "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD",
                "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA",
                "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO",
                "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR",
                "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
                "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST",
                "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
            ),
            2,
        ),
    }
)  # fmt: skip
_SEALABLE_DIGITS = (0, 2)
# How a merchant writes an amount, by minor digits: the pattern, an example and the rule in words.
_MERCHANT_AMOUNT = {
    0: (re.compile(r"[0-9]{1,12}"), "6273", "no decimals"),
    2: (re.compile(r"[0-9]{1,12}\.[0-9]{2}"), "62.73", "exactly 2 decimals"),
}


def _check_code(currency: str) -> str:
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isascii()
        and currency.isalpha()
        and currency.isupper()
    ):
        raise FieldError("currency", f"{currency!r} is not an ISO-4217 code")
    return currency


def minor_digits(currency: str) -> int:
    """The decimals of an amount in ``currency`` (ISO 4217): 2 for EUR, 0 for JPY. ``FieldError`` naming
    ``currency`` for one the kit cannot seal: unknown to the table, or with more minor digits than the bank's
    amounts can have."""
    digits = MINOR_UNITS.get(_check_code(currency))
    if digits is None:
        raise FieldError("currency", f"{currency} is not an ISO 4217 currency the kit knows")
    if digits not in _SEALABLE_DIGITS:
        reason = f"{currency} has {digits} minor digits (ISO 4217): the bank's amounts have at most 2"
        raise FieldError("currency", f"{reason}, the kit cannot seal it")
    return digits


def _quoted(text: str) -> str:
    """A merchant's text in an error: as JSON writes it, cut short."""
    return json.dumps(text[:32]) + ("..." if len(text) > 32 else "")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency. ``amount`` is a ``Decimal`` with at most two decimals."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise FieldError("amount", "must be a finite Decimal")
        if amount < _ZERO:
            raise FieldError("amount", f"{amount} is negative")
        if amount >= _LIMIT:
            raise FieldError("amount", f"{amount} has more than 12 digits before the dot")
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise FieldError("amount", f"{amount} has more than 2 decimals")
        if amount.is_signed():  # -0 would go on the wire as "-0.00"
            object.__setattr__(self, "amount", amount.copy_abs())
        _check_code(self.currency)

    def wire(self) -> str:
        """The protocol's form, with exactly the currency's minor digits: ``62.73EUR``, ``1000JPY``.

        ``FieldError`` for what cannot be sent right: a currency the kit cannot seal (``currency``), a fraction
        of a currency without minor units (``amount``, 1000.50 JPY).
        """
        digits = minor_digits(self.currency)
        exact = self.amount.quantize(Decimal(1).scaleb(-digits))
        if exact != self.amount:
            raise FieldError(
                "amount",
                f"{self.amount} is not a whole number of {self.currency}: {self.currency} has no minor unit (ISO 4217)",
            )
        return f"{exact}{self.currency}"

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise FieldError("currency", f"cannot mix {self.currency} and {other.currency}")

    def is_zero(self) -> bool:
        return self.amount == 0

    def __str__(self) -> str:
        """``62.73 EUR``, ``1000 JPY``: with the currency's minor digits, or as the amount is when they would
        change it (what the bank said, in a currency the kit does not send)."""
        digits = MINOR_UNITS.get(self.currency, 2)
        shown = self.amount.quantize(Decimal(1).scaleb(-digits))
        return f"{shown if shown == self.amount else self.amount} {self.currency}"


def parse_amount(text: str, currency: str, field: str = "amount") -> Money:
    """An amount as a merchant writes it in ``currency``: digits, and exactly the currency's minor digits after
    a dot (``62.73`` EUR, ``1000`` JPY). ``6273`` is not 6,273.00 EUR, ``62.7`` not 62.70: anything else is an
    error naming ``field``, and a currency the kit cannot seal one naming ``currency``."""
    pattern, example, rule = _MERCHANT_AMOUNT[minor_digits(currency)]
    if not isinstance(text, str) or not pattern.fullmatch(text):
        written = _quoted(text) if isinstance(text, str) else repr(text)
        raise FieldError(field, f"{written} is not an amount in {currency} like {example} ({rule})")
    return Money(Decimal(text), currency)


def parse_decimal(text: str, field: str = "amount") -> Decimal:
    """A plain decimal with no currency to read it in: digits, a dot, at most two decimals. An amount in a
    currency (what a merchant sends the kit) is read by ``parse_amount``, with exactly its minor digits."""
    if not isinstance(text, str) or not _PLAIN_AMOUNT.fullmatch(text):
        raise FieldError(field, f"{text!r} is not an amount like 62.73 (digits, a dot, at most 2 decimals)")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise FieldError(field, f"{text!r} is not an amount") from None


def parse_wire_amount(text: str, field: str = "montant") -> Money:
    """``62.73EUR`` (or ``200EUR``, ``0EUR``) from the bank into ``Money``; anything else is an error."""
    match = _WIRE_AMOUNT.fullmatch(text)
    if not match:
        raise FieldError(field, f"{text!r} is not an amount like 62.73EUR")
    return Money(Decimal(match["number"]), match["currency"])


def parse_request_amount(text: str, field: str = "montant") -> Money:
    """A payment request's ``montant``, read as strictly as ``Money.wire`` writes it: ``62.73EUR``, ``1000JPY``.

    ``62.7EUR``, ``62EUR``, ``0062.73EUR``, ``1.234,50EUR`` and ``1000.00JPY`` are errors (the bank would
    misread some). Confirmations and back-office answers, which the bank writes, use ``parse_wire_amount``.
    """
    match = _REQUEST_AMOUNT.fullmatch(text)
    if not match:
        raise FieldError(field, f"{text!r} is not an amount like 62.73EUR (a number, then the currency's code)")
    try:
        money = parse_amount(match["number"], match["currency"], field)
    except FieldError as exc:
        raise FieldError(field, f"{text!r}: {exc.reason}") from None
    return money


def require_positive(money: Money, field: str = "amount") -> Money:
    if money.amount <= 0:
        raise FieldError(field, f"{money} must be greater than zero")
    return money
