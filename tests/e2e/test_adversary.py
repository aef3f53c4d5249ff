"""Adversarial review, over HTTP on the local system (``make run``): only what a buyer can reach.

Each test is ``xfail(strict=True)``: it fails on the code as it is, and the fix of the defect flips it.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from tests.sandbox.test_local_wiring import Form, call, create, merchant_order
from tests.support.full_stack import FullStack, full_stack


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


@pytest.mark.xfail(
    strict=True,
    reason="the checkout page's sealed form, re-split at a '*' the buyer typed in their e-mail, is taken as a payment",
)
def test_a_buyer_cannot_mark_their_order_paid_from_its_checkout_page(system: FullStack) -> None:
    # The merchant keeps returning buyers' cards (card_alias); the buyer typed this e-mail address.
    order = create(system, email="x*code-retour=paiement*d=@example.com", card_alias="client7")
    _, _, page = call(order["checkout_url"])  # public: the link the buyer is sent to
    form = Form()
    form.feed(page)
    fields = dict(form.fields)
    names = sorted(name for name in fields if name != "MAC")
    sealed = "*".join(f"{name}={fields[name]}" for name in names)
    head, tail = sealed.split("*code-retour=paiement*d=", 1)
    domain, after = tail.split("*montant=", 1)
    amount, rest = after.split("*reference=", 1)
    reference, later = rest.split("*", 1)
    forged = [
        ("TPE", fields["TPE"]),
        ("aliascb", head.removeprefix(f"TPE={fields['TPE']}*aliascb=")),
        ("code-retour", "paiement"),
        ("d", domain),
        ("montant", amount),
        ("reference", reference),
        *(tuple(field.split("=", 1)) for field in later.split("*")),
        ("MAC", fields["MAC"]),
    ]
    call(f"{system.api}/confirmation", urlencode(forged).encode(), "application/x-www-form-urlencoded")
    assert merchant_order(system, order["reference"])["status"] == "awaiting_payment"
