"""An attempt and a payment session read the same to the merchant API and to the order events' subscribers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from orders.events import ORDER_PAID, PAYMENT_REFUSED, PAYMENT_SESSION_OPENED, events_of_change
from orders.model import Attempt, Order, OrderStatus, PaymentSession
from orders.terminals import PaymentMode
from sealing import Money

PARIS = ZoneInfo("Europe/Paris")
OPENED = datetime(2026, 11, 27, 10, 15, tzinfo=PARIS)


def awaiting() -> Order:
    return Order(
        reference="ab12",
        tpe="0900157",
        mode=PaymentMode.IMMEDIATE,
        status=OrderStatus.AWAITING_PAYMENT,
        amount=Money(Decimal("62.73"), "EUR"),
        email="buyer@example.com",
        language="FR",
        created_at=OPENED,
        checkout_token_hash="h",
        sessions=(PaymentSession(1, "ab1200", OPENED),),
    )


def test_the_events_show_each_attempt_and_session_as_the_api_does() -> None:
    refused = Attempt("Annulation", datetime(2026, 11, 27, 10, 16, tzinfo=PARIS), reason="Refus", amount="62.73EUR")
    paid = Attempt(
        "payetest", datetime(2026, 11, 27, 10, 17, tzinfo=PARIS), authorisation_number="123456", card_brand="VI",
        amount="62.73EUR", bank_reference="ab1200", card_saved=False,
    )  # fmt: skip
    opened = awaiting()
    after_refusal = replace(opened, attempts=(refused,))
    after_payment = replace(after_refusal, status=OrderStatus.PAID, attempts=(refused, paid), authorisation_number="1")
    events = [*events_of_change(None, opened), *events_of_change(opened, after_refusal)]
    events += events_of_change(after_refusal, after_payment)
    shown = after_payment.as_json()
    assert [event.type for event in events] == [PAYMENT_SESSION_OPENED, PAYMENT_REFUSED, ORDER_PAID]
    assert events[0].detail["session"] == shown["sessions"][0]
    assert [events[1].detail["attempt"], events[2].detail["attempt"]] == shown["attempts"]
    assert shown["attempts"][1]["time"] == "2026-11-27T09:17:00+00:00"
    assert shown["attempts"][1]["instalment"] is None  # the events' schema names it: always there
    assert shown["sessions"][0]["opened_at"] == "2026-11-27T09:15:00+00:00"
