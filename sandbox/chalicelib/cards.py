"""Test cards and the checks the bank makes before asking for an authorisation.

| card number        | outcome                                   |
|--------------------|-------------------------------------------|
| 4111111111111111   | accepted (Visa)                           |
| 5555555555554444   | accepted (MasterCard)                     |
| 4000000000000002   | refused, ``motifrefus=Refus``             |
| 4000000000000069   | refused, ``motifrefus=Interdit`` (a card in opposition) |
| any other valid    | refused, ``motifrefus=Refus``             |

Before any of that: the number must pass Luhn, the expiry date must not be past and the CVV is 3 digits.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

ACCEPTED_VISA = "4111111111111111"
ACCEPTED_MASTERCARD = "5555555555554444"
REFUSED = "4000000000000002"
STOLEN = "4000000000000069"

# number -> refusal reason ("" = accepted)
TEST_CARDS: dict[str, str] = {ACCEPTED_VISA: "", ACCEPTED_MASTERCARD: "", REFUSED: "Refus", STOLEN: "Interdit"}
_DIGITS = re.compile(r"[0-9]{12,19}")


class CardError(ValueError):
    """The card details cannot be sent for authorisation; ``field`` names the input at fault."""

    def __init__(self, field: str, message_key: str) -> None:
        super().__init__(f"{field}: {message_key}")
        self.field = field
        self.message_key = message_key


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand(number: str) -> str:
    """The protocol's ``brand``: VI, MC, AM or CB (national card)."""
    if number.startswith("4"):
        return "VI"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MC"
    if number[:2] in {"34", "37"}:
        return "AM"
    return "CB"


@dataclass(frozen=True)
class Card:
    number: str
    expiry_month: int
    expiry_year: int  # four digits
    cvv_entered: bool

    @property
    def brand(self) -> str:
        return brand(self.number)

    @property
    def masked(self) -> str:
        """As the receipt shows it: the first six and last four digits, ``513283#####26``
        (docs/protocol.md, The bank's pages)."""
        return self.number[:6] + "#" * (len(self.number) - 10) + self.number[-4:]

    @property
    def bin(self) -> str:
        return self.number[:6]

    @property
    def hashed(self) -> str:
        """``hpancb``: a hash of the number, never the number."""
        return hashlib.sha1(self.number.encode("ascii"), usedforsecurity=False).hexdigest().upper()

    @property
    def expiry(self) -> str:
        """``vld``: MMYY."""
        return f"{self.expiry_month:02d}{self.expiry_year % 100:02d}"

    @property
    def refusal(self) -> str:
        """The refusal reason for this card, or "" when the authorisation is granted."""
        return TEST_CARDS.get(self.number, "Refus")


def read_card(number: str, month: str, year: str, cvv: str, today: date) -> Card:
    """The card the buyer typed, checked: Luhn, expiry not past, a 3-digit CVV. ``CardError`` otherwise."""
    digits = "".join(number.split()).replace("-", "")
    if not _DIGITS.fullmatch(digits) or not luhn_ok(digits):
        raise CardError("card_number", "invalid_number")
    month, year = month.strip(), year.strip()
    if not (month.isascii() and month.isdigit() and 1 <= int(month) <= 12):
        raise CardError("expiry_month", "invalid_expiry")
    if not (year.isascii() and year.isdigit() and len(year) in (2, 4)):
        raise CardError("expiry_year", "invalid_expiry")
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    if (full_year, int(month)) < (today.year, today.month):
        raise CardError("expiry_year", "expired")
    cvv = cvv.strip()
    if not (len(cvv) == 3 and cvv.isascii() and cvv.isdigit()):
        raise CardError("cvv", "invalid_cvv")
    return Card(digits, int(month), full_year, cvv_entered=True)
