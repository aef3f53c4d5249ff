"""Errors of the orders layer.

OrdersError
├── ConfigurationError          the terminal configuration is unusable (names the terminal and setting)
├── UnknownTerminalError        no terminal with that TPE is configured
├── InvalidOrderError (ValueError)   an order request has a bad field (``.field``)
├── OrderNotFoundError          no order with that reference
├── TransitionNotAllowedError   the order's state does not allow the operation
├── OperationInProgressError    another operation on the order is under way
├── PreviousOperationAppliedError   an earlier operation whose answer was lost turned out applied
├── BankStateDifferedError      the bank refused: its state differs (recorded as done outside the API)
├── IdempotencyKeyInUseError    the key's first request is still in flight
├── IdempotencyKeyReusedError   the key came with another request
├── ConcurrentUpdateError       another writer changed the order first
├── StoreUnavailableError       DynamoDB failed: nothing is known to be written
├── QueueUnavailableError       SQS did not take a confirmation: nothing is known to be queued
├── EventsUnavailableError      EventBridge did not take every event: publish them again
├── MailUnavailableError        SES did not take a mail: nothing is known to be sent
└── ReportUnavailableError      S3 did not keep (or give) a reconciliation report or file
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Order


class OrdersError(Exception):
    """Base of the orders layer's errors."""


class ConfigurationError(OrdersError):
    """The terminal configuration cannot be used."""


class UnknownTerminalError(OrdersError, LookupError):
    def __init__(self, tpe: str) -> None:
        super().__init__(f"no terminal {tpe!r} is configured")
        self.tpe = tpe


class InvalidOrderError(OrdersError, ValueError):
    """A field of an order request is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        if not field:  # a JSON key may be "": the answer must still name something the caller can find
            field, message = "body", f'has a field with an empty name (""), which {message.removeprefix("is ")}'
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class OrderNotFoundError(OrdersError, LookupError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"no order {reference!r}")
        self.reference = reference


class TransitionNotAllowedError(OrdersError):
    """The order's current state does not allow what was asked."""

    def __init__(self, reference: str, state: str, event: str, detail: str = "") -> None:
        message = f"order {reference} is {state}: {event} is not allowed"
        super().__init__(message + (f" ({detail})" if detail else ""))
        self.reference = reference
        self.state = state
        self.event = event


class OperationInProgressError(OrdersError):
    """Another back-office operation on this order is under way (its journal entry is still fresh)."""

    def __init__(self, reference: str, event: str) -> None:
        super().__init__(f"order {reference}: a {event} is in progress, try again in a few minutes")
        self.reference = reference


class PreviousOperationAppliedError(OrdersError):
    """An operation whose outcome was unknown turned out applied; the new request was not carried out."""

    def __init__(self, reference: str, event: str, amount: str) -> None:
        super().__init__(
            f"order {reference}: the earlier {event} of {amount}, whose answer was lost, was found applied at the "
            "bank; nothing else was done (send the request again to do another, or use an Idempotency-Key)"
        )
        self.reference = reference


class BankStateDifferedError(OrdersError):
    """The bank refused an operation because the order is not where its books say: what the bank shows was done
    (in its dashboard, or at the end of the period) is now recorded on the order; nothing else was done."""

    def __init__(self, reference: str, event: str, refusal: str, found: str) -> None:
        super().__init__(
            f"order {reference}: the bank refused the {event} ({refusal}); its status shows {found} done outside "
            "this API, which is now recorded on the order; nothing else was done: read the order before deciding"
        )
        self.reference = reference


class IdempotencyKeyInUseError(OrdersError):
    """The first request sent with this ``Idempotency-Key`` is still being carried out."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the request sent with Idempotency-Key {key!r} is still in progress; retry in a moment")
        self.field = "Idempotency-Key"


class IdempotencyKeyReusedError(OrdersError):
    """This ``Idempotency-Key`` was sent with another request (another order, operation or body)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was first sent with another request (order, operation or body); "
            "use a new key for a new request"
        )
        self.field = "Idempotency-Key"


class ConcurrentUpdateError(OrdersError):
    """The conditional write lost against another writer.

    ``current`` is the item as the failed write found it, when the write asked for it back
    (``ReturnValuesOnConditionCheckFailure``): the caller decides again from it without reading.
    """

    def __init__(self, message: str, current: Order | None = None) -> None:
        super().__init__(message)
        self.current = current


class StoreUnavailableError(OrdersError):
    """DynamoDB did not take the write (throttled, unavailable, denied): nothing is known to be stored."""


class QueueUnavailableError(OrdersError):
    """The confirmation queue did not take a message: nothing is known to be queued."""


class EventsUnavailableError(OrdersError):
    """EventBridge did not take every event of a batch: the batch is published again (event ids repeat)."""


class MailUnavailableError(OrdersError):
    """SES did not take a mail (throttled, unverified sender, unavailable): nothing is known to be sent."""


class ReportUnavailableError(OrdersError):
    """S3 did not keep a reconciliation report, or give the bank's file to import."""
