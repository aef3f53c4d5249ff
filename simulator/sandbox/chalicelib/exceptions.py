"""Errors of the sandbox bank, with the HTTP status of the page that answers them where a page does::

RequestError (sealing.FieldError)   400  the merchant's form cannot be taken (``field``): the error page
└── ClosedReference                 409  the reference is paid, cancelled or out of attempts: the buyer is told
SessionError (LookupError)          404  no payment-page session by that id
CardError (ValueError)                   the card details cannot be sent (``field``): the card page again
Refusal                                  the bank refuses a back-office operation: its answer's cdr and lib
ConcurrentChangeError (RuntimeError)     a payment kept changing under a write: the request fails
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sealing import FieldError

if TYPE_CHECKING:
    from .payment_record import Payment


class RequestError(FieldError):
    """The request cannot be taken (``field``, ``reason``): the bank shows its error page and records nothing."""

    status: ClassVar[int] = 400


class ClosedReference(RequestError):
    """The reference is one the bank takes no more: paid, cancelled, or its attempts used up. The buyer is told
    which (``message_key``, a key of the pages' messages) in the posted form's language, with the way back to
    the merchant when the form gave ``url_retour_err``."""

    status = 409

    def __init__(self, message_key: str, payment: Payment, language: str, back_url: str) -> None:
        super().__init__("reference", f"{payment.reference}: {message_key}")
        self.message_key = message_key
        self.payment = payment
        self.language = language
        self.back_url = back_url


class SessionError(LookupError):
    """No payment session by that id (unknown, replaced by a newer one, or from another sandbox)."""

    status: ClassVar[int] = 404


class CardError(ValueError):
    """The card details cannot be sent for authorisation; ``field`` names the input at fault."""

    def __init__(self, field: str, message_key: str) -> None:
        super().__init__(f"{field}: {message_key}")
        self.field = field
        self.message_key = message_key


class Refusal(Exception):
    """The bank refuses an operation: ``code`` is the answer's ``cdr``, ``label`` its ``lib``."""

    def __init__(self, code: int, label: str) -> None:
        super().__init__(label)
        self.code = code
        self.label = label


class ConcurrentChangeError(RuntimeError):
    """A payment kept changing under ``update``: ``MAX_TRIES`` writes in a row lost to other writers."""
