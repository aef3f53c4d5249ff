"""``make run``'s system when the bank asks an authorisation after the order: the merchant API's capture of a
deferred authorisation that the card's bank refuses, and a split payment's later instalments, sent to CGI2 on
their days as ``POST /_local/sweep`` moves the bank's clock. The merchant's side is the kit, unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.cards import REFUSED_LATER
from chalicelib.payment_record import Payment, Status
from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import call, checkout_and_pay, create, merchant_order


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack(schedule_interval_seconds=3600) as running:  # the sweeper runs when a test asks
        yield running


def api(system: FullStack, reference: str, operation: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
    status, _, text = call(
        f"{system.api}/orders/{reference}/{operation}", json.dumps(body).encode(), "application/json"
    )
    return status, json.loads(text)


def bank_payment(system: FullStack, order: dict[str, Any]) -> Payment:
    """The sandbox's payment of a merchant order (the reference the bank was sent)."""
    reference = order.get("bank_reference") or order["reference"]
    payment = system.sandbox.bank.ledger.get(order["tpe"], reference)
    assert payment is not None
    return payment


def sweep(system: FullStack, days: int) -> None:
    later = datetime.now(UTC) + timedelta(days=days)
    status, _, text = call(f"{system.api}/_local/sweep", json.dumps({"now": later.isoformat()}).encode())
    assert status == 200, text


def test_a_capture_the_cards_bank_refuses_is_a_refusal_the_order_survives(system: FullStack) -> None:
    """First in this module: the bank's clock has not moved yet, the registration is still in its period."""
    order = create(system, tpe="0900159")
    page = checkout_and_pay(system, order, REFUSED_LATER)
    assert "Votre carte bancaire a été acceptée" in page
    reference = order["reference"]
    assert merchant_order(system, reference)["status"] == "card_registered"

    status, answer = api(system, reference, "capture", {"amount": "20.00"})
    assert status == 502, answer
    assert "autorisation refusee (Refus)" in answer["error"]["message"]
    kept = merchant_order(system, reference)
    assert (kept["status"], kept["captured"], kept["pending_operation"]) == ("card_registered", "0", None)
    assert [(op["event"], op["outcome"]) for op in kept["operations"]] == [("capture_partial", "refused")]
    payment = bank_payment(system, kept)
    assert (payment.status, payment.captured, len(payment.declined)) == (Status.REGISTERED, 0, 1)

    status, answer = api(system, reference, "capture", {})  # a total validation: asked, refused again
    assert status == 502, answer
    assert len(bank_payment(system, kept).declined) == 2

    status, answer = api(system, reference, "cancel", {})
    assert (status, answer["status"], answer["cancelled"]) == (200, "cancelled", "62.73")
    assert bank_payment(system, kept).status is Status.CANCELLED


def _split_order(system: FullStack) -> dict[str, Any]:
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    parts = [
        {"due": today.isoformat(), "amount": "31.37"},
        {"due": (today + timedelta(days=31)).isoformat(), "amount": "31.36"},
    ]
    return create(system, tpe="0900157", instalments=parts)


def test_a_split_payments_second_instalment_reaches_the_merchant_on_its_day(system: FullStack) -> None:
    order = _split_order(system)
    checkout_and_pay(system, order)
    reference = order["reference"]
    assert [a["return_code"] for a in merchant_order(system, reference)["attempts"]] == ["payetest"]
    sweep(system, 40)
    kept = merchant_order(system, reference)
    assert [(a["return_code"], a.get("instalment")) for a in kept["attempts"]] == [
        ("payetest", None),
        ("paiement_pf2", 2),
    ]
    assert (kept["status"], kept["needs_review"]) == ("paid", False)
    payment = bank_payment(system, kept)
    assert payment.captured == Decimal("62.73")
    assert payment.instalments[1].acknowledged is True  # the merchant's CGI2 answered cdr=0
    assert system.sandbox.bank.ledger.alerts("0900157") == []


def test_a_refused_instalment_is_flagged_for_review(system: FullStack) -> None:
    """Last in this module: the bank's clock only moves forward."""
    order = _split_order(system)
    checkout_and_pay(system, order, REFUSED_LATER)
    sweep(system, 80)
    kept = merchant_order(system, order["reference"])
    assert [a["return_code"] for a in kept["attempts"]] == ["payetest", "Annulation_pf2"]
    assert [review["reason"] for review in kept["reviews"]] == ["instalment_refused"]
    assert bank_payment(system, kept).captured == Decimal("31.37")
