"""``make run``'s system when the bank acts without the merchant's API: a merchant validating or refunding in the
sandbox's dashboard, and the bank ending a deferral period by itself once ``POST /_local/sweep`` moved its clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from chalicelib.payment_record import Status
from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import call, dashboard, merchant_order, paid_order


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack(schedule_interval_seconds=3600) as running:  # the sweeper runs when a test asks
        yield running


def api(system: FullStack, reference: str, operation: str, body: dict[str, str]) -> tuple[int, dict[str, Any]]:
    url = f"{system.api}/orders/{reference}/{operation}"
    status, _, text = call(url, json.dumps(body).encode(), "application/json")
    return status, json.loads(text)


def test_a_validation_in_the_dashboard_is_recorded_by_the_next_api_call(system: FullStack) -> None:
    reference, bank_reference = paid_order(system, "0900158")
    browser = dashboard(system, "0900158")
    form = {"jeton": browser.token(), f"action-{bank_reference}": "valider"}
    status, _, page = browser.open("/test/gestion/differes", form)
    assert status == 200
    assert f"{bank_reference} validé" in page
    status, answer = api(system, reference, "capture", {})
    assert status == 409
    assert "done outside this API" in answer["error"]["message"]
    order = merchant_order(system, reference)
    assert (order["status"], order["captured"]) == ("captured", "62.73")
    assert [op["outcome"] for op in order["operations"]] == ["refused", "applied_outside_api"]
    status, order = api(system, reference, "refund", {"amount": "10.00"})  # the bank's capture day goes with it
    assert (status, order["refunded"]) == (200, "10.00")


def test_a_refund_in_the_dashboard_is_recorded_by_the_next_api_call(system: FullStack) -> None:
    reference, bank_reference = paid_order(system, "0900157")
    browser = dashboard(system, "0900157")
    status, _, page = browser.open(
        f"/test/gestion/commande/{bank_reference}/recredit", {"jeton": browser.token(), "montant": "20.00"}
    )
    assert "effectué" in page
    status, answer = api(system, reference, "refund", {"amount": "5.00"})
    assert status == 409
    assert "refund_partial of 20.00 EUR done outside this API" in answer["error"]["message"]
    status, order = api(system, reference, "refund", {"amount": "5.00"})
    assert (status, order["status"], order["refunded"]) == (200, "partially_refunded", "25.00")
    payment = system.sandbox.bank.ledger.get("0900157", bank_reference)
    assert payment is not None
    assert payment.refunded == Decimal("25.00")


def test_a_sweep_in_the_future_lets_the_bank_end_the_period_first(system: FullStack) -> None:
    """Last in this module: the bank's clock only moves forward."""
    reference, bank_reference = paid_order(system, "0900158")
    later = datetime.now(UTC) + timedelta(days=15)  # past any 3-working-day deadline, holidays included
    status, _, text = call(f"{system.api}/_local/sweep", json.dumps({"now": later.isoformat()}).encode())
    assert status == 200, text
    sweep = json.loads(text)["DeferredSweeperFunction.Sweep"]
    assert sweep["outcomes"][reference] == "recorded the bank's capture_full"
    payment = system.sandbox.bank.ledger.get("0900158", bank_reference)
    assert payment is not None
    assert (payment.status, payment.captures[-1].by) == (Status.CAPTURED, "deadline")
    order = merchant_order(system, reference)
    assert [op["outcome"] for op in order["operations"]] == ["applied_by_bank"]
    status, order = api(system, reference, "refund", {"amount": "10.00"})
    assert (status, order["refunded"]) == (200, "10.00")
