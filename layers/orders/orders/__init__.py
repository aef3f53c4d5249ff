"""The merchant's orders: what the functions do, each a use case on the orders table, the terminals and the bank.

    from orders import Dependencies, create_order

    deps = Dependencies.from_environment()
    new = create_order(payload, deps.terminals(), deps.store, deps.clock())

The use cases: ``create_order``, ``open_checkout`` (the buyer's form), ``receive_confirmation`` (CGI2),
``BackOffice`` (capture, cancel, refund, the end of deferral), ``GiveBacks`` (a second payment given back at the
bank), ``Reconciler`` (against the bank's status and its
files), ``list_orders`` and ``booked`` (the console's lists and books), ``mails_for`` and ``events_of_change``
(what an order's change tells); ``orders.golive`` holds the checks before production. Their errors are
``orders.exceptions``' (each with its HTTP status); API Gateway and the HTML pages are ``orders.web``'s.
"""

import warnings

from .books import booked
from .dependencies import Dependencies
from .events import events_of_change
from .exceptions import OrdersError
from .giveback import GiveBacks
from .listing import list_orders
from .mail import mails_for
from .operations import BackOffice
from .reconciliation import Reconciler
from .service import create_order, open_checkout, receive_confirmation

# A function's invocation may count nothing (a read, a batch with nothing to publish, a sweep left to another run):
# Powertools then warns "No application metrics to publish", which reads as a failure in a log that went well.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

__all__ = [
    "BackOffice",
    "Dependencies",
    "GiveBacks",
    "OrdersError",
    "Reconciler",
    "booked",
    "create_order",
    "events_of_change",
    "list_orders",
    "mails_for",
    "open_checkout",
    "receive_confirmation",
]
