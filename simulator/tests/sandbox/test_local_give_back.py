"""``make run``'s system with two tabs on one order: the buyer pays in both, the order is paid once and the
second payment is refunded at the sandbox bank, on its own session's reference, off the table's stream."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from orders.model import PaymentSession
from orders.sessions import bank_reference
from orders.store import OrderStore
from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.local_api import Form
from simulator.tests.support.sandbox_stack import call, create, dashboard, merchant_order

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def bank_page(system: FullStack, checkout_url: str) -> tuple[str, str]:
    """A tab on the bank's payment page: the bank reference its form names, and the page's session."""
    _, _, page = call(checkout_url)
    form = Form()
    form.feed(page)
    status, _, page = call(form.action, urlencode(form.fields).encode(), FORM)
    assert status == 200, page
    session = re.search(r'name="session" value="([^"]+)"', page)
    assert session
    return dict(form.fields)["reference"], session[1]


def pay(system: FullStack, session: str) -> None:
    year = str(date.today().year + 2)
    card = {"session": session, "card_number": "4111111111111111", "expiry_month": "12", "expiry_year": year}
    status, _, page = call(f"{system.sandbox.test_url}/paiement.cgi", urlencode({**card, "cvv": "123"}).encode(), FORM)
    assert status == 200, page


def store(system: FullStack) -> OrderStore:
    client = boto3.client(
        "dynamodb", endpoint_url=system.stack.aws_endpoint_url, region_name=system.stack.config.region
    )
    return OrderStore(system.stack.tables["OrdersTable"].name, client=client)


def given_back(system: FullStack, reference: str) -> dict[str, Any]:
    """The order once the stream's consumer gave its second payment back (the stream is read every half second)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        order = merchant_order(system, reference)
        if order["second_payments"] and order["second_payments"][0]["state"] != "due":
            return order
        time.sleep(0.2)
    raise AssertionError(f"the second payment of {reference} was not given back: {merchant_order(system, reference)}")


def test_two_tabs_both_paid_the_second_payment_is_refunded_at_the_bank(system: FullStack) -> None:
    order = create(system, tpe="0900157")
    reference = order["reference"]
    first, first_tab = bank_page(system, order["checkout_url"])  # tab 1: the bank's page for session 00
    assert first == bank_reference(reference, 0)
    # Another session opens while tab 1 is still on the bank's page (whatever opens it: sessions.py decides when).
    orders = store(system)
    orders.open_session(orders.get(reference), PaymentSession(1, bank_reference(reference, 1), datetime.now(UTC)))
    second, second_tab = bank_page(system, order["checkout_url"])  # tab 2: session 01
    assert second == bank_reference(reference, 1)
    pay(system, second_tab)
    assert merchant_order(system, reference)["status"] == "paid"
    pay(system, first_tab)  # the first tab pays too: the bank accepts it under its own reference

    paid = given_back(system, reference)
    assert (paid["status"], paid["bank_reference"], paid["captured"], paid["refunded"]) == (
        "paid", second, "62.73", "0"
    )  # fmt: skip
    [extra] = paid["second_payments"]
    assert (extra["bank_reference"], extra["state"], extra["give_back"]) == (first, "given_back", "refund_full")
    assert extra["outcome"]["outcome"] == "done"
    assert [r["reason"] for r in paid["reviews"]] == ["second_acceptance", "second_payment_given_back"]
    browser = dashboard(system, "0900157")
    _, _, refunded = browser.open(f"/test/gestion/commande/{first}")
    assert 'id="refunds"' in refunded  # the bank refunded the second payment...
    _, _, kept = browser.open(f"/test/gestion/commande/{second}")
    assert "Aucun re-crédit" in kept  # ...and kept the order's own
    assert f"Second paiement rendu : {reference}" in eventually_mailed(system, f"Second paiement rendu : {reference}")


def eventually_mailed(system: FullStack, subject: str) -> str:
    """The local mail page once a mail with ``subject`` is on it (the order event reaches the mailer on its own)."""
    deadline = time.monotonic() + 20
    while True:
        _, _, mails = call(f"{system.api}/_local/mail")
        if subject in mails or time.monotonic() > deadline:
            return mails
        time.sleep(0.2)
