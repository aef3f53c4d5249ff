"""The merchant's orders: what the functions do, each a use case on the orders table, the terminals and the bank.

    from orders.dependencies import Dependencies
    from orders.payment import create_order

    deps = Dependencies.from_environment()
    new = create_order(payload, deps.terminals, deps.store, deps.clock())

Each use case is imported from the module that holds it (the package itself exports nothing, so importing one
module does not import them all):

- ``orders.payment.create_order``, ``orders.payment.open_checkout`` (the buyer's form) and
  ``orders.payment.receive_confirmation`` (CGI2): taking a payment;
- ``orders.backoffice.BackOffice``: the back office's capture, cancel, refund and the end of deferral (the sweep),
  on the amounts ``orders.amounts`` plans;
- ``orders.giveback.GiveBacks``: a second payment given back at the bank;
- ``orders.reconciliation.Reconciler``: the books against the bank's status and its files;
- ``orders.listing.list_orders`` and ``orders.daybook.booked``: the console's lists and the day's books;
- ``orders.mail.mails_for`` and ``orders.events.events_of_change``: what an order's change tells;
- ``orders.golive.golive``: the checks before production.

What they work with is ``orders.dependencies.Dependencies``; their errors are ``orders.exceptions``' (each with its
HTTP status); API Gateway and the HTML pages are ``orders.web``'s.
"""

import warnings

# A function's invocation may count nothing (a read, a batch with nothing to publish, a sweep left to another run):
# Powertools then warns "No application metrics to publish", which reads as a failure in a log that went well.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

__all__: list[str] = []
