"""Errors raised by the sealing library.

Every error the library raises is a ``SealingError``; each names the field at fault when there is one::

    SealingError (ValueError)
    ├── InvalidKeyError           the merchant key cannot be decoded
    ├── FieldError                a value to send or a value received is not acceptable (``.field``)
    │   └── MissingFieldError     a required field is absent
    ├── MalformedMessageError     a body from the bank cannot be read at all
    ├── BankAnswerError           the bank answered an error instead of what was asked (``.cdr``, ``.label``)
    ├── ConfigurationError        a terminal's configuration is unusable (names the setting)
    └── SealMismatchError         the MAC does not match the data (``.sealed``)

None of them ever carries the merchant key.
"""

from __future__ import annotations

from typing import Any


class SealingError(ValueError):
    """Base of every error raised by the sealing library."""


class InvalidKeyError(SealingError):
    """The merchant key is not a key the bank could have issued."""


class FieldError(SealingError):
    """A field value is not acceptable; ``field`` names the field (wire name or order attribute)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class MissingFieldError(FieldError):
    """A required field is absent."""

    def __init__(self, field: str) -> None:
        super().__init__(field, "is required")


class MalformedMessageError(SealingError):
    """A message received from the bank cannot be parsed."""


class BankAnswerError(SealingError):
    """The bank read the request and answered an error (``cdr`` and its ``lib``) instead of what was asked."""

    def __init__(self, cdr: str, label: str) -> None:
        super().__init__(f"the bank answered an error: cdr={cdr}" + (f" ({label})" if label else ""))
        self.cdr = cdr
        self.label = label


class SealMismatchError(SealingError):
    """The MAC received does not seal the data received.

    ``sealed`` is the exact string that was sealed, to compare with the bank's. The error never carries
    the MAC this side would compute: a caller that logs or returns it would hand a valid seal for data an
    attacker chose (the command line computes it, for the merchant who holds the key).
    """

    def __init__(self, sealed: bytes, received: str) -> None:
        super().__init__("the MAC does not match the fields received")
        self.sealed = sealed
        self.received = received


class ConfigurationError(SealingError):
    """A terminal's configuration is unusable; the message names the setting (``terminals.<TPE>.<name>``)."""


SHOWN_VALUE_CHARS = 24


def shown(value: Any) -> str:
    """A configured value as an error may repeat it: a short one, or a URL, quoted; anything longer only by its
    length. A merchant key pasted into the wrong setting is 40 characters or more, and the message is logged."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= SHOWN_VALUE_CHARS or (isinstance(value, str) and "://" in value):
        return repr(value)
    return f"a value of {len(text)} characters (not repeated here)"
