"""The buyer's checkout page (GET /checkout/{token}, public): the sealed payment form of an order awaiting payment.

A function of its own because its route is public: its role may read the orders table and the terminal secret,
and write one thing only, a new payment session (``sessions`` and ``version``, an IAM condition on the attributes
it may touch), so nothing a buyer (or a flood of requests) sends to it can change an order's state or money.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import ConfigurationError, OrderNotFoundError, OrdersError
from orders.payment import open_checkout
from orders.web import errors, pages
from orders.web.http import error_response, html_response

logger = Logger()


def _checkout(deps: Dependencies, event: dict[str, Any]) -> dict[str, Any]:
    token = (event.get("pathParameters") or {}).get("token", "")
    try:
        checkout = open_checkout(token, deps.terminals, deps.store, deps.clock())
    except OrderNotFoundError:
        return html_response(404, pages.not_found_page())
    logger.append_keys(reference=checkout.order.reference)
    if checkout.form is None:
        return html_response(409, pages.not_payable_page(checkout.order))
    return html_response(200, pages.checkout_page(checkout.order, checkout.form, checkout.merchant_name))


def create_handler(deps: Dependencies) -> Handler:
    """The checkout page's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        if (event.get("httpMethod"), event.get("resource")) != ("GET", "/checkout/{token}"):
            return error_response(404, "no such route")
        try:
            return _checkout(deps, event)
        except (OrdersError, ConfigurationError) as exc:  # the table down (503), the order's terminal gone (500)...
            return errors.answer(exc, logger)

    return handler


lambda_handler = environment_handler(create_handler)
