"""One use case for the back-office operations — capture, cancel, refund — whoever asks: the API's routes
(``POST /orders/{reference}/capture``...) and the merchant's console both call ``operate``.

A request names the operation, the order, the amount as the merchant wrote it (``None``: everything), who asks
(the actor its journal records) and, optionally, an ``Idempotency-Key``. With a key, the answer is kept for the
key's lifetime (``orders.idempotency``): the same request sent again answers what the first one did, and the bank
is called once. The answer is the API's response (status code and JSON body: the order, or
``{"error": {"message", "field"}}``), the one a key keeps and replays, with what a caller needs to say it in words:
the error the operation ended with this time, and how it ended (``Outcome``).
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from sealing import FieldError, check_reference

from ..actors import Actor
from ..amounts import plan_cancel, plan_capture, plan_refund, refundable, remaining
from ..backoffice import BackOffice
from ..dependencies import Dependencies
from ..exceptions import (
    BankRefusedError,
    BankStateDifferedError,
    BankUnavailableError,
    IdempotencyKeyInUseError,
    IdempotencyKeyReusedError,
    InvalidOrderError,
    OperationInProgressError,
    OrderNotFoundError,
    PreviousOperationAppliedError,
    StoreUnavailableError,
    TransitionNotAllowedError,
    UnknownTerminalError,
)
from ..idempotency import IdempotencyKeys, Keep, fingerprint
from ..model import Order, OrderStatus
from . import errors
from .http import json_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger, Metrics

OPERATIONS = ("capture", "cancel", "refund")
# Which operations take an amount (the others act on what remains).
TAKES_AMOUNT = frozenset({"capture", "refund"})
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
# What an operation's answer says where the API's general answer would mislead: after a store failure the bank
# may have done it (the order's journal settles it before anything else), and any terminal missing is a
# configuration to repair.
MESSAGES: errors.Messages = {
    StoreUnavailableError: (
        "the order store is unavailable; read the order before retrying (an open operation is settled first)"
    ),
    UnknownTerminalError: "the terminal configuration is unusable; see the function's log",
}
# A request that ended this way has a definitive answer, replayed to every retry with its Idempotency-Key.
# "The earlier one was found applied" is one too: a retry with this key must not then do it.
DEFINITIVE = (BankRefusedError, TransitionNotAllowedError, BankStateDifferedError, PreviousOperationAppliedError)
# One that ended this way changed nothing: its key may be sent again, with a corrected request.
NOTHING_DONE = (FieldError, OrderNotFoundError)  # InvalidOrderError is a FieldError
# One that ended this way may have been done, or is being done: the order, read again, tells.
UNKNOWN = (StoreUnavailableError, BankUnavailableError, OperationInProgressError, IdempotencyKeyInUseError)


class Outcome(enum.Enum):
    """How a request ended, for a person reading the answer."""

    DONE = "done"  # done now
    ANSWERED_BEFORE = "answered_before"  # the request was sent before with this key: its first answer again
    REFUSED = "refused"  # the bank refused it, or the order's state does not allow it: nothing was done
    STATE_DIFFERED = "state_differed"  # the bank had done something else (its dashboard): recorded, nothing done
    UNKNOWN = "unknown"  # whether it was done is not known yet: read the order again before anything else
    INVALID = "invalid"  # the request itself is wrong (a field, the key): nothing was done


@dataclass(frozen=True)
class OperationRequest:
    """``operation`` (one of ``OPERATIONS``) on the order ``reference``, ``amount`` as the merchant wrote it in the
    order's currency (``None``: everything that remains, or is refundable), asked by ``actor``."""

    operation: str
    reference: str
    amount: str | None
    actor: Actor
    key: str | None = None

    def fingerprint(self) -> str:
        """The request as its key remembers it: the API's ``POST /orders/{reference}/{operation}`` with its JSON
        body, so that the same request made from the API or the console is one request."""
        body = {"amount": self.amount} if self.amount is not None else {}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        return fingerprint("POST", f"/orders/{self.reference}/{self.operation}", canonical)


@dataclass(frozen=True)
class OperationAnswer:
    """The API's response to the request (what a key keeps), and the error it ended with this time (``None``:
    done, or the answer kept for its key)."""

    response: dict[str, Any]
    error: errors.ApiError | None = None

    @property
    def status(self) -> int:
        return int(self.response["statusCode"])

    @property
    def replayed(self) -> bool:
        return bool(self.response.get("headers", {}).get("Idempotent-Replayed") == "true")

    @property
    def message(self) -> str:
        """The error's message as the API answers it (empty when done)."""
        if self.status == 200:
            return ""
        return str(json.loads(self.response["body"])["error"]["message"])

    @property
    def outcome(self) -> Outcome:
        if self.replayed:
            return Outcome.ANSWERED_BEFORE
        if self.error is None:
            return Outcome.DONE
        return _outcome(self.error)


def _outcome(error: errors.ApiError) -> Outcome:
    if isinstance(error, BankStateDifferedError | PreviousOperationAppliedError):
        return Outcome.STATE_DIFFERED
    if isinstance(error, BankRefusedError | TransitionNotAllowedError):
        return Outcome.REFUSED
    if isinstance(error, FieldError | IdempotencyKeyReusedError | OrderNotFoundError):
        return Outcome.INVALID
    return Outcome.UNKNOWN  # UNKNOWN's errors, and whatever else the store or the configuration said


def check_request(operation: str, reference: str, key: str | None) -> None:
    """What is refused before anything is read: an operation not known, a reference no order can have (404: no
    order has another form, and DynamoDB would refuse an oversized key as if it were down), a malformed key."""
    if operation not in OPERATIONS:
        raise InvalidOrderError("operation", f"{operation!r} is not one of {', '.join(OPERATIONS)}")
    try:
        check_reference(reference)
    except FieldError:
        raise OrderNotFoundError(reference[:40]) from None
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidOrderError("Idempotency-Key", "must be 8 to 64 letters, digits, '-' or '_'")


@dataclass(frozen=True)
class Offer:
    """An operation the order's state allows now: up to ``most`` (what remains, or is refundable), in part or not."""

    operation: str
    most: Decimal
    in_part: bool


def offers(order: Order) -> list[Offer]:
    """The operations the order allows now, as the operations themselves decide (``orders.amounts``' plans)."""
    found = []
    for operation, plan, most in (
        ("capture", plan_capture, remaining),
        ("cancel", plan_cancel, remaining),
        ("refund", plan_refund, refundable),
    ):
        try:
            plan(order)
        except TransitionNotAllowedError:
            continue
        # A deferred payment is captured in full (or cancelled); a deferred authorisation in parts.
        in_part = operation == "refund" or (operation == "capture" and order.status is not OrderStatus.AUTHORIZED)
        found.append(Offer(operation, most(order), in_part))
    return found


def _run(office: BackOffice, request: OperationRequest, now: datetime) -> Order:
    reference, actor, key = request.reference, request.actor, request.key
    if request.operation == "capture":
        return office.capture(reference, request.amount, now, actor, key)
    if request.operation == "refund":
        return office.refund(reference, request.amount, now, actor, key)
    if request.amount is not None:  # what remains is cancelled; an amount must not cancel anything
        raise InvalidOrderError("amount", "is not a field of this operation, which takes none")
    return office.cancel(reference, now, actor, key)


def operate(deps: Dependencies, request: OperationRequest, logger: Logger, metrics: Metrics) -> OperationAnswer:
    """Carry out ``request`` once (with its key: once whatever is sent again), and answer it.

    An error of the orders layer is answered, never raised (it is logged and counted as its class says); anything
    else is the caller's unexpected error.
    """
    failed: list[errors.ApiError] = []

    def answered(attempt: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], Keep]:
        """``attempt``'s response, or the API's answer to its error, and what its key keeps of it."""
        try:
            return attempt(), Keep.ANSWER
        except errors.API_ERRORS as exc:
            failed.append(exc)
            answer = errors.answer(exc, logger, metrics, MESSAGES)
            if isinstance(exc, NOTHING_DONE):
                return answer, Keep.NOTHING
            return answer, Keep.ANSWER if isinstance(exc, DEFINITIVE) else Keep.RETRY

    try:
        check_request(request.operation, request.reference, request.key)
    except errors.API_ERRORS as exc:
        return OperationAnswer(errors.answer(exc, logger, metrics, MESSAGES), exc)
    logger.append_keys(reference=request.reference)
    now = deps.clock()

    def attempt(retry: bool = True) -> dict[str, Any]:
        # A key's first request (retry False) may find nothing done under that key before.
        office = BackOffice(deps.store, deps.terminals, deps.bank_client, fresh_key=not retry)
        order = _run(office, request, now)
        logger.info("back-office operation done", extra={"status": order.status.value})
        metrics.add_metric(name="BackOfficeOperations", unit=MetricUnit.Count, value=1)
        return json_response(200, order.as_json())

    if request.key is None:
        response, _ = answered(attempt)
    else:
        keys = IdempotencyKeys(deps.store)
        try:
            response = keys.run(request.key, request.fingerprint(), now, lambda retry: answered(lambda: attempt(retry)))
        except errors.API_ERRORS as exc:  # the key itself: in use by another request, or sent with another one
            failed.append(exc)
            response = errors.answer(exc, logger, metrics, MESSAGES)
    return OperationAnswer(response, failed[-1] if failed else None)
