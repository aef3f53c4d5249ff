"""Apply the confirmations CGI2 queued when the orders table failed (SQS, partial batch responses).

Each message holds the exact bytes the bank posted. They are applied exactly as CGI2 applies a confirmation,
seal check included, so nothing unsealed can be applied this way either: with the terminal's keys as they stood
when the bank posted it (its ``previous_key`` until ``previous_key_until``), the secret read again before a seal is
called bad. A message that cannot be applied yet (the table still fails, the seal holds with no configured key)
comes back later, each time later, and ends in the dead-letter queue (with its alarm) when the queue's redrive
policy gives up.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.confirmation_queue import QueuedConfirmation, correlation_id
from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ConfigurationError, OrdersError
from orders.payment import ConfirmationKind, receive_confirmation
from orders.records import Record, batch_response

logger = Logger()
metrics = Metrics()


def _apply(deps: Dependencies, record: Record) -> bool:
    """Whether the queued confirmation is now applied (or known to be a replay, or kept as unmatched)."""
    try:
        queued = QueuedConfirmation.from_message(record["body"])
    except ValueError as exc:
        logger.error("unreadable queue message", extra={"detail": str(exc)})
        return False
    # Checked with the keys the terminal accepted when the bank's post was received (its previous key too).
    receipt = receive_confirmation(
        queued.body, deps.terminals, deps.store, queued.received_at, read_again=deps.terminals_read_again
    )
    logger.append_keys(reference=receipt.order_reference, bank_reference=receipt.reference, tpe=receipt.tpe)
    if receipt.kind in (ConfirmationKind.NOT_STORED, ConfirmationKind.REJECTED):
        # Rejected now may hold once the merchant puts the key the bank used in the secret: retry, then the dead
        # letters, never dropped.
        logger.warning(
            "queued confirmation not applied yet", extra={"kind": receipt.kind.value, "detail": receipt.detail}
        )
        return False
    logger.info("queued confirmation applied", extra={"kind": receipt.kind.value, "detail": receipt.detail})
    metrics.add_metric(name="QueuedConfirmationsApplied", unit=MetricUnit.Count, value=1)
    if receipt.reviews:
        metrics.add_metric(name="OrdersNeedingReview", unit=MetricUnit.Count, value=1)
    return True


def _retry_later(deps: Dependencies, record: Record) -> None:
    count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    try:
        deps.confirmation_queue().retry_later(record["receiptHandle"], count)
    except (OrdersError, ConfigurationError) as exc:  # it still comes back, after the queue's visibility timeout
        logger.warning("could not delay the retry", extra={"detail": str(exc)})


def _handle(deps: Dependencies, record: Record) -> bool:
    """Apply one message; one not applied comes back later, each time later."""
    logger.set_correlation_id(correlation_id(record))  # the API request CGI2 queued it in
    try:
        applied = _apply(deps, record)
    except Exception:  # the message is retried like one not applied yet
        logger.exception("queued confirmation failed")
        applied = False
    if not applied:
        metrics.add_metric(name="QueuedConfirmationsRetried", unit=MetricUnit.Count, value=1)
        _retry_later(deps, record)
    return applied


def create_handler(deps: Dependencies) -> Handler:
    """The queue consumer's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return batch_response(event, lambda record: _handle(deps, record), logger, ordered=False)

    return handler


lambda_handler = environment_handler(create_handler)
