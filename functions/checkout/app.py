"""The buyer's checkout page (GET /checkout/{token}, public): the sealed payment form of an order awaiting payment.

A function of its own because its route is public: its role may read the orders table and the terminal secret,
and write one thing only, a new payment session (``sessions`` and ``version``, an IAM condition on the attributes
it may touch), so nothing a buyer (or a flood of requests) sends to it can change an order's state or money.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import OrderNotFoundError
from orders.payment import open_checkout
from orders.web import pages
from orders.web.http import html_response
from orders.web.resolver import api_handler, resolver, response

logger = Logger()
metrics = Metrics()


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
    """The checkout page's handler on ``deps``: the table down (503), the order's terminal gone (500)... are the
    resolver's JSON errors."""
    app = resolver(logger, metrics)

    @app.get("/checkout/<path_token>")
    def checkout(path_token: str) -> Response[str]:
        return response(_checkout(deps, app.current_event.raw_event))  # the token as API Gateway decoded it

    return api_handler(app, logger, metrics)


lambda_handler = environment_handler(create_handler)
