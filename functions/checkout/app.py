"""The buyer's checkout page (GET /checkout/{token}, public): the sealed payment form of an order awaiting payment.

A function of its own because its route is public: its role may only read the orders table and the terminal
secret, so nothing a buyer (or a flood of requests) sends to it can write an order.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders import config, pages
from orders.exceptions import ConfigurationError, OrderNotFoundError, StoreUnavailableError, UnknownTerminalError
from orders.http import error_response, html_response
from orders.model import OrderStatus
from orders.service import order_for_checkout, payment_form

logger = Logger()


def _checkout(event: dict[str, Any]) -> dict[str, Any]:
    token = (event.get("pathParameters") or {}).get("token", "")
    try:
        order = order_for_checkout(token, config.order_store())
    except OrderNotFoundError:
        return html_response(404, pages.not_found_page())
    logger.append_keys(reference=order.reference)
    if order.status is not OrderStatus.AWAITING_PAYMENT:
        return html_response(409, pages.not_payable_page(order))
    terminal = config.load_terminals().get(order.tpe)
    return html_response(200, pages.checkout_page(order, payment_form(order, terminal), terminal.merchant_name))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if (event.get("httpMethod"), event.get("resource")) != ("GET", "/checkout/{token}"):
        return error_response(404, "no such route")
    try:
        return _checkout(event)
    except StoreUnavailableError:
        logger.exception("the orders table is unavailable")
        return error_response(503, "the order store is unavailable, try again")
    except UnknownTerminalError as exc:
        logger.error("order of an unconfigured terminal", extra={"tpe": exc.tpe})
        return error_response(500, "the order's terminal is no longer configured")
    except ConfigurationError as exc:
        logger.error("the terminal configuration is unusable", extra={"detail": str(exc)})
        return error_response(500, "the terminal configuration is unusable; see the function's log")
