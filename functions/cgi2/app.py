"""CGI2: the bank's confirmation (POST /confirmation) — verify the seal, store the result, acknowledge.

``cdr=0`` is answered only once the confirmation is durable: written on its order, or, when the orders table
fails, its exact bytes on the encrypted confirmation queue (a consumer checks the seal again and applies it).
If neither holds it, the answer is an error status, so the bank keeps the payment and alerts the merchant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from orders.confirmation_queue import QueuedConfirmation
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ConfigurationError, InvalidOrderError, OrdersError
from orders.payment import ConfirmationKind, Receipt, receive_confirmation
from orders.web.http import body_bytes, text_response
from orders.web.resolver import api_handler, resolver, response

logger = Logger()
metrics = Metrics()


@dataclass(frozen=True)
class Answer:
    """How CGI2 answers one kind of outcome: the bank's acknowledgement, the metric, the log level."""

    metric: str
    level: str


# Every outcome the service can report, and what it means for the bank, the metrics and the log.
ANSWERS: dict[ConfirmationKind, Answer] = {
    ConfirmationKind.APPLIED: Answer("Confirmations", "info"),
    ConfirmationKind.REPLAY: Answer("ConfirmationReplays", "info"),
    ConfirmationKind.UNMATCHED: Answer("ConfirmationsUnmatched", "warning"),
    ConfirmationKind.REJECTED: Answer("ConfirmationsRejected", "warning"),
}
NOT_STORED = {"Content-Type": "text/plain"}


def _queue(deps: Dependencies, body: bytes, receipt: Receipt, now: datetime) -> dict[str, Any]:
    """The store failed: the exact bytes go on the queue; ``cdr=0`` only if they are there and were sealed."""
    try:
        message_id = deps.confirmation_queue().put(QueuedConfirmation(body, now, logger.get_correlation_id() or ""))
    except (OrdersError, ConfigurationError) as exc:  # the queue failed, or no queue is configured
        logger.error("confirmation NOT stored", extra={"detail": receipt.detail, "queue": str(exc)})
        metrics.add_metric(name="ConfirmationsNotStored", unit=MetricUnit.Count, value=1)
        return text_response(503, "not stored\n", NOT_STORED)
    logger.warning("confirmation queued", extra={"detail": receipt.detail, "message_id": message_id})
    metrics.add_metric(name="ConfirmationsQueued", unit=MetricUnit.Count, value=1)
    if not receipt.sealed:  # queued, but its seal is not checked yet: the bank may not be told it is intact
        return text_response(503, "queued, seal not checked yet\n", NOT_STORED)
    return text_response(200, receipt.acknowledgement.body, receipt.acknowledgement.headers)


def _received(deps: Dependencies, event: dict[str, Any], now: datetime) -> tuple[bytes, Receipt]:
    """The exact bytes posted, and what became of them (never an exception: the bytes must not be lost)."""
    try:
        body = body_bytes(event)
    except InvalidOrderError:
        return b"", Receipt(ConfirmationKind.REJECTED, "the body is not valid base64")
    try:
        return body, receive_confirmation(body, deps.terminals, deps.store, now, read_again=deps.terminals_read_again)
    except Exception as exc:  # a surprise: never cdr=0 for it, never lose the bytes
        logger.exception("confirmation failed")
        return body, Receipt(ConfirmationKind.NOT_STORED, f"unexpected {type(exc).__name__}")


def _answer(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    """The bank's answer: its acknowledgement once the confirmation is durable, an error status otherwise."""
    now = deps.clock()
    body, receipt = _received(deps, event, now)
    logger.append_keys(reference=receipt.order_reference, bank_reference=receipt.reference, tpe=receipt.tpe)
    if receipt.kind is ConfirmationKind.NOT_STORED:
        return _queue(deps, body, receipt, now)
    answer = ANSWERS[receipt.kind]
    extra = {"kind": receipt.kind.value, "detail": receipt.detail}
    if receipt.previous_key:  # a rotation under way: the bank still seals with the terminal's previous key
        extra["sealed_with"] = "previous_key"
    getattr(logger, answer.level)("confirmation handled", extra=extra)
    metrics.add_metric(name=answer.metric, unit=MetricUnit.Count, value=1)
    if receipt.reviews:
        metrics.add_metric(name="OrdersNeedingReview", unit=MetricUnit.Count, value=1)
    return text_response(200, receipt.acknowledgement.body, receipt.acknowledgement.headers)


def create_handler(deps: Dependencies) -> Handler:
    """CGI2's handler on ``deps``."""
    app = resolver(logger, metrics)

    @app.post("/confirmation")
    def confirmation() -> Response[str]:
        return response(_answer(deps, app.current_event.raw_event))

    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
