"""Money on the wire: ``Decimal`` with its currency, turned into ``62.73EUR`` in exactly one place."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .exceptions import FieldError

# The bank takes other currencies (USD, GBP, CHF, ...) only under a currency contract: a terminal lists them.
DEFAULT_CURRENCIES: tuple[str, ...] = ("EUR",)
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_LIMIT = Decimal(10**12)  # the bank reads at most 12 digits before the dot
# What the bank sends: digits, optionally a dot and one or two decimals, then the ISO-4217 code.
# Never a comma, never a thousands separator (the ``1.234,50EUR`` trap of docs/protocol.md, Payment request).
_WIRE_AMOUNT = re.compile(r"(?P<number>[0-9]{1,12}(?:\.[0-9]{1,2})?)(?P<currency>[A-Z]{3})")
# What a merchant must send (docs/protocol.md, Payment request): exactly two decimals and a dot, no leading zeros.
_REQUEST_AMOUNT = re.compile(r"(?P<number>(?:0|[1-9][0-9]{0,11})\.[0-9]{2})(?P<currency>[A-Z]{3})")
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?")


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
        if not (
            isinstance(self.currency, str)
            and len(self.currency) == 3
            and self.currency.isascii()
            and self.currency.isalpha()
            and self.currency.isupper()
        ):
            raise FieldError("currency", f"{self.currency!r} is not an ISO-4217 code")

    def wire(self) -> str:
        """The protocol's form, ``62.73EUR``: always two decimals and a dot."""
        return f"{self.amount.quantize(_CENT)}{self.currency}"

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
        return f"{self.amount.quantize(_CENT)} {self.currency}"


def parse_decimal(text: str, field: str = "amount") -> Decimal:
    """A plain amount as a merchant writes it (``62.73``): digits, a dot, at most two decimals."""
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
    """A payment request's ``montant``, read as strictly as the bank reads it: ``62.73EUR`` only.

    ``62.7EUR``, ``62EUR``, ``0062.73EUR`` and ``1.234,50EUR`` are errors (the bank would misread some).
    Confirmations and back-office answers, which the bank writes, use ``parse_wire_amount``.
    """
    match = _REQUEST_AMOUNT.fullmatch(text)
    if not match:
        raise FieldError(field, f"{text!r} is not an amount like 62.73EUR (two decimals and a dot)")
    return Money(Decimal(match["number"]), match["currency"])


def require_positive(money: Money, field: str = "amount") -> Money:
    if money.amount <= 0:
        raise FieldError(field, f"{money} must be greater than zero")
    return money
