"""CGI1: the merchant creates and reads orders; the buyer gets the sealed payment form.

POST /orders and GET /orders/{reference} (merchant, IAM). The buyer's checkout page has its own function
(functions/checkout), whose role cannot change an order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config
from orders.exceptions import (
    InvalidOrderError,
    OrderNotFoundError,
)
from orders.http import BadRequest, answer_shared_failures, api_base_url, error_response, json_body, json_response
from orders.service import create_order
from sealing import FieldError, check_reference

logger = Logger()
metrics = Metrics()


def _create(event: dict[str, Any]) -> dict[str, Any]:
    try:
        new = create_order(json_body(event), config.load_terminals(), config.order_store(), datetime.now(UTC))
    except (BadRequest, InvalidOrderError) as exc:
        return error_response(400, str(exc), exc.field)
    logger.append_keys(reference=new.order.reference)
    logger.info("order created", extra={"tpe": new.order.tpe, "amount": str(new.order.amount)})
    metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
    base = config.checkout_base_url() or api_base_url(event)
    return json_response(
        201,
        {
            "reference": new.order.reference,
            "status": new.order.status.value,
            "checkout_url": f"{base}/checkout/{new.checkout_token}",
            "form": {"action": new.form.action, "fields": dict(new.form.fields)},
        },
        headers={"Location": f"/orders/{new.order.reference}"},
    )


def _read(event: dict[str, Any]) -> dict[str, Any]:
    reference = (event.get("pathParameters") or {}).get("reference", "")
    try:
        # No order has another form; DynamoDB would refuse a key over 2048 bytes as if it were down (503).
        check_reference(reference)
        order = config.order_store().get(reference)
    except (FieldError, OrderNotFoundError):
        return error_response(404, f"no order {reference[:40]!r}", "reference")
    return json_response(200, order.as_json())


ROUTES = {
    ("POST", "/orders"): _create,
    ("GET", "/orders/{reference}"): _read,
}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    route = ROUTES.get((event.get("httpMethod", ""), event.get("resource", "")))
    if route is None:
        return error_response(404, "no such route")
    return answer_shared_failures(logger, lambda: route(event))
