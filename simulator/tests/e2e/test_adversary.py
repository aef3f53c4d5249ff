"""Adversarial review, over HTTP on the local system (``make run``): only what a buyer can reach.

Each test failed on the code the review attacked and passes since its fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.local_api import ORDER, Form, create_order, order, request


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def test_a_buyer_cannot_mark_their_order_paid_from_its_checkout_page(system: FullStack) -> None:
    # The attack: an e-mail typed as "x*code-retour=paiement*d=@example.com" is sealed with the form; split at its
    # "*", the form's sealed string reads as a confirmation under the same MAC. Such a value is never taken.
    body = {**ORDER, "email": "x*code-retour=paiement*d=@example.com", "card_alias": "client7"}
    status, text, _ = request("POST", f"{system.api}/orders", json.dumps(body).encode(), "application/json")
    assert status == 400
    assert json.loads(text)["error"]["field"] == "email"
    # And a genuine checkout form posted back to CGI2 is not a confirmation, whatever is added to it.
    created = create_order(system.api, card_alias="client7")
    _, page, _ = request("GET", created["checkout_url"])  # public: the link the buyer is sent to
    form = Form()
    form.feed(page)
    forged = [*form.fields, ("code-retour", "paiement")]
    form_type = "application/x-www-form-urlencoded"
    _, answer, _ = request("POST", f"{system.api}/confirmation", urlencode(forged).encode(), form_type)
    assert answer == "version=2\ncdr=1\n"
    assert order(system.api, created["reference"])["status"] == "awaiting_payment"
