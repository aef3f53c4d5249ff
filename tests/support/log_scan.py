"""What the suite's logs may never hold: the merchant keys, shop keys, card numbers and CVVs the tests use.

tests/conftest.py scans every test's captured output (stdout, stderr and log records, of every phase) and fails
the test that printed one. A failing test's own report is left alone: an assertion may quote what it compared.
"""

from __future__ import annotations

import re

from tests.support.aws import TEST_KEY

KEYS = (
    TEST_KEY,
    "1234567890123456789012345678901234567890",  # the test key, decoded
    "ABCDEF0123456789ABCDEF0123456789ABCDEF01",  # the rotated key of tests/functional/test_faults.py
)
CARD_NUMBERS = (
    "4111111111111111", "4111111111111112", "4000000000000002", "4000000000000069", "5555555555554444",
    "5105105105105100", "4012888888881881",
)  # fmt: skip
# A shop key (orders.keys): any, not only the tests' own; "mk_test_…" (an ellipsis) in a message is not one.
SHOP_KEY = re.compile(r"mk_(test|live)_[A-Za-z0-9_]{8,}")
# A CVV is three or four digits after its name: cvx=oui (the protocol's "was a CVV entered") is not one.
CVV = re.compile(r"(?i)\b(?:cvv|cvc|cvx|cryptogram(?:me)?)\b\W{1,4}\d{3,4}\b")


def leaks(text: str) -> list[str]:
    """What ``text`` holds that no log may: each as a short label, never the secret itself."""
    found = [f"merchant key {key[:4]}..." for key in KEYS if key.lower() in text.lower()]
    found += [f"shop key mk_{match.group(1)}_..." for match in SHOP_KEY.finditer(text)][:1]
    found += [f"card number {number[:6]}..." for number in CARD_NUMBERS if number in text]
    found += ["a CVV" for _ in CVV.finditer(text)][:1]
    return found
