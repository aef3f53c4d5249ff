"""An order's description (the bank kit's "Descriptif": what was bought), as the merchant API takes it.

It is the merchant's record, shown by ``GET /orders/{reference}`` and the console's list; it is not sent to
the bank (no field of the payment request can carry it safely: see the README's protocol section).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from .exceptions import InvalidOrderError

MAX_DESCRIPTION = 500


def read_description(value: Any) -> str:
    """The description as stored: any text on one line, at most ``MAX_DESCRIPTION`` characters; blank is none."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidOrderError("description", "must be a string")
    if len(value) > MAX_DESCRIPTION:
        raise InvalidOrderError("description", f"is {len(value)} characters long, at most {MAX_DESCRIPTION}")
    # Control characters (a line break, a tab) and lone surrogates would reach the console and the logs as is,
    # or fail to be stored at all.
    bad = next((char for char in value if unicodedata.category(char) in ("Cc", "Cs")), None)
    if bad is not None:
        raise InvalidOrderError("description", f"must be text on one line, without control characters ({bad!r})")
    return value.strip()
