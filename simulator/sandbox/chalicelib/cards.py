"""Test cards and the checks the bank makes before asking for an authorisation.

| card number        | brand | at the order                    | any later authorisation            |
|--------------------|-------|---------------------------------|------------------------------------|
| 4111111111111111   | VI    | accepted                        | granted                            |
| 5555555555554444   | MC    | accepted                        | granted                            |
| 4970100000000006   | CB    | accepted                        | granted                            |
| 378282246310005    | AM    | accepted (American Express terminals only) | granted                 |
| 4000000000000119   | VI    | accepted (registered)           | refused, ``Refus``                 |
| 4000000000000002   | VI    | refused, ``Refus``              | -                                  |
| 4000000000000069   | VI    | refused, ``Interdit`` (opposition) | -                               |
| any other valid    | by its first digits | refused, ``Refus``  | -                                  |

"Later" is what the bank asks after the order: each validation of a deferred authorisation, each later
instalment of a split payment. Before any of that: the number passes Luhn, the expiry date is not past, and the
visual cryptogram, which is optional (the bank's words: "éventuellement"), has 3 digits (4 for American Express)
when given. American Express is taken only on a terminal whose contract includes it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from .exceptions import CardError

ACCEPTED_VISA = "4111111111111111"
ACCEPTED_MASTERCARD = "5555555555554444"
ACCEPTED_CB = "4970100000000006"
ACCEPTED_AMEX = "378282246310005"
REFUSED_LATER = "4000000000000119"
REFUSED = "4000000000000002"
STOLEN = "4000000000000069"
AMEX = "AM"


@dataclass(frozen=True)
class TestCard:
    brand: str
    refusal: str = ""  # at the order; "" accepted
    later_refusal: str = ""  # at any authorisation asked after the order; "" granted


TEST_CARDS: dict[str, TestCard] = {
    ACCEPTED_VISA: TestCard("VI"),
    ACCEPTED_MASTERCARD: TestCard("MC"),
    ACCEPTED_CB: TestCard("CB"),
    ACCEPTED_AMEX: TestCard(AMEX),
    REFUSED_LATER: TestCard("VI", later_refusal="Refus"),
    REFUSED: TestCard("VI", refusal="Refus"),
    STOLEN: TestCard("VI", refusal="Interdit"),
}
_DIGITS = re.compile(r"[0-9]{12,19}")


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
    """The protocol's ``brand``: VI, MC, AM or CB (a national card), from the test card or the first digits."""
    known = TEST_CARDS.get(number)
    if known is not None:
        return known.brand
    if number.startswith("4"):
        return "VI"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "MC"
    if number[:2] in {"34", "37"}:
        return AMEX
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
        """The refusal reason for this card at the order, or "" when the authorisation is granted."""
        known = TEST_CARDS.get(self.number)
        return known.refusal if known is not None else "Refus"

    @property
    def later_refusal(self) -> str:
        """What the card's bank answers to an authorisation asked after the order ("" granted)."""
        known = TEST_CARDS.get(self.number)
        return known.later_refusal if known is not None else ""


def read_card(number: str, month: str, year: str, cvv: str, today: date, *, american_express: bool = False) -> Card:
    """The card the buyer typed, checked: Luhn, a brand the terminal takes, expiry not past, the cryptogram's
    length when one is given. ``CardError`` otherwise."""
    digits = "".join(number.split()).replace("-", "")
    if not _DIGITS.fullmatch(digits) or not luhn_ok(digits):
        raise CardError("card_number", "invalid_number")
    if brand(digits) == AMEX and not american_express:
        raise CardError("card_number", "brand_not_accepted")
    month, year = month.strip(), year.strip()
    if not (month.isascii() and month.isdigit() and 1 <= int(month) <= 12):
        raise CardError("expiry_month", "invalid_expiry")
    if not (year.isascii() and year.isdigit() and len(year) in (2, 4)):
        raise CardError("expiry_year", "invalid_expiry")
    full_year = int(year) + (2000 if len(year) == 2 else 0)
    if (full_year, int(month)) < (today.year, today.month):
        raise CardError("expiry_year", "expired")
    cvv = cvv.strip()
    length = 4 if brand(digits) == AMEX else 3
    if cvv and not (len(cvv) == length and cvv.isascii() and cvv.isdigit()):
        raise CardError("cvv", "invalid_cid" if length == 4 else "invalid_cvv")
    return Card(digits, int(month), full_year, cvv_entered=bool(cvv))
