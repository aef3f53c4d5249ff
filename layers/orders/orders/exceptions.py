"""Errors of the orders layer.

OrdersError
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
├── MailRejectedError           SES refused a mail for good (its recipient, its address): never sent
├── ReportUnavailableError      S3 did not keep (or give) a reconciliation report or file
├── ShopKeyRefusedError         a shop key refused: malformed or unknown, revoked, expired, other environment (401)
├── ShopKeyScopeError           a shop key whose scope does not cover the route (403)
├── ShopKeyNotFoundError        no shop key with that id (404)
├── SignInRefusedError          a console user not signed in: Cognito refused, or the user has no role (``.reason``)
└── BankError                   the bank did not do what was asked (502)
    ├── BankRefusedError        it answered and refused: nothing happened
    └── BankUnavailableError    no usable answer: whether it happened is unknown (checked before anything else)

Each error says how an API answers it: ``status`` (HTTP), ``field`` (which one, when there is one), ``answer``
(what the caller is told, when not the error's own text), and what the function logs (``log``, at
``log_level``) and counts (``metric``) when it happens, so a handler needs one ``except OrdersError``
(``orders.web.errors``). ``InvalidOrderError`` is a ``sealing.FieldError``: "which field" is read one way.

A configuration that cannot be used (the terminal secret, the mail settings, a variable of the function) is
``sealing.ConfigurationError``, the one class for the protocol's settings and the kit's, named here too: its message
names the setting (``terminals.<TPE>.<name>``, or the variable); an API answers it 500 without repeating it
(``orders.web.errors``).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar

from sealing import ConfigurationError as ConfigurationError
from sealing import FieldError

if TYPE_CHECKING:
    from .model import Order


class OrdersError(Exception):
    """Base of the orders layer's errors."""

    status: ClassVar[int] = 500
    field: str | None = None
    log: ClassVar[str | None] = None  # None: nothing to log (the caller's mistake, answered)
    log_level: ClassVar[str] = "warning"  # or "error", or "exception" (with the traceback)
    metric: ClassVar[str | None] = None

    def answer(self) -> str:
        """What an API tells its caller: the error's own text unless it holds what only the log may."""
        return str(self)


class UnknownTerminalError(OrdersError, LookupError):
    log = "order of an unconfigured terminal"
    log_level = "error"

    def __init__(self, tpe: str) -> None:
        super().__init__(f"no terminal {tpe!r} is configured")
        self.tpe = tpe

    def answer(self) -> str:
        return "the order's terminal is not configured"


class InvalidOrderError(FieldError, OrdersError):  # type: ignore[misc]  # its field is never None
    """A field of a request is not acceptable; ``field`` names it (``body`` for the body as a whole)."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        if not field:  # a JSON key may be "": the answer must still name something the caller can find
            field, message = "body", f'has a field with an empty name (""), which {message.removeprefix("is ")}'
        super().__init__(field, message)


class BooksTooLargeError(InvalidOrderError):
    """A day's books read too many orders for one export file: an export is complete or is not made."""

    def __init__(self, day: date, most_reads: int) -> None:
        super().__init__(
            "format",
            f"the books of {day.isoformat()} read more than {most_reads} orders, too many for one file: "
            "read them as JSON, page by page (cursor)",
        )


class OrderNotFoundError(OrdersError, LookupError):
    status = 404
    field = "reference"

    def __init__(self, reference: str) -> None:
        super().__init__(f"no order {reference!r}")
        self.reference = reference


class TransitionNotAllowedError(OrdersError):
    """The order's current state does not allow what was asked."""

    status = 409

    def __init__(self, reference: str, state: str, event: str, detail: str = "") -> None:
        message = f"order {reference} is {state}: {event} is not allowed"
        super().__init__(message + (f" ({detail})" if detail else ""))
        self.reference = reference
        self.state = state
        self.event = event


class OperationInProgressError(OrdersError):
    """Another back-office operation on this order is under way (its journal entry is still fresh)."""

    status = 409

    def __init__(self, reference: str, event: str) -> None:
        super().__init__(f"order {reference}: a {event} is in progress, try again in a few minutes")
        self.reference = reference


class PreviousOperationAppliedError(OrdersError):
    """An operation whose outcome was unknown turned out applied; the new request was not carried out."""

    status = 409

    def __init__(self, reference: str, event: str, amount: str) -> None:
        super().__init__(
            f"order {reference}: the earlier {event} of {amount}, whose answer was lost, was found applied at the "
            "bank; nothing else was done (send the request again to do another, or use an Idempotency-Key)"
        )
        self.reference = reference


class BankStateDifferedError(OrdersError):
    """The bank refused an operation because the order is not where its books say: what the bank shows was done
    (in its dashboard, or at the end of the period) is now recorded on the order; nothing else was done."""

    status = 409
    log = "the bank's state differed; recorded what it shows"
    metric = "BankStateDiffered"

    def __init__(self, reference: str, event: str, refusal: str, found: str) -> None:
        super().__init__(
            f"order {reference}: the bank refused the {event} ({refusal}); its status shows {found} done outside "
            "this API, which is now recorded on the order; nothing else was done: read the order before deciding"
        )
        self.reference = reference


class IdempotencyKeyInUseError(OrdersError):
    """The first request sent with this ``Idempotency-Key`` is still being carried out."""

    status = 409

    def __init__(self, key: str) -> None:
        super().__init__(f"the request sent with Idempotency-Key {key!r} is still in progress; retry in a moment")
        self.field = "Idempotency-Key"


class IdempotencyKeyReusedError(OrdersError):
    """This ``Idempotency-Key`` was sent with another request (another order, operation or body)."""

    status = 422

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

    status = 409

    def __init__(self, message: str, current: Order | None = None) -> None:
        super().__init__(message)
        self.current = current

    def answer(self) -> str:
        return "the order changed meanwhile; read it again before deciding"


class StoreUnavailableError(OrdersError):
    """DynamoDB did not take the write (throttled, unavailable, denied): nothing is known to be stored."""

    status = 503
    log_level = "exception"

    log = "the orders table is unavailable"

    def answer(self) -> str:
        return "the order store is unavailable, try again"


class QueueUnavailableError(OrdersError):
    """The confirmation queue did not take a message: nothing is known to be queued."""

    status = 503
    log_level = "exception"
    log = "the confirmation queue is unavailable"


class EventsUnavailableError(OrdersError):
    """EventBridge did not take every event of a batch: the batch is published again (event ids repeat)."""

    status = 503
    log_level = "exception"
    log = "the event bus is unavailable"


class MailUnavailableError(OrdersError):
    """SES did not take a mail (throttled, unverified sender, unavailable): nothing is known to be sent."""

    status = 503
    log_level = "exception"
    log = "the mail service is unavailable"


class MailRejectedError(OrdersError):
    """SES refused a mail for good: its recipient or address (``MessageRejected``, ``InvalidParameterValue``), not
    the sender's configuration. Sending it again would be refused again: it is recorded, not retried."""

    status = 502
    log_level = "error"
    log = "the mail service rejected a mail for good"


class ReportUnavailableError(OrdersError):
    """S3 did not keep a reconciliation report, or give the bank's file to import."""

    status = 503
    log_level = "exception"
    log = "the reports bucket is unavailable"


class ShopKeyRefusedError(OrdersError):
    """A shop key the API does not take; the message says why (malformed or unknown, revoked, expired, the other
    environment's) and never whether a key of that id exists: only a caller holding the whole key learns that it
    was revoked or has expired."""

    status = 401
    field = "Authorization"


class ShopKeyScopeError(OrdersError):
    """A shop key whose scope does not cover the route called; the message names the scope needed."""

    status = 403
    field = "Authorization"

    def __init__(self, scope: str, allowed: tuple[str, ...], route: str) -> None:
        needs = f"a {' or '.join(allowed)} key" if allowed else "a SigV4 (IAM) caller: no key"
        super().__init__(f"this key's scope is {scope}; {route} needs {needs}")
        self.scope = scope
        self.allowed = allowed


class ShopKeyNotFoundError(OrdersError, LookupError):
    status = 404
    field = "id"

    def __init__(self, key_id: str) -> None:
        super().__init__(f"no shop key {key_id!r}")
        self.key_id = key_id


class SignInRefusedError(OrdersError):
    """A console user not signed in, or no longer allowed: ``reason`` says why in a word the console translates
    (``credentials``: wrong password or unknown user, never told apart; ``too_many``; ``expired``: the sign-in took
    too long or the code expired; ``code``: a wrong MFA code; ``password_policy``; ``reset_required``;
    ``disabled``; ``no_role``: in neither group; ``unsupported``; ``unavailable``: Cognito did not answer)."""

    status = 401

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"sign-in refused ({reason}): {detail}")
        self.reason = reason


class BankError(OrdersError):
    """The bank did not do what was asked (refused, or answered an error)."""

    status = 502
    log = "the bank refused"

    def __init__(self, operation: str, message: str, code: int | None = None) -> None:
        super().__init__(f"{operation}: {message}")
        self.operation = operation
        self.code = code

    def answer(self) -> str:
        return f"the bank refused: {self}"


class BankRefusedError(BankError):
    """The bank answered and refused the operation: nothing happened."""


class BankUnavailableError(BankError):
    """No usable answer (timeout, network, garbage): whether the operation happened is unknown."""

    log = "the bank's answer is unknown"
    metric = "BankUnavailable"

    def answer(self) -> str:
        return f"{self}; the outcome will be checked with the bank before anything else is done to this order"
