"""CGI1: the merchant creates and reads orders; the buyer gets the sealed payment form.

POST /orders and GET /orders/{reference} (merchant, IAM). The buyer's checkout page has its own function
(functions/checkout), whose role cannot change an order.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import OrderNotFoundError
from orders.payment import create_order
from orders.web.http import api_base_url, json_body, json_response
from orders.web.resolver import api_handler, resolver, response
from sealing import FieldError, check_reference

logger = Logger()
metrics = Metrics()


def create_handler(deps: Dependencies) -> Handler:
    """CGI1's handler on ``deps``."""
    app = resolver(logger, metrics)

    @app.post("/orders")
    def create() -> Response[str]:
        event = app.current_event.raw_event
        new = create_order(json_body(event), deps.terminals, deps.store, deps.clock())
        logger.append_keys(reference=new.order.reference)
        logger.info("order created", extra={"tpe": new.order.tpe, "amount": str(new.order.amount)})
        metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
        base = deps.checkout_base_url or api_base_url(event)
        created = {
            "reference": new.order.reference,
            "status": new.order.status.value,
            "checkout_url": f"{base}/checkout/{new.checkout_token}",
            "form": {"action": new.form.action, "fields": dict(new.form.fields)},
        }
        return response(json_response(201, created, headers={"Location": f"/orders/{new.order.reference}"}))

    @app.get("/orders/<path_reference>")
    def read(path_reference: str) -> Response[str]:
        reference = (app.current_event.path_parameters or {}).get("reference", "")  # as API Gateway decoded it
        try:
            # No order has another form; DynamoDB would refuse a key over 2048 bytes as if it were down (503).
            check_reference(reference)
        except FieldError:
            raise OrderNotFoundError(reference[:40]) from None
        logger.append_keys(reference=reference)
        return response(json_response(200, deps.store.get(reference).as_json()))

    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
