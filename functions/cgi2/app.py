"""CGI2: the bank's confirmation (POST /confirmation) — verify the seal, store the result, acknowledge.

``cdr=0`` is answered only once the confirmation is durably written; if the store fails the answer is
an error status, so the bank alerts the merchant, and the confirmation (without card data) is logged
for replay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config
from orders.exceptions import ConfigurationError
from orders.http import BadRequest, body_bytes, text_response
from orders.service import readable, receive_confirmation, redacted
from sealing import SEAL_REFUSED

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        body = body_bytes(event)
    except BadRequest:
        logger.warning("confirmation body is not valid base64")
        return text_response(200, SEAL_REFUSED.body, SEAL_REFUSED.headers)
    try:
        terminals = config.load_terminals()
    except ConfigurationError as exc:
        # Without the terminals the seal cannot be checked: not cdr=0, and keep what came for a replay.
        logger.error(
            "confirmation NOT stored",
            extra={"outcome": str(exc), "verified": False, "fields": redacted(readable(body))},
        )
        metrics.add_metric(name="ConfirmationsNotStored", unit=MetricUnit.Count, value=1)
        return text_response(503, "configuration unavailable\n", {"Content-Type": "text/plain"})
    try:
        receipt = receive_confirmation(body, terminals, config.order_store(), datetime.now(UTC))
    except Exception as exc:  # any surprise: never cdr=0, never lost
        logger.exception(
            "confirmation NOT stored",
            extra={"outcome": repr(exc), "verified": False, "fields": redacted(readable(body))},
        )
        metrics.add_metric(name="ConfirmationsNotStored", unit=MetricUnit.Count, value=1)
        return text_response(503, "internal error\n", {"Content-Type": "text/plain"})
    logger.append_keys(reference=receipt.reference, tpe=receipt.tpe)
    if receipt.status_code != 200:
        # Nothing was stored: keep everything needed to replay it, never card data.
        logger.error(
            "confirmation NOT stored",
            extra={"outcome": receipt.outcome, "verified": True, "fields": redacted(receipt.unsaved)},
        )
        metrics.add_metric(name="ConfirmationsNotStored", unit=MetricUnit.Count, value=1)
        return text_response(receipt.status_code, "store unavailable\n", {"Content-Type": "text/plain"})
    intact = receipt.acknowledgement.intact
    if not intact and receipt.tpe and receipt.tpe not in terminals:
        # A terminal missing from the configuration: its confirmations must not vanish silently.
        logger.error("confirmation of an unconfigured terminal", extra={"fields": redacted(readable(body))})
    (logger.info if intact else logger.warning)("confirmation handled", extra={"outcome": receipt.outcome})
    metrics.add_metric(name="Confirmations" if intact else "ConfirmationsRejected", unit=MetricUnit.Count, value=1)
    ack = receipt.acknowledgement
    return text_response(200, ack.body, ack.headers)
