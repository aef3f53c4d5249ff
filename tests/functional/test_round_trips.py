"""CGI2's DynamoDB calls, counted through botocore's hooks: a first acceptance or refusal is ONE conditional
UpdateItem; the rare cases are decided from the item the failed write sends back, never from an extra read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orders.calendar import deferral_deadline
from orders.model import OrderStatus, PaymentSession
from orders.sessions import bank_reference, first_session
from tests.support.merchant import ACK_OK, confirm, stored_order

ORDER = "RTRIPORD01"
SESSION = ORDER + "00"
PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("tpe", ["0900157", "0900158", "0900159"])
def test_a_first_acceptance_is_one_call(aws: Any, lambda_context: Any, tpe: str) -> None:
    stored = stored_order(aws, ORDER, tpe=tpe, created_at=now())
    aws.calls.clear()
    assert confirm(aws, lambda_context, reference=SESSION, tpe=tpe)["body"] == ACK_OK
    assert aws.calls == ["UpdateItem"]
    order = aws.store.get(ORDER)
    assert order.status in {OrderStatus.PAID, OrderStatus.AUTHORIZED, OrderStatus.CARD_REGISTERED}
    assert order.status is not OrderStatus.AWAITING_PAYMENT
    assert order.bank_reference == SESSION
    assert order.version == stored.version + 1
    if tpe != "0900157":  # deferred: the deadline counts from the session's day, as if read
        days = 3 if tpe == "0900158" else 7
        assert order.deadline == deferral_deadline(order.sessions[0].opened_at, days, "Europe/Paris")


def test_a_first_refusal_is_one_call(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, ORDER, created_at=now())
    aws.calls.clear()
    assert confirm(aws, lambda_context, "Annulation", "", reference=SESSION, reason="Refus")["body"] == ACK_OK
    assert aws.calls == ["UpdateItem"]
    order = aws.store.get(ORDER)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [(a.return_code, a.bank_reference) for a in order.attempts] == [("Annulation", SESSION)]


def test_a_later_session_is_one_call_too(aws: Any, lambda_context: Any) -> None:
    opened = now()
    later = PaymentSession(1, bank_reference(ORDER, 1), opened)
    stored_order(aws, ORDER, created_at=opened, sessions=(first_session(ORDER, opened), later))
    aws.calls.clear()
    assert confirm(aws, lambda_context, reference=later.bank_reference)["body"] == ACK_OK
    assert aws.calls == ["UpdateItem"]
    assert aws.store.get(ORDER).bank_reference == later.bank_reference


def test_a_session_opened_the_day_before_gets_its_own_days_deadline(aws: Any, lambda_context: Any) -> None:
    yesterday = datetime.now(PARIS).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(minutes=5)
    stored_order(aws, ORDER, tpe="0900158", created_at=yesterday.astimezone(UTC))
    aws.calls.clear()
    assert confirm(aws, lambda_context, reference=SESSION, tpe="0900158")["body"] == ACK_OK
    assert aws.calls == ["UpdateItem", "UpdateItem"]  # the presumption failed: decided from the returned item
    order = aws.store.get(ORDER)
    assert order.status is OrderStatus.AUTHORIZED
    assert order.deadline == deferral_deadline(yesterday, 3, "Europe/Paris")


def test_a_replay_is_decided_from_the_returned_item(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, ORDER, created_at=now())
    confirm(aws, lambda_context, reference=SESSION)
    before = aws.store.get(ORDER)
    aws.calls.clear()
    aws.writes.clear()
    assert confirm(aws, lambda_context, reference=SESSION)["body"] == ACK_OK
    assert (aws.calls, aws.writes) == (["UpdateItem"], [])  # one failed conditional write, nothing written
    assert aws.store.get(ORDER) == before


def test_a_wrong_amount_is_flagged_from_the_returned_item(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, ORDER, amount="10.00", created_at=now())
    aws.calls.clear()
    assert confirm(aws, lambda_context, reference=SESSION)["body"] == ACK_OK
    assert aws.calls == ["UpdateItem", "UpdateItem"]
    order = aws.store.get(ORDER)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [r.reason.value for r in order.reviews] == ["amount_mismatch"]


def test_an_unknown_order_is_kept_with_one_read(aws: Any, lambda_context: Any) -> None:
    aws.calls.clear()
    assert confirm(aws, lambda_context, reference=SESSION)["body"] == ACK_OK
    # The failed write found no item, and said so in the same call: kept for reconciliation, nothing read.
    assert aws.calls == ["UpdateItem", "PutItem"]
    assert "Item" not in aws.dynamodb.get_item(
        TableName="orders-test", Key={"pk": {"S": f"ORDER#{ORDER}"}, "sk": {"S": "ORDER"}}
    )


def test_an_unknown_session_of_a_known_order_is_kept_for_reconciliation(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, ORDER, created_at=now())
    assert confirm(aws, lambda_context, reference=ORDER + "05")["body"] == ACK_OK
    order = aws.store.get(ORDER)
    assert (order.status, order.attempts) == (OrderStatus.AWAITING_PAYMENT, ())
